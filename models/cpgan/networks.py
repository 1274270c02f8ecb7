"""CPGAN networks (Liang, Pei, Lu: "CPGAN: Content-Parsing Generative Adversarial Networks for Text-to-Image
Synthesis", ECCV 2020, Sec. 3.1, 3.4 and Supplementary 6.1-6.2).

Generator (Eq. 2, Supplementary Fig. 9): AttnGAN's attentional generative network
(:class:`models.attngan.networks.Generator`: CA, ``G_0`` = FC + four up-sampling blocks on ``[z, c]``,
``G_1``, ``G_2`` = word attention ``F^att`` (Eq. 12-13, AttnGAN's ``WordAttention``: the words projected
into the feature space, ``b_k`` a softmax over the words, ``H`` the attended word context), residual blocks
and an up-sampling block) plus "extra residual connection from C_0 to C_1 and C_2 (via up-sampling)" — as
the released ``G_NET`` builds it: one up-sampling block ``u`` (AttnGAN's ``upBlock``, ngf -> ngf) and one
conv3x3 ``k`` shared by the stages, ``C_1 = k(G_1(...) + u(C_0))``, ``C_2 = k(G_2(...) + u(u(C_0)))``
(:meth:`Generator.skip`). The paper's Supplementary 6.1 gives ``G_1``, ``G_2`` three residual blocks
(``r_num``; the released COCO cfg: ``R_NUM: 3``).

Discriminators: AttnGAN's per-stage discriminator (:mod:`models.common.discriminators`: the image encoded
to a 4x4 map, an unconditional head ``D^uc`` and a conditional head ``D^c``) — the discriminator of
AttnGAN⁺, the base row of Figure 6. The paper's Fig. 10 draws ``D^uc`` as five down-sampling layers and an
FC layer; no discriminator code was released, and here every row keeps AttnGAN's trunk and unconditional
head so that Figure 6's rows differ only in their modules. With ``fgcd`` the conditional head is the
**Fine-grained Conditional Discriminator** (:class:`FineGrainedDiscriminator`, Sec. 3.4, Eq. 11).
"""
from __future__ import annotations

import torch
from torch import nn

from models.attngan.networks import Generator as AttnGANGenerator
from models.common.attention import WordAttention
from models.common.blocks import conv3x3, up_block
from models.common.discriminators import StageDiscriminator


class Generator(AttnGANGenerator):
    """AttnGAN's generator with CPGAN's residual connections from ``C_0`` (module docstring);
    ``forward(text, noise [N, z_dim + c_dim])`` -> images at every stage, smallest first."""

    def __init__(self, text_dim: int, z_dim: int, c_dim: int, ngf: int, init_ups: int, stages: int, r_num: int):
        super().__init__(text_dim, z_dim, c_dim, ngf, init_ups, stages, r_num)
        width = self.init.out_channels
        self.residual_up = up_block(width, width)          # the released G_NET's ``upsample``
        self.residual_conv = conv3x3(width, width)         # and ``conv``, shared by the stages

    def skip(self, h: torch.Tensor, carry: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``C_i = conv(G_i(...) + up^i(C_0))``: ``carry`` is ``up^{i-1}(C_0)`` on the way in, ``up^i(C_0)`` out."""
        carry = self.residual_up(carry)
        return self.residual_conv(h + carry), carry


class FineGrainedDiscriminator(StageDiscriminator):
    """AttnGAN's stage discriminator with the Fine-grained Conditional Discriminator (Eq. 11) as its
    conditional head: ``cond_logits(h, text)`` -> one logit per patch ``[N, P·P]``.

    The image's ``P x P`` patches (P = 4: the discriminator's final 4x4 map — the paper tunes N; PatchGAN
    patches with the receptive field of the whole trunk) have features ``v_ij``. Each patch attends to the
    caption's words: ``a_n = softmax_n(v_ijᵀ w_n)``, ``p_ij = Σ_k a_k w_k`` (Eq. 11) — computed by AttnGAN's
    :class:`~models.common.attention.WordAttention` on the patch features, whose score ``v_ijᵀ (U w_n)`` is
    Eq. 11's with the learned map ``U`` between the two spaces (the paper leaves it open: ``v_ij`` and ``w_n``
    have different widths) and whose context ``U p_ij`` is a linear map of ``p_ij``; padding words are masked.
    ``[v_ij; U p_ij; s]`` (the sentence embedding replicated over the patches) -> conv3x3 + BN + LeakyReLU
    (AttnGAN's joining block) -> 1x1 conv -> the patch's real/fake logit."""

    def __init__(self, image_size: int, ndf: int, text_dim: int, spectral_norm: bool = False):
        super().__init__(image_size, ndf, text_dim, conditional=False, spectral_norm=spectral_norm)
        width = self.uncond_head.in_channels
        self.attention = WordAttention(width, text_dim)
        self.cond_join = nn.Sequential(nn.Conv2d(2 * width + text_dim, width, 3, 1, 1, bias=False),
                                       nn.BatchNorm2d(width), nn.LeakyReLU(0.2, inplace=True))
        self.cond_head = nn.Conv2d(width, 1, 1)

    def patch_context(self, h: torch.Tensor, text) -> tuple[torch.Tensor, torch.Tensor]:
        """``(U p [N, width, P, P], attention a [N, T, P, P])`` of Eq. 11."""
        return self.attention(h, text.words, text.mask)

    def cond_logits(self, h: torch.Tensor, text) -> torch.Tensor:
        context, _ = self.patch_context(h, text)
        s = text.sentence[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
        return self.cond_head(self.cond_join(torch.cat([h, context, s], dim=1))).flatten(1)
