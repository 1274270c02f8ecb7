"""The tensors of a whole pickled module (``torch.save(model)``: CPGAN's released ``NET_G.pkl``), read
without building the file's classes or calling anything the file names.

``torch.load`` of such a file imports the classes it names (``model.G_NET``, ``torch.nn.Conv2d``...) and
runs their code, and a pickle may name any importable callable (``os.system``) and have it called while
loading; ``torch.load(weights_only=True)`` refuses the file outright (it holds classes, not only tensors).
:func:`read_module_pickle` reads it with an unpickler that imports nothing:

- every class the pickle names becomes an inert placeholder type of this module's own; creating an instance
  the way pickle rebuilds objects (``NEWOBJ`` + ``BUILD``) only records the object's state (for a module:
  its ``_parameters``, ``_buffers`` and ``_modules``);
- a pickle that *calls* a global (``REDUCE``/``INST``) is refused — unless the global is one of torch's own
  tensor-rebuilding functions (``torch._utils._rebuild_tensor_v2``, ``_rebuild_tensor``,
  ``_rebuild_parameter``, ``torch.nn.parameter.Parameter``), ``collections.OrderedDict`` or ``set``, which
  are replaced by functions of this module that build plain tensors, dicts and sets;
- the legacy format's module-class records (persistent ids ``("module", class, source file, source)``, which
  ``torch.load`` uses to warn about changed source) are the class's placeholder; the source is ignored;
- storages (persistent ids ``("storage", torch.FloatStorage, key, location, numel)``) are read as raw bytes
  from the zip archive's ``data/<key>`` (PyTorch >= 1.6) or from after the pickle (the legacy format: magic
  number, protocol 1001, system info, the pickle, its storage keys, then each storage as an int64 count and
  its bytes), then viewed as tensors of the storage's dtype;
- the state dict is collected from the placeholders' recorded ``_parameters`` and ``_buffers`` (minus
  ``_non_persistent_buffers_set``), walking ``_modules``: the same keys ``model.state_dict()`` gives.

Why not :mod:`t2ibench.data.safe_pickle` (the project's restricted unpickler for plain data): a module pickle
names classes of the authors' own code (``model.G_NET``...), which safe_pickle refuses as it refuses every
global outside its allowances, while here any class name is accepted as an inert placeholder — and only
calls are refused; torch files also need persistent storage ids and the legacy format's framing of several
pickles and raw storage bytes, which plain-data pickles never have.

Any refusal, a corrupt file or a file that holds no module is a ``ValueError`` naming the file; the refusal
names the global the pickle tried to call, and nothing from the file has run. Python-2 pickles (CPGAN's were
written by Python 2.7) are read with the ``latin1`` encoding. Not supported (refused with a message): storage
views (pre-0.4 files), big-endian legacy files.
"""
from __future__ import annotations

import io
import pickle
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

_DTYPES = {"FloatStorage": torch.float32, "DoubleStorage": torch.float64, "HalfStorage": torch.float16,
           "BFloat16Storage": torch.bfloat16, "LongStorage": torch.int64, "IntStorage": torch.int32,
           "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8,
           "BoolStorage": torch.bool, "UntypedStorage": torch.uint8}
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001


class _Refused(pickle.UnpicklingError):
    """The pickle tried something a module pickle never needs (calling a global)."""


@dataclass(frozen=True, slots=True)
class _StorageType:
    dtype: torch.dtype


@dataclass(slots=True)
class _Storage:
    key: str
    dtype: torch.dtype
    numel: int
    data: torch.Tensor | None = None


@dataclass(frozen=True, slots=True)
class _TensorRef:
    storage: _Storage
    offset: int
    size: tuple
    stride: tuple


class _Placeholder:
    """An object of a class the pickle names, never built: ``BUILD`` records its state, a call is refused."""

    _global = "?"

    def __init__(self, *args, **kwargs):   # REDUCE / INST call the global: refused
        raise _Refused(f"it calls {self._global}(...) while loading")

    def __setstate__(self, state):
        self.__dict__["_state"] = state


class _Dict(dict):
    """``collections.OrderedDict`` rebuilt as a plain dict (extra instance state, e.g. ``_metadata``, dropped)."""

    def __setstate__(self, state):
        pass


