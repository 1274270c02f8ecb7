"""Local SSIM statistics under a separable Gaussian window, batched over images and channels.

One job: the per-channel means of Wang et al.'s (2004, IEEE TIP 13(4)) SSIM map, Eq. (13),

    SSIM(x, y) = (2 mu_x mu_y + C1) (2 sigma_xy + C2) / ((mu_x^2 + mu_y^2 + C1) (sigma_x^2 + sigma_y^2 + C2))

and of its contrast-structure part ``cs = (2 sigma_xy + C2) / (sigma_x^2 + sigma_y^2 + C2)``
(Wang, Simoncelli & Bovik 2003, MS-SSIM Eq. 7), with the local moments weighted by a
normalised Gaussian window (Sec. III-C of the 2004 paper) and ``valid`` filtering (no padding).
:mod:`t2ibench.metrics.ssim`, :mod:`t2ibench.metrics.ms_ssim` (piq's MS-SSIM and HDGAN's code
variant) use it.

How, and why it equals the dense-window result:

* The window ``w(i, j) = g(i) g(j)`` is separable (``exp`` of a sum of squares, normalised by a
  sum that factorises), so the moment maps are filtered by two 1-d passes (columns, then rows:
  ``2k`` instead of ``k^2`` multiply-adds per pixel), all maps of all images and channels at once.
  Four maps suffice, ``x, y, x^2 + y^2, xy``: ``sigma_x^2`` and ``sigma_y^2`` enter the formula
  only as a sum. Each pass is a few banded matrix products (:func:`filter_valid`) over the maps
  laid out ``[H, 4, N*C, W]``, which needs no transposition of the images: measured 1.2-1.4x
  faster per core than the depthwise ``conv2d`` of the previous version (which needed a
  channels-last copy), and the matrix products run on any device.
* Cancellation: ``sigma_x^2 = E[x^2] - mu_x^2`` loses ``~eps * E[x^2]`` to round-off, which in
  flat bright regions is the whole of ``sigma^2`` (float32: eps = 6e-8 against
  ``C2 = (0.03 * 255)^2``). Each image channel is therefore centred on its own mean before the
  moments are formed (variances and covariance do not change under a shift; ``mu`` gets the
  mean back), which makes float32 agree with a float64 reference (scikit-image) to ~1e-7
  instead of up to 4.4e-5 (``tests/test_ssim_fast.py``).
* The work is chunked so that a chunk's four moment maps stay near ``CHUNK_ELEMENTS`` floats
  (cache-sized; 3-15 images of 64 px ran within 10% of each other, larger chunks slower),
  and the chunks are spread over threads by :func:`map_chunks` (the thread policy, below).
  Each chunk works in one reused scratch buffer (:mod:`t2ibench.metrics.workspace`: no page
  faults), and on the CPU the elementwise steps before and after the filtering are fused numba
  kernels (:mod:`t2ibench.metrics.ssim_cpu_kernels`). 300 RGB 64-px pairs, one core of this
  project's 2-vCPU AMD EPYC: ~27 ms (band products ~19 ms), where the eager torch steps with a
  fresh allocation per chunk took 38-60 ms.
"""
from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from t2ibench import defaults
from t2ibench.metrics.threads import blas_threads, single_thread
from t2ibench.metrics.workspace import scratch

#: Target size, in float32 elements (2 MiB), of one chunk's four stacked moment maps.
CHUNK_ELEMENTS = 2 ** 19


def map_chunks(fn, x: torch.Tensor, y: torch.Tensor, chunk: int) -> torch.Tensor:
    """``fn(x[i:i + chunk], y[i:i + chunk])`` for every chunk, concatenated along dimension 0,
    under ``torch.inference_mode``.

    Thread policy of the pixel metrics: the chunks run on ``defaults.PIXEL_WORKERS`` Python threads
    (default 1; ``None``: as many as torch has intra-op threads), each operation on one thread
    (:func:`single_thread`; torch releases the GIL inside its kernels). Their work is many
    small operations; inside one operation an OpenMP team of two synchronises at every step,
    and on two cores shared with other processes that collapsed by 10-20x (piq per image: 290
    pairs/s on one thread, 14 on two); independent chunks on independent threads never wait
    for each other. numpy's BLAS (:func:`filter_valid` on the CPU) runs on one thread meanwhile
    (:mod:`t2ibench.metrics.threads`). Values do not depend on the thread count or the chunking.
    """
    workers = int(defaults.PIXEL_WORKERS or torch.get_num_threads())
    starts = range(0, x.shape[0], chunk)

    def run(i):
        with torch.inference_mode():  # thread-local: entered in each worker
            return fn(x[i:i + chunk], y[i:i + chunk])

    with single_thread(), blas_threads(1):
        if workers == 1 or len(starts) == 1:
            return torch.cat([run(i) for i in starts])
        with ThreadPoolExecutor(max_workers=min(workers, len(starts))) as pool:
            return torch.cat(list(pool.map(run, starts)))


