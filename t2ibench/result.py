"""The result of one evaluation, and its provenance.

:class:`EvalResult` serialises to JSON with everything needed to trust or reproduce a
number: package versions, seed, device, the dataset's fingerprint, each feature
extractor's weights id (sha256) and whether it is an embedded stand-in.
"""
from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version

from t2ibench import defaults
from t2ibench.io import write_json

_PACKAGES = ("t2ibench", "torch", "torchvision", "numpy", "scipy", "numba", "torch-fidelity", "piq", "open_clip_torch")


def package_versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Installed versions of the packages a number depends on, and of ``extra`` ones (``None`` if absent)."""
    out = {"python": platform.python_version()}
    for name in (*_PACKAGES, *extra):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


@dataclass
class EvalResult:
    """One (generator, dataset) evaluation.

    metrics: ``{spec: {"value": float, "std": float | None, ...}}``;
    extractors: ``{name: FeatureExtractor.describe()}``; provenance: versions, device, time.
    """

    generator: str
    dataset: dict
    n_images: int
    seed: int
    metrics: dict = field(default_factory=dict)
    extractors: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

    def value(self, metric: str) -> float:
        """The headline value of ``metric`` (KeyError naming the metrics present otherwise)."""
        if metric not in self.metrics:
            raise KeyError(f"no metric {metric!r} in this result; it has {sorted(self.metrics)}")
        return self.metrics[metric]["value"]

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str)

    def save(self, path) -> None:
        """Write the JSON atomically."""
        write_json(path, self.to_dict())

    @classmethod
    def load(cls, path) -> "EvalResult":
        with open(path) as f:
            return cls(**json.load(f))

    def summary(self) -> str:
        """One line per metric: ``name  value ± std``."""
        lines = [f"{self.generator} on {self.dataset.get('name')}[{self.dataset.get('split')}], "
                 f"n={self.n_images}, seed={self.seed}"]
        for name, m in self.metrics.items():
            std = f" ± {m['std']:.4g}" if m.get("std") is not None else ""
            lines.append(f"  {name:<28s} {m['value']:.4g}{std}")
        images = self.provenance.get("images", {})
        if images.get("shards_read_back"):
            lines.append(f"  images: {images['shards_read_back']} of {images['shards']} shard(s) read back from "
                         f"{images['dir']} (kept by this same run), the rest generated")
        for note in self.warnings:
            lines.append(f"  warning: {note}")
        return "\n".join(lines)


def compare_results(result: EvalResult, reference: EvalResult, rtol: float = defaults.COMPARE_RTOL,
                    atol: float = defaults.COMPARE_ATOL, hits: int = defaults.COMPARE_HITS) -> list[dict]:
    """Reproduce-mode comparison of ``result`` with ``reference`` (kept for older callers; see
    :func:`t2ibench.compare.compare`, which ``t2ibench compare`` uses, for both modes and the verdict).

    One row per metric of either result, with ``metric``, ``value`` (``result``'s), ``reference``,
    ``tolerance``, ``verdict`` and ``ok``; a metric in only one result is a row with ``ok`` False.
    Tolerance: ``max(rtol·max(|value|, |reference|), atol)`` for continuous metrics; ``hits /
    n_images`` for retrieval shares (metrics recorded with ``counts_hits``); the std must agree
    too. Results of different runs (generator, n_images, seed, dataset) or of different protocols
    or extractor weights are a ``ValueError`` (:class:`t2ibench.compare.NotComparable`).
    """
    from t2ibench.compare import compare

    rows = compare(reference, result, mode="reproduce", rtol=rtol, atol=atol, hits=hits).rows
    return [{**r, "value": r["new"], "reference": r["baseline"], "ok": r["verdict"] == "ok"} for r in rows]
