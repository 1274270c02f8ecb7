"""Named feature extractors (the torch-fidelity habit: extractors registered by string).

``load_extractor("inception-v3-compat", device="cpu", weights=None)`` returns a
:class:`FeatureExtractor`; ``list_extractors()`` names them all.
"""
from __future__ import annotations

from t2ibench.features.base import FeatureExtractor
from t2ibench.registry import Registry

EXTRACTORS = Registry("feature extractor")


def register_extractor(name: str, factory=None):
    """Register ``factory(device=..., weights=...) -> FeatureExtractor`` under ``name``."""
    return EXTRACTORS.register(name, factory)


def list_extractors() -> list[str]:
    return EXTRACTORS.names()


def load_extractor(name: str, device: str = "cpu", weights: str | None = None) -> FeatureExtractor:
    """Build extractor ``name`` on ``device``; ``weights`` is an optional local weights path."""
    extractor = EXTRACTORS.get(name)(device=device, weights=weights)
    return extractor.eval().requires_grad_(False)


from t2ibench.features import (clip, damsm, inception, shapes_classifier, vs_maps,  # noqa: E402,F401
                               vse)  # (register on import)

__all__ = ["FeatureExtractor", "EXTRACTORS", "register_extractor", "list_extractors", "load_extractor"]
