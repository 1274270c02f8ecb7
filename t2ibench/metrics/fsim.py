"""FSIM and FSIMc (Zhang, Zhang, Mou & Zhang 2011, "FSIM: A Feature Similarity Index for Image
Quality Assessment", IEEE TIP 20(8); Eq. (15) FSIM, Eq. (17) FSIMc).

    FSIM  = sum_x S_PC(x) S_G(x) PC_m(x) / sum_x PC_m(x)
    FSIMc = sum_x S_PC(x) S_G(x) [S_I(x) S_Q(x)]^lambda PC_m(x) / sum_x PC_m(x),   lambda = 0.03

Computed through ``piq.fsim``, a port of the authors' MATLAB ``FeatureSIM.m``: phase congruency
from log-Gabor filters (4 scales, 4 orientations), Scharr gradient magnitude, T1 = 0.85,
T2 = 160, T3 = T4 = 200, luminance Y and chroma I, Q of the YIQ transform, and the MATLAB
code's automatic down-sampling (``F = max(1, round(min(H, W) / 256))``, ``F x F`` average), as
the SDN protocol asks. piq reproduces the MATLAB FSIM on goldhill (0.89691) and TID2013
I01 / i01_01_5 (0.93674); for FSIMc see the two variants below. Known deviations, all outside 64–511 px inputs:
piq's ``F`` uses Python's half-to-even rounding (MATLAB: half away from zero, differs at
640 px), and for ``F >= 3`` piq's non-overlapping block average is aligned differently from
MATLAB's ``conv2(..., 'same')`` then ``(1:F:end)``.

FSIMc chroma term, two variants (they differ only where the chroma product ``S_I S_Q < 0``,
which happens where the I or Q channels of the two images have opposite signs):

* ``chroma="matlab"`` (**default**, metric ``fsimc``): the authors' ``FeatureSIM.m``,
  ``SimMatrixC = gradientSimMatrix .* PCSimMatrix .* real((ISimMatrix .* QSimMatrix) .^ lambda) .* PCm;``
  — MATLAB's complex power, so a negative product ``p`` contributes ``|p|^lambda cos(lambda pi)``
  (cos(0.03 pi) = 0.99556) — with that file's 3-decimal YIQ rows
  ``I = 0.596 R - 0.274 G - 0.322 B``, ``Q = 0.211 R - 0.523 G + 0.312 B``. The paper's Eq. (17)
  writes ``[S_I(x) S_Q(x)]^lambda`` without saying what a negative base means; the released code,
  which produced the published values, decides it. Every other step is piq's (its phase
  congruency, Scharr gradient and similarity-map helpers). TID2013 I01 / i01_01_5: 0.9258726
  (MATLAB 0.92587).
* ``chroma="piq"`` (metric ``fsimc-piq``): ``piq.fsim(chromatic=True)`` unchanged:
  ``|S_I S_Q|^lambda`` and piq's 4-decimal YIQ rows (0.5959, -0.2746, -0.3213; 0.2115,
  -0.5227, 0.3112). I01 / i01_01_5: 0.9258972 (2.7e-5 above MATLAB's; the chroma power alone
  accounts for 2.0e-5, the YIQ rows for 0.4e-5).
"""
from __future__ import annotations

import math

import torch

from t2ibench.metrics.ssim import _batched, _check_pair

#: Smallest image side accepted (piq's own tests go down to 28 px; below that the log-Gabor
#: bank's longest wavelength, 6 * 2^3 = 48 px, has no meaning at all).
FSIM_MIN_SIZE = 7

#: FSIMc chroma-term variants (see the module docstring).
FSIMC_CHROMA = ("matlab", "piq")


def _fsimc_matlab(x: torch.Tensor, y: torch.Tensor, data_range: float) -> torch.Tensor:
    """Per-image FSIMc with ``FeatureSIM.m``'s chroma factor ``real((S_I S_Q)^lambda)`` and its
    YIQ rows; every other step is ``piq.fsim`` (piq 0.8) line for line, with piq's own
    helpers (a test checks that ``_fsimc_maps`` with piq's YIQ rows and ``|S_I S_Q|^lambda``
    gives ``piq.fsim``'s value).
    """
    return _fsimc_maps(x, y, data_range, _matlab_chroma, _MATLAB_YIQ)


#: ``FeatureSIM.m``'s RGB -> YIQ rows (Y, I, Q); piq's ``rgb2yiq`` has 4-decimal I and Q rows.
_MATLAB_YIQ = ((0.299, 0.587, 0.114), (0.596, -0.274, -0.322), (0.211, -0.523, 0.312))


def _rgb2yiq(x: torch.Tensor, rows) -> torch.Tensor:
    w = torch.tensor(rows, dtype=x.dtype, device=x.device)
    return torch.matmul(x.permute(0, 2, 3, 1), w.t()).permute(0, 3, 1, 2)


def _matlab_chroma(p: torch.Tensor, lmbda: float) -> torch.Tensor:
    """``real(p .^ lmbda)`` of MATLAB for real ``p``: ``|p|^lmbda``, times ``cos(lmbda pi)`` where ``p < 0``."""
    return torch.where(p < 0, p.new_tensor(math.cos(lmbda * math.pi)), p.new_tensor(1.0)) * p.abs() ** lmbda


