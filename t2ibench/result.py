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
