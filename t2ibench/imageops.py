"""Image resizing shared by the engine, the feature extractors, the evaluators and the zoo.

One function, :func:`resize_antialiased`: ``F.interpolate`` with antialiasing (as PIL's
resize filters do), ``align_corners=False``, on float ``[N, C, H, W]`` tensors whose values are
on the 0..255 scale, clamped to that range; ``round_levels=True`` also rounds to integer levels
(what a PIL resize of a uint8 image returns). The input is returned unchanged when it already has
the size.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def resize_antialiased(x: torch.Tensor, size, mode: str = "bilinear", round_levels: bool = False,
                       value_range: tuple[float, float] = (0.0, 255.0)) -> torch.Tensor:
    """``x`` float ``[N, C, H, W]`` -> ``[N, C, *size]`` (``size``: int or ``(h, w)``), clamped to ``value_range``."""
    size = (size, size) if isinstance(size, int) else tuple(size)
    if tuple(x.shape[-2:]) == size:
        return x
    y = F.interpolate(x.float(), size=size, mode=mode, align_corners=False, antialias=True)
    if round_levels:
        y = y.round()
    return y.clamp(*value_range)
