"""StackGAN networks (Zhang et al. 2017, "StackGAN: Text to Photo-realistic Image Synthesis
with Stacked Generative Adversarial Networks", Sec. 3.2-3.3 and 4; ``StackGAN-Pytorch``'s
``STAGE1_G``/``STAGE2_G``).

Stage-I: conditioning augmentation ``ĉ_0`` of the sentence embedding (``c_dim``) joined with z
-> fully connected to ``8·ngf × 4 × 4`` -> upsampling blocks (nearest ×2, conv3x3, BN, ReLU)
-> conv3x3 + tanh: a low-resolution image. Stage-II: the Stage-I image is encoded by
``stage2_downs`` stride-2 convs (BN, ReLU) to a grid, joined with its own CA code ``ĉ``
replicated spatially (conv3x3 + BN + ReLU), refined by ``r_num`` residual blocks (conv3x3,
BN, ReLU) and decoded by upsampling blocks, each halving the channels, to the high resolution (the paper: 64 px ->
16x16 grid -> 256 px; tiny: 32 px -> 8x8 -> 64 px). Discriminators: stride-2 convs to 4x4; the
condition (the CA mean μ, detached, as in the released code) is replicated and joined
(:class:`~models.common.discriminators.StageDiscriminator`, conditional head only).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from models.common.blocks import ResBlock, conv3x3, to_image, up_block
from models.common.conditioning import ConditioningAugmentation
from models.common.gan import GeneratorOutput, split_noise


class StageOneGenerator(nn.Module):
    def __init__(self, text_dim: int, z_dim: int, c_dim: int, ngf: int, image_size: int):
        super().__init__()
        self.ca = ConditioningAugmentation(text_dim, c_dim)
        self.width = 8 * ngf
        self.fc = nn.Sequential(nn.Linear(z_dim + c_dim, self.width * 16, bias=False),
                                nn.BatchNorm1d(self.width * 16), nn.ReLU(inplace=True))
        ups = int(math.log2(image_size // 4))
        self.ups = nn.Sequential(*[up_block(self.width // 2 ** k, self.width // 2 ** (k + 1), glu=False)
                                   for k in range(ups)])
        self.to_image = to_image(self.width // 2 ** ups)

    def forward(self, sentence, z, eps):
        c, mu, logvar = self.ca(sentence, noise=eps)
        h = self.fc(torch.cat([z, c], dim=1)).view(-1, self.width, 4, 4)
        return self.to_image(self.ups(h)), mu, logvar


class StageTwoGenerator(nn.Module):
    def __init__(self, text_dim: int, c_dim: int, ngf: int, in_size: int, out_size: int, downs: int, r_num: int):
        super().__init__()
        self.ca = ConditioningAugmentation(text_dim, c_dim)
        layers, width = [conv3x3(3, ngf), nn.ReLU(inplace=True)], ngf
        for _ in range(downs):
            layers += [nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * width), nn.ReLU(True)]
            width *= 2
        self.encode = nn.Sequential(*layers)
        self.join = nn.Sequential(conv3x3(width + c_dim, width), nn.BatchNorm2d(width), nn.ReLU(inplace=True))
        self.residual = nn.Sequential(*[ResBlock(width, glu=False) for _ in range(r_num)])
        ups = int(math.log2(out_size // (in_size // 2 ** downs)))
        if width // 2 ** ups < 1:
            raise ValueError(f"stackgan: ngf2 {ngf} is too narrow for {ups} upsampling blocks")
        # STAGE2_G's upsample1..4: the channels halve at every block (ngf·4 -> ngf·2 -> ngf -> ngf/2 -> ngf/4)
        self.ups = nn.Sequential(*[up_block(width // 2 ** k, width // 2 ** (k + 1), glu=False) for k in range(ups)])
        self.to_image = to_image(width // 2 ** ups)

    def forward(self, image, sentence, eps):
        c, mu, logvar = self.ca(sentence, noise=eps)
        h = self.encode(image)
        h = self.join(torch.cat([h, c[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])], dim=1))
        return self.to_image(self.ups(self.residual(h))), mu, logvar


class Generator(nn.Module):
    """Both stages. The buffer ``stage`` (1 or 2, saved with the weights) says how far ``forward`` goes:
    during Stage-I training only Stage-I runs; afterwards both."""

    def __init__(self, c: dict):
        super().__init__()
        self.z_dim, self.c_dim = c["z_dim"], c["c_dim"]
        self.stage_one = StageOneGenerator(c["text_dim"], c["z_dim"], c["c_dim"], c["ngf"], c["stage1_size"])
        self.stage_two = StageTwoGenerator(c["text_dim"], c["c_dim"], c["ngf2"], c["stage1_size"], c["image_size"],
                                           c["stage2_downs"], c["r_num"])
        self.register_buffer("stage", torch.tensor(2))

    def forward(self, text, noise: torch.Tensor) -> GeneratorOutput:
        z, eps1, eps2 = split_noise(noise, self.z_dim, self.c_dim, self.c_dim)
        low, mu1, logvar1 = self.stage_one(text.sentence, z, eps1)
        if int(self.stage) == 1:
            return GeneratorOutput([low], mu1, logvar1)
        high, mu2, logvar2 = self.stage_two(low, text.sentence, eps2)
        return GeneratorOutput([low, high], mu2, logvar2, extras={"mu1": mu1, "logvar1": logvar1})
