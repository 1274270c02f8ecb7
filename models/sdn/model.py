"""SDN's objective and schedule (Yuan & Peng, ACM MM 2018, Sec. 3.3-3.5, Eq. 1-5): no adversary.

The model has no discriminators, so the trainer runs only generator updates. The frozen source
model D (:class:`~models.sdn.networks.VGG19Features`, ``self.source``) gives the representations
φ_l^D over the 16 conv layers l of VGG19 (Sec. 3.2: "we only use these convolutional layers for
distillation"); the target model G (:class:`~models.sdn.networks.TargetGenerator`) gives the
mirrored φ_{l+1}^G and the images I_s^p (p = 1..n, n = ``diverse_n``).

- Eq. 2, image space loss: ``Loss_Image = ‖I_r − I_s‖_1``;
- Eq. 1, Stage-I: ``Loss_I = Σ_l ‖φ_l^D(I_r) − φ_{l+1}^G(φ_t)‖_1 + Loss_Image``;
- Eq. 3, Stage-II: ``Loss_II = Σ_l ‖φ_l^D(I_r) − φ_l^D(I_s)‖_1 + Loss_Image`` (the gradient flows
  through the frozen D into G);
- Eq. 4-5, diverse synthesis (multiple choice learning, Guzman-Rivera et al. 2012):
  ``Loss_I^Div = Σ_l ‖φ_l^D(I_r) − φ_{l+1}^G‖_1 + min_p ‖I_r − I_s^p‖_1`` and
  ``Loss_II^Div = min_p [Σ_l ‖φ_l^D(I_r) − φ_l^D(I_s^p)‖_1 + ‖I_r − I_s^p‖_1]``; with n = 1 they are
  Eq. 1 and 3. The min is taken per example (multiple choice learning's per-sample oracle), then the
  batch mean.

The L1 distance ``‖·‖_1`` of a layer is the mean absolute difference over its elements
(``l1_reduction: "mean"``, what the perceptual loss of [4] (Chen & Koltun, CRN) computes in its
released code — ``tf.reduce_mean(tf.abs(·))`` per layer — SDN gives no code and no layer weights),
or the sum over the elements as Eq. 1-5 print the norm (``"sum"``). Each example's terms are added
over the layers, then averaged over the batch.

**Schemes** (Sec. 4.5, Table 3; config ``scheme``): ``"sequential"`` — our SDN: Stage-I (Eq. 1) for
``train.stage1_epochs`` epochs, then Stage-II (Eq. 3) for the rest (Sec. 3.5: 100 + 100 epochs; each
stage with a fresh Adam); ``"image"`` — Loss_Image (Eq. 2) alone; ``"stage1"`` — Loss_I alone;
``"stage2"`` — Loss_II alone; ``"joint"`` — Loss_I + Loss_II at once ("an integration of these loss
functions, simultaneously guiding the training", so the image term counts twice). ``diverse_n`` > 1
turns every scheme into its diverse form (Eq. 4-5); Table 3's "diverse synthesis loss" row is the
sequential schedule with Eq. 4 then Eq. 5 (the 3n-channel layer exists from the start: Eq. 4 is the
Stage-I loss of the diverse model). The single-loss schemes train for all ``train.epochs`` epochs.

**Generation.** G reads the text embedding alone (Sec. 3.1), so with ``diverse_n`` 1 the model has no
noise (``noise_dim`` 0) and ``generate`` gives one caption the same image whatever the seed. With n > 1
each image's noise row is one number z, and the image returned is candidate ``⌊Φ(z)·n⌋`` of the n
(:func:`models.sdn.networks.choose_candidate`): uniform over the candidates, fixed by the per-caption seed.
"""
from __future__ import annotations

import torch

from models.common.gan import TextToImageGAN
from models.common.phases import Phase, Update
from models.sdn.networks import TargetGenerator, VGG19Features, check_widths

