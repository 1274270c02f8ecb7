"""Each zoo model's objective on constructed logits (hand-checkable numbers).

The discriminators are replaced by stand-ins that return fixed logits for real, fake and
mismatched inputs, so every loss can be written out by hand from its paper's equation."""
from __future__ import annotations

import math

import pytest
import torch

import models  # noqa: F401
from models.common.gan import GeneratorOutput, TrainBatch
from models.common.text_encoder import EncodedText
from models.common.zoo import MODELS


def sp(x):
    """softplus: BCE(logit x, target 0) = sp(x); BCE(logit x, target 1) = sp(-x)."""
    return math.log1p(math.exp(x))


def _text(sentence):
    n = sentence.shape[0]
    return EncodedText(sentence, torch.zeros(n, 4, 3), torch.zeros(n, 3, dtype=torch.bool), torch.full((n,), 3))


# real images are +1, fakes -1; the right texts are the sentences [1, 2], rolled (wrong) [2, 1]
REAL, FAKE = torch.ones(2, 1, 1, 1), -torch.ones(2, 1, 1, 1)
SENTENCE = torch.tensor([[1.0], [2.0]])


def _is_real(x):
    return x.reshape(x.shape[0], -1)[:, 0] > 0


def _matches(x, t):
    """True where image row i is real and t is the batch's own text of row i."""
    return _is_real(x) & (t.reshape(-1) == SENTENCE.reshape(-1))


def _pair_logits(x, t, values):
    """The stand-in logit of each (image, text) pair: ``values["real"]`` for a real image with its own
    text, ``values["wrong"]`` for a real image with another text, ``values["fake"]`` for a fake."""
    return torch.where(_matches(x, t), torch.tensor(values["real"]),
                       torch.where(_is_real(x), torch.tensor(values["wrong"]), torch.tensor(values["fake"])))


class HDGANStandIn(torch.nn.Module):
    pair = {"real": 0.5, "fake": -0.25, "wrong": 0.75}
    local = {"real": 0.8, "fake": 0.1}

    def encode(self, x):
        return x

    def pair_logits(self, h, t):
        return _pair_logits(h, t, self.pair)

    def local_logits(self, h):
        v = torch.where(_is_real(h), torch.tensor(self.local["real"]), torch.tensor(self.local["fake"]))
        return v[:, None, None].expand(-1, 3, 3)


def test_hdgan_eq4_sums_pair_and_local_terms():
    model = MODELS.get("hdgan").build(MODELS.get("hdgan").config("tiny"))
    model.discriminators = torch.nn.ModuleList([HDGANStandIn() for _ in range(3)])
    batch = TrainBatch([REAL] * 3, _text(SENTENCE), torch.arange(2))
    fake = GeneratorOutput([FAKE] * 3, torch.zeros(2, 1), torch.zeros(2, 1))
    p, l = HDGANStandIn.pair, HDGANStandIn.local
    per_scale = (p["real"] - 1) ** 2 + p["fake"] ** 2 + p["wrong"] ** 2 + (l["real"] - 1) ** 2 + l["fake"] ** 2
    assert float(model.discriminator_loss(batch, fake)["loss"]) == pytest.approx(3 * per_scale, rel=1e-6)
    g = model.generator_loss(batch, fake)
    assert float(g["adv"]) == pytest.approx(3 * ((p["fake"] - 1) ** 2 + (l["fake"] - 1) ** 2), rel=1e-6)
    assert float(g["loss"]) == pytest.approx(float(g["adv"]), rel=1e-6)   # KL(N(0, I) || N(0, I)) = 0


def test_hdgan_code_variant_averages_the_fake_and_wrong_pair_terms():
    """Released ``compute_d_pair_loss``: ``(D(x,t) - 1)² + ((D(x̂,t))² + (D(x,t_w))²) / 2``; the local term and
    G's loss are as in Eq. 4."""
    model = MODELS.get("hdgan").build(MODELS.get("hdgan").config("tiny", loss_average="code"))
    model.discriminators = torch.nn.ModuleList([HDGANStandIn() for _ in range(3)])
    batch = TrainBatch([REAL] * 3, _text(SENTENCE), torch.arange(2))
    fake = GeneratorOutput([FAKE] * 3, torch.zeros(2, 1), torch.zeros(2, 1))
    p, l = HDGANStandIn.pair, HDGANStandIn.local
    per_scale = (p["real"] - 1) ** 2 + (p["fake"] ** 2 + p["wrong"] ** 2) / 2 + (l["real"] - 1) ** 2 + l["fake"] ** 2
    assert float(model.discriminator_loss(batch, fake)["loss"]) == pytest.approx(3 * per_scale, rel=1e-6)
    assert float(model.generator_loss(batch, fake)["adv"]) == pytest.approx(
        3 * ((p["fake"] - 1) ** 2 + (l["fake"] - 1) ** 2), rel=1e-6)
    with pytest.raises(ValueError, match="loss_average"):
        MODELS.get("hdgan").build(MODELS.get("hdgan").config("tiny", loss_average="mean"))


