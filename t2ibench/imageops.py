"""Image resizing shared by the engine, the feature extractors, the evaluators and the zoo.

:func:`resize_antialiased`: ``F.interpolate`` with antialiasing (as PIL's
resize filters do), ``align_corners=False``, on float ``[N, C, H, W]`` tensors whose values are
on the 0..255 scale, clamped to that range; ``round_levels=True`` also rounds to integer levels
(what a PIL resize of a uint8 image returns, up to one level: PIL rounds after each of its two
separable passes). The input is returned unchanged when it already has the size.

:func:`resize_pil`: PIL's own resize of each uint8 image, for the protocols whose released code
resized with PIL (``scipy.misc.imresize``, ``torchvision.transforms.Resize`` on PIL images) and
whose numbers must be reproduced level for level.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image


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


def resize_pil(images: torch.Tensor, size: int, resample=Image.BILINEAR) -> torch.Tensor:
    """uint8 ``[N, 3, H, W]`` -> uint8 ``[N, 3, size, size]`` by ``PIL.Image.resize`` of each image with
    ``resample`` (bilinear by default; antialiased when shrinking, as PIL does). Unchanged when
    already ``size x size``."""
    if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"resize_pil: expected uint8 [N, 3, H, W], got {images.dtype} {tuple(images.shape)}")
    if tuple(images.shape[-2:]) == (size, size):
        return images
    arrays = [np.asarray(Image.fromarray(x.permute(1, 2, 0).cpu().numpy()).resize((size, size), resample))
              for x in images]
    return torch.from_numpy(np.stack(arrays).transpose(0, 3, 1, 2).copy()).to(images.device)