#: scheme -> the phases it trains, each ``(phase name, loss method)``; "sequential" splits the epochs
SCHEMES = {
    "sequential": (("stage1", "stage_one_loss"), ("stage2", "stage_two_loss")),
    "image": (("image", "image_loss"),),
    "stage1": (("stage1", "stage_one_loss"),),
    "stage2": (("stage2", "stage_two_loss"),),
    "joint": (("joint", "joint_loss"),),
}
L1_REDUCTIONS = ("mean", "sum")


def l1_distance(a: torch.Tensor, b: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """``‖a − b‖_1`` per example ``[N]`` over all other dimensions: the mean of |a − b| (``"mean"``) or its sum
    (``"sum"``) (the distance of SDN Eq. 1-5)."""
    diff = (a - b).abs().flatten(1)
    return diff.mean(1) if reduction == "mean" else diff.sum(1)


def stage_one_distillation(real_features: dict, representations: dict, reduction: str = "mean") -> torch.Tensor:
    """``Σ_l ‖φ_l^D(I_r) − φ_{l+1}^G(φ_t)‖_1`` per example ``[N]`` (SDN Eq. 1 and 4, first term): D's
    representation of the real image at each conv layer l against G's representation that mirrors it
    (``representations[l]``: the output of G's layer l+1)."""
    return sum(l1_distance(real_features[name], representations[name], reduction) for name in real_features)


def stage_two_distillation(real_features: dict, fake_features: dict, reduction: str = "mean") -> torch.Tensor:
    """``Σ_l ‖φ_l^D(I_r) − φ_l^D(I_s)‖_1`` per example (SDN Eq. 3 and 5, first term). ``fake_features[l]``
    ``[N·n, ...]``: D's representations of the n candidates of each example, example-major; returns ``[N, n]``."""
    n_real = next(iter(real_features.values())).shape[0]
    total = 0
    for name, real in real_features.items():
        fake = fake_features[name]
        n = fake.shape[0] // n_real
        target = real.unsqueeze(1).expand(n_real, n, *real.shape[1:]).reshape(fake.shape)
        total = total + l1_distance(target, fake, reduction).view(n_real, n)
    return total


def image_distance(real: torch.Tensor, candidates: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """``‖I_r − I_s^p‖_1`` for every candidate p: ``real [N, 3, S, S]``, ``candidates [N, n, 3, S, S]`` ->
    ``[N, n]`` (SDN Eq. 2; per candidate for the min of Eq. 4-5)."""
    n = candidates.shape[1]
    return l1_distance(real.unsqueeze(1).expand_as(candidates).flatten(0, 1), candidates.flatten(0, 1),
                       reduction).view(-1, n)


def loss_stage_one(stage_one: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """SDN Eq. 4 (Eq. 1 when n = 1): batch mean of ``stage_one [N] + min_p image [N, n]``."""
    return (stage_one + image.min(dim=1).values).mean()


def loss_stage_two(stage_two: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """SDN Eq. 5 (Eq. 3 when n = 1): batch mean of ``min_p (stage_two + image) [N, n]``."""
    return (stage_two + image).min(dim=1).values.mean()


class SDN(TextToImageGAN):
    """Symmetrical Distillation Networks: frozen source VGG19 ``source``, target ``generator``, no discriminator."""

    name = "sdn"

    def __init__(self, config: dict):
        super().__init__(config)
        c = config
        widths, fc = check_widths(c["source_widths"], c["source_fc"], c["image_size"])
        if c["scheme"] not in SCHEMES:
            raise ValueError(f"scheme: expected one of {', '.join(SCHEMES)}, got {c['scheme']!r}")
        if isinstance(c["diverse_n"], bool) or not isinstance(c["diverse_n"], int) or c["diverse_n"] < 1:
            raise ValueError(f"diverse_n: expected an int >= 1 (the number of diverse images), got {c['diverse_n']!r}")
        if c["l1_reduction"] not in L1_REDUCTIONS:
            raise ValueError(f"l1_reduction: expected one of {', '.join(L1_REDUCTIONS)}, got {c['l1_reduction']!r}")
        epochs, stage1 = c["train"]["epochs"], c["train"]["stage1_epochs"]
        if c["scheme"] == "sequential" and not 0 < stage1 < epochs:
            raise ValueError(f"sdn: train.stage1_epochs must be in [1, epochs) so that Stage-II trains, got "
                             f"{stage1} of {epochs}")
        self.image_sizes = (c["image_size"],)
        # one number per image, choosing which of the n diverse images it returns; none without diversity
        self.noise_dim = 1 if c["diverse_n"] > 1 else 0
        self.generator = TargetGenerator(c["text_dim"], widths, fc, c["image_size"], c["diverse_n"])
        self.source = VGG19Features(widths).requires_grad_(False).eval()

    def train(self, mode: bool = True):
        """The source model stays frozen in eval mode."""
        super().train(mode)
        self.source.eval()
        return self

    def load_pretrained_parts(self, dataset: str, device="cpu") -> list[dict]:
        """The source VGG19: ImageNet weights from ``config["source_weights"]`` (torchvision's ``vgg19`` state
        dict), else the stand-in ``models/weights/sdn-vgg19-<dataset>.safetensors`` (:mod:`.source_model`)."""
        from models.sdn.source_model import load_source

        record = load_source(self.source, self.config, dataset)
        self.source.to(device)
        return [record]

    def phases(self) -> list[Phase]:
        t, schedule = self.config["train"], SCHEMES[self.config["scheme"]]
        epochs = [t["stage1_epochs"], t["epochs"] - t["stage1_epochs"]] if len(schedule) == 2 else [t["epochs"]]
        return [Phase(name, e, (Update("g", "generator", loss, "lr_g"),)) for (name, loss), e in zip(schedule, epochs)]

    # ------------------------------------------------------------------ the terms
    def _terms(self, batch, out, stage_one: bool, stage_two: bool) -> dict:
        """Per-example terms ``image [N, n]`` and, when asked, ``stage_one [N]`` and ``stage_two [N, n]``."""
        reduction = self.config["l1_reduction"]
        real, candidates = batch.images[-1], out.extras["candidates"]
        terms = {"image": image_distance(real, candidates, reduction)}
        if stage_one or stage_two:
            with torch.no_grad():
                real_features = self.source.conv_features(real)
        if stage_one:
            terms["stage_one"] = stage_one_distillation(real_features, out.extras["representations"], reduction)
        if stage_two:
            terms["stage_two"] = stage_two_distillation(real_features,
                                                        self.source.conv_features(candidates.flatten(0, 1)), reduction)
        return terms

    @staticmethod
    def _report(loss, terms) -> dict:
        return {"loss": loss, **{k: v.detach().mean() for k, v in terms.items()}}

    # ------------------------------------------------------------------ the losses the phases name
    def image_loss(self, batch, out) -> dict:
        """Table 3 "Image space loss": Eq. 2 (min over the candidates when diverse)."""
        terms = self._terms(batch, out, False, False)
        return self._report(terms["image"].min(dim=1).values.mean(), terms)

    def stage_one_loss(self, batch, out) -> dict:
        """Stage-I distillation, Eq. 1 (Eq. 4 when diverse)."""
        terms = self._terms(batch, out, True, False)
        return self._report(loss_stage_one(terms["stage_one"], terms["image"]), terms)

    def stage_two_loss(self, batch, out) -> dict:
        """Stage-II distillation, Eq. 3 (Eq. 5 when diverse)."""
        terms = self._terms(batch, out, False, True)
        return self._report(loss_stage_two(terms["stage_two"], terms["image"]), terms)

    def joint_loss(self, batch, out) -> dict:
        """Table 3 "Stage-I & Stage-II loss": Eq. 1 + Eq. 3 (Eq. 4 + Eq. 5 when diverse), optimised together."""
        terms = self._terms(batch, out, True, True)
        loss = loss_stage_one(terms["stage_one"], terms["image"]) + loss_stage_two(terms["stage_two"], terms["image"])
        return self._report(loss, terms)
