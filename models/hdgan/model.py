"""HDGAN's objective (Zhang et al. 2018, Sec. 3.3, Eq. 4): least squares, per side output.

For each scale ``i`` with discriminator ``D_i``, Eq. 4 sums five terms with
``L_2(x) = (x − 1)²`` and ``L̄_2(x) = x²`` (means over the batch and the R × R map):

- **pair loss** (matching-aware): ``L_2(D(x, t)) + L̄_2(D(x̂, t)) + L̄_2(D(x, t_w))`` for D —
  summed, not the averaged fake/wrong of GAN-INT-CLS; ``L_2(D(x̂, t))`` for G (the generator's
  objective, which the paper leaves to be inferred);
- **local image loss** (Sec. 3.3): least squares on every logit of the ``R × R`` patch map,
  real patches -> 1, generated -> 0 (D); generated -> 1 (G);
- the generator's total adds ``kl_weight`` × the CA KL term (the released code's ``KL_COE`` 4).

``patch_variant``: ``"paper"`` uses R = 1, 3, 5 at the three scales (smallest first), ``"code"``
the released code's 1, 1, 5 (DESIGN §5); ``patch_r`` in the config is derived from it.

**Ablation switches** (Sec. 5): ``nested_sides`` — the side outputs (indices, smallest first) that get
a hierarchically-nested discriminator; the others are still produced by the generator but nothing
supervises them (Table 6: {256}, {128, 256}, {64, 256}, all three); ``local_loss`` — the adaptive
local image loss on (True) or off ("No Local", Table 5 and Sec. 5.2, with side outputs 64 and 256).
Table 2's IS of the side outputs of one model needs no switch: load the generator with
``side_output=PX`` (:func:`models.common.zoo.load_pretrained`).

``loss_average``: ``"paper"`` sums the three pair terms as Eq. 4 prints them; ``"code"`` is the
released ``HDGan.py`` (``compute_d_pair_loss``): ``L_2(D(x, t)) + (L̄_2(D(x̂, t)) + L̄_2(D(x, t_w))) / 2``,
the matching-aware average of GAN-INT-CLS (:func:`models.common.gan_losses.discriminator_loss`).
The released local loss, ``L̄_2(fake) + (L_2(wrong image) + L_2(real image)) / 2``, averages over
two *real* images (the batch's image and another caption's image); here the mismatched pair is
made by rolling the captions over the same real images, so both halves are the real batch and
the local term is ``L_2(real) + L̄_2(fake)`` in either variant.
"""
from __future__ import annotations

from torch import nn

from models.common.gan import TextToImageGAN
from models.common.gan_losses import LOSSES, discriminator_loss
from models.hdgan.networks import Discriminator, Generator

PATCH_R = {"paper": (1, 3, 5), "code": (1, 1, 5)}
_LS_REAL, _LS_FAKE, _LS_GEN = LOSSES["ls"]
#: ``loss_average`` -> the discriminator's pair loss on least-squares logits of (x, t), (x̂, t), (x, t_w):
#: summed (``"paper"``, Eq. 4) or with the fake and wrong terms averaged (``"code"``, released ``HDGan.py``)
PAIR_LOSS = {"paper": lambda real, fake, wrong: _LS_REAL(real) + _LS_FAKE(fake) + _LS_FAKE(wrong),
             "code": lambda real, fake, wrong: discriminator_loss("ls", real, fake, wrong)}


def patch_sizes(variant: str, n_scales: int) -> tuple[int, ...]:
    if variant not in PATCH_R:
        raise ValueError(f"patch_variant: expected one of {', '.join(PATCH_R)}, got {variant!r}")
    r = PATCH_R[variant]
    if n_scales != len(r):
        raise ValueError(f"patch_variant {variant!r} defines R for {len(r)} scales; the config has {n_scales}")
    return r


def nested_sides(sides, n_scales: int) -> tuple[int, ...]:
    """The config's ``nested_sides`` checked: distinct side-output indices in ``0..n_scales-1`` that include
    the final output (every row of HDGAN's Table 6 keeps the 256 px discriminator), sorted."""
    sides = tuple(sorted(set(int(i) for i in sides)))
    if not sides or sides[0] < 0 or sides[-1] != n_scales - 1:
        raise ValueError(f"nested_sides: expected side-output indices in 0..{n_scales - 1} including the final "
                         f"output {n_scales - 1}, got {list(sides)}")
    return sides


class HDGAN(TextToImageGAN):
    name = "hdgan"

    def __init__(self, config: dict):
        super().__init__(config)
        c = config
        self.image_sizes = tuple(c["side_sizes"])
        if self.image_sizes[-1] != c["image_size"]:
            raise ValueError(f"config: the last side output must be image_size {c['image_size']}")
        self.noise_dim = c["z_dim"] + c["c_dim"]
        if c["loss_average"] not in PAIR_LOSS:
            raise ValueError(f"loss_average: expected one of {', '.join(PAIR_LOSS)}, got {c['loss_average']!r}")
        self.generator = Generator(c["text_dim"], c["z_dim"], c["c_dim"], c["ngf"], self.image_sizes,
                                   c["zero_init_residual"])
        # configs saved before these switches existed trained the full model: every side, local loss on
        self.sides = nested_sides(c.get("nested_sides", range(len(self.image_sizes))), len(self.image_sizes))
        self.local_loss = bool(c.get("local_loss", True))
        r = patch_sizes(c["patch_variant"], len(self.image_sizes))
        self.discriminators = nn.ModuleList([Discriminator(self.image_sizes[i], c["ndf"], c["text_dim"], c["t_dim"],
                                                           r[i]) for i in self.sides])

    def discriminator_loss(self, batch, fake):
        t, t_wrong = batch.text.sentence, batch.wrong_text.sentence
        total, parts = 0.0, {}
        for i, d in zip(self.sides, self.discriminators):
            h_real, h_fake = d.encode(batch.images[i]), d.encode(fake.images[i])
            pair = PAIR_LOSS[self.config["loss_average"]](d.pair_logits(h_real, t), d.pair_logits(h_fake, t),
                                                          d.pair_logits(h_real, t_wrong))
            parts[f"pair{i}"] = pair.detach()
            total = total + pair
            if self.local_loss:
                local = _LS_REAL(d.local_logits(h_real)) + _LS_FAKE(d.local_logits(h_fake))
                parts[f"local{i}"] = local.detach()
                total = total + local
        return {"loss": total, **parts}

    def generator_loss(self, batch, out):
        t = batch.text.sentence
        adv = 0.0
        for i, d in zip(self.sides, self.discriminators):
            h = d.encode(out.images[i])
            adv = adv + _LS_GEN(d.pair_logits(h, t)) + (_LS_GEN(d.local_logits(h)) if self.local_loss else 0.0)
        return self.with_kl(adv, out)
