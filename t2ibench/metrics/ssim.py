"""SSIM (Wang, Bovik, Sheikh & Simoncelli 2004, "Image Quality Assessment: From Error Visibility
to Structural Similarity", Eq. (13) SSIM(x, y) and Eq. (17) MSSIM = mean of the local SSIM map).

Computed with a separable Gaussian window, batched over images and channels
(:func:`t2ibench.metrics.gaussian_window.ssim_channel_means`) with the SDN protocol's window:
Gaussian 11x11, sigma 1.5 (Sec. III-C of the paper), K1 = 0.01, K2 = 0.03, ``valid`` filtering
(no padding), one value per image. Colour images: SSIM per channel, then the mean over channels
(piq, scikit-image's ``channel_axis`` and ``tf.image.ssim`` all do this; Wang's MATLAB code takes
grey images only). ``tests/test_ssim_fast.py`` checks it against scikit-image (float64) and
``piq.ssim``.

Two variants, differing only for images whose shorter side is >= 384 px:

* ``downsample=False`` (**default**): the paper's MSSIM on the image as given — equal to
  scikit-image's ``structural_similarity(gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False)`` and ``tf.image.ssim``. The SDN protocol names only the
  window for SSIM (and the automatic down-sampling only for FSIM), so this is the default.
* ``downsample=True``: Wang's released ``ssim.m`` (2009 revision), which first averages
  ``f x f`` blocks with ``f = max(1, round(min(H, W) / 256))`` — piq's default. On
  goldhill / goldhill_jpeg (512 px) it gives the MATLAB value 0.8202.

Below 384 px (all 64–256 px text-to-image outputs) ``f = 1`` and both variants are identical.
piq rounds ``min(H, W) / 256`` half-to-even where MATLAB rounds half away from zero, so at a
shorter side of 640 px (2.5) or 1152 px the ``downsample=True`` factor differs from MATLAB's.

Precision: float32 with each image channel centred on its mean before the local moments are
formed (``sigma^2 = E[x^2] - mu^2`` would otherwise cancel in flat regions): measured within
1.2e-7 of scikit-image's float64 value, where piq's uncentred float32 differs by up to 4.4e-5
on flat bright images (``tests/test_ssim_fast.py``).
"""
from __future__ import annotations

import torch

from t2ibench import defaults
from t2ibench.metrics.gaussian_window import gaussian_kernel_1d, images_per_chunk, map_chunks, ssim_channel_means
from t2ibench.validation import check_images, check_same_shape


def check_data_range(data_range) -> float:
    """``data_range`` if it is a positive number (the images' value range), else a ValueError."""
    if isinstance(data_range, bool) or not isinstance(data_range, (int, float)) or not data_range > 0:
        raise ValueError(f"data_range: expected a positive number (255 for uint8 images), got {data_range!r}")
    return data_range


