"""Name -> factory registries for generators, datasets, feature extractors and metrics.

Generators are found three ways, in this order:

1. registered in-process with :func:`register_generator` (the zoo in ``models/`` and the
   reference rows in :mod:`t2ibench.generators` register on import);
2. an installed package's entry point in the group ``t2ibench.generators``
   (``name = "pkg.module:factory"``);
3. a ``"module:callable"`` string, imported on demand, with the current directory importable
   (``--generator mygen:make`` next to ``mygen.py`` works without setting ``PYTHONPATH``);
4. a ``"path/to/file.py:callable"`` string: the file is imported as a module of its own
   (its folder is importable while it loads, so it may import its sibling modules).

A generator factory is called as ``factory(dataset=<CaptionedImageDataset>, device=<str>)``
and returns an object with ``generate(captions, seed=0) -> uint8 [N, 3, H, W]``.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from contextlib import contextmanager, suppress
from pathlib import Path
from importlib.metadata import entry_points
from typing import Any

ENTRY_POINT_GROUP = "t2ibench.generators"


class PluginError(RuntimeError):
    """A plug-in's own code (import, factory or ``generate``) raised: the message names the
    generator and carries the original exception's type and text; ``__cause__`` is the original
    (the CLI shows its traceback with ``--traceback``)."""


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


def _split_spec(spec: str) -> tuple[str, str]:
    """``"module:attr"`` or ``"path/file.py:attr"`` -> (module or path, attr); the last ``:``
    separates them, so a Windows path ``C:\\x\\gen.py:make`` splits right."""
    target, _, attr = spec.rpartition(":")
    if not target or not attr:
        raise ValueError(f"generator {spec!r}: expected 'module:callable' or 'path/to/file.py:callable'")
    return target, attr


def _is_file_spec(target: str) -> bool:
    return target.endswith(".py") or "/" in target or "\\" in target


def _import_file(spec: str, target: str):
    """Import the Python file ``target`` as a module named after its path (a fresh import each
    time the file's content changes; one module object per path otherwise)."""
    import hashlib
    import importlib.util
    import sys

    path = Path(target).expanduser().resolve()
    if not path.is_file():
        raise ValueError(f"generator {spec!r}: no such file {path}")
    name = "t2ibench_plugin_" + hashlib.sha256(str(path).encode() + path.read_bytes()).hexdigest()[:16]
    if name in sys.modules:
        return sys.modules[name]
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise ValueError(f"generator {spec!r}: {path} cannot be imported as a Python file")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        with _importable(path.parent):
            module_spec.loader.exec_module(module)
    except BaseException as e:
        sys.modules.pop(name, None)
        if isinstance(e, Exception):
            raise PluginError(f"generator {spec!r}: importing {path} raised {type(e).__name__}: {e}") from e
        raise
    return module


@contextmanager
def _importable(folder):
    """Put ``folder`` first on ``sys.path`` for the duration of an import."""
    import sys

    folder = str(folder)
    sys.path.insert(0, folder)
    try:
        yield
    finally:
        with suppress(ValueError):
            sys.path.remove(folder)


def _import_callable(spec: str) -> Callable:
    target, attr = _split_spec(spec)
    if _is_file_spec(target):
        obj = _import_file(spec, target)
    else:
        try:
            with _importable(Path.cwd()):
                obj = importlib.import_module(target)
        except ModuleNotFoundError as e:
            if e.name and target.split(".")[0] == e.name.split(".")[0]:
                raise ValueError(f"generator {spec!r}: no module {target!r} in the current directory or on the "
                                 f"Python path; give a file instead: 'path/to/{target.replace('.', '/')}.py:{attr}'"
                                 ) from e
            raise PluginError(f"generator {spec!r}: importing module {target!r} failed: {e}") from e
        except Exception as e:  # noqa: BLE001 — the plug-in's own import-time error, reported in one line
            raise PluginError(f"generator {spec!r}: importing module {target!r} raised {type(e).__name__}: {e}"
                              ) from e
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"generator {spec!r}: {target!r} has no attribute {attr!r}")
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
    if ":" in name or name.endswith(".py"):
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
    try:
        gen = factory(dataset=dataset, device=device, **kwargs)
    except (ValueError, TypeError, OSError):
        raise  # the factory's own input errors (a bad path, a wrong dataset) are reported as they are
    except Exception as e:  # noqa: BLE001 — any other failure of a plug-in is one line naming it
        raise PluginError(f"generator {name!r}: its factory raised {type(e).__name__}: {e}") from e
    return check_generator(gen, name)
