"""DM-GAN networks (Zhu, Pan, Chen, Yang: "DM-GAN: Dynamic Memory Generative Adversarial
Networks for Text-to-Image Synthesis", CVPR 2019, Sec. 3, Fig. 2).

Initial stage: CA of the sentence embedding and :class:`~models.common.stages.InitStage`
on ``[z, c]`` (as AttnGAN). Each refinement stage (the released ``NEXT_STAGE_G``): the dynamic
memory (:class:`~models.common.memory.DynamicMemory`: memory writing gate, key addressing, value
reading, response gate) refines the image features with the words; the refined features are
concatenated with themselves (``torch.cat((h_code_new, h_code_new), 1)``), pass ``r_num`` residual
blocks over the 2·ngf channels and a ×2 upsampling block back to ngf; conv3x3 + tanh gives each
stage's image.
"""
from __future__ import annotations

import torch
from torch import nn

from models.common.blocks import ResBlock, up_block
from models.common.memory import DynamicMemory
from models.common.stages import InitStage, StagedGenerator


class MemoryStage(nn.Module):
    """``h [N, ngf, s, s]`` -> ``[N, ngf, 2s, 2s]`` refined by the dynamic memory."""

    def __init__(self, ngf: int, word_dim: int, memory_dim: int, r_num: int):
        super().__init__()
        self.memory = DynamicMemory(ngf, word_dim, memory_dim)
        self.residual = nn.Sequential(*[ResBlock(2 * ngf) for _ in range(r_num)])
        self.up = up_block(2 * ngf, ngf)

    def forward(self, h, text, c):
        refined = self.memory(h, text.words, text.mask)
        return self.up(self.residual(torch.cat([refined, refined], dim=1))), None


class Generator(StagedGenerator):
    def __init__(self, text_dim: int, z_dim: int, c_dim: int, ngf: int, init_ups: int, stages: int, r_num: int,
                 memory_dim: int):
        init = InitStage(z_dim + c_dim, ngf, init_ups)
        width = init.out_channels
        super().__init__(text_dim, z_dim, c_dim, init, [MemoryStage(width, text_dim, memory_dim, r_num)
                                                        for _ in range(stages - 1)], [width] * stages)
