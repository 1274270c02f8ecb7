"""StackGAN++'s objective (Zhang et al. 2018, Sec. 4.2-4.3, Eq. 5-8; released ``StackGAN-v2`` ``trainer.py``).

Per branch ``i``, a discriminator with a conditional head (the CA mean μ, detached) and an
unconditional head, binary cross-entropy on logits:

- D (Eq. 5, joint conditional + unconditional; the code's ``train_Dnet``):
  ``L_{D_i} = [BCE(D(x, c), 1) + u·BCE(D(x), 1)] + [BCE(D(x, c_w), 0) + u·BCE(D(x), 1)]
  + [BCE(D(x̂, c), 0) + u·BCE(D(x̂), 0)]``, ``u`` = ``uncond_weight`` (the released birds
  config's ``UNCOND_LOSS`` 1.0) — the mismatched pair uses a real image, which the
  unconditional head must call real; with ``u = 0`` the code falls back to
  ``real + (wrong + fake) / 2``;
- G (Eq. 6): ``Σ_i BCE(D_i(x̂_i, c), 1) + u·BCE(D_i(x̂_i), 1)``, plus ``kl_weight`` × the CA
  KL term;
- colour-consistency (Eq. 7-8): for consecutive scales ``s_{i-1}``, ``s_i`` of the same sample,
  ``λ1 ‖μ_{s_i} − μ_{s_{i−1}}‖² + λ2 ‖Σ_{s_i} − Σ_{s_{i−1}}‖²_F`` over the pixels' colour
  mean μ (3) and covariance Σ (3x3), λ1 = 1, λ2 = 5, averaged as the code's ``MSELoss`` does
  and weighted by ``color_weight`` (the released text-to-image configs leave ``COLOR_LOSS``
  at 0; the paper uses the term for unconditional generation).
"""
from __future__ import annotations

import torch

from models.common.attngan_losses import adversarial_generator_loss
from models.common.discriminators import multi_scale
from models.common.gan import TextToImageGAN
from models.common.gan_losses import LOSSES
from models.common.stages import stage_sizes
from models.stackgan_pp.networks import Generator

_REAL, _FAKE, _ = LOSSES["bce"]
COLOR_LAMBDA1, COLOR_LAMBDA2 = 1.0, 5.0


def colour_statistics(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image: the colour mean ``[N, 3]`` and covariance ``[N, 3, 3]`` over its pixels."""
    flat = x.flatten(2)                                  # [N, 3, P]
    mu = flat.mean(2)
    centred = flat - mu[:, :, None]
    return mu, centred @ centred.transpose(1, 2) / flat.shape[2]


def colour_consistency(low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """StackGAN++ Eq. 8 between two scales of the same images, as the code averages it."""
    mu1, cov1 = colour_statistics(low)
    mu2, cov2 = colour_statistics(high)
    return COLOR_LAMBDA1 * ((mu1 - mu2) ** 2).mean() + COLOR_LAMBDA2 * ((cov1 - cov2) ** 2).mean()


class StackGANpp(TextToImageGAN):
    name = "stackgan++"

    def __init__(self, config: dict):
        super().__init__(config)
        c = config
        self.image_sizes = stage_sizes(c["init_ups"], c["branches"], c["image_size"])
        self.noise_dim = c["z_dim"] + c["c_dim"]
        self.generator = Generator(c["text_dim"], c["z_dim"], c["c_dim"], c["ngf"], c["init_ups"], c["branches"],
                                   c["r_num"])
        self.discriminators = multi_scale(self.image_sizes, c["ndf"], c["c_dim"])

    def discriminator_loss(self, batch, fake):
        u, cond = self.config["uncond_weight"], fake.mu
        total, parts = 0.0, {}
        for i, (d, real, x_fake) in enumerate(zip(self.discriminators, batch.images, fake.images)):
            h_real, h_fake = d.features(real), d.features(x_fake)
            real_t = _REAL(d.cond_logits(h_real, cond))
            wrong_t = _FAKE(d.cond_logits(h_real, cond.roll(1, 0)))
            fake_t = _FAKE(d.cond_logits(h_fake, cond))
            if u > 0:
                uncond_real = _REAL(d.uncond_logits(h_real))
                loss = real_t + u * uncond_real + wrong_t + u * uncond_real + fake_t + u * _FAKE(d.uncond_logits(h_fake))
            else:
                loss = real_t + (wrong_t + fake_t) / 2
            parts[f"stage{i}"] = loss.detach()
            total = total + loss
        return {"loss": total, **parts}

    def generator_loss(self, batch, out):
        adv = adversarial_generator_loss(self.discriminators, out.images, out.mu.detach(), self.config["uncond_weight"])
        terms = self.with_kl(adv, out)
        loss = terms.pop("loss")
        if self.config["color_weight"]:
            color = sum(colour_consistency(a, b) for a, b in zip(out.images[:-1], out.images[1:]))
            loss = loss + self.config["color_weight"] * color
            terms["color"] = color.detach()
        return {"loss": loss, **terms}
