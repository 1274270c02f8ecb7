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
"""
from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from t2ibench import defaults
from t2ibench.metrics.threads import blas_threads, single_thread

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


def filter_valid(t: torch.Tensor, kernel: torch.Tensor, dim: int) -> torch.Tensor:
    """Correlate every line of the 2-d tensor ``t`` ``[L, M]`` with ``kernel`` ``[k]`` along ``dim``
    (0: down the columns, 1: along the rows), ``valid`` mode: ``[L - k + 1, M]`` or ``[L, M - k + 1]``.

    Computed as banded matrix products: a block of ``b`` outputs is a ``[b, b + k - 1]`` band
    matrix times the ``b + k - 1`` inputs it covers (``b + k - 1`` multiply-adds per output instead
    of ``k``, but at matrix-multiply speed), written in place into the output's slice (no copies;
    the operands are strided views).
    """
    k = kernel.numel()
    length = t.shape[dim] - k + 1
    block = min(BAND_BLOCK[dim], length)
    band = _band(tuple(kernel.tolist()), block, t.dtype, str(t.device))
    out = t.new_empty((length, t.shape[1]) if dim == 0 else (t.shape[0], length))
    mm = _numpy_mm if t.device.type == "cpu" else _torch_mm
    for i in range(0, length, block):
        b = min(block, length - i)
        if dim == 0:
            mm(band[:b, :b + k - 1], t[i:i + b + k - 1], out[i:i + b])
        else:
            mm(t[:, i:i + b + k - 1], band[:b, :b + k - 1].t(), out[:, i:i + b])
    return out


def _torch_mm(a: torch.Tensor, b: torch.Tensor, out: torch.Tensor) -> None:
    torch.mm(a, b, out=out)


def _numpy_mm(a: torch.Tensor, b: torch.Tensor, out: torch.Tensor) -> None:
    """``out = a @ b`` for CPU tensors by numpy on the same memory (strided views, no copies): numpy's
    BLAS (OpenBLAS in its wheels) ran these band products 1.2-1.9x faster than torch's MKL on this
    project's AMD EPYC (timed by hand, one pass at a time; the whole SSIM ~15% faster)."""
    np.matmul(a.numpy(), b.numpy(), out=out.numpy())


def ssim_channel_means(x: torch.Tensor, y: torch.Tensor, kernel: torch.Tensor, c1: float,
                       c2: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Means of the SSIM map and of the cs map over each channel, valid filtering.

    Args:
        x, y: ``[N, C, H, W]`` tensors of one dtype, uint8 or floating (any value scale; ``c1``,
            ``c2`` in the same scale, e.g. ``(0.01 * data_range)^2`` and ``(0.03 * data_range)^2``).
            The moments are computed in float32, or in the inputs' dtype when that is floating.
        kernel: the 1-d window ``[k]`` (:func:`gaussian_kernel_1d`), ``k <= min(H, W)``.

    Returns ``(ssim, cs)``, each ``[N, C]``: the mean over the ``(H - k + 1) x (W - k + 1)`` map.
    """
    n, c, h, w = x.shape
    k = kernel.numel()
    nc, hh, ww = n * c, h - k + 1, w - k + 1
    dtype = x.dtype if x.is_floating_point() else torch.float32
    # the four maps (x, y, x^2 + y^2, xy: sigma_x^2 and sigma_y^2 enter only as a sum) laid out
    # [H, 4, N*C, W]: each image row is contiguous, the column pass is one matrix product over all
    # maps of all images, and each filtered map is a contiguous run per output row
    moments = torch.empty((h, 4, nc, w), dtype=dtype, device=x.device)
    a, b, sq, ab = moments.unbind(1)
    a.copy_(x.reshape(nc, h, w).transpose(0, 1))  # converted from uint8 on the way
    b.copy_(y.reshape(nc, h, w).transpose(0, 1))
    mean_x, mean_y = a.mean(dim=(0, 2), keepdim=True), b.mean(dim=(0, 2), keepdim=True)  # [1, N*C, 1]
    a.sub_(mean_x)
    b.sub_(mean_y)
    torch.mul(a, a, out=sq).addcmul_(b, b)
    torch.mul(a, b, out=ab)
    filtered = filter_valid(moments.view(h, 4 * nc * w), kernel, 0)
    filtered = filter_valid(filtered.view(hh * 4 * nc, w), kernel, 1)
    mu_a, mu_b, e_sq, e_ab = filtered.view(hh, 4, nc, ww).unbind(1)
    # cs = (2 (E[ab] - mu_a mu_b) + C2) / ((E[a^2 + b^2] - (mu_a^2 + mu_b^2)) + C2), rounded so that
    # identical images give exactly 1 (numerator and denominator then differ by exact factors of 2)
    cs = e_ab.sub(mu_a * mu_b).mul_(2.0).add_(c2)
    cs.div_(e_sq.sub(torch.mul(mu_a, mu_a).addcmul_(mu_b, mu_b)).add_(c2))
    # luminance with mu_x = mu_a + mean_x: s / (s + (mu_x - mu_y)^2), s = 2 mu_x mu_y + C1
    mu_x, mu_y = mu_a.add(mean_x), mu_b.add(mean_y)
    s = torch.mul(mu_x, mu_y).mul_(2.0).add_(c1)
    d = mu_x.sub_(mu_y)
    ssim_map = s.div(torch.addcmul(s, d, d)).mul_(cs)
    return ssim_map.mean(dim=(0, 2)).view(n, c), cs.mean(dim=(0, 2)).view(n, c)
