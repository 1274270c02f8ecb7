"""What identifies a generator's images: its fingerprint, the key that lets kept images be reused.

An image folder (:mod:`t2ibench.image_store`) is read back only for the same run, and a run
is the same only if the generator is: a plug-in edited or retrained between two runs must
never be scored with the images of the first (issue 10: a stale FID, silently).

:func:`generator_fingerprint` gives, in this order of trust:

1. the generator's own ``fingerprint`` attribute when it declares one (zoo models: the
   sha256 of their weights file and source code) — used as it is;
2. otherwise what t2ibench can see of it: the sha256 of the source file that defines the
   generator's class and of the file that defines its factory (``module:callable`` or
   ``file.py:callable``), of every existing file an attribute of the generator names
   (``self.weights = "ckpt.pt"``), of the tensors of every ``torch.nn.Module`` it holds
   (weights loaded from anywhere), and of its plain settings (numbers, strings, bools; a device
   string such as ``"cuda:1"`` by its type, ``"cuda"``, so that torchrun's ranks agree);
   attributes named ``_like_this`` are the generator's private state (counters, caches) and
   do not count;
3. ``None`` when the generator's class has no source file (defined in an interactive
   session): nothing trustworthy identifies it, and the engine refuses to read its kept
   images back unless told to (``reuse_images=True``, ``--reuse-images``).

What (2) cannot see: edits to *other* modules the plug-in imports, and weights it loads
without keeping either the path or the module. A plug-in that wants exact reuse declares
``fingerprint`` itself (any JSON-able value that changes whenever its images would).
"""
from __future__ import annotations

import hashlib
import inspect
import re
from pathlib import Path

import torch

#: A device string with an index ("cuda:1"): a setting enters the fingerprint by the device type alone, so
#: the torchrun ranks of one run (each on its cuda:LOCAL_RANK) agree, while CPU and CUDA still differ.
_DEVICE_INDEX = re.compile(r"^(cuda|xpu|hpu|npu|mps|meta):\d+$")

#: Files larger than this that an attribute names are fingerprinted by size and mtime, not read.
_HASH_FILE_LIMIT = 4 << 30


def _file_sha256(path: Path) -> str:
    from t2ibench.io import sha256_file

    if path.stat().st_size > _HASH_FILE_LIMIT:
        st = path.stat()
        return f"size={st.st_size},mtime_ns={st.st_mtime_ns}"
    return sha256_file(path)


def _source_file(obj) -> Path | None:
    try:
        file = inspect.getsourcefile(obj)
    except (TypeError, OSError):
        return None
    return Path(file).resolve() if file and Path(file).is_file() else None


def _module_sha256(module: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for name, t in sorted(module.state_dict().items()):
        t = t.detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def _named_files(value) -> list[Path]:
    if isinstance(value, (str, Path)) and len(str(value)) < 4096:
        try:
            path = Path(value).expanduser()
            return [path.resolve()] if path.is_file() else []
        except (OSError, ValueError):
            return []
    if isinstance(value, (list, tuple)):
        return [p for v in value for p in _named_files(v)]
    return []


def generator_fingerprint(generator, factory=None):
    """The fingerprint of ``generator`` (see the module docstring): its declared ``fingerprint``,
    else a dict of sha256 values, else ``None`` (no source file: not identifiable).

    factory: the callable that built it (its source file counts too), or ``None``.
    """
    declared = getattr(generator, "fingerprint", None)
    if declared is not None:
        return declared
    source = _source_file(type(generator))
    if source is None:
        return None
    files = {source}
    if factory is not None and (factory_file := _source_file(factory)) is not None:
        files.add(factory_file)
    settings, weights, modules = {}, {}, {}
    public = {k: v for k, v in vars(generator).items() if not k.startswith("_")} if hasattr(generator, "__dict__") else {}
    for name, value in sorted(public.items()):
        if isinstance(value, torch.nn.Module):
            modules[name] = _module_sha256(value)
        elif isinstance(value, (bool, int, float, str)) or value is None:
            settings[name] = _DEVICE_INDEX.sub(r"\1", value) if isinstance(value, str) else value
        for path in _named_files(value):
            weights[str(path)] = _file_sha256(path)
    if isinstance(generator, torch.nn.Module):
        modules["self"] = _module_sha256(generator)
    from t2ibench.io import sha256_json

    return {"source_sha256": {str(f): _file_sha256(f) for f in sorted(files)},
            **({"files_sha256": weights} if weights else {}),
            **({"modules_sha256": modules} if modules else {}),
            "settings_sha256": sha256_json(settings)}
