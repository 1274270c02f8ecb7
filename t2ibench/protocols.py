"""How the engine runs each metric: what it needs from the single pass, and how it reduces.

A metric spec is ``"name"`` or ``"name@extractor"`` (e.g. ``"fid@inception-v3-compat"``).
Without ``@extractor`` the dataset's default extractor is used
(:data:`t2ibench.defaults.DEFAULT_EXTRACTORS`): the embedded ``shapes-classifier`` for
``shapes``, torch-fidelity's ``inception-v3-compat`` otherwise.

Each protocol declares its needs — features of the generated images (by extractor and
output), features of the real test split (cached on disk), paired per-image values
against the caption's real image, or the generated pixels themselves — and the engine
collects each need once, whatever number of metrics share it.

Registered metrics (issue 2): ``is``, ``fid``, ``kid``, ``ssim``, ``fsim``, ``fsimc``,
``ms-ssim``. Their paper protocols are in each class's docstring.
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


@dataclass
class Collected:
    """What the single pass gathered for the metrics.

    fake: ``{(extractor, output): float32 [N, D]}`` features of the generated images;
    real: the same for every real image of the dataset split;
    paired: ``{metric name: float64 [N]}`` per-image values against the caption's real image;
    images: uint8 ``[N, 3, H, W]`` generated images (only when a metric keeps them);
    class_ids: int64 ``[N]`` class of each caption's image (-1: no classes); seed: run seed.
    """

    fake: dict = field(default_factory=dict)
    real: dict = field(default_factory=dict)
    paired: dict = field(default_factory=dict)
    images: torch.Tensor | None = None
    class_ids: np.ndarray | None = None
    seed: int = 0


class MetricProtocol:
    """Base class. ``fake_outputs``/``real_outputs`` name extractor outputs by role
    (``"embedding"`` or ``"logits"``); the engine resolves roles to output names."""

    name: str = ""
    higher_is_better: bool = True
    fake_roles: tuple[str, ...] = ()
    real_roles: tuple[str, ...] = ()
    paired: bool = False
    keep_images: bool = False
    min_images: int = 1

    def __init__(self, extractor: str | None = None):
        self.extractor = extractor

    def paired_values(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """Per-image values ``[N]`` for uint8 fake/real batches of equal shape."""
        raise NotImplementedError

    def compute(self, c: Collected, keys: dict[str, tuple[str, str]]) -> dict:
        """Reduce what was collected to ``{"value": float, "std": float | None, ...}``."""
        raise NotImplementedError

    def describe(self) -> dict:
        return {"metric": self.name, "extractor": self.extractor, "higher_is_better": self.higher_is_better}


@register_metric("is")
class InceptionScore(MetricProtocol):
    """Inception Score (Salimans et al. 2016, Sec. 4): exp(E_x KL(p(y|x) || p(y))).

    Protocol: class probabilities from the extractor's logits over all generated images,
    ``defaults.IS_SPLITS`` (10) splits, mean ± std over splits — the convention of
    :func:`t2ibench.metrics.inception_score`. On ``shapes`` the classifier is the embedded
    48-class domain classifier (a stand-in for StackGAN's fine-tuned Inception on CUB/flowers).
    """

    name, higher_is_better, fake_roles = "is", True, ("logits",)

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

    name, higher_is_better, fake_roles, real_roles = "fid", False, ("embedding",), ("embedding",)

    @property
    def min_images(self) -> int:
        return defaults.FID_MIN_IMAGES

    def compute(self, c, keys):
        from t2ibench.metrics import frechet_distance, gaussian_statistics

        fake, real = c.fake[keys["embedding"]], c.real[keys["embedding"]]
        value = frechet_distance(*gaussian_statistics(fake), *gaussian_statistics(real))
        return {"value": value, "std": None, "n_fake": len(fake), "n_real": len(real)}


@register_metric("kid")
class KID(MetricProtocol):
    """Kernel Inception Distance (Bińkowski et al. 2018, Eq. 5): unbiased MMD² with the cubic
    polynomial kernel on the extractor's embedding, mean ± std over ``defaults.KID_SUBSETS``
    random subsets of ``defaults.KID_SUBSET_SIZE`` (clipped to the smaller set), as
    torch-fidelity computes it."""

    name, higher_is_better, fake_roles, real_roles = "kid", False, ("embedding",), ("embedding",)
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


def parse_metric(spec: str, default_extractor: str) -> MetricProtocol:
    """Build the protocol for ``"name"`` or ``"name@extractor"``."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"metric: expected a name such as 'fid' or 'fid@inception-v3-compat', got {spec!r}")
    name, _, extractor = spec.strip().partition("@")
    cls = METRICS.get(name)
    needs_extractor = bool(cls.fake_roles or cls.real_roles)
    if extractor and not needs_extractor:
        raise ValueError(f"metric {name!r} works on pixels and takes no '@extractor' (got {spec!r})")
    return cls(extractor or default_extractor if needs_extractor else None)
