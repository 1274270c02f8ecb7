"""Adversarial losses of the zoo on discriminator logits, with the matching-aware term.

Three families, selected by name (``LOSSES``):

- ``"bce"`` — the original GAN loss with the generator's non-saturating form
  (Goodfellow et al. 2014, Sec. 3), as used by GAN-INT-CLS, StackGAN, AttnGAN, DM-GAN;
- ``"hinge"`` — Lim & Ye 2017 / Miyato et al. 2018 (SN-GAN Eq. 16-17), as in CPGAN;
- ``"ls"`` — least squares with targets 1 (real) and 0 (fake) (Mao et al. 2017, Eq. 8-9, a=0,
  b=c=1), as in HDGAN.

Matching-aware discrimination (GAN-INT-CLS, Reed et al. 2016, Alg. 1): when ``wrong`` logits
are given — the discriminator's score of a *real image with a mismatched caption* — the
discriminator sees three pairs, and the two "fake" terms are averaged:
``L_D = l_real(real) + (l_fake(fake) + l_fake(wrong)) / 2`` (Alg. 1, line 9:
``L_D ← log(s_r) + (log(1 − s_w) + log(1 − s_f)) / 2``; AttnGAN's code does the same with its
conditional logits). Every loss is a mean over the batch.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _bce_real(x):
    return F.binary_cross_entropy_with_logits(x, torch.ones_like(x))


def _bce_fake(x):
    return F.binary_cross_entropy_with_logits(x, torch.zeros_like(x))


#: name -> (discriminator loss on a real pair, on a fake/wrong pair, generator loss on a fake pair)
LOSSES = {
    "bce": (_bce_real, _bce_fake, _bce_real),
    "hinge": (lambda x: F.relu(1 - x).mean(), lambda x: F.relu(1 + x).mean(), lambda x: -x.mean()),
    "ls": (lambda x: ((x - 1) ** 2).mean(), lambda x: (x ** 2).mean(), lambda x: ((x - 1) ** 2).mean()),
}


def _terms(kind: str):
    if kind not in LOSSES:
        raise ValueError(f"unknown GAN loss {kind!r}; known: {', '.join(LOSSES)}")
    return LOSSES[kind]


def discriminator_loss(kind: str, real: torch.Tensor, fake: torch.Tensor,
                       wrong: torch.Tensor | None = None) -> torch.Tensor:
    """D's loss from logits on (real image, right text), (fake image, text) and optionally
    (real image, wrong text) — the matching-aware form of the module docstring."""
    on_real, on_fake, _ = _terms(kind)
    if wrong is None:
        return on_real(real) + on_fake(fake)
    return on_real(real) + (on_fake(fake) + on_fake(wrong)) / 2


def generator_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    """G's loss from D's logits on (fake image, text)."""
    return _terms(kind)[2](fake)
