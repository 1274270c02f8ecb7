"""Named feature extractors (the torch-fidelity habit: extractors registered by string).

``load_extractor("inception-v3-compat", device="cpu", weights=None)`` returns a
:class:`FeatureExtractor`; ``list_extractors()`` names them all; ``known_weights(name)`` lists
the published weight files (and their sha256) an extractor accepts without a warning, and
``describe_extractors()`` is what ``t2ibench list extractors`` prints below each name.
"""
from __future__ import annotations

from t2ibench.features.base import FeatureExtractor
from t2ibench.registry import Registry

EXTRACTORS = Registry("feature extractor")
#: ``{extractor name: () -> {file name: sha256 or published sha256 prefix}}``.
_KNOWN_WEIGHTS: dict = {}


def register_extractor(name: str, factory=None):
    """Register ``factory(device=..., weights=...) -> FeatureExtractor`` under ``name``."""
    return EXTRACTORS.register(name, factory)


def register_known_weights(name: str, table) -> None:
    """Register ``table() -> {file name: sha256}``: the published weight files extractor ``name``
    accepts without an ``unknown weights`` warning (a full sha256, or the prefix where only a
    prefix is published). Called lazily: a table may need an optional library."""
    _KNOWN_WEIGHTS[name] = table


def list_extractors() -> list[str]:
    return EXTRACTORS.names()


def known_weights(name: str) -> dict[str, str]:
    """``{file name: sha256}`` of the published weight files extractor ``name`` knows; ``{}`` for
    one without such a table (packaged stand-ins are checked against their own manifests; user-
    trained evaluators have no published file). Unknown ``name``: the registry's ValueError."""
    EXTRACTORS.get(name)
    table = _KNOWN_WEIGHTS.get(name)
    return dict(table()) if table is not None else {}


def describe_extractors() -> dict[str, list[str]]:
    """``{extractor name: lines}``: one ``known weights: <file> sha256 <hex>`` line per published
    file (``<hex>…`` where only a prefix is published), for ``t2ibench list extractors``."""
    out = {}
    for name in list_extractors():
        out[name] = [f"known weights: {file} sha256 {h}{'' if len(h) == 64 else '… (published prefix)'}"
                     for file, h in known_weights(name).items()]
    return out


def load_extractor(name: str, device: str = "cpu", weights: str | None = None,
                   dataset: str | None = None) -> FeatureExtractor:
    """Build extractor ``name`` on ``device``; ``weights`` is an optional local weights path.

    ``dataset``: the name of the dataset being evaluated, passed on to factories that take a
    ``dataset`` argument (their errors then name it, e.g. the command that trains a DAMSM on it);
    ignored by the others."""
    factory = EXTRACTORS.get(name)
    kwargs = {"dataset": dataset} if dataset is not None and _takes_dataset(factory) else {}
    extractor = factory(device=device, weights=weights, **kwargs)
    return extractor.eval().requires_grad_(False)


def _takes_dataset(factory) -> bool:
    import inspect

    try:
        return "dataset" in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False


from t2ibench.features import (clip, damsm, inception, inception_imagenet, inception_stackgan,  # noqa: E402,F401
                               shapes_classifier, vs_maps, vse)  # (register on import)

__all__ = ["FeatureExtractor", "EXTRACTORS", "register_extractor", "register_known_weights", "list_extractors",
           "load_extractor", "known_weights", "describe_extractors"]
