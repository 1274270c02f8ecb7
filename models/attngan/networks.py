"""AttnGAN networks (Xu et al. 2018, "AttnGAN: Fine-Grained Text to Image Generation with
Attentional Generative Adversarial Networks", Sec. 3.1, Fig. 2; released ``code/model.py``).

Generator ``G_NET``: conditioning augmentation of the sentence embedding (``c``, CA with
KL), :class:`~models.common.stages.InitStage` on ``[z, c]`` (h_0, the first image), then
per further stage ``NEXT_STAGE_G``: word attention ``F^attn(e, h)``
(:class:`~models.common.attention.WordAttention`) gives a word-context per sub-region, which
is concatenated with ``h``, passed through ``r_num`` residual blocks and upsampled ×2; each
stage's image comes from a conv3x3 + tanh. Discriminators: one per scale with conditional
(sentence embedding) and unconditional heads (:mod:`models.common.discriminators`).
"""
from __future__ import annotations

import torch
from torch import nn

from models.common.attention import WordAttention
from models.common.blocks import ResBlock, up_block
from models.common.stages import InitStage, StagedGenerator


class AttentionStage(nn.Module):
    """``NEXT_STAGE_G``: ``h [N, ngf, s, s]`` -> ``[N, ngf, 2s, 2s]`` with word attention."""

    def __init__(self, ngf: int, word_dim: int, r_num: int):
        super().__init__()
        self.attention = WordAttention(ngf, word_dim)
        self.residual = nn.Sequential(*[ResBlock(2 * ngf) for _ in range(r_num)])
        self.up = up_block(2 * ngf, ngf)

    def forward(self, h, text, c):
        context, attn = self.attention(h, text.words, text.mask)
        return self.up(self.residual(torch.cat([h, context], dim=1))), attn


class Generator(StagedGenerator):
    """``forward(text, noise [N, z_dim + c_dim])`` -> images at ``4·2^init_ups · 2^k`` px, k = 0..stages-1;
    ``extras["stages"]``: each attention stage's word-attention maps ``[N, T, H, W]``."""

    def __init__(self, text_dim: int, z_dim: int, c_dim: int, ngf: int, init_ups: int, stages: int, r_num: int):
        init = InitStage(z_dim + c_dim, ngf, init_ups)
        width = init.out_channels
        super().__init__(text_dim, z_dim, c_dim, init, [AttentionStage(width, text_dim, r_num)
                                                        for _ in range(stages - 1)], [width] * stages)