def gaussian_kernel_1d(size: int, sigma: float, dtype: torch.dtype = torch.float32,
                       device=None) -> torch.Tensor:
    """Normalised 1-d Gaussian ``g`` of ``size`` taps, ``Tensor[size]``, centred at ``(size - 1) / 2``
    (half-pixel grid for even sizes, as MATLAB's ``fspecial('gaussian')``); ``g g^T`` is the
    normalised 2-d window of piq's ``gaussian_filter`` and ``fspecial``. Computed in float64."""
    c = torch.arange(size, dtype=torch.float64) - (size - 1) / 2.0
    g = torch.exp(-c ** 2 / (2.0 * float(sigma) ** 2))
    return (g / g.sum()).to(dtype=dtype, device=device)


def images_per_chunk(shape) -> int:
    """Images per chunk for ``[N, C, H, W]`` inputs so that the four moment maps fill about
    :data:`CHUNK_ELEMENTS` (at least one image)."""
    _, c, h, w = shape
    return max(1, CHUNK_ELEMENTS // (4 * c * h * w))


#: Output rows per banded matrix product of :func:`filter_valid` (measured best on 2 AVX-512
#: cores: 6 outputs from 16 inputs along the outer dimension, 18 from 28 along the inner one).
BAND_BLOCK = {0: 6, 1: 18}


@functools.lru_cache(maxsize=64)
def _band(taps: tuple[float, ...], outputs: int, dtype: torch.dtype, device: str) -> torch.Tensor:
    """``[outputs, outputs + k - 1]`` matrix whose row ``i`` holds the kernel ``taps`` at columns
    ``i .. i + k - 1``: ``band @ v[j : j + outputs + k - 1]`` is the valid correlation of ``v`` with
    the kernel at ``j``. Cached: the metrics call it for every chunk with the same few windows."""
    k = len(taps)
    kernel = torch.tensor(taps, dtype=torch.float64)
    band = torch.zeros(outputs, outputs + k - 1, dtype=torch.float64)
    for i in range(outputs):
        band[i, i:i + k] = kernel
    return band.to(dtype=dtype, device=device)


def filter_valid(t: torch.Tensor, kernel: torch.Tensor, dim: int, out: torch.Tensor | None = None) -> torch.Tensor:
    """Correlate every line of the 2-d tensor ``t`` ``[L, M]`` with ``kernel`` ``[k]`` along ``dim``
    (0: down the columns, 1: along the rows), ``valid`` mode: ``[L - k + 1, M]`` or ``[L, M - k + 1]``
    (into ``out``, a contiguous tensor of that many elements, when given).

    Computed as banded matrix products: a block of ``b`` outputs is a ``[b, b + k - 1]`` band
    matrix times the ``b + k - 1`` inputs it covers (``b + k - 1`` multiply-adds per output instead
    of ``k``, but at matrix-multiply speed), written in place into the output's slice (no copies;
    the operands are strided views).
    """
    k = kernel.numel()
    length = t.shape[dim] - k + 1
    block = min(BAND_BLOCK[dim], length)
    band = _band(tuple(kernel.tolist()), block, t.dtype, str(t.device))
    shape = (length, t.shape[1]) if dim == 0 else (t.shape[0], length)
    out = t.new_empty(shape) if out is None else out.view(shape)
    # CPU: numpy's BLAS on the same memory (views, no copies). OpenBLAS in numpy's wheels ran these
    # band products 1.2-1.9x faster than torch's MKL on this project's AMD EPYC (timed by hand, one
    # pass at a time); slicing numpy arrays also costs less Python time than slicing tensors.
    a, b_, o, mm = (t.numpy(), band.numpy(), out.numpy(), np.matmul) if t.device.type == "cpu" else (t, band, out, torch.matmul)
    for i in range(0, length, block):
        b = min(block, length - i)
        if dim == 0:
            mm(b_[:b, :b + k - 1], a[i:i + b + k - 1], out=o[i:i + b])
        else:
            mm(a[:, i:i + b + k - 1], b_[:b, :b + k - 1].T, out=o[:, i:i + b])
    return out


def ssim_channel_means(x: torch.Tensor, y: torch.Tensor, kernel: torch.Tensor, c1: float,
                       c2: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Means of the SSIM map and of the cs map over each channel, valid filtering.

    Args:
        x, y: ``[N, C, H, W]`` tensors of one dtype, uint8 or floating (any value scale; ``c1``,
            ``c2`` in the same scale, e.g. ``(0.01 * data_range)^2`` and ``(0.03 * data_range)^2``).
            The moments are computed in float64 for float64 inputs, else in float32.
        kernel: the 1-d window ``[k]`` (:func:`gaussian_kernel_1d`), ``k <= min(H, W)``.

    Returns ``(ssim, cs)``, each ``[N, C]`` in the compute dtype: the mean over the
    ``(H - k + 1) x (W - k + 1)`` map.

    Three steps, all in one scratch buffer (:func:`t2ibench.metrics.workspace.scratch`): the centred
    moment maps, the two filter passes, the formula with the means. On CPU tensors the first and
    last are the fused numba kernels of :mod:`t2ibench.metrics.ssim_cpu_kernels`; on other devices
    the torch operations of :func:`moments_torch` and :func:`formula_torch` (tested equal).
    """
    n, c, h, w = x.shape
    k = kernel.numel()
    nc, hh, ww = n * c, h - k + 1, w - k + 1
    dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    kernel = kernel.to(dtype)
    if x.is_floating_point() and x.dtype != dtype:  # float16 / bfloat16: numba and numpy take neither
        x, y = x.to(dtype), y.to(dtype)
    x, y = x.reshape(nc, h, w).contiguous(), y.reshape(nc, h, w).contiguous()
    sizes = (h * 4 * nc * w, hh * 4 * nc * w, hh * 4 * nc * ww)
    with scratch(sum(sizes), dtype, x.device) as buf:
        moments, pass0, pass1 = buf.split(sizes)
        moments = moments.view(h, 4, nc, w)
        if x.device.type == "cpu":
            from t2ibench.metrics import ssim_cpu_kernels

            means = torch.from_numpy(ssim_cpu_kernels.moments_cpu(x.numpy(), y.numpy(), moments.numpy()))
        else:
            means = moments_torch(x, y, moments)
        filter_valid(moments.view(h, 4 * nc * w), kernel, 0, out=pass0)
        filtered = filter_valid(pass0.view(hh * 4 * nc, w), kernel, 1, out=pass1).view(hh, 4, nc, ww)
        if x.device.type == "cpu":
            result = torch.from_numpy(ssim_cpu_kernels.formula_cpu(filtered.numpy(), means.numpy(), c1, c2))
        else:
            result = formula_torch(filtered, means, c1, c2)
    return result[0].view(n, c), result[1].view(n, c)


def moments_torch(x: torch.Tensor, y: torch.Tensor, moments: torch.Tensor) -> torch.Tensor:
    """Fill ``moments`` ``[H, 4, NC, W]`` with the centred maps ``a, b, a^2 + b^2, ab`` of ``x``, ``y``
    ``[NC, H, W]`` (``a = x - mean(x)`` per channel: see the module docstring's cancellation note);
    returns the channel means ``[2, NC]``. The maps are laid out ``[H, 4, NC, W]`` so that each image
    row is contiguous and the column pass is one matrix product over all maps of all images."""
    a, b, sq, ab = moments.unbind(1)
    a.copy_(x.transpose(0, 1))  # converted from uint8 on the way
    b.copy_(y.transpose(0, 1))
    means = torch.stack([a.mean(dim=(0, 2)), b.mean(dim=(0, 2))])  # [2, NC]
    a.sub_(means[0].view(1, -1, 1))
    b.sub_(means[1].view(1, -1, 1))
    torch.mul(a, a, out=sq).addcmul_(b, b)
    torch.mul(a, b, out=ab)
    return means


def formula_torch(filtered: torch.Tensor, means: torch.Tensor, c1: float, c2: float) -> torch.Tensor:
    """``[2, NC]`` means of the SSIM and cs maps from the filtered moments ``[H', 4, NC, W']``
    (``mu_a, mu_b, E[a^2 + b^2], E[ab]``, overwritten) and the channel means ``[2, NC]``:

    ``cs = (2 (E[ab] - mu_a mu_b) + C2) / ((E[a^2 + b^2] - (mu_a^2 + mu_b^2)) + C2)``, rounded so that
    identical images give exactly 1 (numerator and denominator then differ by exact factors of 2);
    luminance with ``mu_x = mu_a + mean_x``: ``s / (s + (mu_x - mu_y)^2)``, ``s = 2 mu_x mu_y + C1``.
    """
    mu_a, mu_b, e_sq, e_ab = filtered.unbind(1)
    cs = e_ab.sub_(mu_a * mu_b).mul_(2.0).add_(c2)
    cs.div_(e_sq.sub_(torch.mul(mu_a, mu_a).addcmul_(mu_b, mu_b)).add_(c2))
    mu_x, mu_y = mu_a.add_(means[0].view(1, -1, 1)), mu_b.add_(means[1].view(1, -1, 1))
    s = torch.mul(mu_x, mu_y).mul_(2.0).add_(c1)
    d = mu_x.sub_(mu_y)
    ssim_map = s.div(torch.addcmul(s, d, d)).mul_(cs)
    return torch.stack([ssim_map.mean(dim=(0, 2)), cs.mean(dim=(0, 2))])
