"""Generator stages shared by StackGAN++, AttnGAN and DM-GAN (and the seed papers built on them).

:class:`StagedGenerator` is the generator skeleton the three share (StackGAN++'s ``G_NET``,
from which AttnGAN's and DM-GAN's derive): conditioning augmentation of the sentence
embedding, ``h_0 = InitStage([z, c])``, then ``h_i = stage_i(h_{i-1}, text, c)`` for the
further stages, and a conv3x3 + tanh image head at every stage. The models differ only in
their stage modules (StackGAN++: joint conditioning + residual; AttnGAN: word attention;
DM-GAN: dynamic memory), which return ``(h_i, extra)`` — ``extra`` (e.g. attention maps) is
collected in ``GeneratorOutput.extras["stages"]`` — or ``(h_i, extra, text)`` to hand the next stage an
updated text (KT-GAN's AATM re-weights the word features block by block).

:class:`InitStage` is ``INIT_STAGE_G`` of StackGAN++ / AttnGAN / DM-GAN: ``[z, c]`` -> a
fully connected layer to ``16·ngf × 4 × 4`` (doubled, then halved by a GLU), BatchNorm,
and ``ups`` :func:`~models.common.blocks.up_block` s halving the channels each time, down
to ``16·ngf / 2^ups`` channels at ``4·2^ups`` px (the papers: 4 ups to 64 px with ``ngf``
channels; ``shapes`` tiny configs: 2 ups to 16 px with ``4·ngf``).
"""
from __future__ import annotations

import torch
from torch import nn

from models.common.blocks import to_image, up_block
from models.common.conditioning import ConditioningAugmentation
from models.common.gan import GeneratorOutput, split_noise


def stage_sizes(init_ups: int, stages: int, image_size: int) -> tuple[int, ...]:
    """Output sizes of a staged generator, smallest first: ``4·2^init_ups`` doubled per further stage;
    a ``ValueError`` unless the last is ``image_size``."""
    sizes = tuple(4 * 2 ** init_ups * 2 ** k for k in range(stages))
    if sizes[-1] != image_size:
        raise ValueError(f"config: the stages make {sizes} px images, the last must be image_size {image_size}")
    return sizes


class InitStage(nn.Module):
    def __init__(self, in_dim: int, ngf: int, ups: int):
        super().__init__()
        self.ngf16 = 16 * ngf
        self.fc = nn.Sequential(nn.Linear(in_dim, self.ngf16 * 4 * 4 * 2, bias=False),
                                nn.BatchNorm1d(self.ngf16 * 4 * 4 * 2), nn.GLU(dim=1))
        self.ups = nn.Sequential(*[up_block(self.ngf16 // 2 ** k, self.ngf16 // 2 ** (k + 1)) for k in range(ups)])
        self.out_channels = self.ngf16 // 2 ** ups

    def forward(self, z_c: torch.Tensor) -> torch.Tensor:
        return self.ups(self.fc(z_c).view(-1, self.ngf16, 4, 4))


class StagedGenerator(nn.Module):
    """``forward(text, noise [N, z_dim + c_dim])`` -> one image per stage, smallest first.

    ``stages``: modules called as ``stage(h, text, c) -> (h', extra)`` or ``(h', extra, text')`` (the next
    stage then reads ``text'``); ``widths``: the channels
    of ``h`` after the init stage and after each further stage (for the image heads).
    """

    def __init__(self, text_dim: int, z_dim: int, c_dim: int, init: InitStage, stages, widths):
        super().__init__()
        self.z_dim, self.c_dim = z_dim, c_dim
        self.ca = ConditioningAugmentation(text_dim, c_dim)
        self.init = init
        self.stages = nn.ModuleList(stages)
        self.to_images = nn.ModuleList([to_image(w) for w in widths])

    def forward(self, text, noise: torch.Tensor) -> GeneratorOutput:
        z, eps = split_noise(noise, self.z_dim, self.c_dim)
        c, mu, logvar = self.ca(text.sentence, noise=eps)
        h = carry = self.init(torch.cat([z, c], dim=1))
        images, extras = [self.to_images[0](h)], []
        for stage, head in zip(self.stages, self.to_images[1:]):
            h, extra, *passed = stage(h, text, c)
            text = passed[0] if passed else text
            h, carry = self.skip(h, carry)
            images.append(head(h))
            extras.append(extra)
        return GeneratorOutput(images, mu, logvar, extras={"stages": extras})

    def skip(self, h: torch.Tensor, carry: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A connection carried from the init stage across the further stages: called after each further
        stage with its output ``h`` and ``carry`` (``h_0`` at the first call); returns ``(h, carry)`` for the
        image head and the next call. Default: none (CPGAN adds a residual from ``C_0``, up-sampled stage by
        stage)."""
        return h, carry
