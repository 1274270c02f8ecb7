"""Per-scale discriminators with a conditional and an unconditional head.

StackGAN++ (Zhang et al. 2018, Sec. 4.2, Eq. 5) and AttnGAN/DM-GAN (``D_NET64/128/256``
with ``D_GET_LOGITS``) give each generated scale its own discriminator. Each encodes the
image down to a 4x4 map with :func:`~models.common.blocks.down_block` (the first without
BatchNorm), doubling the channels at every halving (``ndf``, 2·ndf, … — 16·ndf and 32·ndf at
128 and 256 px, the released ``img_code_s32``/``s64``), and brings a map wider than 8·ndf back
to 8·ndf with conv3x3 + BN + LeakyReLU blocks halving the channels (``Block3x3_leakRelu``,
``s32_1`` / ``s64_1``, ``s64_2``; StackGAN's ``STAGE2_D`` has the same ladder), then

- the **unconditional** head scores the image alone: a 4x4 valid conv -> one logit;
- the **conditional** head scores the (image, text) pair: the condition vector ``c`` is
  replicated over the 4x4 map and concatenated, a conv3x3 + BN + LeakyReLU joins them, and a
  4x4 valid conv gives one logit (``D_GET_LOGITS``).

``spectral_norm=True`` puts every conv under spectral normalisation (DM-GAN's
discriminator in this zoo; SN-GAN, Miyato et al. 2018) and drops BatchNorm, as SN-GAN's
discriminators do. :func:`multi_scale` builds one per image size.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from models.common.blocks import down_block, spectral


class StageDiscriminator(nn.Module):
    """Discriminator for ``image_size`` px images (a power of two >= 8) conditioned on ``cond_dim``.

    ``forward(x, c)`` -> ``(cond_logits [N] or None, uncond_logits [N] or None)``;
    ``c=None`` skips the conditional head.
    """

    def __init__(self, image_size: int, ndf: int, cond_dim: int, conditional: bool = True,
                 unconditional: bool = True, spectral_norm: bool = False):
        super().__init__()
        downs = int(math.log2(image_size // 4))
        if image_size < 8 or 4 * 2 ** downs != image_size:
            raise ValueError(f"image_size: expected a power of two >= 8, got {image_size}")
        bn = not spectral_norm
        layers = [down_block(3, ndf, batch_norm=False, sn=spectral_norm)]
        layers += [down_block(ndf * 2 ** (k - 1), ndf * 2 ** k, batch_norm=bn, sn=spectral_norm)
                   for k in range(1, downs)]
        width = ndf * 2 ** (downs - 1)
        while width > 8 * ndf:
            layers += [spectral(nn.Conv2d(width, width // 2, 3, 1, 1, bias=not bn), spectral_norm),
                       *([nn.BatchNorm2d(width // 2)] if bn else []), nn.LeakyReLU(0.2, inplace=True)]
            width //= 2
        self.encode = nn.Sequential(*layers)
        self.uncond_head = spectral(nn.Conv2d(width, 1, 4), spectral_norm) if unconditional else None
        if conditional:
            join = [spectral(nn.Conv2d(width + cond_dim, width, 3, 1, 1, bias=not bn), spectral_norm)]
            join += [nn.BatchNorm2d(width)] if bn else []
            self.cond_join = nn.Sequential(*join, nn.LeakyReLU(0.2, inplace=True))
            self.cond_head = spectral(nn.Conv2d(width, 1, 4), spectral_norm)
        else:
            self.cond_join = self.cond_head = None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, width, 4, 4]``."""
        return self.encode(x)

    def cond_logits(self, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        c = c[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
        return self.cond_head(self.cond_join(torch.cat([h, c], dim=1))).reshape(-1)

    def uncond_logits(self, h: torch.Tensor) -> torch.Tensor:
        return self.uncond_head(h).reshape(-1)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None):
        h = self.features(x)
        cond = self.cond_logits(h, c) if c is not None and self.cond_head is not None else None
        uncond = self.uncond_logits(h) if self.uncond_head is not None else None
        return cond, uncond


def multi_scale(image_sizes, ndf: int, cond_dim: int, **kwargs) -> nn.ModuleList:
    """One :class:`StageDiscriminator` per size in ``image_sizes``."""
    return nn.ModuleList([StageDiscriminator(s, ndf, cond_dim, **kwargs) for s in image_sizes])
