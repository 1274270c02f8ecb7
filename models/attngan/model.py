"""AttnGAN's objective (Xu et al. 2018, Eq. 3-4 and 13; released ``code/trainer.py``).

``L_G = Σ_i L_{G_i} + λ L_DAMSM + L_KL`` where ``L_{G_i}`` is the unconditional +
conditional non-saturating loss of stage ``i`` (Eq. 3), ``L_DAMSM`` is computed on the
final image with the generator's own DAMSM (λ = 5 for CUB, 50 for COCO; ``damsm_lambda``),
and the KL term of conditioning augmentation has weight 1 (``kl_weight``; the released
code adds ``KL_loss`` unweighted). Each discriminator minimises AttnGAN's
``discriminator_loss`` with the ``wrong`` caption term
(:mod:`models.common.attngan_losses`); the conditional head reads the sentence embedding.
"""
from __future__ import annotations

from torch import nn

from models.attngan.networks import Generator
from models.common import attngan_losses as L
from models.common.discriminators import multi_scale
from models.common.gan import TextToImageGAN
from models.common.stages import stage_sizes


class AttnGANFamily(TextToImageGAN):
    """The AttnGAN objective over any generator with CA and per-scale images (AttnGAN, DM-GAN)."""

    def __init__(self, config: dict, generator: nn.Module, spectral_norm: bool = False):
        super().__init__(config)
        self.image_sizes = stage_sizes(config["init_ups"], config["stages"], config["image_size"])
        self.noise_dim = config["z_dim"] + config["c_dim"]
        self.generator = generator
        self.discriminators = multi_scale(self.image_sizes, config["ndf"], config["text_dim"],
                                          spectral_norm=spectral_norm)

    def condition(self, batch, out):
        """The sentence feature the discriminators' conditional heads read: the batch's (the zoo DAMSM's);
        a model whose generator re-encodes the caption (KT-GAN's guided text encoder) returns its own."""
        return batch.text.sentence

    def discriminator_loss(self, batch, fake):
        s = self.condition(batch, fake)
        s_wrong = s.roll(1, 0)   # the mismatched captions of TrainBatch.wrong_text
        losses = [L.discriminator_loss(d, real, x_fake, s, s_wrong)
                  for d, real, x_fake in zip(self.discriminators, batch.images, fake.images)]
        return {"loss": sum(losses), **{f"stage{i}": v.detach() for i, v in enumerate(losses)}}

    def generator_loss(self, batch, out):
        terms = self.with_kl(L.adversarial_generator_loss(self.discriminators, out.images, self.condition(batch, out)),
                             out)
        loss = terms.pop("loss")
        if self.config["damsm_lambda"]:
            if self.text_encoder is None:
                raise ValueError(f"{self.name}: the DAMSM loss needs the zoo text encoder (model.text_encoder)")
            damsm, parts = L.damsm_generator_loss(self.text_encoder, out.images[-1], batch.text, batch.class_ids,
                                                  self.config["damsm_lambda"])
            loss = loss + damsm
            terms.update(parts)
        return {"loss": loss, **terms}


class AttnGAN(AttnGANFamily):
    name = "attngan"

    def __init__(self, config: dict):
        c = config
        super().__init__(config, Generator(c["text_dim"], c["z_dim"], c["c_dim"], c["ngf"], c["init_ups"],
                                           c["stages"], c["r_num"]))
