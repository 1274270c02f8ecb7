"""FSIM and FSIMc (Zhang, Zhang, Mou & Zhang 2011, "FSIM: A Feature Similarity Index for Image
Quality Assessment", IEEE TIP 20(8); Eq. (15) FSIM, Eq. (17) FSIMc).

    FSIM  = sum_x S_PC(x) S_G(x) PC_m(x) / sum_x PC_m(x)
    FSIMc = sum_x S_PC(x) S_G(x) [S_I(x) S_Q(x)]^lambda PC_m(x) / sum_x PC_m(x),   lambda = 0.03

Computed through ``piq.fsim``, a port of the authors' MATLAB ``FeatureSIM.m``: phase congruency
from log-Gabor filters (4 scales, 4 orientations), Scharr gradient magnitude, T1 = 0.85,
T2 = 160, T3 = T4 = 200, luminance Y and chroma I, Q of the YIQ transform, and the MATLAB
code's automatic down-sampling (``F = max(1, round(min(H, W) / 256))``, ``F x F`` average), as
the SDN protocol asks. piq reproduces the MATLAB outputs on goldhill (FSIM 0.89691) and TID2013
I01 / i01_01_5 (FSIM 0.93674, FSIMc 0.92587). Known deviations, all outside 64–511 px inputs:
piq's ``F`` uses Python's half-to-even rounding (MATLAB: half away from zero, differs at
640 px), and for ``F >= 3`` piq's non-overlapping block average is aligned differently from
MATLAB's ``conv2(..., 'same')`` then ``(1:F:end)``. For FSIMc piq takes ``|S_I S_Q|^lambda``
where MATLAB takes ``real((S_I .* S_Q) .^ lambda)``; they differ only where ``S_I S_Q < 0``.
"""
from __future__ import annotations

import torch

from t2ibench.metrics.ssim import _batched, _check_pair

#: Smallest image side accepted (piq's own tests go down to 28 px; below that the log-Gabor
#: bank's longest wavelength, 6 * 2^3 = 48 px, has no meaning at all).
FSIM_MIN_SIZE = 7


def fsim(x, y, data_range: float = 255, chromatic: bool = True, *, batch_size: int | None = None) -> torch.Tensor:
    """Per-image FSIM (``chromatic=False``) or FSIMc (``chromatic=True``, default) ``Tensor[N]`` (float32).

    Args:
        x, y: ``[N, C, H, W]`` with ``C = 3`` (RGB) or ``C = 1`` (grey, only with
            ``chromatic=False``); uint8, or float in ``[0, data_range]``; same shape.
        data_range: the value range (255 for uint8); values are rescaled to [0, 255] as the
            MATLAB constants assume.
        chromatic: FSIMc (YIQ chroma term) when True; FSIM on luminance Y when False
            (for RGB input, Y = 0.299 R + 0.587 G + 0.114 B as in ``FeatureSIM.m``).
        batch_size: images per piq call; ``None`` reads ``defaults.BATCH_SIZE``.

    The paired SDN protocol value is ``fsim(fake, real, chromatic=...).mean()``.
    """
    import piq

    if not isinstance(chromatic, bool):
        raise TypeError(f"chromatic: expected True or False, got {chromatic!r}")
    x, y = _check_pair(x, y, data_range, FSIM_MIN_SIZE)
    if x.shape[1] not in (1, 3):
        raise ValueError(f"x: FSIM needs 1 (grey) or 3 (RGB) channels, got shape {tuple(x.shape)}")
    if chromatic and x.shape[1] != 3:
        raise ValueError(f"chromatic: FSIMc needs RGB images [N, 3, H, W], got shape {tuple(x.shape)}; "
                         "use chromatic=False for grey images")

    def fn(a, b):
        return piq.fsim(a, b, reduction="none", data_range=float(data_range), chromatic=chromatic)

    return _batched(fn, x, y, batch_size)
