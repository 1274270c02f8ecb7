"""HDGAN networks (Zhang, Xie, Yang: "Photographic Text-to-Image Synthesis with a
Hierarchically-nested Adversarial Network", CVPR 2018, Sec. 3, Fig. 2).

**Generator** (Sec. 3.4): a single stream of 1-repeat residual blocks (two conv3x3 with BN
and ReLU, no ReLU after the addition) joined by "stretching layers" (nearest ×2, conv3x3,
BN, ReLU) from 4x4 to the final size; at each side-output size (the paper: 64, 128, 256;
tiny: 16, 32, 64) a "linear compression layer" (conv3x3 + tanh) emits an image. The paper
starts from the 1024-d text embedding replicated to 4x4; here, as in this zoo's other
CA models, ``[z, ĉ]`` (CA sample) goes through a fully connected layer to ``8·ngf × 4 × 4``.
``zero_init_residual`` starts every residual branch at zero (the last BN's scale = 0; Goyal
et al. 2017); the paper does not say how it initialises. The ``tiny`` config needs it: with
the default initialisation it collapsed to one image for every caption and noise within
its first epoch (the batch's per-pixel standard deviation fell from 0.13 to 0.05 in 150
steps; with zero-initialised branches it rose to 0.29).

**Discriminators** (hierarchically nested, one per side output): stride-2 convs bring the
image to an 8x8 map; the *local image* head (a valid conv) gives an ``R × R`` map of patch
logits (unconditional; R per scale, the paper's 1, 3, 5 or the released code's 1, 1, 5);
the *pair* head halves the map to 4x4, joins the compressed sentence embedding
(linear + LeakyReLU, replicated) with a 1x1 conv and scores the (image, text) pair with a
4x4 conv.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from models.common.blocks import ResBlock, down_block, to_image, up_block
from models.common.conditioning import ConditioningAugmentation
from models.common.gan import GeneratorOutput, split_noise


class Generator(nn.Module):
    def __init__(self, text_dim: int, z_dim: int, c_dim: int, ngf: int, side_sizes, zero_init_residual: bool = False):
        super().__init__()
        self.z_dim, self.c_dim, self.side_sizes = z_dim, c_dim, tuple(side_sizes)
        self.ca = ConditioningAugmentation(text_dim, c_dim)
        width = 8 * ngf
        self.fc = nn.Sequential(nn.Linear(z_dim + c_dim, width * 16, bias=False), nn.BatchNorm1d(width * 16),
                                nn.ReLU(inplace=True))
        self.width0 = width
        blocks, heads, size = [], [], 4
        for target in self.side_sizes:
            layers = []
            while size < target:
                nxt = max(width // 2, ngf // 2)
                layers += [ResBlock(width, glu=False, zero_init=zero_init_residual), up_block(width, nxt, glu=False)]
                width, size = nxt, size * 2
            blocks.append(nn.Sequential(*layers))
            heads.append(to_image(width))
        self.blocks, self.heads = nn.ModuleList(blocks), nn.ModuleList(heads)

    def forward(self, text, noise: torch.Tensor) -> GeneratorOutput:
        z, eps = split_noise(noise, self.z_dim, self.c_dim)
        c, mu, logvar = self.ca(text.sentence, noise=eps)
        h = self.fc(torch.cat([z, c], dim=1)).view(-1, self.width0, 4, 4)
        images = []
        for block, head in zip(self.blocks, self.heads):
            h = block(h)
            images.append(head(h))
        return GeneratorOutput(images, mu, logvar)


class Discriminator(nn.Module):
    """``forward(x, sentence)`` -> ``(pair logits [N], local patch logits [N, R, R])``."""

    def __init__(self, image_size: int, ndf: int, text_dim: int, t_dim: int, patch_r: int):
        super().__init__()
        downs = int(math.log2(image_size // 8))
        if image_size < 16 or 8 * 2 ** downs != image_size or not 1 <= patch_r <= 8:
            raise ValueError(f"HDGAN discriminator: image_size a power of two >= 16 and 1 <= R <= 8, got "
                             f"{image_size}, {patch_r}")
        layers, width = [down_block(3, ndf, batch_norm=False)], ndf
        for _ in range(downs - 1):
            layers.append(down_block(width, 2 * width))
            width *= 2
        self.encode = nn.Sequential(*layers)                          # -> [N, width, 8, 8]
        self.local_head = nn.Conv2d(width, 1, 9 - patch_r)           # -> [N, 1, R, R]
        self.pair_down = down_block(width, 2 * width)                 # -> 4x4
        self.project = nn.Sequential(nn.Linear(text_dim, t_dim), nn.LeakyReLU(0.2, inplace=True))
        self.join = nn.Sequential(nn.Conv2d(2 * width + t_dim, 2 * width, 1, bias=False), nn.BatchNorm2d(2 * width),
                                  nn.LeakyReLU(0.2, inplace=True))
        self.pair_head = nn.Conv2d(2 * width, 1, 4)

    def local_logits(self, h: torch.Tensor) -> torch.Tensor:
        return self.local_head(h)[:, 0]

    def pair_logits(self, h: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
        g = self.pair_down(h)
        t = self.project(sentence)[:, :, None, None].expand(-1, -1, g.shape[2], g.shape[3])
        return self.pair_head(self.join(torch.cat([g, t], dim=1))).reshape(-1)

    def forward(self, x, sentence):
        h = self.encode(x)
        return self.pair_logits(h, sentence), self.local_logits(h)
