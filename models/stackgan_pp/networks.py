"""StackGAN++ networks (Zhang et al. 2018, "StackGAN++: Realistic Image Synthesis with Stacked
Generative Adversarial Networks", TPAMI, Sec. 4.1, Fig. 2; released ``StackGAN-v2`` ``G_NET``).

A tree-like generator: conditioning augmentation ``c`` of the sentence embedding;
``h_0 = F_0([z, c])`` (:class:`~models.common.stages.InitStage`); each further branch
``h_i = F_i(h_{i-1}, c)`` joins ``c`` replicated spatially (conv3x3 + BN + GLU), applies
``r_num`` residual blocks and upsamples ×2 while halving the channels; every branch ``i``
emits an image ``G_i(h_i)`` (conv3x3 + tanh) at its scale.
"""
from __future__ import annotations

import torch
from torch import nn

from models.common.blocks import ResBlock, glu_conv, up_block
from models.common.stages import InitStage, StagedGenerator


class Branch(nn.Module):
    """``F_i``: ``(h [N, w, s, s], c [N, c_dim])`` -> ``[N, w/2, 2s, 2s]``."""

    def __init__(self, width: int, c_dim: int, r_num: int):
        super().__init__()
        self.join = glu_conv(width + c_dim, width)
        self.residual = nn.Sequential(*[ResBlock(width) for _ in range(r_num)])
        self.up = up_block(width, width // 2)

    def forward(self, h, text, c):
        c = c[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
        return self.up(self.residual(self.join(torch.cat([h, c], dim=1)))), None


class Generator(StagedGenerator):
    def __init__(self, text_dim: int, z_dim: int, c_dim: int, ngf: int, init_ups: int, branches: int, r_num: int):
        init = InitStage(z_dim + c_dim, ngf, init_ups)
        widths = [init.out_channels // 2 ** k for k in range(branches)]
        super().__init__(text_dim, z_dim, c_dim, init, [Branch(w, c_dim, r_num) for w in widths[:-1]], widths)
