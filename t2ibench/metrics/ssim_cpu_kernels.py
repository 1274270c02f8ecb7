"""CPU kernels (numba) of the two elementwise steps of the batched SSIM of
:func:`t2ibench.metrics.gaussian_window.ssim_channel_means`: forming the centred moment maps, and
the SSIM / cs formula over the filtered maps with the per-channel means.

Why compiled: in eager torch each step is a chain of 9-18 whole-map operations, each reading and
writing the maps again (~40% of a 300-pair SSIM call on 2 cores); a fused loop reads them once.
Measured per chunk of 10 RGB 64-px pairs on one core: moments 87 us (torch 141 us), formula and
means 67 us (torch ~250 us). The separable filtering between the two steps stays on BLAS (banded
matrix products: 167 us for the column pass where a numba loop took 385 us).

The arithmetic is the torch path's, operation for operation, in the compute dtype (float32, or
float64 for float64 inputs): no fast-math, no fused multiply-add contraction (numba's default), so
identical images still give cs and SSIM of exactly 1. Two differences, both at round-off: the
channel means and the final sums over each map are accumulated in float64 (torch: float32).
``tests/test_ssim_fast.py`` checks these kernels against the torch path.

Compiled on first use (about 1-2 s per input dtype) and cached on disk by numba (``cache=True``:
``__pycache__`` beside this file, or numba's user-wide cache directory when that is read-only; where
neither can be written, e.g. a read-only install with an unwritable home, numba refuses ``cache=True``
at import and the kernels are compiled in every process instead, see :func:`_jit`).
Every kernel releases the GIL (``nogil``), so the chunk workers of
:func:`t2ibench.metrics.gaussian_window.map_chunks` run them in parallel. ``error_model="numpy"``:
a division by zero gives inf/nan as in torch (Python's error model adds a branch per division,
which also stops the loop from being vectorised).
"""
from __future__ import annotations

import numba
import numpy as np



def _jit(fn):
    """``numba.njit`` with the options above, cached on disk where numba finds a writable place."""
    options = {"nogil": True, "error_model": "numpy"}
    try:
        return numba.njit(cache=True, **options)(fn)
    except RuntimeError:  # "cannot cache function ...: no locator available": compile per process
        return numba.njit(cache=False, **options)(fn)


@_jit
def channel_means(x, out, row_sums):
    """``out[c]`` = mean of ``x[c]`` for ``x`` ``[NC, H, W]`` (any real dtype), accumulated in
    float64 (``row_sums``: float64 scratch ``[W]``) and stored in ``out``'s dtype."""
    nc, h, w = x.shape
    for ch in range(nc):
        row_sums[:] = 0.0
        for i in range(h):
            row = x[ch, i]
            for j in range(w):
                row_sums[j] += row[j]
        out[ch] = row_sums.sum() / (h * w)


@_jit
def centred_moments(x, y, mean_x, mean_y, moments):
    """Fill ``moments`` ``[H, 4, NC, W]`` with ``a, b, a^2 + b^2, ab`` where ``a = x - mean_x[c]``,
    ``b = y - mean_y[c]`` (``x``, ``y``: ``[NC, H, W]``, any real dtype; converted to ``moments``'
    dtype before the subtraction)."""
    nc, h, w = x.shape
    for i in range(h):
        for ch in range(nc):
            mx = mean_x[ch]
            my = mean_y[ch]
            xr, yr = x[ch, i], y[ch, i]
            a_, b_, sq, ab = moments[i, 0, ch], moments[i, 1, ch], moments[i, 2, ch], moments[i, 3, ch]
            for j in range(w):
                a_[j] = xr[j]  # the conversion, on the store
                b_[j] = yr[j]
            for j in range(w):
                a = a_[j] - mx
                b = b_[j] - my
                a_[j] = a
                b_[j] = b
                sq[j] = a * a + b * b
                ab[j] = a * b


@_jit
def ssim_cs_means(filtered, mean_x, mean_y, constants, sums, out):
    """Per-channel means of the SSIM and cs maps from the filtered centred moments.

    ``filtered`` ``[H', 4, NC, W']``: ``mu_a, mu_b, E[a^2 + b^2], E[ab]`` under the window;
    ``constants``: ``[C1, C2, 2]`` in ``filtered``'s dtype; ``sums``: float64 scratch
    ``[2, NC, W']``; ``out`` ``[2, NC]``: the SSIM and cs means (Wang et al. 2004 Eq. 13; cs of
    Wang et al. 2003 Eq. 7), computed as the torch path does:
    ``cs = (2 (E[ab] - mu_a mu_b) + C2) / ((E[a^2 + b^2] - (mu_a^2 + mu_b^2)) + C2)`` and
    ``SSIM = s / (s + (mu_x - mu_y)^2) * cs`` with ``mu_x = mu_a + mean_x``, ``s = 2 mu_x mu_y + C1``.
    """
    hh, _, nc, ww = filtered.shape
    c1, c2, two = constants[0], constants[1], constants[2]
    sums[:] = 0.0
    for i in range(hh):
        for ch in range(nc):
            mu_a_, mu_b_, e_sq, e_ab = filtered[i, 0, ch], filtered[i, 1, ch], filtered[i, 2, ch], filtered[i, 3, ch]
            ssim_sum, cs_sum = sums[0, ch], sums[1, ch]
            mx = mean_x[ch]
            my = mean_y[ch]
            for j in range(ww):
                mu_a = mu_a_[j]
                mu_b = mu_b_[j]
                cs = ((e_ab[j] - mu_a * mu_b) * two + c2) / ((e_sq[j] - (mu_a * mu_a + mu_b * mu_b)) + c2)
                mu_x = mu_a + mx
                mu_y = mu_b + my
                s = mu_x * mu_y * two + c1
                d = mu_x - mu_y
                ssim_sum[j] += s / (s + d * d) * cs
                cs_sum[j] += cs
    for ch in range(nc):
        out[0, ch] = sums[0, ch].sum() / (hh * ww)
        out[1, ch] = sums[1, ch].sum() / (hh * ww)


def moments_cpu(x: np.ndarray, y: np.ndarray, moments: np.ndarray) -> np.ndarray:
    """Centred moments of ``x``, ``y`` ``[NC, H, W]`` into ``moments`` ``[H, 4, NC, W]``; returns the
    channel means ``[2, NC]`` in ``moments``' dtype."""
    means = np.empty((2, x.shape[0]), dtype=moments.dtype)
    row_sums = np.empty(x.shape[2], dtype=np.float64)
    channel_means(x, means[0], row_sums)
    channel_means(y, means[1], row_sums)
    centred_moments(x, y, means[0], means[1], moments)
    return means


def formula_cpu(filtered: np.ndarray, means: np.ndarray, c1: float, c2: float) -> np.ndarray:
    """``[2, NC]`` SSIM and cs means (in ``filtered``'s dtype) from ``filtered`` ``[H', 4, NC, W']``
    and the channel means ``[2, NC]``."""
    hh, _, nc, ww = filtered.shape
    sums = np.empty((2, nc, ww), dtype=np.float64)
    out = np.empty((2, nc), dtype=np.float64)
    ssim_cs_means(filtered, means[0], means[1], np.array([c1, c2, 2.0], dtype=filtered.dtype), sums, out)
    return out.astype(filtered.dtype)
