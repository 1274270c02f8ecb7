"""GR-GAN's Gradual Refinement Generator (GRG; Yang, Feng, Wang, ICME 2022, Sec. 3.1, Fig. 1, Eq. 2 and 5;
released ``code/model.py`` ``G_NET``) and the text each of its stages reads.

Three stages, one image each (64/128/256 px in the paper; 16/32/64 px in the tiny config):

- **I**, image initialise: ``F^ca`` turns the ITM sentence ``c_s`` into the condition ``c`` (conditioning
  augmentation with KL), ``F_1`` fuses ``c`` with Gaussian noise ``z`` into ``h_1``
  (:class:`~models.common.stages.InitStage`), ``G_1`` makes the first image (conv3x3 + tanh);
- **S**, sentence-level refinement (Eq. 2): ``c_s`` is copied to the ``L`` word slots (``c_s^r``,
  :func:`sentence_slots`; the code's ``sent_emb.repeat(word_embs.size(2), 1, 1)``) and fused with ``h_1`` by
  DM-GAN's dynamic memory, ``T_{R-S} = F^DM(h_1, c_s^r)``; ``F_2`` (residual blocks + ×2 upsampling) gives
  ``h_2``;
- **W**, word-level refinement (Eq. 5): ``T_{R-W} = F^DM(h_2, c_w)`` with the ITM words; ``F_3`` gives ``h_3``.

``F^DM`` + ``F_i`` is DM-GAN's refinement stage (:class:`models.dmgan.networks.MemoryStage`, the released
``NEXT_STAGE_G`` which GR-GAN's code keeps: memory of width 2·ngf, ``[r_new, r_new]`` concatenated, ``R_NUM``
residual blocks, ``upBlock``); with the AttnGAN backbone (the paper's Table 2 "Attn-GAN + GRG" rows) it is
AttnGAN's attention stage (:class:`models.attngan.networks.AttentionStage`) reading the same slots.
:class:`GranularStage` hands a backbone stage the sentence slots (S) or the words (W).

**Stage orders** (the supplementary Table 6: I→S→W, I→W→S, S→W→I; ``stage_order`` "ISW", "IWS", "SWI"):
each stage keeps its kind (what it reads, its discriminator and its ITM losses, :mod:`.model`) wherever it
stands. The paper does not say how a text stage works first or an I stage works later; here the first
stage is always ``F_1`` (the init stage), followed at the same size by the fusion stage of its kind when
that kind is S or W (the refinement stage with a conv3x3 + BN + GLU, AttnGAN's ``Block3x3_relu``, in
place of its ×2 upsampling); an I stage after the first is the refinement stage without the fusion
(``r_new = h``: residual blocks over ``[h, h]`` and ×2 upsampling, :class:`PlainStage`).
"""
from __future__ import annotations

import torch
from torch import nn

from models.attngan.networks import AttentionStage
from models.common.blocks import ResBlock, glu_conv, up_block
from models.common.gan import GeneratorOutput, split_noise
from models.common.stages import InitStage, StagedGenerator
from models.common.text_encoder import EncodedText
from models.dmgan.networks import MemoryStage

STAGE_ORDERS = ("ISW", "IWS", "SWI")
FUSIONS = {"dmgan": "memory", "attngan": "attention"}
WORD_CONDITIONS = ("words", "slots")


def sentence_slots(text: EncodedText) -> EncodedText:
    """``c_s^r`` (Eq. 2): the sentence ``[N, D]`` copied to each of the ``T`` word slots ``[N, D, T]`` (the
    caption's padding mask is kept, as the code passes ``mask``; identical slots make it irrelevant)."""
    slots = text.sentence[:, :, None].expand(-1, -1, text.words.shape[2])
    return EncodedText(text.sentence, slots, text.mask, text.lengths, text.extras)


def mean_word(text: EncodedText, how: str = "words") -> torch.Tensor:
    """``c̄_w`` (Eq. 6), "the average pooling of all word vectors": ``"words"`` averages the caption's
    words (padding excluded); ``"slots"`` averages all ``T`` word slots as the released code does
    (``torch.mean(words_embs, dim=2)``, its padded CLIP tokens included). ``[N, D]``."""
    if how == "slots":
        return text.words.mean(dim=2)
    keep = (~text.mask).to(text.words.dtype)[:, None, :]
    return (text.words * keep).sum(2) / keep.sum(2).clamp_min(1.0)


class GranularStage(nn.Module):
    """A backbone refinement stage that reads the sentence slots (``kind`` "S") or the words ("W")."""

    def __init__(self, kind: str, inner: nn.Module):
        super().__init__()
        if kind not in ("S", "W"):
            raise ValueError(f"GranularStage kind: expected 'S' or 'W', got {kind!r}")
        self.kind, self.inner = kind, inner

    def forward(self, h, text, c):
        return self.inner(h, sentence_slots(text) if self.kind == "S" else text, c)


class PlainStage(nn.Module):
    """An I stage after the first: the refinement stage without text (``[h, h]``, residual blocks, ×2 up)."""

    def __init__(self, width: int, r_num: int):
        super().__init__()
        self.residual = nn.Sequential(*[ResBlock(2 * width) for _ in range(r_num)])
        self.up = up_block(2 * width, width)

    def forward(self, h, text, c):
        return self.up(self.residual(torch.cat([h, h], dim=1))), None


class Unrefined(nn.Module):
    """The first I stage: ``h_1`` is the init stage's output as it is."""

    def forward(self, h, text, c):
        return h, None


def fusion_stage(backbone: str, width: int, text_dim: int, r_num: int, memory_dim: int) -> nn.Module:
    """The backbone's refinement stage: DM-GAN's dynamic memory or AttnGAN's word attention."""
    if backbone == "dmgan":
        return MemoryStage(width, text_dim, memory_dim, r_num)
    return AttentionStage(width, text_dim, r_num)


class GRGGenerator(StagedGenerator):
    """``forward(text, noise [N, z_dim + c_dim])`` -> one image per stage of ``order``, smallest first;
    ``extras["stages"]``: each stage's attention maps (AttnGAN backbone) or ``None``."""

    def __init__(self, text_dim: int, z_dim: int, c_dim: int, ngf: int, init_ups: int, order: str = "ISW",
                 backbone: str = "dmgan", r_num: int = 2, memory_dim: int = 128):
        if order not in STAGE_ORDERS:
            raise ValueError(f"stage_order: expected one of {STAGE_ORDERS}, got {order!r}")
        init = InitStage(z_dim + c_dim, ngf, init_ups)
        width = init.out_channels
        stages = []
        for k, kind in enumerate(order):
            if kind == "I":
                stages.append(Unrefined() if k == 0 else PlainStage(width, r_num))
                continue
            stage = fusion_stage(backbone, width, text_dim, r_num, memory_dim)
            if k == 0:  # a text stage first: the same fusion at the init stage's size, no upsampling
                stage.up = glu_conv(2 * width, width)
            stages.append(GranularStage(kind, stage))
        super().__init__(text_dim, z_dim, c_dim, init, stages, [width] * len(order))
        self.order = order

    def forward(self, text, noise: torch.Tensor) -> GeneratorOutput:
        z, eps = split_noise(noise, self.z_dim, self.c_dim)
        c, mu, logvar = self.ca(text.sentence, noise=eps)
        h = self.init(torch.cat([z, c], dim=1))
        images, extras = [], []
        for stage, head in zip(self.stages, self.to_images):
            h, extra = stage(h, text, c)
            images.append(head(h))
            extras.append(extra)
        return GeneratorOutput(images, mu, logvar, extras={"stages": extras})
