"""CPGAN's objective (Liang, Pei, Lu, ECCV 2020, Sec. 3.1, Eq. 3-6; Sec. 4.1 "AttnGAN⁺").

Per stage ``i`` with discriminator ``D_i`` (unconditional ``D^uc`` and conditional ``D^c`` heads), hinge
losses (Eq. 4-5; :data:`models.common.gan_losses.LOSSES` ``"hinge"``, AttnGAN's sums in
:mod:`models.common.attngan_losses` with ``kind="hinge"``):

- ``L_{G_i} = -½ E D^uc(Ĩ_i) - ½ E D^c(Ĩ_i, X)`` (Eq. 4), ``L_G = Σ_i L_{G_i}`` (Eq. 3);
- ``L_{D_i} = ½ E max(0, 1 - D^uc(I_i)) + ⅓ E max(0, 1 + D^uc(Ĩ_i)) + ½ E max(0, 1 - D^c(I_i, X))
  + ⅓ E max(0, 1 + D^c(Ĩ_i, X)) + ⅓ E max(0, 1 + D^c(I_i, X̄))`` (Eq. 5) with ``X̄`` the batch's captions
  shifted by one (:attr:`models.common.gan.TrainBatch.wrong_text`, AttnGAN's mismatched pairs);
- with the Fine-grained Conditional Discriminator (``fgcd``), ``D^c`` gives one logit per patch and each
  expectation runs over the patches too (PatchGAN's loss per patch; the paper does not say how its patches'
  decisions are pooled).

The generator also minimises ``λ L_TISCL(Ĩ, X) = λ L_DAMSM(ImageEnc(Ĩ), TextEnc(X))`` (Eq. 6, 14-25) on the
final image — with the pretrained, frozen encoders of :mod:`models.cpgan.encoders` (``mate``/``oaie``: MATE
and the object-aware image encoder; the zoo DAMSM where neither is on) — and conditioning augmentation's
KL term (weight 1, as AttnGAN; the released ``G_NET`` keeps ``CA_NET``). The paper does not give λ; AttnGAN's
(5 for the tiny recipe, 50 for COCO) is kept. Generated images get object regions from the detector
(``fake_regions="detector"``) or none (``"grid"``: the grid alone) — never their caption's ground-truth boxes:
the TISCL reads only the generated images.

AttnGAN⁺ (``mate``, ``oaie``, ``fgcd`` all off) is AttnGAN with the hinge loss, truncated noise at
generation (``truncation``, BigGAN's trick, threshold 2 as the released ``truncated_normal_``), the larger
batch and the residual connections (the generator is shared by every row of Figure 6: "Whilst sharing same
generators with AttnGAN⁺, all our three modules ...").
"""
from __future__ import annotations

from torch import nn

from models.attngan.model import AttnGANFamily
from models.common import attngan_losses as L
from models.common.text_encoder import text_encoder_for
from models.cpgan.networks import FineGrainedDiscriminator, Generator

#: (mate, oaie) -> the zoo text encoder of the pair (MATE and OAIE are pretrained together; without
#: either, the zoo DAMSM)
TEXT_ENCODERS = {(False, False): "damsm", (True, False): "cpgan-mate-grid", (False, True): "cpgan-oaie",
                 (True, True): "cpgan-mate"}
FAKE_REGIONS = ("detector", "grid")


def check_config(config: dict) -> dict:
    """A ``ValueError`` naming the key for a bad module switch, region source or truncation."""
    for key in ("mate", "oaie", "fgcd"):
        if not isinstance(config.get(key), bool):
            raise ValueError(f"cpgan config: {key} must be true or false, got {config.get(key)!r}")
    expected = TEXT_ENCODERS[(config["mate"], config["oaie"])]
    if config.get("text_encoder", "damsm") != expected:
        raise ValueError(f"cpgan config: text_encoder {config.get('text_encoder', 'damsm')!r} does not fit mate="
                         f"{config['mate']}, oaie={config['oaie']}; expected {expected!r}")
    if config["fake_regions"] not in FAKE_REGIONS:
        raise ValueError(f"cpgan config: fake_regions must be one of {', '.join(FAKE_REGIONS)}, got "
                         f"{config['fake_regions']!r}")
    t = config.get("truncation")
    if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or t <= 0):
        raise ValueError(f"cpgan config: truncation must be a positive number or null, got {t!r}")
    return config


class CPGAN(AttnGANFamily):
    name = "cpgan"
    gan_loss = "hinge"
    #: the ½ of Eq. 4 on both adversarial terms of the generator
    adversarial_weight = 0.5

    def __init__(self, config: dict):
        c = check_config(config)
        super().__init__(config, Generator(c["text_dim"], c["z_dim"], c["c_dim"], c["ngf"], c["init_ups"],
                                           c["stages"], c["r_num"]))
        if c["fgcd"]:
            self.discriminators = nn.ModuleList([FineGrainedDiscriminator(s, c["ndf"], c["text_dim"])
                                                 for s in self.image_sizes])

    def cond_input(self, text):
        """What the conditional heads read: the whole encoded text for the FGCD (words and sentence), else
        the sentence embedding (AttnGAN's head)."""
        return text if self.config["fgcd"] else text.sentence

    def load_pretrained_parts(self, dataset: str, device="cpu") -> list[dict]:
        """The encoders pair and the detector the TISCL trains against (none for the zoo DAMSM rows, whose
        text encoder the manifest records already)."""
        encoder = self.text_encoder or text_encoder_for(self.config, dataset, device=device)
        return encoder.pretrained_parts() if hasattr(encoder, "pretrained_parts") else []

    def discriminator_loss(self, batch, fake):
        """``Σ_i L_{D_i}`` (Eq. 5, hinge; the mismatched pair ``(I_i, X̄)`` included)."""
        cond, wrong = self.cond_input(batch.text), self.cond_input(batch.wrong_text)
        losses = [L.discriminator_loss(d, real, x_fake, cond, wrong, kind=self.gan_loss)
                  for d, real, x_fake in zip(self.discriminators, batch.images, fake.images)]
        return {"loss": sum(losses), **{f"stage{i}": v.detach() for i, v in enumerate(losses)}}

    def generator_loss(self, batch, out):
        """``L_G`` (Eq. 3-4, hinge) + KL of CA + ``λ L_TISCL`` of the final image (Eq. 6, 14-25)."""
        adv = self.adversarial_weight * L.adversarial_generator_loss(
            self.discriminators, out.images, self.cond_input(batch.text), kind=self.gan_loss)
        terms = self.with_kl(adv, out)
        if not self.config["damsm_lambda"]:
            return terms
        if self.text_encoder is None:
            raise ValueError("cpgan: the TISCL needs the model's text encoder (model.text_encoder)")
        options = {"objects": self.config["fake_regions"] == "detector"} if self.config["oaie"] else {}
        tiscl, parts = L.damsm_generator_loss(self.text_encoder, out.images[-1], batch.text, batch.class_ids,
                                              self.config["damsm_lambda"], **options)
        return {**terms, "loss": terms["loss"] + tiscl, **parts}
