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

_PACKAGES = ("t2ibench", "torch", "torchvision", "numpy", "scipy", "torch-fidelity", "piq", "open_clip_torch")


def package_versions() -> dict[str, str]:
    """Installed versions of the packages a number depends on (``None`` if absent)."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
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
        return "\n".join(lines)


#: What must be equal for two results to be comparable at all.
_SAME_RUN = ("generator", "n_images", "seed")


def compare_results(result: EvalResult, reference: EvalResult, rtol: float = defaults.COMPARE_RTOL,
                    atol: float = defaults.COMPARE_ATOL, hits: int = defaults.COMPARE_HITS) -> list[dict]:
    """Compare every metric of ``reference`` with ``result``: one row per metric with ``value``,
    ``reference``, ``tolerance`` and ``ok``; a metric missing from ``result`` is a row with ``ok`` False.

    Tolerance: ``max(rtol·|reference|, atol)`` for continuous metrics; ``hits / n_images`` for
    retrieval shares (metrics recorded with ``counts_hits``). These are the documented
    cross-machine tolerances (``defaults.COMPARE_*``; README "What t2ibench guarantees").
    Results of different runs (generator, n_images, seed, dataset fingerprint) are a
    ``ValueError``: their numbers are not meant to agree.
    """
    diff = [(k, getattr(result, k), getattr(reference, k)) for k in _SAME_RUN if getattr(result, k) != getattr(reference, k)]
    fa, fb = result.dataset.get("fingerprint"), reference.dataset.get("fingerprint")
    if fa != fb:
        diff.append(("dataset fingerprint", fa, fb))
    if diff:
        raise ValueError("the results are of different runs, so their numbers are not comparable: "
                         + "; ".join(f"{k}: {a!r} vs reference {b!r}" for k, a, b in diff))
    rows = []
    for name, ref in reference.metrics.items():
        tol = (hits / reference.n_images if ref.get("counts_hits") else max(rtol * abs(ref["value"]), atol))
        got = result.metrics.get(name, {}).get("value")
        rows.append({"metric": name, "value": got, "reference": ref["value"], "tolerance": tol,
                     "ok": got is not None and abs(got - ref["value"]) <= tol})
    return rows
