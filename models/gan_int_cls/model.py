"""GAN-INT-CLS (Reed et al. 2016): the matching-aware discriminator and text interpolation.

- **CLS** (Sec. 4.2, Alg. 1): the discriminator scores three pairs — real image + right
  text (s_r), real image + wrong text (s_w), fake image + right text (s_f) — and minimises
  ``L_D = -[log s_r + (log(1 - s_w) + log(1 - s_f)) / 2]``
  (:func:`models.common.gan_losses.discriminator_loss` with ``wrong``); the generator
  minimises ``-log s_f`` (the non-saturating form of Alg. 1's ``log(1 - s_f)``).
- **INT** (Sec. 4.3, Eq. 5): the generator is also trained on interpolated embeddings
  ``β t1 + (1 - β) t2`` (β = 0.5 in the paper) of two captions of the batch, scored by D
  with the interpolated text; D never sees them (there is no real image to match). Here
  ``t2`` is the batch's texts shifted by one, and the same z rows are reused.
  ``config["interpolation"]`` switches INT off (the paper's GAN-CLS ablation); ``config["matching_aware"]``
  switches CLS off (GAN-INT).
"""
from __future__ import annotations

from dataclasses import replace

from models.common.gan import TextToImageGAN
from models.common.gan_losses import discriminator_loss, generator_loss
from models.gan_int_cls.networks import Discriminator, Generator
from torch import nn


class GANINTCLS(TextToImageGAN):
    name = "gan-int-cls"

    def __init__(self, config: dict):
        super().__init__(config)
        c = config
        self.image_sizes = (c["image_size"],)
        self.noise_dim = c["z_dim"]
        self.generator = Generator(c["text_dim"], c["z_dim"], c["t_dim"], c["ngf"], c["image_size"])
        self.discriminators = nn.ModuleList([Discriminator(c["text_dim"], c["t_dim"], c["ndf"], c["image_size"])])

    def discriminator_loss(self, batch, fake):
        d, real, text = self.discriminators[0], batch.images[0], batch.text.sentence
        wrong = d(real, batch.wrong_text.sentence) if self.config["matching_aware"] else None
        loss = discriminator_loss("bce", d(real, text), d(fake.images[0], text), wrong)
        return {"loss": loss}

    def generator_loss(self, batch, out):
        d, text = self.discriminators[0], batch.text.sentence
        adv = generator_loss("bce", d(out.images[0], text))
        terms = {"adv": adv.detach()}
        loss = adv
        if self.config["interpolation"]:
            beta = self.config["beta"]
            mixed = beta * text + (1 - beta) * batch.wrong_text.sentence
            fake_int = self.generator(replace(batch.text, sentence=mixed), out.noise).images[0]
            interp = generator_loss("bce", d(fake_int, mixed))
            terms["int"] = interp.detach()
            loss = loss + interp
        return {"loss": loss, **terms}
