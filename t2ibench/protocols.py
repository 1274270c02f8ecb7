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
from t2ibench.registry import Registry

METRICS = Registry("metric")


def register_metric(name: str, factory=None):
    """Register ``factory(extractor: str | None) -> MetricProtocol`` under ``name``."""
    return METRICS.register(name, factory)


def list_metrics() -> list[str]:
    return METRICS.names()


#: Embedded candidate-caption pools, shared by the evaluations of one process (oldest dropped first).
_POOLS: dict = {}
_POOLS_MAX = 4


@dataclass
class Collected:
    """What the single pass gathered for the metrics.

    fake: ``{(extractor, output): float32 [N, D]}`` features of the generated images;
    real: the same for every real image of the dataset split;
    paired: ``{metric name: float64 [N]}`` per-image values against the caption's real image;
    images: uint8 ``[N, 3, H, W]`` generated images (only when a metric keeps them);
    class_ids: int64 ``[N]`` class of each caption's image (-1: no classes); seed: run seed;
    captions: the plan (``Caption`` objects); dataset; extractors: ``{name: extractor}``.
    Text embeddings are computed on first use and memoised (:meth:`text`, :meth:`pool`,
    :meth:`memoise` for results several metrics share).
    """

    fake: dict = field(default_factory=dict)
    real: dict = field(default_factory=dict)
    paired: dict = field(default_factory=dict)
    images: torch.Tensor | None = None
    class_ids: np.ndarray | None = None
    seed: int = 0
    captions: list = field(default_factory=list)
    dataset: object = None
    extractors: dict = field(default_factory=dict)
    memo: dict = field(default_factory=dict)

    def memoise(self, key, fn):
        if key not in self.memo:
            self.memo[key] = fn()
        return self.memo[key]

    def text(self, extractor: str, role: str = "text") -> np.ndarray:
        """Embeddings ``[N, D]`` of the plan's captions by ``extractor``'s text role."""
        e = self.extractors[extractor]
        out = e.roles[role]
        return self.memoise(("text", extractor, role),
                            lambda: e.encode_text([str(c) for c in self.captions], outputs=[out])[out].numpy())

    def pool(self, extractor: str, role: str = "text") -> tuple[np.ndarray, np.ndarray]:
        """Candidate captions for R-precision: every caption of every image of the split,
        embedded (``[M, D]``), with the class of its image (``[M]``).

        Kept in a small in-process cache across evaluations (keyed by the split's caption
        fingerprint and the encoder's weights), so a leaderboard embeds each pool once."""
        e = self.extractors[extractor]
        key = (self.dataset.name, self.dataset.split, self.dataset.caption_fingerprint, e.name, e.weights_id, role)
        if key in _POOLS:
            return _POOLS[key]

        def build():
            e, ds = self.extractors[extractor], self.dataset
            texts, classes = [], []
            for i in range(len(ds)):
                for t in ds.captions(i):
                    texts.append(t)
                    classes.append(ds.class_id(i))
            out = e.roles[role]
            return e.encode_text(texts, outputs=[out])[out].numpy(), np.asarray(classes, dtype=np.int64)
        if len(_POOLS) >= _POOLS_MAX:
            _POOLS.pop(next(iter(_POOLS)))
        _POOLS[key] = build()
        return _POOLS[key]


