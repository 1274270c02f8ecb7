"""Convolutional building blocks shared by the zoo's generators and discriminators.

- :func:`spectral` wraps a layer in spectral normalisation (Miyato et al. 2018, SN-GAN
  Sec. 2.1: ``W / σ(W)`` with one power iteration per step) when asked to;
- :func:`up_block`: nearest ×2 upsampling, 3x3 conv, BatchNorm, GLU — the ``upBlock`` of
  StackGAN++ / AttnGAN / DM-GAN (the conv doubles the channels and the GLU halves them);
  with ``glu=False`` the conv gives ``cout`` channels and ReLU follows (StackGAN's and
  HDGAN's upsampling blocks);
- :func:`down_block`: 4x4 stride-2 conv (+ BatchNorm unless first) + LeakyReLU(0.2) — the
  DCGAN discriminator block every paper here uses;
- :class:`ResBlock`: two 3x3 convs with BatchNorm and GLU, plus the identity (AttnGAN's
  ``ResBlock``); ``glu=False``: BN + ReLU between the convs (StackGAN's, HDGAN's — no ReLU
  after the addition, as HDGAN's footnote 2 specifies);
- :func:`to_image`: 3x3 conv to RGB + tanh (``GET_IMAGE_G``).

Shapes are ``[N, C, H, W]``; images are in [-1, 1].
"""
from __future__ import annotations

from torch import nn


def spectral(layer: nn.Module, use: bool) -> nn.Module:
    """``layer`` under spectral normalisation when ``use`` (SN-GAN, Miyato et al. 2018)."""
    return nn.utils.parametrizations.spectral_norm(layer) if use else layer


def conv3x3(cin: int, cout: int, sn: bool = False) -> nn.Module:
    return spectral(nn.Conv2d(cin, cout, 3, 1, 1, bias=False), sn)


def up_block(cin: int, cout: int, glu: bool = True) -> nn.Sequential:
    """Nearest ×2, conv3x3, BatchNorm, GLU (conv to ``2·cout``) or ReLU -> ``cout`` channels at twice the size."""
    if not glu:
        return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), conv3x3(cin, cout), nn.BatchNorm2d(cout),
                             nn.ReLU(inplace=True))
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), conv3x3(cin, 2 * cout),
                         nn.BatchNorm2d(2 * cout), nn.GLU(dim=1))


def glu_conv(cin: int, cout: int) -> nn.Sequential:
    """conv3x3 to ``2·cout``, BatchNorm, GLU (AttnGAN's ``Block3x3_relu``) at the same size."""
    return nn.Sequential(conv3x3(cin, 2 * cout), nn.BatchNorm2d(2 * cout), nn.GLU(dim=1))


def down_block(cin: int, cout: int, batch_norm: bool = True, sn: bool = False) -> nn.Sequential:
    """4x4 stride-2 conv (+ BatchNorm) + LeakyReLU(0.2): halves the size."""
    layers = [spectral(nn.Conv2d(cin, cout, 4, 2, 1, bias=not batch_norm), sn)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(cout))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return nn.Sequential(*layers)


class ResBlock(nn.Module):
    """``x + BN(conv(GLU(BN(conv(x)))))`` with 3x3 convs (AttnGAN / StackGAN++ ``ResBlock``), or
    ``x + BN(conv(ReLU(BN(conv(x)))))`` with ``glu=False``. ``zero_init``: the last BatchNorm's
    scale starts at 0, so the block starts as the identity ("zero-γ", Goyal et al. 2017)."""

    def __init__(self, channels: int, glu: bool = True, zero_init: bool = False):
        super().__init__()
        first = ([conv3x3(channels, 2 * channels), nn.BatchNorm2d(2 * channels), nn.GLU(dim=1)] if glu
                 else [conv3x3(channels, channels), nn.BatchNorm2d(channels), nn.ReLU(inplace=True)])
        self.body = nn.Sequential(*first, conv3x3(channels, channels), nn.BatchNorm2d(channels))
        if zero_init:
            nn.init.zeros_(self.body[-1].weight)

    def forward(self, x):
        return x + self.body(x)


def to_image(cin: int) -> nn.Sequential:
    """conv3x3 to RGB + tanh: features -> an image in [-1, 1]."""
    return nn.Sequential(conv3x3(cin, 3), nn.Tanh())
