"""The metrics' thread handling, in one place: torch's intra-op threads and the BLAS threads of
the libraries numpy and scipy loaded (OpenBLAS in their PyPI wheels, through threadpoolctl).

Why the metrics limit threads at all: the work they limit is either many small operations (the
pixel metrics) or a chain of memory-bound steps (LAPACK's symmetric eigenvalue solve), where a
team of threads synchronises at every step; on cores shared with other processes that
synchronisation collapsed by 2-20x (measured on 2 cores beside two busy processes: piq per image
290 pairs/s on one thread, 14 on two; the Fréchet distance at d = 2048 1.0 s on one BLAS
thread, 1.5-3.8 s on two). Each context manager restores the previous counts on leaving; both
settings are process-wide.
"""
from __future__ import annotations

import contextlib
import functools

import torch


@contextlib.contextmanager
def single_thread():
    """Run the block on one torch intra-op thread, then restore the previous count.

    Used around work made of many small operations (the pixel metrics, through
    :func:`t2ibench.metrics.gaussian_window.map_chunks`), where an OpenMP team's synchronisation
    costs more than the second core brings, and collapses when the cores are shared with other
    processes. ``torch.set_num_threads`` is process-wide: other Python threads running torch code
    meanwhile also get one thread.
    """
    before = torch.get_num_threads()
    if before == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@functools.lru_cache(maxsize=1)
def _blas_controller():
    import scipy.linalg  # noqa: F401  -- scipy's own OpenBLAS must be loaded to be seen (and limited)
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def blas_threads(n: int):
    """Context manager: the BLAS libraries scipy and numpy loaded (OpenBLAS, MKL) use ``n`` threads
    inside the block (threadpoolctl); the previous counts come back after it."""
    return _blas_controller().limit(limits=max(1, int(n)), user_api="blas")
