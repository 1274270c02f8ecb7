"""StackGAN's objective and two-phase schedule (Zhang et al. 2017, Eq. 1-6, Sec. 4).

Each stage is a conditional GAN with the matching-aware discriminator (real image + wrong
text counts as fake; the released code's ``errD = errD_real + (errD_wrong + errD_fake) / 2``),
the non-saturating generator loss and the CA regulariser ``λ D_KL(N(μ, Σ) ‖ N(0, I))``
(λ = 1 in the paper; the released birds configs use ``COEFF.KL`` 2.0 — ``kl_weight``).
Training is in two phases as in the paper: Stage-I G and D for ``stage1_epochs`` epochs;
then Stage-I is frozen and Stage-II G and D train for the remaining epochs.
The discriminators read the CA mean μ (detached) as the text condition.
"""
from __future__ import annotations

from torch import nn

from models.common.discriminators import StageDiscriminator
from models.common.gan import TextToImageGAN
from models.common.gan_losses import discriminator_loss, generator_loss
from models.stackgan.networks import Generator


class StackGAN(TextToImageGAN):
    name = "stackgan"

    def __init__(self, config: dict):
        super().__init__(config)
        c = config
        self.image_sizes = (c["stage1_size"], c["image_size"])
        self.noise_dim = c["z_dim"] + 2 * c["c_dim"]
        if not 0 < c["train"]["stage1_epochs"] < c["train"]["epochs"]:
            raise ValueError(f"stackgan: train.stage1_epochs must be in [1, epochs) so that Stage-II trains, got "
                             f"{c['train']['stage1_epochs']} of {c['train']['epochs']}")
        self.generator = Generator(c)
        self.discriminators = nn.ModuleList([
            StageDiscriminator(s, c["ndf"], c["c_dim"], unconditional=False) for s in self.image_sizes])

    @property
    def stage(self) -> int:
        """The phase being trained, 1 or 2: the generator's ``stage`` buffer (saved with its weights)."""
        return int(self.generator.stage)

    def phases(self):
        """Stage-I for ``stage1_epochs``, then Stage-II for the rest (two runs of the released code, each with
        fresh optimisers and its own learning-rate decay)."""
        from models.common.phases import gan_phase

        t = self.config["train"]
        return [gan_phase(t["stage1_epochs"], name="stage1"), gan_phase(t["epochs"] - t["stage1_epochs"], name="stage2")]

    def start_phase(self, phase) -> None:
        self.generator.stage.fill_(1 if phase.name == "stage1" else 2)
        frozen_g = self.generator.stage_one if self.stage == 2 else self.generator.stage_two
        active_g = self.generator.stage_two if self.stage == 2 else self.generator.stage_one
        frozen_g.requires_grad_(False)
        active_g.requires_grad_(True)
        self.discriminators[2 - self.stage].requires_grad_(False)
        self.discriminators[self.stage - 1].requires_grad_(True)

    def discriminator_loss(self, batch, fake):
        i = self.stage - 1
        d, real = self.discriminators[i], batch.images[i]
        cond = fake.mu.detach()  # μ of the right captions; rolled, μ of mismatched ones
        loss = discriminator_loss("bce", d(real, cond)[0], d(fake.images[i], cond)[0], d(real, cond.roll(1, 0))[0])
        return {"loss": loss}

    def generator_loss(self, batch, out):
        i = self.stage - 1
        d = self.discriminators[i]
        return self.with_kl(generator_loss("bce", d(out.images[i], out.mu.detach())[0]), out)