class CondUncondStandIn(torch.nn.Module):
    cond = {"real": 1.5, "fake": -0.5, "wrong": 0.3}
    uncond = {"real": 2.0, "fake": -1.0}
    uncond_head = True

    def features(self, x):
        return x

    def cond_logits(self, h, c):
        return _pair_logits(h, c, self.cond)

    def uncond_logits(self, h):
        return torch.where(_is_real(h), torch.tensor(self.uncond["real"]), torch.tensor(self.uncond["fake"]))


@pytest.mark.parametrize("u", [1.0, 0.0])
def test_stackgan_pp_joint_conditional_unconditional_loss(u):
    config = MODELS.get("stackgan++").config("tiny", uncond_weight=u)
    model = MODELS.get("stackgan++").build(config)
    model.discriminators = torch.nn.ModuleList([CondUncondStandIn() for _ in range(3)])
    batch = TrainBatch([REAL] * 3, _text(SENTENCE), torch.arange(2))
    fake = GeneratorOutput([FAKE] * 3, SENTENCE.clone(), torch.zeros(2, 1))   # the condition is μ
    c, un = CondUncondStandIn.cond, CondUncondStandIn.uncond
    if u:
        stage = sp(-c["real"]) + sp(-un["real"]) + sp(c["wrong"]) + sp(-un["real"]) + sp(c["fake"]) + sp(un["fake"])
    else:
        stage = sp(-c["real"]) + (sp(c["wrong"]) + sp(c["fake"])) / 2
    assert float(model.discriminator_loss(batch, fake)["loss"]) == pytest.approx(3 * stage, rel=1e-6)


def test_gan_int_cls_trains_g_on_interpolated_embeddings():
    config = MODELS.get("gan-int-cls").config("tiny")
    model = MODELS.get("gan-int-cls").build(config)
    seen = []

    class RecordingG(torch.nn.Module):
        def forward(self, text, noise):
            seen.append(text.sentence.clone())
            return GeneratorOutput([FAKE])

    class D(torch.nn.Module):
        def forward(self, x, t):
            return torch.full((x.shape[0],), 0.25)

    model.generator, model.discriminators = RecordingG(), torch.nn.ModuleList([D()])
    batch = TrainBatch([REAL], _text(SENTENCE), torch.arange(2))
    out = GeneratorOutput([FAKE], noise=torch.zeros(2, 3))
    g = model.generator_loss(batch, out)
    beta = config["beta"]
    assert torch.allclose(seen[0], beta * SENTENCE + (1 - beta) * SENTENCE.roll(1, 0))   # β t1 + (1 − β) t2
    assert float(g["loss"]) == pytest.approx(2 * sp(-0.25), rel=1e-6)                  # CLS term + INT term
    model.config["interpolation"] = False
    assert float(model.generator_loss(batch, out)["loss"]) == pytest.approx(sp(-0.25), rel=1e-6)
    d = model.discriminator_loss(batch, out)["loss"]     # matching-aware: real + (fake + wrong) / 2
    assert float(d) == pytest.approx(sp(-0.25) + (sp(0.25) + sp(0.25)) / 2, rel=1e-6)


def test_stackgan_trains_stage_one_then_stage_two():
    entry = MODELS.get("stackgan")
    model = entry.build(entry.config("tiny"))
    t = model.config["train"]
    phases = model.phases()
    assert [(p.name, p.epochs) for p in phases] == [("stage1", t["stage1_epochs"]), ("stage2", t["epochs"] - t["stage1_epochs"])]
    model.start_phase(phases[0])
    assert int(model.generator.stage) == 1
    assert all(p.requires_grad for p in model.generator.stage_one.parameters())
    assert not any(p.requires_grad for p in model.generator.stage_two.parameters())
    text = _text(torch.randn(2, model.config["text_dim"]))
    model.eval()
    assert [x.shape[-1] for x in model.generator(text, torch.randn(2, model.noise_dim)).images] == [32]
    model.start_phase(phases[1])
    assert not any(p.requires_grad for p in model.generator.stage_one.parameters())
    assert all(p.requires_grad for p in model.discriminators[1].parameters())
    assert [x.shape[-1] for x in model.generator(text, torch.randn(2, model.noise_dim)).images] == [32, 64]


@pytest.mark.parametrize("name", ["attngan", "dmgan", "gan-int-cls", "hdgan", "stackgan", "stackgan++"])
def test_paper_configs_build_at_full_size(name):
    entry = MODELS.get(name)
    model = entry.build(entry.config("paper"))
    assert model.image_sizes[-1] == entry.configs["paper"]["image_size"]
    assert sum(p.numel() for p in model.generator.parameters()) > sum(
        p.numel() for p in entry.build(entry.config("tiny")).generator.parameters())


def test_hdgan_patch_variants():
    from models.hdgan.model import patch_sizes

    assert patch_sizes("paper", 3) == (1, 3, 5) and patch_sizes("code", 3) == (1, 1, 5)
    code = MODELS.get("hdgan").build(MODELS.get("hdgan").config("tiny", patch_variant="code"))
    x = torch.randn(2, 3, 32, 32)
    assert code.discriminators[1](x, torch.randn(2, 256))[1].shape == (2, 1, 1)
    paper = MODELS.get("hdgan").build(MODELS.get("hdgan").config("tiny"))
    assert paper.discriminators[1](x, torch.randn(2, 256))[1].shape == (2, 3, 3)
    with pytest.raises(ValueError, match="patch_variant"):
        patch_sizes("released", 3)
