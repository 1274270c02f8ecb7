"""GAN-INT-CLS networks (Reed et al. 2016, "Generative Adversarial Text to Image Synthesis", Sec. 4.1).

Generator: the text embedding φ(t) is compressed by a fully connected layer to
``t_dim`` (128) with LeakyReLU(0.2), concatenated with z (100-d, N(0, 1)), and decoded by a
DCGAN deconvolution stack (4x4 -> 64x64: transposed 4x4 stride-2 convs with BatchNorm and
ReLU, tanh output). Discriminator: DCGAN stride-2 convs with BatchNorm and LeakyReLU down to
4x4; the text is compressed to ``t_dim`` the same way, replicated spatially, concatenated
with the 4x4 map, and a 1x1 conv + BN + LeakyReLU and a 4x4 conv give the logit.
φ(t): in the paper Reed et al.'s char-CNN-RNN embedding (1024-d); here the zoo's DAMSM
sentence embedding (:mod:`models.common.text_encoder`).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from models.common.blocks import down_block
from models.common.gan import GeneratorOutput


def _text_projection(text_dim: int, t_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(text_dim, t_dim), nn.LeakyReLU(0.2, inplace=True))


class Generator(nn.Module):
    """``forward(text, noise [N, z_dim])`` -> one ``image_size`` image per row."""

    def __init__(self, text_dim: int, z_dim: int, t_dim: int, ngf: int, image_size: int):
        super().__init__()
        ups = int(math.log2(image_size // 4))
        self.project = _text_projection(text_dim, t_dim)
        width = ngf * 2 ** (ups - 1)
        layers = [nn.ConvTranspose2d(z_dim + t_dim, width, 4, 1, 0, bias=False), nn.BatchNorm2d(width), nn.ReLU(True)]
        for _ in range(ups - 1):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width // 2),
                       nn.ReLU(True)]
            width //= 2
        layers += [nn.ConvTranspose2d(width, 3, 4, 2, 1, bias=False), nn.Tanh()]
        self.decode = nn.Sequential(*layers)

    def forward(self, text, noise: torch.Tensor) -> GeneratorOutput:
        h = torch.cat([noise, self.project(text.sentence)], dim=1)
        return GeneratorOutput([self.decode(h[:, :, None, None])])


class Discriminator(nn.Module):
    """``forward(images, sentence)`` -> logits ``[N]`` of "real and matching"."""

    def __init__(self, text_dim: int, t_dim: int, ndf: int, image_size: int):
        super().__init__()
        downs = int(math.log2(image_size // 4))
        layers, width = [down_block(3, ndf, batch_norm=False)], ndf
        for _ in range(downs - 1):
            layers.append(down_block(width, width * 2))
            width *= 2
        self.encode = nn.Sequential(*layers)
        self.project = _text_projection(text_dim, t_dim)
        self.join = nn.Sequential(nn.Conv2d(width + t_dim, width, 1, bias=False), nn.BatchNorm2d(width),
                                  nn.LeakyReLU(0.2, inplace=True))
        self.head = nn.Conv2d(width, 1, 4)

    def forward(self, images: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
        h = self.encode(images)
        t = self.project(sentence)[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
        return self.head(self.join(torch.cat([h, t], dim=1))).reshape(-1)