class MetricProtocol:
    """Base class. ``kind``: the kind of network the metric needs (None for pixel metrics);
    ``fake_roles``/``real_roles`` name the extractor outputs it reads by role (``"embedding"``,
    ``"logits"``, ``"image"``); ``text_roles``: roles of the text side it reads (text-image
    encoders); the engine resolves roles to output names before anything runs. ``counts_hits``:
    the value is a share of hits (retrieval), so it moves in steps of 1/n_images and is compared
    across machines with a tolerance in hits (:func:`t2ibench.result.compare_results`)."""

    name: str = ""
    kind: str | None = None
    higher_is_better: bool = True
    fake_roles: tuple[str, ...] = ()
    real_roles: tuple[str, ...] = ()
    text_roles: tuple[str, ...] = ()
    paired: bool = False
    keep_images: bool = False
    min_images: int = 1
    counts_hits: bool = False

    def __init__(self, extractor: str | None = None):
        self.extractor = extractor

    def paired_values(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """Per-image values ``[N]`` for uint8 fake/real batches of equal shape."""
        raise NotImplementedError

    def compute(self, c: Collected, keys: dict[str, tuple[str, str]]) -> dict:
        """Reduce what was collected to ``{"value": float, "std": float | None, ...}``."""
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
    """

    name, kind, higher_is_better, fake_roles = "is", "image", True, ("logits",)

    @property
    def min_images(self) -> int:
        return defaults.IS_SPLITS

    def compute(self, c, keys):
        from t2ibench.metrics import inception_score

        mean, std = inception_score(c.fake[keys["logits"]], splits=defaults.IS_SPLITS)
        return {"value": mean, "std": std, "splits": defaults.IS_SPLITS}


@register_metric("fid")
class FID(MetricProtocol):
    """Fréchet Inception Distance (Heusel et al. 2017, Eq. 6) of generated vs real test images.

    Gaussians fitted (float64, unbiased covariance) to the extractor's embedding — pool3
    (2048-d) for ``inception-v3-compat`` with its TF-compatible resize to 299 — of all
    generated images and of every image of the real test split (statistics cached on disk).
    A point estimate: no std (it is biased in N; compare rows only at equal N).
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
        return {"value": value, "std": None, "n_fake": len(fake), "n_real": len(real)}


@register_metric("kid")
class KID(MetricProtocol):
    """Kernel Inception Distance (Bińkowski et al. 2018, Eq. 5): unbiased MMD² with the cubic
    polynomial kernel on the extractor's embedding, mean ± std over ``defaults.KID_SUBSETS``
    random subsets of ``defaults.KID_SUBSET_SIZE`` (clipped to the smaller set), as
    torch-fidelity computes it."""

    name, kind, higher_is_better, fake_roles, real_roles = "kid", "image", False, ("embedding",), ("embedding",)
    min_images = 2

    def compute(self, c, keys):
        from t2ibench.metrics import kid

        fake, real = c.fake[keys["embedding"]], c.real[keys["embedding"]]
        size = min(defaults.KID_SUBSET_SIZE, len(fake), len(real))
        mean, std = kid(fake, real, subsets=defaults.KID_SUBSETS, subset_size=size, seed=c.seed)
        return {"value": mean, "std": std, "subsets": defaults.KID_SUBSETS, "subset_size": size}


class _PairedPixelMetric(MetricProtocol):
    """SDN's paired protocol (Yuan & Peng, SDN, Sec. 4.2): the image generated for a test
    image's caption vs that real image; mean ± std over the generated set."""

    paired, higher_is_better = True, True

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
    """FSIMc, FSIM with chromatic (I, Q) similarity (Zhang et al. 2011, Eq. 17), SDN's paired protocol."""

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
    has no classes); the number of MS-SSIM scales used for the image size is reported."""

    name, higher_is_better, keep_images = "ms-ssim", False, True
    min_images = 2

    def compute(self, c, keys):
        from t2ibench.metrics import ms_ssim_diversity

        out = ms_ssim_diversity(c.images, torch.as_tensor(c.class_ids),
                                pairs_per_class=defaults.MS_SSIM_PAIRS_PER_CLASS,
                                pairs_overall=defaults.MS_SSIM_PAIRS_OVERALL, seed=c.seed)
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
    of the raw (not L2-normalised) CLIP image embeddings of generated vs real test images."""

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
        out = c.memoise(("cmd", self.extractor, self.variant),
                        lambda: cmd(image, c.real[keys[role]], text, variant=self.variant))
        return {"value": out[self.headline], "std": None, **out}


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