def _ordered_dict(items=()):
    return _Dict(items)


def _set(items=()):
    return set(items)


def _rebuild_tensor(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    if not isinstance(storage, _Storage) or not isinstance(storage_offset, int):
        raise _Refused("a tensor is rebuilt from something other than a storage")
    size, stride = tuple(size), tuple(stride)
    if len(size) != len(stride) or not all(isinstance(v, int) and v >= 0 for v in size + stride):
        raise _Refused(f"a tensor has an invalid size {size} / stride {stride}")
    return _TensorRef(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, state=None):
    if not isinstance(data, _TensorRef):
        raise _Refused("a parameter is rebuilt from something other than a tensor")
    return data


#: the only globals a module pickle may call, each replaced by this module's own function
_CALLABLE = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch.nn.parameter", "Parameter"): _rebuild_parameter,
    ("collections", "OrderedDict"): _ordered_dict,
    ("builtins", "set"): _set,
    ("__builtin__", "set"): _set,
}


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, storages: dict):
        super().__init__(file, encoding="latin1")
        self.storages, self.placeholders = storages, {}

    def find_class(self, module, name):  # noqa: D401 — pickle API: nothing is imported
        if (module, name) in _CALLABLE:
            return _CALLABLE[(module, name)]
        if module in ("torch", "torch.cuda", "torch.storage") and name in _DTYPES:
            return _StorageType(_DTYPES[name])
        key = f"{module}.{name}"
        if key not in self.placeholders:
            self.placeholders[key] = type(name, (_Placeholder,), {"_global": key, "__module__": __name__})
        return self.placeholders[key]

    def persistent_load(self, pid):
        if (isinstance(pid, tuple) and len(pid) == 4 and pid[0] == "module" and isinstance(pid[1], type)
                and issubclass(pid[1], _Placeholder)):
            return pid[1]   # the legacy format's record of a module class with its source code: the placeholder
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and isinstance(pid[2], str) and isinstance(pid[4], int)):
            raise _Refused(f"it holds a persistent id that is not a torch storage: {str(pid)[:80]}")
        if len(pid) == 6 and pid[5] is not None:
            raise pickle.UnpicklingError("storage views (PyTorch < 0.4 files) are not supported")
        storage = self.storages.setdefault(pid[2], _Storage(pid[2], pid[1].dtype, pid[4]))
        if storage.dtype != pid[1].dtype or storage.numel != pid[4]:
            raise pickle.UnpicklingError(f"storage {pid[2]!r} is declared twice with different types or sizes")
        return storage


def _view(raw: bytes, storage: _Storage, little_endian: bool = True) -> torch.Tensor:
    itemsize = torch.empty(0, dtype=storage.dtype).element_size()
    if len(raw) != storage.numel * itemsize:
        raise pickle.UnpicklingError(f"storage {storage.key!r}: {len(raw)} bytes, expected "
                                     f"{storage.numel} × {itemsize}")
    if not raw:
        return torch.empty(0, dtype=storage.dtype)
    data = torch.frombuffer(bytearray(raw), dtype=torch.uint8)
    if not little_endian:
        data = data.view(-1, itemsize).flip(1).reshape(-1)
    return data.view(storage.dtype)


