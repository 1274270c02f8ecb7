"""The adversarial and DAMSM losses of the AttnGAN family (AttnGAN, DM-GAN; KT-GAN and GR-GAN reuse them).

Per discriminator ``D_i`` with an unconditional and a conditional head
(:class:`~models.common.discriminators.StageDiscriminator`), binary cross-entropy on logits,
as in AttnGAN's ``code/miscc/losses.py``:

- :func:`discriminator_loss` (``discriminator_loss`` in the code): with ``s`` the sentence embedding
  and ``s_w`` a mismatched one, ``L_D = (BCE(D(x), 1) + BCE(D(x, s), 1)) / 2 +
  (BCE(D(x̂), 0) + BCE(D(x̂, s), 0) + BCE(D(x, s_w), 0)) / 3`` — the paper's Eq. 4
  (unconditional + conditional terms) plus the code's ``wrong`` term;
- :func:`adversarial_generator_loss`: ``Σ_i BCE(D_i(x̂_i), 1) + BCE(D_i(x̂_i, s), 1)`` (Eq. 3);
- :func:`damsm_generator_loss`: ``λ · L_DAMSM`` on the final image (Eq. 13; ``λ`` = 5 for
  CUB, 50 for COCO in AttnGAN's configs) — the word (``L1^w + L2^w``) and sentence
  (``L1^s + L2^s``) terms of :mod:`t2ibench.evaluators.damsm`, computed with the generator's
  own frozen DAMSM (:mod:`models.common.text_encoder`), pairs of one class masked.

``kind`` picks the adversarial terms of :data:`models.common.gan_losses.LOSSES` (default ``"bce"``, AttnGAN's;
CPGAN's Eq. 4-5 are the same sums in ``"hinge"`` form). The condition a discriminator's conditional head reads
is passed to ``d.cond_logits`` as given: the sentence embedding, or the whole encoded text for a head that
attends to the words (CPGAN's fine-grained conditional discriminator).
"""
from __future__ import annotations

import torch

from models.common.gan_losses import LOSSES
from t2ibench.evaluators.damsm import damsm_loss, fit_to_backbone


def discriminator_loss(d, real: torch.Tensor, fake: torch.Tensor, sentence, wrong_sentence,
                       kind: str = "bce") -> torch.Tensor:
    """AttnGAN's ``discriminator_loss`` for one stage (images in [-1, 1], ``fake`` detached)."""
    _REAL, _FAKE, _ = LOSSES[kind]
    h_real, h_fake = d.features(real), d.features(fake)
    cond_real = _REAL(d.cond_logits(h_real, sentence))
    cond_fake = _FAKE(d.cond_logits(h_fake, sentence))
    cond_wrong = _FAKE(d.cond_logits(h_real, wrong_sentence))
    if d.uncond_head is None:
        return cond_real + (cond_fake + cond_wrong) / 2
    return ((_REAL(d.uncond_logits(h_real)) + cond_real) / 2
            + (_FAKE(d.uncond_logits(h_fake)) + cond_fake + cond_wrong) / 3)


def adversarial_generator_loss(discriminators, images, sentence, uncond_weight: float = 1.0,
                               kind: str = "bce") -> torch.Tensor:
    """Σ over stages of the conditional and ``uncond_weight`` × the unconditional non-saturating terms
    (StackGAN++'s joint loss, Eq. 5-6, weighs the latter; AttnGAN's Eq. 3 with weight 1)."""
    _GEN = LOSSES[kind][2]
    total = 0.0
    for d, x in zip(discriminators, images):
        h = d.features(x)
        total = total + _GEN(d.cond_logits(h, sentence))
        if d.uncond_head is not None and uncond_weight > 0:
            total = total + uncond_weight * _GEN(d.uncond_logits(h))
    return total


def damsm_generator_loss(text_encoder, image: torch.Tensor, text, class_ids, weight: float,
                         **image_options) -> tuple[torch.Tensor, dict]:
    """``weight · (L1^w + L2^w + L1^s + L2^s)`` of the final ``image`` (in [-1, 1], brought to the
    DAMSM's input size as its own preprocessing does) against its captions; ``image_options`` go to the
    image encoder (CPGAN's object-aware encoder: whether generated images get detected object regions)."""
    damsm = text_encoder.damsm
    cfg = damsm.config
    regions, glob = damsm.encode_images(fit_to_backbone(image, cfg, value_range=(-1.0, 1.0)), **image_options)
    out = damsm_loss(regions, glob, text.words, text.sentence, text.lengths, class_ids.cpu().numpy(), cfg["gamma1"],
                     cfg["gamma2"], cfg["gamma3"], cfg["eq10"])
    return weight * out["loss"], {"damsm_w": out["w_loss0"] + out["w_loss1"], "damsm_s": out["s_loss0"] + out["s_loss1"]}
