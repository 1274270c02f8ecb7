"""On-disk cache of arrays that depend only on fixed inputs: real-image features, embedded
candidate-caption pools, caption embeddings.

One ``.npz`` file per key under ``defaults.CACHE_DIR/<kind>/``; the key is the sha256 of a
JSON dict naming everything the arrays depend on (dataset fingerprint, extractor name,
weights sha256, resize mode, output, format version), so another dataset, another weights
file or another t2ibench format is another file, never a stale one. Files are written
atomically. A file that cannot be read, holds NaN/Inf or fails the caller's check is an
error naming it (delete it to recompute), never a silent wrong number. Every use is
recorded (:class:`CacheUse`) so that results can say what was read back.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from t2ibench import defaults
from t2ibench.io import atomic_write, sha256_json


@dataclass(frozen=True)
class CacheUse:
    """One lookup: what it was, the file, and whether it was read back (``True``) or computed."""

    what: str
    file: str
    read_back: bool

    def to_dict(self) -> dict:
        return asdict(self)


def cache_path(kind: str, prefix: str, key: dict) -> Path:
    """``CACHE_DIR/kind/<prefix>-<sha256(key)[:16]>.npz``."""
    return defaults.CACHE_DIR / kind / f"{prefix}-{sha256_json(key)[:16]}.npz"


def cached_arrays(kind: str, prefix: str, key: dict, what: str, build: Callable[[], dict[str, np.ndarray]],
                  check: Callable[[dict[str, np.ndarray]], str | None] | None = None,
                  names: list[str] | None = None) -> tuple[dict[str, np.ndarray], CacheUse]:
    """The arrays for ``key``, read from the cache file or built by ``build()`` and stored.

    what: words for messages ("real-image features"); check(arrays): a sentence saying what is
    wrong with read-back arrays (e.g. another number of rows), or ``None``; names: the arrays
    to read (default: all in the file).
    """
    path = cache_path(kind, prefix, key)
    if path.exists():
        try:
            with np.load(path) as z:
                arrays = {k: z[k] for k in (names if names is not None else z.files)}
        except Exception as e:  # noqa: BLE001 — any failure to read is reported the same way
            raise ValueError(f"cached {what} {path} are unreadable ({type(e).__name__}: {e}); delete the file to "
                             f"recompute them") from e
        problem = _nonfinite(arrays) or (check(arrays) if check else None)
        if problem:
            raise ValueError(f"cached {what} {path} {problem}; delete the file to recompute them")
        return arrays, CacheUse(what, str(path), True)
    arrays = build()
    problem = _nonfinite(arrays)
    if problem:
        raise ValueError(f"{what} {problem}; nothing was cached")
    with atomic_write(path) as f:
        np.savez(f, **arrays)
    return arrays, CacheUse(what, str(path), False)


def _nonfinite(arrays: dict[str, np.ndarray]) -> str | None:
    bad = [k for k, v in arrays.items() if np.issubdtype(v.dtype, np.floating) and not np.isfinite(v).all()]
    return f"contain NaN or Inf (arrays {bad})" if bad else None
