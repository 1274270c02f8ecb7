"""DM-GAN networks (Zhu, Pan, Chen, Yang: "DM-GAN: Dynamic Memory Generative Adversarial
Networks for Text-to-Image Synthesis", CVPR 2019, Sec. 3, Fig. 2).

Initial stage: CA of the sentence embedding and :class:`~models.common.stages.InitStage`
on ``[z, c]`` (as AttnGAN). Each refinement stage: the dynamic memory
(:class:`~models.common.memory.DynamicMemory`: memory writing gate, key addressing, value
reading, response gate) refines the image features with the words, then ``r_num``
residual blocks and a ×2 upsampling block; conv3x3 + tanh gives each stage's image.
"""
from __future__ import annotations

from torch import nn

from models.common.blocks import ResBlock, up_block
from models.common.memory import DynamicMemory
from models.common.stages import InitStage, StagedGenerator


class MemoryStage(nn.Module):
    """``h [N, ngf, s, s]`` -> ``[N, ngf, 2s, 2s]`` refined by the dynamic memory."""

    def __init__(self, ngf: int, word_dim: int, memory_dim: int, r_num: int):
        super().__init__()
        self.memory = DynamicMemory(ngf, word_dim, memory_dim)
        self.residual = nn.Sequential(*[ResBlock(ngf) for _ in range(r_num)])
        self.up = up_block(ngf, ngf)

    def forward(self, h, text, c):
        return self.up(self.residual(self.memory(h, text.words, text.mask))), None


class Generator(StagedGenerator):
    def __init__(self, text_dim: int, z_dim: int, c_dim: int, ngf: int, init_ups: int, stages: int, r_num: int,
                 memory_dim: int):
        init = InitStage(z_dim + c_dim, ngf, init_ups)
        width = init.out_channels
        super().__init__(text_dim, z_dim, c_dim, init, [MemoryStage(width, text_dim, memory_dim, r_num)
                                                        for _ in range(stages - 1)], [width] * stages)
