"""How the engine runs each metric: what it needs from the single pass, and how it reduces.

A metric spec is ``"name"`` or ``"name@extractor"`` (e.g. ``"fid@inception-v3-compat"``).
Each metric needs a *kind* of network (``image``: IS/FID/KID; ``damsm``: R-precision;
``vse``: Rank-1; ``vs``: VS-similarity; ``clip``: CMD, ITDis, CLIPScore, CLIP-FID, CLIP
R-precision). Without ``@extractor`` the dataset's default for that kind is used
(:data:`t2ibench.defaults.DEFAULT_EXTRACTORS`): on ``shapes`` the embedded evaluators
trained on it, elsewhere the published networks (``inception-v3-compat``, ``clip``) or
evaluators the user trained and passes by path.

Each protocol declares its needs — features of the generated images (by extractor role),
features of the real test split (cached on disk), embeddings of the plan's captions and
of the candidate captions of the whole test split, paired per-image values against the
caption's real image, or the generated pixels themselves — and the engine collects each
need once, whatever number of metrics share it.

Their paper protocols are in each class's docstring; ``t2ibench list metrics`` names them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from t2ibench import defaults
from t2ibench.io import sha256_json
from t2ibench.registry import Registry

METRICS = Registry("metric")


def register_metric(name: str, factory=None):
    """Register ``factory(extractor: str | None) -> MetricProtocol`` under ``name``."""
    return METRICS.register(name, factory)


def list_metrics() -> list[str]:
    return METRICS.names()


#: Format of the cached caption embeddings (t2ibench.feature_cache, CACHE_DIR/text/); bump on change.
TEXT_CACHE_VERSION = 1


@dataclass
class Collected:
    """What the single pass gathered for the metrics.

    fake: ``{(extractor, output): float32 [N, D]}`` features of the generated images;
    real: the same for every real image of the dataset split;
    paired: ``{metric name: float64 [N]}`` per-image values against the caption's real image;
    streams: ``{metric name: consumer}`` of the metrics that read the generated pixels as they
    stream by (:meth:`MetricProtocol.image_stream`), fed every image once; no image is kept here;
    class_ids: int64 ``[N]`` class of each caption's image (-1: no classes), known before generation;
    seed: run seed;
    captions: the plan (``Caption`` objects); dataset; extractors: ``{name: extractor}``.
    Text embeddings are computed on first use, cached on disk (:meth:`text`, :meth:`pool`)
    and memoised (:meth:`memoise` for results several metrics share); cache_log lists every
    on-disk cache used (:class:`t2ibench.feature_cache.CacheUse`), for the result.
    """

    fake: dict = field(default_factory=dict)
    real: dict = field(default_factory=dict)
    paired: dict = field(default_factory=dict)
    streams: dict = field(default_factory=dict)
    class_ids: np.ndarray | None = None
    seed: int = 0
    captions: list = field(default_factory=list)
    dataset: object = None
    extractors: dict = field(default_factory=dict)
    memo: dict = field(default_factory=dict)
    cache_log: list = field(default_factory=list)

    def memoise(self, key, fn):
        if key not in self.memo:
            self.memo[key] = fn()
        return self.memo[key]

    def _cached_text(self, extractor: str, role: str, what: str, texts_key: dict, texts) -> dict[str, np.ndarray]:
        """Embeddings of ``texts()`` by ``extractor``'s ``role``, cached on disk (CACHE_DIR/text/) under
        the encoder's name and weights sha256, the output and ``texts_key`` (what fixes the texts)."""
        from t2ibench.feature_cache import cached_arrays

        e = self.extractors[extractor]
        out = e.roles[role]
        key = {**texts_key, "extractor": e.name, "weights": e.weights_id, "output": out, "v": TEXT_CACHE_VERSION}

        def build():
            listed, extra = texts()
            return {"embeddings": e.encode_text(listed, outputs=[out])[out].numpy(), **extra}

        arrays, use = cached_arrays("text", f"{self.dataset.name}-{self.dataset.split}-{e.name}-{what}", key,
                                    f"{what} caption embeddings by {e.name!r}", build)
        self.cache_log.append(use)
        return arrays

    def text(self, extractor: str, role: str = "text") -> np.ndarray:
        """Embeddings ``[N, D]`` of the plan's captions by ``extractor``'s text role (cached on disk,
        keyed by the sha256 of the caption texts)."""
        texts = [str(c) for c in self.captions]

        def build():
            arrays = self._cached_text(extractor, role, "plan", {"texts_sha256": sha256_json(texts)},
                                       lambda: (texts, {}))
            if len(arrays["embeddings"]) != len(texts):
                raise ValueError(f"cached plan caption embeddings hold {len(arrays['embeddings'])} rows for "
                                 f"{len(texts)} captions; delete {self.cache_log[-1].file} to recompute them")
            return arrays["embeddings"]
        return self.memoise(("text", extractor, role), build)

    def pool(self, extractor: str, role: str = "text") -> tuple[np.ndarray, np.ndarray]:
        """Candidate captions for R-precision: every caption of every image of the split,
        embedded (``[M, D]``), with the class of its image (``[M]``).

        Cached on disk (keyed by the split's caption fingerprint and the encoder's weights), so a
        repeat evaluation reads the pool back instead of encoding every caption of the split."""
        ds = self.dataset

        def texts():
            listed, classes = [], []
            for i in range(len(ds)):
                for t in ds.captions(i):
                    listed.append(t)
                    classes.append(ds.class_id(i))
            return listed, {"classes": np.asarray(classes, dtype=np.int64)}

        def build():
            fixed = {"dataset": ds.name, "split": ds.split, "captions": ds.caption_fingerprint,
                     "classes": sha256_json(ds.class_ids().tolist())}
            arrays = self._cached_text(extractor, role, "pool", fixed, texts)
            if len(arrays["embeddings"]) != len(arrays.get("classes", ())):
                raise ValueError(f"cached candidate-pool embeddings {self.cache_log[-1].file} are inconsistent "
                                 f"(embeddings and classes differ in length); delete the file to recompute them")
            return arrays["embeddings"], arrays["classes"]
        return self.memoise(("pool", extractor, role), build)