def _load_zip(path: Path):
    with zipfile.ZipFile(path) as z:
        pickles = [n for n in z.namelist() if n == "data.pkl" or n.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise pickle.UnpicklingError(f"a zip archive with {len(pickles)} data.pkl files (a torch archive has one)")
        prefix = pickles[0][: -len("data.pkl")]
        order = z.read(prefix + "byteorder") if prefix + "byteorder" in z.namelist() else b"little"
        storages: dict = {}
        root = _Unpickler(io.BytesIO(z.read(pickles[0])), storages).load()
        for storage in storages.values():
            storage.data = _view(z.read(f"{prefix}data/{storage.key}"), storage, order == b"little")
    return root


def _load_legacy(path: Path):
    buf = io.BytesIO(path.read_bytes())
    if _Unpickler(buf, {}).load() != LEGACY_MAGIC:
        raise pickle.UnpicklingError("not a torch file (no zip archive, no legacy magic number)")
    if _Unpickler(buf, {}).load() != LEGACY_PROTOCOL:
        raise pickle.UnpicklingError("an unknown legacy torch protocol version")
    info = _Unpickler(buf, {}).load()
    little = not isinstance(info, dict) or info.get("little_endian", True)
    storages: dict = {}
    root = _Unpickler(buf, storages).load()
    keys = _Unpickler(buf, {}).load()
    if not isinstance(keys, list) or set(keys) != set(storages):
        raise pickle.UnpicklingError("the storage keys after the pickle are not the ones it uses")
    for key in keys:
        storage = storages[key]
        (count,) = struct.unpack("<q" if little else ">q", buf.read(8))
        if count != storage.numel:
            raise pickle.UnpicklingError(f"storage {key!r} holds {count} elements, the pickle says {storage.numel}")
        storage.data = _view(buf.read(count * torch.empty(0, dtype=storage.dtype).element_size()), storage, little)
    return root


def _tensor(ref: _TensorRef, name: str) -> torch.Tensor:
    data = ref.storage.data if isinstance(ref.storage, _Storage) else None
    if not isinstance(data, torch.Tensor) or not isinstance(ref.offset, int):
        raise ValueError(f"tensor {name!r} does not point into a storage of the file")
    last = ref.offset + sum((n - 1) * s for n, s in zip(ref.size, ref.stride)) if all(ref.size) else ref.offset - 1
    if ref.offset < 0 or last >= data.numel():
        raise ValueError(f"tensor {name!r} reaches past its storage ({data.numel()} elements)")
    return torch.as_strided(data, ref.size, ref.stride, ref.offset).clone()


def _collect(obj, prefix: str, out: dict) -> None:
    state = obj.__dict__.get("_state") if isinstance(obj, _Placeholder) else None
    if not isinstance(state, dict):
        raise ValueError(f"{prefix or 'the top object'} is a {getattr(obj, '_global', type(obj).__name__)} without "
                         f"a module's state, not a pickled nn.Module")
    for group in ("_parameters", "_buffers", "_modules"):
        if not isinstance(state.get(group) or {}, dict):
            raise ValueError(f"{prefix or 'the top object'}'s {group} is a {type(state[group]).__name__}, not a "
                             f"module's mapping of names")
    skip = state.get("_non_persistent_buffers_set") or set()
    for group in ("_parameters", "_buffers"):
        for name, ref in (state.get(group) or {}).items():
            if ref is None or (group == "_buffers" and name in skip):
                continue
            if not isinstance(ref, _TensorRef):
                raise ValueError(f"{prefix}{name} is not a tensor")
            out[prefix + name] = _tensor(ref, prefix + name)
    for name, child in (state.get("_modules") or {}).items():
        if child is not None:
            _collect(child, f"{prefix}{name}.", out)


def read_module_pickle(path, what: str) -> dict[str, torch.Tensor]:
    """``{name: tensor}`` as ``model.state_dict()`` would give it, from a whole-module torch pickle (zip or
    legacy format), without importing or calling anything the file names (module docstring)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ValueError(f"{what}: no such file {path}")
    try:
        root = _load_zip(path) if zipfile.is_zipfile(path) else _load_legacy(path)
    except _Refused as e:
        raise ValueError(f"{what}: refused: {path} is not a plain module pickle: {e}; only torch's tensor "
                         f"rebuilding may be called, and nothing from the file has run") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, AttributeError, IndexError,
            struct.error, zipfile.BadZipFile, RecursionError, MemoryError) as e:
        raise ValueError(f"{what}: {path} is not a readable torch module pickle ({type(e).__name__}: {e})") from None
    state: dict[str, torch.Tensor] = {}
    try:
        _collect(root, "", state)
    except RecursionError:
        raise ValueError(f"{what}: {path} nests modules too deeply") from None
    except (ValueError, TypeError, AttributeError) as e:   # a state that is not a module's
        raise ValueError(f"{what}: {path}: {e}") from None
    if not state:
        raise ValueError(f"{what}: {path} holds a module without tensors")
    return state
