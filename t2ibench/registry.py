"""Name -> factory registries for generators, datasets, feature extractors and metrics.

Generators are found three ways, in this order:

1. registered in-process with :func:`register_generator` (the zoo in ``models/`` and the
   reference rows in :mod:`t2ibench.generators` register on import);
2. an installed package's entry point in the group ``t2ibench.generators``
   (``name = "pkg.module:factory"``);
3. a ``"module:callable"`` string, imported on demand.

A generator factory is called as ``factory(dataset=<CaptionedImageDataset>, device=<str>)``
and returns an object with ``generate(captions, seed=0) -> uint8 [N, 3, H, W]``.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

ENTRY_POINT_GROUP = "t2ibench.generators"


class Registry:
    """A name -> object map with a decorator to fill it and clear errors for unknown names."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, Any] = {}

    def register(self, name: str, obj: Any = None):
        """Register ``obj`` under ``name``; used bare as ``@registry.register("name")``."""
        def add(o):
            if name in self._items and self._items[name] is not o:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._items[name] = o
            return o
        return add if obj is None else add(obj)

    def get(self, name: str) -> Any:
        if not isinstance(name, str):
            raise TypeError(f"{self.kind} name: expected str, got {type(name).__name__}")
        if name not in self._items:
            raise ValueError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names()) or '(none)'}")
        return self._items[name]

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        return name in self._items


GENERATORS = Registry("generator")


def register_generator(name: str, factory: Callable | None = None):
    """Register a generator factory ``factory(dataset, device) -> Generator`` under ``name``."""
    return GENERATORS.register(name, factory)


def _import_zoo() -> None:
    """Import the packages whose import registers generators (reference rows, the zoo)."""
    importlib.import_module("t2ibench.generators")
    try:
        importlib.import_module("models")
    except ModuleNotFoundError as e:  # installed without the zoo
        if e.name != "models":
            raise


def _entry_point_generators() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def list_generators() -> list[str]:
    """Names of every generator: registered, the zoo's, and installed entry points."""
    _import_zoo()
    return sorted(set(GENERATORS.names()) | set(_entry_point_generators()))


def _import_callable(spec: str) -> Callable:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"generator {spec!r}: expected 'module:callable'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ValueError(f"generator {spec!r}: cannot import module {module_name!r} ({e})") from e
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"generator {spec!r}: module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"generator {spec!r}: {attr!r} is not callable")
    return obj


def get_generator_factory(name: str) -> Callable:
    """The factory for ``name`` (registered name, entry point name, or ``module:callable``)."""
    _import_zoo()
    if name in GENERATORS:
        return GENERATORS.get(name)
    eps = _entry_point_generators()
    if name in eps:
        return eps[name].load()
    if ":" in name:
        return _import_callable(name)
    return GENERATORS.get(name)  # raises the 'unknown generator' error with the known names


def load_generator(name: str, dataset="shapes", device: str = "cpu", **kwargs):
    """Build generator ``name`` for ``dataset`` (a name or a loaded dataset) on ``device``.

    A dataset given by name is loaded with its test split at its default image size.
    """
    from t2ibench.data import load_dataset
    from t2ibench.generators.base import check_generator

    factory = get_generator_factory(name)
    if isinstance(dataset, str):
        dataset = load_dataset(dataset, split="test")
    gen = factory(dataset=dataset, device=device, **kwargs)
    return check_generator(gen, name)