def _fsimc_maps(x: torch.Tensor, y: torch.Tensor, data_range: float, chroma, yiq_rows=None) -> torch.Tensor:
    """FSIMc with the chroma factor ``chroma(S_I S_Q, lambda)`` and YIQ rows ``yiq_rows`` (``None``: piq's)."""
    from piq.fsim import _construct_filters, _phase_congruency
    from piq.functional import gradient_map, rgb2yiq, scharr_filter, similarity_map

    if yiq_rows is not None:
        def rgb2yiq(t):
            return _rgb2yiq(t, yiq_rows)

    x = x / float(data_range) * 255
    y = y / float(data_range) * 255
    kernel_size = max(1, round(min(x.shape[-2:]) / 256))
    x = torch.nn.functional.avg_pool2d(x, kernel_size)
    y = torch.nn.functional.avg_pool2d(y, kernel_size)
    x_yiq, y_yiq = rgb2yiq(x), rgb2yiq(y)
    x_lum, y_lum = x_yiq[:, :1], y_yiq[:, :1]
    filters = _construct_filters(x_lum, 4, 4, 6, 2, 0.55, 1.2)  # piq.fsim's defaults = FeatureSIM.m's
    pc_x = _phase_congruency(x_lum, filters=filters, scales=4, orientations=4, k=2.0)
    pc_y = _phase_congruency(y_lum, filters=filters, scales=4, orientations=4, k=2.0)
    sch = scharr_filter(device=x_lum.device, dtype=x_lum.dtype)
    kernels = torch.stack([sch, sch.transpose(-1, -2)])
    grad_x, grad_y = gradient_map(x_lum, kernels), gradient_map(y_lum, kernels)
    T1, T2, T3, T4, lmbda = 0.85, 160, 200, 200, 0.03
    pc = similarity_map(pc_x, pc_y, T1)
    gm = similarity_map(grad_x, grad_y, T2)
    pc_max = torch.where(pc_x > pc_y, pc_x, pc_y)
    s_i = similarity_map(x_yiq[:, 1:2], y_yiq[:, 1:2], T3)
    s_q = similarity_map(x_yiq[:, 2:], y_yiq[:, 2:], T4)
    score = gm * pc * pc_max * chroma(s_i * s_q, lmbda)
    return score.sum(dim=[1, 2, 3]) / pc_max.sum(dim=[1, 2, 3])


def fsim(x, y, data_range: float = 255, chromatic: bool = True, *, chroma: str = "matlab",
         batch_size: int | None = None) -> torch.Tensor:
    """Per-image FSIM (``chromatic=False``) or FSIMc (``chromatic=True``, default) ``Tensor[N]`` (float32).

    Args:
        x, y: ``[N, C, H, W]`` with ``C = 3`` (RGB) or ``C = 1`` (grey, only with
            ``chromatic=False``); uint8, or float in ``[0, data_range]``; same shape.
        data_range: the value range (255 for uint8); values are rescaled to [0, 255] as the
            MATLAB constants assume.
        chromatic: FSIMc (YIQ chroma term) when True; FSIM on luminance Y when False
            (for RGB input, Y = 0.299 R + 0.587 G + 0.114 B as in ``FeatureSIM.m``).
        chroma: FSIMc variant: ``"matlab"`` (default) ``real((S_I S_Q)^0.03)`` and the YIQ rows
            of ``FeatureSIM.m``; ``"piq"`` ``piq.fsim`` as is, ``|S_I S_Q|^0.03`` (module docstring).
            Ignored when ``chromatic=False``.
        batch_size: images per piq call; ``None`` reads ``defaults.BATCH_SIZE``.

    Runs batched, one intra-op thread per chunk (thread policy of
    :func:`t2ibench.metrics.gaussian_window.map_chunks`): on 64 px images the work is many small
    FFTs and element-wise steps, which with a two-thread team ran 3-9x slower on two cores shared
    with other processes (14-48 against 130 pairs/s with one thread).

    The paired SDN protocol value is ``fsim(fake, real, chromatic=...).mean()``.
    """
    import piq

    if not isinstance(chromatic, bool):
        raise TypeError(f"chromatic: expected True or False, got {chromatic!r}")
    if chroma not in FSIMC_CHROMA:
        raise ValueError(f"chroma: expected one of {FSIMC_CHROMA}, got {chroma!r}")
    x, y = _check_pair(x, y, data_range, FSIM_MIN_SIZE)
    if x.shape[1] not in (1, 3):
        raise ValueError(f"x: FSIM needs 1 (grey) or 3 (RGB) channels, got shape {tuple(x.shape)}")
    if chromatic and x.shape[1] != 3:
        raise ValueError(f"chromatic: FSIMc needs RGB images [N, 3, H, W], got shape {tuple(x.shape)}; "
                         "use chromatic=False for grey images")

    def fn(a, b):
        if chromatic and chroma == "matlab":
            return _fsimc_matlab(a, b, float(data_range))
        return piq.fsim(a, b, reduction="none", data_range=float(data_range), chromatic=chromatic)

    return _batched(fn, x, y, batch_size)
