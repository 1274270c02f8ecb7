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
  sum that factorises), so the moment maps are filtered by two 1-d passes (rows, then columns:
  ``2k`` instead of ``k^2`` multiply-adds per pixel), all maps of all images and channels in
  one depthwise ``conv2d`` call per pass. Four maps suffice, ``x, y, x^2 + y^2, xy``:
  ``sigma_x^2`` and ``sigma_y^2`` enter the formula only as a sum.
* Cancellation: ``sigma_x^2 = E[x^2] - mu_x^2`` loses ``~eps * E[x^2]`` to round-off, which in
  flat bright regions is the whole of ``sigma^2`` (float32: eps = 6e-8 against
  ``C2 = (0.03 * 255)^2``). Each image channel is therefore centred on its own mean before the
  moments are formed (variances and covariance do not change under a shift; ``mu`` gets the
  mean back), which makes float32 agree with a float64 reference (scikit-image) to ~1e-7
  instead of up to 4.4e-5 (``tests/test_ssim_fast.py``).
* The work is chunked so that a chunk's four moment maps stay near ``CHUNK_ELEMENTS`` floats
  (cache-sized; depthwise convolutions over larger tensors ran 3-10x slower per pixel here),
  and the chunks are spread over threads by :func:`map_chunks` (the thread policy, below).
"""
from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor

import torch

#: Target size, in float32 elements (2 MiB), of one chunk's four stacked moment maps.
CHUNK_ELEMENTS = 2 ** 19


@contextlib.contextmanager
def single_thread():
    """Run the block on one torch intra-op thread, then restore the previous count.

    With :func:`map_chunks`, the one place where the metrics change thread handling. Used
    around work made of many small operations (the pixel metrics, through :func:`map_chunks`)
    or BLAS-2-bound loops (the symmetric eigenvalue solve of the Fréchet distance), where an
    OpenMP team's synchronisation costs more than the second core brings, and collapses when
    the cores are shared with other processes. ``torch.set_num_threads`` is process-wide:
    other Python threads running torch code meanwhile also get one thread.
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


def map_chunks(fn, x: torch.Tensor, y: torch.Tensor, chunk: int) -> torch.Tensor:
    """``fn(x[i:i + chunk], y[i:i + chunk])`` for every chunk, concatenated along dimension 0,
    under ``torch.inference_mode``.

    Thread policy of the pixel metrics: the chunks run on as many Python threads as torch has
    intra-op threads (``torch.get_num_threads()``), each operation on one thread
    (:func:`single_thread`; torch releases the GIL inside its kernels). Their work is many
    small operations; inside one operation an OpenMP team of two synchronises at every step,
    and on two cores shared with other processes that collapsed by 10-20x (piq per image: 290
    pairs/s on one thread, 14 on two); independent chunks on independent threads never wait
    for each other. Values do not depend on the thread count or the chunking.
    """
    workers = torch.get_num_threads()
    starts = range(0, x.shape[0], chunk)

    def run(i):
        with torch.inference_mode():  # thread-local: entered in each worker
            return fn(x[i:i + chunk], y[i:i + chunk])

    with single_thread():
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


def ssim_channel_means(x: torch.Tensor, y: torch.Tensor, kernel: torch.Tensor, c1: float,
                       c2: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Means of the SSIM map and of the cs map over each channel, valid filtering.

    Args:
        x, y: ``[N, C, H, W]`` float tensors of one dtype (any value scale; ``c1``, ``c2`` in the
            same scale, e.g. ``(0.01 * data_range)^2`` and ``(0.03 * data_range)^2``).
        kernel: the 1-d window ``[k]`` (:func:`gaussian_kernel_1d`), ``k <= min(H, W)``.

    Returns ``(ssim, cs)``, each ``[N, C]``: the mean over the ``(H - k + 1) x (W - k + 1)`` map.
    """
    n, c, h, w = x.shape
    k = kernel.numel()
    # the four filtered maps (x, y, x^2 + y^2, xy: sigma_x^2 and sigma_y^2 enter only as a sum) of
    # every channel side by side in memory ("channels last", [N, H, W, C, 4]): the layout in
    # which the depthwise convolution runs fastest on CPU (3-4x NCHW, measured)
    stacked = torch.empty((n, h, w, c, 4), dtype=x.dtype, device=x.device)
    a, b, sq, ab = stacked.unbind(-1)
    a.copy_(x.permute(0, 2, 3, 1))
    b.copy_(y.permute(0, 2, 3, 1))
    mean_x, mean_y = a.mean(dim=(1, 2), keepdim=True), b.mean(dim=(1, 2), keepdim=True)
    a.sub_(mean_x)
    b.sub_(mean_y)
    torch.mul(a, a, out=sq).addcmul_(b, b)
    torch.mul(a, b, out=ab)
    maps = c * 4
    rows = kernel.reshape(1, 1, 1, k).expand(maps, 1, 1, k).contiguous()
    cols = kernel.reshape(1, 1, k, 1).expand(maps, 1, k, 1).contiguous()
    filtered = torch.nn.functional.conv2d(stacked.view(n, h, w, maps).permute(0, 3, 1, 2), rows, groups=maps)
    filtered = torch.nn.functional.conv2d(filtered, cols, groups=maps).contiguous()  # [N, 4C, H', W'] NCHW
    mu_a, mu_b, e_sq, e_ab = filtered.view(n, c, 4, h - k + 1, w - k + 1).unbind(2)
    mu_ab = mu_a * mu_b
    cs = (2.0 * (e_ab - mu_ab) + c2) / (e_sq - mu_a * mu_a - mu_b * mu_b + c2)
    mu_x, mu_y = mu_a + mean_x.view(n, c, 1, 1), mu_b + mean_y.view(n, c, 1, 1)
    luminance = (2.0 * mu_x * mu_y + c1) / (mu_x * mu_x + mu_y * mu_y + c1)
    return (luminance * cs).mean(dim=(2, 3)), cs.mean(dim=(2, 3))