class MetricProtocol:
    """Base class. ``kind``: the kind of network the metric needs (None for pixel metrics);
    ``fake_roles``/``real_roles`` name the extractor outputs it reads by role (``"embedding"``,
    ``"logits"``, ``"image"``); ``text_roles``: roles of the text side it reads (text-image
    encoders); the engine resolves roles to output names before anything runs. ``counts_hits``:
    the value is a share of hits (retrieval), so it moves in steps of 1/n_images and is compared
    across machines with a tolerance in hits (:func:`t2ibench.result.compare_results`).
    ``needs_image_keys``: the metric reads the dataset image (or its class) that each caption
    was written for, so it cannot run on captions without image keys (``t2ibench eval --images``
    with a captions file that has no ``image_key`` column)."""

    name: str = ""
    kind: str | None = None
    higher_is_better: bool = True
    fake_roles: tuple[str, ...] = ()
    real_roles: tuple[str, ...] = ()
    text_roles: tuple[str, ...] = ()
    paired: bool = False
    min_images: int = 1
    counts_hits: bool = False
    needs_image_keys: bool = False

    def __init__(self, extractor: str | None = None):
        self.extractor = extractor

    def paired_values(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """Per-image values ``[N]`` for uint8 fake/real batches of equal shape."""
        raise NotImplementedError

    def image_stream(self, c: Collected):
        """A consumer of the generated images, or None (the default): an object whose ``update(images)``
        the engine calls with every chunk of uint8 ``[B, 3, H, W]`` images in plan order, before
        :meth:`compute` reads it from ``c.streams[self.name]``. Built before generation, from what the
        plan fixes (``c.captions``, ``c.class_ids``, ``c.seed``), so it keeps only what it needs.
        Sharded runs (:mod:`t2ibench.distributed`) also call ``needed(start, stop)`` (the indices of a
        chunk it reads) on the ranks other than 0, and ``update_kept({index: image}, n)`` on rank 0 with
        those images, after rank 0 has streamed its own part, the plan's first."""
        return None

    def compute(self, c: Collected, keys: dict[str, tuple[str, str]]) -> dict:
        """Reduce what was collected to ``{"value": float, "std": float | None, ...}``.

        A ``"warnings"`` entry (a list of sentences) reports a degenerate estimate (e.g. KID
        subsets that cover the whole set); the engine moves it into ``EvalResult.warnings``.
        """
        raise NotImplementedError

    def describe(self) -> dict:
        return {"metric": self.name, "extractor": self.extractor, "higher_is_better": self.higher_is_better,
                "counts_hits": self.counts_hits}


@register_metric("is")
class InceptionScore(MetricProtocol):
    """Inception Score (Salimans et al. 2016, Sec. 4): exp(E_x KL(p(y|x) || p(y))).

    Protocol: class probabilities from the extractor's logits over all generated images,
    ``defaults.IS_SPLITS`` (10) splits, mean ± std over splits — the convention of
    :func:`t2ibench.metrics.inception_score`. On ``shapes`` the classifier is the embedded
    48-class domain classifier (a stand-in for StackGAN's fine-tuned Inception on CUB/flowers).
    Degenerate splits (a split of fewer than ``defaults.IS_MIN_SPLIT_SIZE`` images: a split of m
    images scores at most m; or a single split, std 0 by construction) are reported in the
    result's warnings (:func:`t2ibench.metrics.inception_score.split_warnings`).
    """

    name, kind, higher_is_better, fake_roles = "is", "image", True, ("logits",)

    @property
    def min_images(self) -> int:
        return defaults.IS_SPLITS

    def compute(self, c, keys):
        from t2ibench.metrics import inception_score
        from t2ibench.metrics.inception_score import split_warnings

        logits = c.fake[keys["logits"]]
        mean, std = inception_score(logits, splits=defaults.IS_SPLITS)
        out = {"value": mean, "std": std, "splits": defaults.IS_SPLITS}
        notes = split_warnings(len(logits), defaults.IS_SPLITS)
        return {**out, "warnings": notes} if notes else out


@register_metric("fid")
class FID(MetricProtocol):
    """Fréchet Inception Distance (Heusel et al. 2017, Eq. 6) of generated vs real test images.

    Gaussians fitted (float64, unbiased covariance) to the extractor's embedding — pool3
    (2048-d) for ``inception-v3-compat`` with its TF-compatible resize to 299 — of all
    generated images and of every image of the real test split (statistics cached on disk).
    A point estimate: no std (it is biased in N; compare rows only at equal N).

    The result's warnings say when a covariance is singular (n <= the feature dimension) and
    when fewer than ``defaults.FID_GUIDANCE_IMAGES`` (10,000, the FID authors' recommendation)
    images were generated (small-sample bias; the papers use 30,000)
    (:func:`t2ibench.metrics.frechet.gaussian_sample_warnings`). Below ``min_images`` the engine
    refuses the metric unless ``allow_small_n``, and then its own warning says it instead.
    """

    name, kind, higher_is_better, fake_roles, real_roles = "fid", "image", False, ("embedding",), ("embedding",)

    @property
    def min_images(self) -> int:
        return defaults.FID_MIN_IMAGES

    def compute(self, c, keys):
        from t2ibench.metrics import frechet_distance, gaussian_statistics

        role = self.fake_roles[0]
        fake, real = c.fake[keys[role]], c.real[keys[role]]
        value = frechet_distance(*gaussian_statistics(fake), *gaussian_statistics(real))
        out = {"value": value, "std": None, "n_fake": len(fake), "n_real": len(real)}
        notes = _fitted_gaussian_warnings(self, len(fake), len(real), fake.shape[1])
        return {**out, "warnings": notes} if notes else out


@register_metric("kid")
class KID(MetricProtocol):
    """Kernel Inception Distance (Bińkowski et al. 2018, Eq. 5): unbiased MMD² with the cubic
    polynomial kernel on the extractor's embedding, mean ± std over ``defaults.KID_SUBSETS``
    random subsets of ``defaults.KID_SUBSET_SIZE`` (clipped to the smaller set), as
    torch-fidelity computes it.

    Seed rule: the subsets are drawn by a generator seeded with the run seed
    (``evaluate(seed=...)``, default 0), not torch-fidelity's default ``rng_seed`` (2020), so the
    value is not ``torch_fidelity.calculate_kid``'s default on the same features unless the run
    seed is 2020 and the subset count and size match (torch-fidelity: 100 subsets of 1000).
    A clipped subset size, and subsets that cover a whole set (std 0 by construction when they
    cover both), are reported in the result's warnings
    (:func:`t2ibench.metrics.kid.kid_subset_warnings`)."""

    name, kind, higher_is_better, fake_roles, real_roles = "kid", "image", False, ("embedding",), ("embedding",)
    min_images = 2

    def compute(self, c, keys):
        from t2ibench.metrics import kid
        from t2ibench.metrics.kid import kid_subset_warnings

        fake, real = c.fake[keys["embedding"]], c.real[keys["embedding"]]
        size = min(defaults.KID_SUBSET_SIZE, len(fake), len(real))
        mean, std = kid(fake, real, subsets=defaults.KID_SUBSETS, subset_size=size, seed=c.seed)
        out = {"value": mean, "std": std, "subsets": defaults.KID_SUBSETS, "subset_size": size}
        notes = kid_subset_warnings(len(fake), len(real), defaults.KID_SUBSET_SIZE)
        return {**out, "warnings": notes} if notes else out


class _PairedPixelMetric(MetricProtocol):
    """SDN's paired protocol (Yuan & Peng, SDN, Sec. 4.2): the image generated for a test
    image's caption vs that real image; mean ± std over the generated set."""

    paired, higher_is_better, needs_image_keys = True, True, True

    def compute(self, c, keys):
        v = c.paired[self.name]
        return {"value": float(v.mean()), "std": float(v.std()), "n": int(len(v))}


@register_metric("ssim")
class PairedSSIM(_PairedPixelMetric):
    """SSIM (Wang et al. 2004, Eq. 13), Gaussian window 11x11, sigma 1.5, data range 255,
    under SDN's paired protocol; per-image values from :func:`t2ibench.metrics.ssim`."""

    name = "ssim"

    def paired_values(self, fake, real):
        from t2ibench.metrics import ssim

        return ssim(fake, real, data_range=255)


@register_metric("fsim")
class PairedFSIM(_PairedPixelMetric):
    """FSIM on luminance (Zhang et al. 2011, Eq. 15) under SDN's paired protocol."""

    name = "fsim"

    def paired_values(self, fake, real):
        from t2ibench.metrics import fsim

        return fsim(fake, real, data_range=255, chromatic=False)


@register_metric("fsimc")
class PairedFSIMc(_PairedPixelMetric):
    """FSIMc, FSIM with chromatic (I, Q) similarity (Zhang et al. 2011, IEEE TIP, Eq. 17), SDN's paired
    protocol, as the authors' ``FeatureSIM.m`` computes it: chroma factor
    ``real((ISimMatrix .* QSimMatrix) .^ lambda)`` and its YIQ rows (TID2013 I01: 0.92587, as
    MATLAB). piq's ``|S_I S_Q|^lambda`` is the separate metric ``fsimc-piq``
    (:mod:`t2ibench.metrics.fsim`)."""

    name = "fsimc"

    def paired_values(self, fake, real):
        from t2ibench.metrics import fsim

        return fsim(fake, real, data_range=255, chromatic=True)


@register_metric("ms-ssim")
class MSSSIMDiversity(MetricProtocol):
    """HDGAN's diversity protocol (Zhang et al. 2018, Sec. 5.3): mean MS-SSIM (Wang et al. 2003)
    over random pairs of generated images whose captions belong to the same class
    (class-wise, ``defaults.MS_SSIM_PAIRS_PER_CLASS`` pairs per class) and over random pairs
    overall; lower = more diverse. ``value`` is the class-wise mean (overall when the dataset
    has no classes); the number of MS-SSIM scales used for the image size is reported.

    The pairs are drawn from the plan's class ids before generation and scored as the images
    stream by (:class:`t2ibench.metrics.ms_ssim.MSSSIMDiversityStream`), keeping only images
    that a pending pair needs: the same pairs and values as
    :func:`t2ibench.metrics.ms_ssim_diversity` on all the images at once."""

    name, higher_is_better = "ms-ssim", False
    min_images = 2
    needs_image_keys = True  # pairs are grouped by the class of each caption's image

    def image_stream(self, c):
        from t2ibench.metrics.ms_ssim import MSSSIMDiversityStream

        return MSSSIMDiversityStream(len(c.captions), c.class_ids, pairs_per_class=defaults.MS_SSIM_PAIRS_PER_CLASS,
                                     pairs_overall=defaults.MS_SSIM_PAIRS_OVERALL, seed=c.seed)

    def compute(self, c, keys):
        out = c.streams[self.name].result()
        has_classes = out.get("n_pairs_classwise", 0) > 0
        value = out["ms_ssim_classwise"] if has_classes else out["ms_ssim_overall"]
        std = out["ms_ssim_classwise_std"] if has_classes else out["ms_ssim_overall_std"]
        extra = {k: v for k, v in out.items() if k != "per_class"}
        return {"value": value, "std": std, **extra}


def default_extractor(kind: str, dataset_name: str) -> str:
    """The extractor a metric of ``kind`` uses on ``dataset_name`` when the spec names none."""
    per_dataset = defaults.DEFAULT_EXTRACTORS.get(dataset_name, {})
    return per_dataset.get(kind, defaults.FALLBACK_EXTRACTORS[kind])


def parse_metric(spec: str, dataset_name: str) -> MetricProtocol:
    """Build the protocol for ``"name"`` or ``"name@extractor"`` on dataset ``dataset_name``."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"metric: expected a name such as 'fid' or 'fid@inception-v3-compat', got {spec!r}")
    name, _, extractor = spec.strip().partition("@")
    cls = METRICS.get(name)
    if extractor and cls.kind is None:
        raise ValueError(f"metric {name!r} works on pixels and takes no '@extractor' (got {spec!r})")
    return cls(extractor or default_extractor(cls.kind, dataset_name) if cls.kind else None)


# -- text-image alignment (issue 3) ------------------------------------------------------


class _TextImageMetric(MetricProtocol):
    """Base of the metrics that compare generated images with the captions they were made for:
    the image side is the extractor's ``image`` role over the generated images, the text side
    its ``text`` role over the plan's captions."""

    fake_roles, text_roles = ("image",), ("text",)

    def _embeddings(self, c: Collected, keys) -> tuple[np.ndarray, np.ndarray]:
        return c.fake[keys["image"]], c.text(self.extractor)


@register_metric("r-precision")
class RPrecision(_TextImageMetric):
    """R-precision, DM-GAN code protocol (AttnGAN Sec. 4.1; DM-GAN's ``main.py``): for each
    generated image, its own caption plus 99 captions of images of *other classes* of the test
    split; cosine of the DAMSM global image feature and sentence embeddings; a hit when the own
    caption ranks first; the images in 10 chunks, mean ± std of the chunks' hit rates
    (:func:`t2ibench.metrics.r_precision.r_precision`). Beware: with the DAMSM a GAN was
    trained with, the value is inflated (TISE); the embedded ``damsm-shapes`` is never used
    to train a generator."""

    name, kind = "r-precision", "damsm"
    candidates = "other-classes"
    counts_hits = True
    needs_image_keys = True  # the candidates are captions of images of other classes than the caption's

    @property
    def min_images(self) -> int:
        return defaults.R_PRECISION_CHUNKS

    def compute(self, c, keys):
        from t2ibench.metrics.r_precision import r_precision

        image, text = self._embeddings(c, keys)
        pool, pool_classes = c.pool(self.extractor)
        return r_precision(image, text, pool, pool_classes, c.class_ids, n_candidates=defaults.R_PRECISION_CANDIDATES,
                           n_chunks=defaults.R_PRECISION_CHUNKS, candidates=self.candidates, seed=c.seed)


@register_metric("clip-r-precision")
class CLIPRPrecision(RPrecision):
    """CLIP R-precision (TISE, Dinh et al. 2022, COCO variant): as ``r-precision`` but with CLIP
    image and text embeddings and 99 candidate captions drawn from any other test image."""

    name, kind, candidates = "clip-r-precision", "clip", "random"
    needs_image_keys = False


@register_metric("r-precision-cpgan")
class RPrecisionCPGAN(_TextImageMetric):
    """R-precision, CPGAN's batch-of-100 variant (Liang et al. 2020, Sec. 4): within each batch of
    100 generated images, each image is ranked against the 100 captions of that batch
    (:func:`t2ibench.metrics.r_precision.r_precision_cpgan`)."""

    name, kind = "r-precision-cpgan", "damsm"
    min_images = 100
    counts_hits = True

    def compute(self, c, keys):
        from t2ibench.metrics.r_precision import r_precision_cpgan

        image, text = self._embeddings(c, keys)
        return r_precision_cpgan(image, text, seed=c.seed)


@register_metric("rank1")
class Rank1(_TextImageMetric):
    """Rank-1 text-to-image retrieval (KT-GAN, Tan et al. 2021, Sec. 4.1): a VSE++ model trained on
    the dataset; each caption queries the gallery of images generated for the captions of its
    1,000-caption fold; hit when its own image ranks first; mean ± std over folds; R@5 and R@10
    reported beside it (:func:`t2ibench.metrics.retrieval.rank_k`)."""

    name, kind = "rank1", "vse"
    counts_hits = True

    @property
    def min_images(self) -> int:
        return max(defaults.RANK_KS)

    def compute(self, c, keys):
        from t2ibench.metrics.retrieval import rank_k

        image, text = self._embeddings(c, keys)
        out = rank_k(text, image, fold_size=defaults.RANK_FOLD_SIZE, ks=defaults.RANK_KS)
        return {"value": out["r@1"], "std": out.get("r@1_std"), **out}


@register_metric("vs-similarity")
class VSSimilarity(_TextImageMetric):
    """VS-similarity (HDGAN, Zhang et al. 2018, Sec. 5.1): cos(f_v(cnn(x̂)), f_t(t)) between each
    generated image and its caption, with linear maps trained on real pairs; mean ± std
    (:func:`t2ibench.metrics.vs_similarity.vs_similarity`). Not piq's VSI."""

    name, kind = "vs-similarity", "vs"

    def compute(self, c, keys):
        from t2ibench.metrics.vs_similarity import vs_similarity

        return vs_similarity(*self._embeddings(c, keys))


@register_metric("clipscore")
class CLIPScore(_TextImageMetric):
    """CLIPScore (Hessel et al. 2021, Eq. 1): w · max(cos(E_I, E_C), 0), w = 2.5, mean ± std over
    the generated images (:func:`t2ibench.metrics.clip_score.clip_score`)."""

    name, kind = "clipscore", "clip"

    def compute(self, c, keys):
        from t2ibench.metrics.clip_score import clip_score

        return clip_score(*self._embeddings(c, keys), w=defaults.CLIPSCORE_W)


@register_metric("clip-fid")
class CLIPFID(FID):
    """CLIP-FID (Kynkäänniemi et al. 2023; clean-fid's ``clip_vit_b_32`` mode): the Fréchet distance
    of the raw (not L2-normalised) CLIP image embeddings of generated vs real test images; the
    same small-sample warnings as ``fid``."""

    name, kind, fake_roles, real_roles = "clip-fid", "clip", ("image_raw",), ("image_raw",)


class _CMDBase(_TextImageMetric):
    """GR-GAN's Cross-Modal Distance (Yang, Feng & Wang 2022, Sec. 4.2): Fréchet distances between the
    CLIP embeddings of generated images (f), real test images (r) and the captions (l):
    CMD = FD(f, r) + |FD(f, l) − FD(r, l)|, ITDis = |FD(f, l) − FD(r, l)|
    (:func:`t2ibench.metrics.cmd.cmd`, ``variant="paper"``). ``cmd-code`` follows GR-GAN's
    released code instead (``eval/CMD/CMD_score.py``, ``variant="code"``: signed difference, images
    resized to 224 without CLIP's mean/std normalisation, image features L2-normalised ×10, text
    ×1); the two are kept apart on purpose."""

    kind, higher_is_better, fake_roles, real_roles = "clip", False, ("image",), ("image",)
    variant, headline = "paper", "cmd"

    @property
    def min_images(self) -> int:
        return defaults.FID_MIN_IMAGES

    def compute(self, c, keys):
        from t2ibench.metrics.cmd import cmd

        role = self.fake_roles[0]
        image, text = c.fake[keys[role]], c.text(self.extractor)
        real = c.real[keys[role]]
        out = c.memoise(("cmd", self.extractor, self.variant),
                        lambda: cmd(image, real, text, variant=self.variant))
        result = {"value": out[self.headline], "std": None, **out}
        # CMD fits Gaussians to the generated, real and caption embeddings (as many captions as images)
        notes = _fitted_gaussian_warnings(self, len(image), len(real), image.shape[1])
        return {**result, "warnings": notes} if notes else result


@register_metric("cmd")
class CMD(_CMDBase):
    __doc__ = _CMDBase.__doc__
    name = "cmd"


@register_metric("itdis")
class ITDis(_CMDBase):
    __doc__ = _CMDBase.__doc__
    name, headline = "itdis", "itdis"


@register_metric("cmd-code")
class CMDCode(_CMDBase):
    __doc__ = _CMDBase.__doc__
    name, variant, fake_roles, real_roles = "cmd-code", "code", ("image_code",), ("image_code",)


# -- issue 10: fitted-Gaussian warnings, FSIMc as piq, precision and recall ----------------


def _fitted_gaussian_warnings(p: MetricProtocol, n_fake: int, n_real: int, dim: int) -> list[str]:
    """Singular-covariance and small-sample-bias sentences for a metric that fits Gaussians
    (FID, CLIP-FID, CMD, ITDis). Nothing below ``p.min_images``: the engine ran the metric only
    because of ``allow_small_n`` and its own warning already says so."""
    from t2ibench.metrics.frechet import gaussian_sample_warnings

    if n_fake < p.min_images:
        return []
    return gaussian_sample_warnings(n_fake, n_real, dim, metric=_GAUSSIAN_LABELS.get(p.name, p.name))


_GAUSSIAN_LABELS = {"fid": "FID", "clip-fid": "CLIP-FID", "cmd": "CMD", "itdis": "ITDis",
                    "cmd-code": "CMD (code variant)", "fid-dmgan": "FID (DM-GAN code)"}


@register_metric("fsimc-piq")
class PairedFSIMcPiq(_PairedPixelMetric):
    """FSIMc as ``piq.fsim(chromatic=True)`` computes it (Zhang et al. 2011, IEEE TIP, Eq. 17 read as
    ``|S_I S_Q|^lambda``, with piq's 4-decimal YIQ rows), SDN's paired protocol. Differs from
    ``fsimc`` (``FeatureSIM.m``'s ``real((S_I S_Q)^lambda)``) only where the chroma product is
    negative: TID2013 I01 0.925897 vs 0.925873 (:mod:`t2ibench.metrics.fsim`)."""

    name = "fsimc-piq"

    def paired_values(self, fake, real):
        from t2ibench.metrics import fsim

        return fsim(fake, real, data_range=255, chromatic=True, chroma="piq")


class _PrecisionRecallBase(MetricProtocol):
    """Improved precision and recall (Kynkäänniemi et al. 2019, NeurIPS, Sec. 2): k-NN manifolds
    (radius = distance to the k-th nearest neighbour in the same set, ``defaults.PRC_NEIGHBORHOOD``
    = 3) of the extractor's image embedding — the one FID reads — over all generated images and
    every image of the real test split; precision = share of generated images inside the real
    manifold, recall = share of real images inside the generated manifold. torch-fidelity's
    own computation (:func:`t2ibench.metrics.precision_recall.precision_recall`); both metrics
    share one computation. Values depend on n (the radii shrink as n grows) and on the
    extractor (the paper: VGG-16, 50,000 images per set): compare only at equal n and extractor."""

    kind, higher_is_better, fake_roles, real_roles = "image", True, ("embedding",), ("embedding",)
    headline = ""

    @property
    def min_images(self) -> int:
        return defaults.PRC_NEIGHBORHOOD + 1

    def compute(self, c, keys):
        from t2ibench.metrics.precision_recall import precision_recall

        fake, real = c.fake[keys["embedding"]], c.real[keys["embedding"]]
        out = c.memoise(("prc", self.extractor, keys["embedding"]), lambda: precision_recall(fake, real))
        return {"value": out[self.headline], "std": None, **out}


@register_metric("precision")
class Precision(_PrecisionRecallBase):
    __doc__ = _PrecisionRecallBase.__doc__
    name, headline = "precision", "precision"


@register_metric("recall")
class Recall(_PrecisionRecallBase):
    __doc__ = _PrecisionRecallBase.__doc__
    name, headline = "recall", "recall"


# -- issue 14: StackGAN's IS convention, DM-GAN's FID ----------------------------------------


@register_metric("is-stackgan")
class InceptionScoreStackGAN(InceptionScore):
    """Inception Score as StackGAN's released evaluation computes it (hanzhanggit/StackGAN-inception-model
    ``inception_score.py``; DM-GAN's ``eval/IS/bird/inception_score_bird.py`` is the same): whole batches
    of ``defaults.IS_STACKGAN_BATCH_SIZE`` (64) only, the last ``N mod 64`` images dropped; 10
    contiguous splits, no shuffle; mean ± population std
    (:func:`t2ibench.metrics.inception_score.inception_score_stackgan`, which lists the differences
    from the released code). CUB and Oxford-102 IS in these papers were computed this way, with
    StackGAN's fine-tuned Inception: the default classifier is ``inception-birds`` on ``cub`` and
    ``inception-flowers`` on ``flowers`` (``--weights inception-birds=PATH``), the embedded
    classifier on ``shapes`` and ``inception-v3-compat`` elsewhere. ``is`` keeps torch-fidelity's
    seeded-shuffle convention over every image; the two differ at equal n."""

    name, kind = "is-stackgan", "classifier"

    @property
    def min_images(self) -> int:
        return max(defaults.IS_STACKGAN_BATCH_SIZE, defaults.IS_SPLITS)

    def compute(self, c, keys):
        from t2ibench.metrics.inception_score import inception_score_stackgan, split_warnings

        logits = c.fake[keys["logits"]]
        batch = defaults.IS_STACKGAN_BATCH_SIZE
        used = len(logits) - len(logits) % batch
        mean, std = inception_score_stackgan(logits, splits=defaults.IS_SPLITS, batch_size=batch)
        out = {"value": mean, "std": std, "splits": defaults.IS_SPLITS, "batch_size": batch, "n_scored": used,
               "n_dropped": len(logits) - used}
        notes = split_warnings(used, defaults.IS_SPLITS)
        return {**out, "warnings": notes} if notes else out


@register_metric("fid-dmgan")
class FIDDMGAN(FID):
    """FID as DM-GAN's (and DF-GAN's) released code computes it: torchvision's ImageNet Inception-v3
    pool features (``inception-v3-imagenet``, from a user-given ``inception_v3_google-*.pth``; its
    input normalisation and resize are in :mod:`t2ibench.features.inception_imagenet`), not the
    TF-FID weights of ``fid``, so its values differ from ``fid``'s. Images in batches of
    ``defaults.DMGAN_FID_BATCH_SIZE`` (64) with the last incomplete batch dropped
    (``DataLoader(..., drop_last=True)``), for the generated and the real test images alike (the
    real ones in the dataset's order); Gaussians with ``np.cov``'s unbiased covariance. Their
    ``calculate_frechet_distance`` takes ``scipy.linalg.sqrtm``; :func:`t2ibench.metrics.frechet_distance`
    gives the same value (to ~1e-14 relative on full-rank covariances). FID's small-n warnings."""

    name, kind = "fid-dmgan", "imagenet-inception"

    @property
    def min_images(self) -> int:
        return max(defaults.FID_MIN_IMAGES, defaults.DMGAN_FID_BATCH_SIZE)

    def compute(self, c, keys):
        from t2ibench.metrics import frechet_distance, gaussian_statistics

        batch = defaults.DMGAN_FID_BATCH_SIZE
        fake, real = c.fake[keys["embedding"]], c.real[keys["embedding"]]
        for what, n in (("generated", len(fake)), ("real test", len(real))):
            if n < batch:
                raise ValueError(f"fid-dmgan: {n} {what} images, fewer than one batch of {batch} (DM-GAN's code "
                                 f"drops incomplete batches)")
        fake, real = fake[:len(fake) - len(fake) % batch], real[:len(real) - len(real) % batch]
        value = frechet_distance(*gaussian_statistics(fake), *gaussian_statistics(real))
        out = {"value": value, "std": None, "n_fake": len(fake), "n_real": len(real), "batch_size": batch}
        notes = _fitted_gaussian_warnings(self, len(fake), len(real), fake.shape[1])
        return {**out, "warnings": notes} if notes else out
