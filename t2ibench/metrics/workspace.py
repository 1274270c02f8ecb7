"""Scratch buffers the pixel metrics reuse from chunk to chunk and from call to call.

One job: hand out a flat tensor of at least ``numel`` elements and take it back afterwards.
Why: the batched SSIM works chunk by chunk on a few MiB of moment maps. Allocated afresh, each
buffer of that size comes from the C allocator's ``mmap`` and is returned to the system when
freed, so every chunk paid for page faults on first touch: measured ~2,900 minor faults per
300-pair SSIM call, and 38-60 ms per call instead of 37-39 ms (2 vCPUs, Firecracker VM, where a
fault is expensive). A pool of reused buffers has none after the first call.

The pool keeps at most :data:`POOL_SIZE` buffers of at most :data:`KEEP_BYTES` each (larger ones,
e.g. single 1024-px images, are freed after use), so it holds at most 256 MiB and usually a few
MiB. It is shared by all threads (a lock guards the list; each buffer is used by one caller at a
time).
"""
from __future__ import annotations

import contextlib
import threading

import torch

#: Largest buffer, in bytes, kept for reuse after a call (larger ones are freed).
KEEP_BYTES = 64 * 2 ** 20
#: Most buffers kept (one per concurrent chunk worker is enough).
POOL_SIZE = 4

_pool: list[torch.Tensor] = []
_lock = threading.Lock()


@contextlib.contextmanager
def scratch(numel: int, dtype: torch.dtype, device: torch.device | str):
    """Context manager yielding a flat ``Tensor[numel]`` of ``dtype`` on ``device`` with arbitrary
    contents (a view of a pooled buffer, or a new one), returned to the pool on leaving. The
    caller must not keep views of it beyond the block."""
    device = torch.device(device)
    with _lock:
        fits = [i for i, t in enumerate(_pool) if t.dtype == dtype and t.device == device and t.numel() >= numel]
        buf = _pool.pop(min(fits, key=lambda i: _pool[i].numel())) if fits else None
    if buf is None:
        with torch.inference_mode(False):  # a normal tensor: usable in and out of inference mode
            buf = torch.empty(numel, dtype=dtype, device=device)
    try:
        yield buf[:numel]
    finally:
        if buf.numel() * buf.element_size() <= KEEP_BYTES:
            with _lock:
                _pool.append(buf)
                if len(_pool) > POOL_SIZE:
                    _pool.pop(min(range(len(_pool)), key=lambda i: _pool[i].numel()))