def _check_pair(x, y, data_range, min_size: int, channels=None,
                keep_uint8: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Validated ``x``, ``y`` as float32 tensors of one shape (``keep_uint8``: two uint8 tensors
    stay uint8, for the functions that convert chunk by chunk)."""
    check_data_range(data_range)
    import numpy as np

    x = torch.from_numpy(x) if isinstance(x, np.ndarray) else x
    y = torch.from_numpy(y) if isinstance(y, np.ndarray) else y
    for name, t in (("x", x), ("y", y)):  # check_images does not range-check uint8
        if (isinstance(t, torch.Tensor) and t.dtype == torch.uint8 and data_range < 255 and t.numel()
                and int(t.max()) > data_range):
            raise ValueError(f"{name}: uint8 values up to {int(t.max())} exceed data_range={data_range} "
                             "(use data_range=255 for uint8 images)")
    keep = keep_uint8 and all(isinstance(t, torch.Tensor) and t.dtype == torch.uint8 for t in (x, y))
    x = check_images(x, "x", channels=channels, min_size=min_size, data_range=float(data_range), keep_uint8=keep)
    y = check_images(y, "y", channels=channels, min_size=min_size, data_range=float(data_range), keep_uint8=keep)
    check_same_shape(x, y, ("x", "y"))
    return x, y


def _batched(fn, x: torch.Tensor, y: torch.Tensor, batch_size: int | None,
             max_images: int | None = None) -> torch.Tensor:
    """``fn`` over chunks of at most ``batch_size`` (``None``: ``defaults.BATCH_SIZE``) and at most
    ``max_images`` image pairs, concatenated (:func:`t2ibench.metrics.gaussian_window.map_chunks`:
    inference mode, the thread policy)."""
    bs = int(batch_size or defaults.BATCH_SIZE)
    if bs < 1:
        raise ValueError(f"batch_size: must be >= 1, got {batch_size}")
    return map_chunks(fn, x, y, min(bs, max_images or bs))


def downsample_factor(height: int, width: int) -> int:
    """Wang's ``ssim.m`` / Zhang's ``FeatureSIM.m`` automatic down-sampling factor as piq computes it:
    ``max(1, round(min(H, W) / 256))`` (Python rounding)."""
    return max(1, round(min(height, width) / 256))


def ssim(x, y, data_range: float = 255, *, downsample: bool = False, kernel_size: int | None = None,
         kernel_sigma: float | None = None, batch_size: int | None = None) -> torch.Tensor:
    """Per-image SSIM ``Tensor[N]`` (float32) between image batches ``x`` and ``y`` ``[N, C, H, W]``.

    Args:
        x, y: uint8, or float in ``[0, data_range]``; same shape; any number of channels.
        data_range: the value range (255 for uint8).
        downsample: ``False`` (default) the paper / scikit-image / TF variant; ``True`` Wang's
            ``ssim.m`` automatic down-sampling (see the module docstring).
        kernel_size, kernel_sigma: Gaussian window; ``None`` reads ``defaults.SSIM_KERNEL_SIZE``
            (11) and ``defaults.SSIM_SIGMA`` (1.5).
        batch_size: at most this many images per chunk; ``None`` reads ``defaults.BATCH_SIZE``.
            Chunks are further capped to a cache-sized working set
            (:func:`t2ibench.metrics.gaussian_window.images_per_chunk`); values do not depend on it.

    The paired SDN protocol value is ``ssim(fake, real).mean()``.
    """
    k = int(kernel_size or defaults.SSIM_KERNEL_SIZE)
    sigma = float(kernel_sigma or defaults.SSIM_SIGMA)
    if k < 1 or k % 2 == 0:
        raise ValueError(f"kernel_size: must be a positive odd number, got {k}")
    x, y = _check_pair(x, y, data_range, k, keep_uint8=True)
    if downsample:
        f = downsample_factor(x.shape[2], x.shape[3])
        if min(x.shape[2], x.shape[3]) // f < k:
            raise ValueError(f"x: {x.shape[2]}x{x.shape[3]} images down-sampled by {f} are smaller than "
                             f"the {k}x{k} window")

    kernel = gaussian_kernel_1d(k, sigma)
    c1, c2 = (0.01 * float(data_range)) ** 2, (0.03 * float(data_range)) ** 2
    f = downsample_factor(x.shape[2], x.shape[3]) if downsample else 1

    def fn(a, b):
        if f > 1:  # Wang's ssim.m: average f x f blocks (piq's avg_pool2d, remainder dropped)
            a, b = torch.nn.functional.avg_pool2d(a.float(), f), torch.nn.functional.avg_pool2d(b.float(), f)
        return ssim_channel_means(a, b, kernel, c1, c2)[0].mean(dim=1)

    shape = (x.shape[0], x.shape[1], x.shape[2] // f, x.shape[3] // f)
    return _batched(fn, x, y, batch_size, images_per_chunk(shape))
