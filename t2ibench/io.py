"""File helpers: atomic writes (temp file in the same folder + ``os.replace``) and hashing.

Every file t2ibench writes for later reuse (caches, images, leaderboards) goes through
:func:`atomic_write`, so an interrupted run leaves either the old file or the new one,
never half a file.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb"):
    """Open a temporary file next to ``path``; on success move it onto ``path``.

    On any exception the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the file the usual mode
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def check_writable(folder, option: str = "--out") -> Path:
    """Create ``folder`` if needed and prove a file can be written there (then removed), so
    that an unwritable output is an error before any work, not after it (``OSError`` ->
    ``ValueError`` naming ``option``)."""
    import tempfile

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".t2ibench-write-test-"):
            pass
    except OSError as e:
        raise ValueError(f"{option} {folder}: cannot write there ({e.strerror or e}); give a writable folder") from None
    return folder


def write_json(path, obj, indent: int = 2) -> None:
    """Write ``obj`` as JSON atomically."""
    with atomic_write(path, "w") as f:
        json.dump(obj, f, indent=indent, sort_keys=False, default=str)
        f.write("\n")


def write_text(path, text: str) -> None:
    with atomic_write(path, "w") as f:
        f.write(text)


def sha256_file(path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_json(obj) -> str:
    """Hex sha256 of the canonical JSON of ``obj`` (sorted keys): a fingerprint of parameters."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._+-]")


def safe_filename(name: str) -> str:
    """A file name made from a user-given name (a generator such as ``mypkg.mod:make``) that
    stays one plain name inside its folder: characters other than letters, digits and
    ``._+-`` become ``_``, and leading dots are dropped (no ``..``, no hidden files)."""
    cleaned = _UNSAFE_FILENAME.sub("_", str(name)).lstrip(".")
    if not cleaned:
        raise ValueError(f"cannot make a file name from {name!r}")
    return cleaned


def path_inside(root, relative, what: str = "path", follow_symlinks: bool = False) -> Path:
    """``root / relative``, refusing a ``relative`` that would lead outside ``root``.

    For names that come from input files (dataset index files, caption JSON, manifests):
    an absolute path or ``..`` components are a ``ValueError`` naming ``what``, so an index
    file cannot make t2ibench read or write anywhere else. A symbolic link below ``root`` that
    points out of it is refused too, unless ``follow_symlinks`` (datasets: users link image
    folders and files into their data root; t2ibench's own folders: no link is expected).
    """
    root = Path(root)
    rel = Path(relative)
    if rel.is_absolute() or ".." in rel.parts:
        raise ValueError(f"{what} {str(relative)!r} leads outside {root}; expected a path relative to it")
    target = root / rel
    if not follow_symlinks and not target.resolve().is_relative_to(root.resolve()):
        raise ValueError(f"{what} {str(relative)!r} leads outside {root} (through a symbolic link)")
    return target
