"""SDN (Yuan & Peng, ACM MM 2018): the multiple-choice min (Eq. 4-5) by hand, the symmetry of the target
generator and the source VGG19 (every mirrored representation has its D layer's shape, tiny and paper),
the Stage-I/II losses against a float64 formula, the schemes of Table 3, the source model's loading
(torchvision layout, the shipped stand-in, BatchNorm folding), training smoke runs of every config and
variant, the generate contract, resume across the Stage-I -> Stage-II switch, and (slow) one real step of
each phase of the ``paper`` config at 224 px."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import models.sdn  # noqa: F401  (registers sdn and its variants)
from models.common.checkpoint import load_training_state
from models.common.gan import TrainBatch
from models.common.phases import phase_at
from models.common.text_encoder import EncodedText
from models.common.trainer import CHECKPOINT
from models.common.zoo import MODELS, list_variants, load_pretrained
from models.sdn.configs import ABLATION_EPOCHS, DIVERSE_N
from models.sdn.model import (SDN, image_distance, l1_distance, loss_stage_one, loss_stage_two,
                              stage_one_distillation, stage_two_distillation)
from models.sdn.networks import VGG19, VGG19Features, conv_names, fold_batch_norm
from models.sdn.source_model import load_source, standin_path
from models.train import train_model
from t2ibench.data import load_dataset
from interruption import killed_in_epoch, without_timings

CAPTIONS = ["a big red circle on a black background", "a small blue square in the top left corner",
            "there is a large green triangle on a white background", "a tiny yellow star on plain gray"]
VARIANTS = ["baseline", "stage1", "stage2", "joint", "diverse", "full"]


def _text(n: int, dim: int = 256, words: int = 6, dtype=torch.float32) -> EncodedText:
    return EncodedText(torch.randn(n, dim, dtype=dtype), torch.randn(n, dim, words, dtype=dtype),
                       torch.zeros(n, words, dtype=torch.bool), torch.full((n,), words))


def _config(name: str = "sdn", which: str = "tiny", **overrides) -> dict:
    return MODELS.get(name).config(which, **overrides)


# ---------------------------------------------------------------------------- Eq. 4-5 by hand
def test_multiple_choice_min_of_eq_4_and_5_by_hand():
    """Two examples, n = 2 candidates, 1x1-pixel images (so ‖·‖_1 is the mean of 3 absolute differences)."""
    real = torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]).view(2, 3, 1, 1)
    candidates = torch.tensor([[[1.0, 1.0, 1.0], [0.5, 0.0, 0.0]],      # example 0: |.| means 1 and 1/6
                               [[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]]]      # example 1: 1/3 and 1
                              ).view(2, 2, 3, 1, 1)
    image = image_distance(real, candidates)
    assert torch.allclose(image, torch.tensor([[1.0, 1 / 6], [1 / 3, 1.0]]))
    # Eq. 4: Σ_l distillation (no p) + min_p image: ((2 + 1/6) + (3 + 1/3)) / 2
    assert loss_stage_one(torch.tensor([2.0, 3.0]), image).item() == pytest.approx((2 + 1 / 6 + 3 + 1 / 3) / 2)
    # Eq. 5: the min is over the *sum* — candidate 0 of example 0 wins although its image term is larger:
    # example 0: min(0 + 1, 1 + 1/6) = 1; example 1: min(2 + 1/3, 0.5 + 1) = 1.5
    stage_two = torch.tensor([[0.0, 1.0], [2.0, 0.5]])
    assert loss_stage_two(stage_two, image).item() == pytest.approx((1 + 1.5) / 2)
    # n = 1: Eq. 4 and 5 are Eq. 1 and 3 (no min)
    assert loss_stage_two(stage_two[:, :1], image[:, :1]).item() == pytest.approx((1 + 2 + 1 / 3) / 2)


def test_l1_distance_is_the_mean_or_the_sum_per_example():
    a, b = torch.zeros(2, 2, 2), torch.tensor([[[1.0, -2.0], [0.0, 1.0]], [[4.0, 0.0], [0.0, 0.0]]])
    assert l1_distance(a, b).tolist() == [1.0, 1.0]
    assert l1_distance(a, b, "sum").tolist() == [4.0, 4.0]


# ---------------------------------------------------------------------------- the symmetry
def _symmetry(config: dict, device: str):
    """D's representations of an image (the full VGG19, fc layers included) and G's of a caption."""
    with torch.device(device):
        d = VGG19(config["source_widths"], config["source_fc"], 10, config["image_size"] // 32).eval()
        model = SDN(config)
        g = model.generator.eval()
        reps_d = d.representations(torch.zeros(2, 3, config["image_size"], config["image_size"]))
        out = g(_text(2), torch.zeros(2, model.noise_dim))
    return d, g, reps_d, out


@pytest.mark.parametrize("which", ["tiny", "paper"])
def test_every_generator_layer_has_the_shape_of_the_vgg_layer_it_mirrors(which):
    """G layer l+1 outputs φ_{l+1}^G of exactly φ_l^D's shape (Eq. 1's pairing), for every layer of the ladder:
    g-fc8 -> fc7, g-fc7 -> fc6, g-fc6 -> pool5, each up-sampling -> the conv before D's pooling, g-conv{g}_{k}
    -> the D layer before conv{g}_{k}, g-conv1_1 -> the image. The paper config runs on the meta device
    (shapes only), the tiny one for real."""
    config = _config(which=which)
    _, g, reps_d, out = _symmetry(config, "meta" if which == "paper" else "cpu")
    reps_g = out.extras["representations"]
    s, w = config["image_size"], config["source_widths"]
    expected = {"fc7": (2, config["source_fc"]), "fc6": (2, config["source_fc"]), "pool5": (2, w[4], s // 32, s // 32),
                "conv1_1": (2, w[0], s, s), "conv1_2": (2, w[0], s, s), "pool1": (2, w[0], s // 2, s // 2),
                "conv3_4": (2, w[2], s // 4, s // 4), "conv5_4": (2, w[4], s // 16, s // 16)}
    for name, shape in expected.items():
        assert tuple(reps_d[name].shape) == shape, name
    # G: 3 fc + 16 conv layers (+ 5 up-samplings); its 24 representations mirror every D layer but fc8
    assert [n for n, m in g.named_children() if n.startswith("fc")] == ["fc8", "fc7", "fc6"]
    assert list(g.convs) == list(reversed(conv_names()))
    assert set(reps_g) == (set(reps_d) - {"fc8"}) | {"image"} and len(reps_g) == 24
    for name, rep in reps_g.items():
        if name != "image":
            assert rep.shape == reps_d[name].shape, name
    assert tuple(reps_g["image"].shape) == (2, 3, s, s) and tuple(out.images[0].shape) == (2, 3, s, s)
    # the mirrored pairs of Eq. 1 by name: the output of g-conv{g}_{k} is φ^D of the layer before conv{g}_{k}
    assert [g.mirrored(n) for n in ("conv5_4", "conv5_1", "conv2_1", "conv1_2", "conv1_1")] == \
        ["conv5_3", "pool4", "pool1", "conv1_1", "image"]


def test_paper_source_is_torchvision_vgg19_key_for_key():
    """The paper config's source model is torchvision's ``vgg19`` (same keys, same shapes): its ImageNet state
    dict loads by name."""
    import torchvision

    with torch.device("meta"):
        reference = torchvision.models.vgg19().state_dict()
        ours = VGG19(_config(which="paper")["source_widths"]).state_dict()
        features = SDN(_config(which="paper")).source.state_dict()
    assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in reference.items()}
    assert {k: v.shape for k, v in features.items()} == {k: v.shape for k, v in reference.items()
                                                         if k.startswith("features.")}


def test_diverse_generator_has_3n_output_channels_and_one_noise_number():
    config = _config("sdn/diverse")
    model = SDN(config)
    assert config["diverse_n"] == DIVERSE_N and model.noise_dim == 1
    assert model.generator.convs["conv1_1"][0].out_channels == 3 * DIVERSE_N
    out = model.generator.eval()(_text(4), torch.tensor([[-3.0], [-0.1], [0.1], [3.0]]))
    cands = out.extras["candidates"]
    assert cands.shape == (4, DIVERSE_N, 3, 64, 64)
    # the noise number picks candidate ⌊Φ(z)·n⌋: 0, 1, 1, 2 for n = 3
    for row, p in enumerate([0, 1, 1, 2]):
        assert torch.equal(out.images[0][row], cands[row, p])
    assert SDN(_config()).noise_dim == 0   # the paper's G reads the text embedding alone


# ---------------------------------------------------------------------------- losses vs float64
def test_distillation_terms_match_a_float64_formula():
    rng = np.random.default_rng(0)
    names = ["conv1_1", "conv1_2", "conv2_1"]
    shapes = [(2, 3, 4, 4), (2, 3, 4, 4), (2, 5, 2, 2)]
    real = {n: torch.from_numpy(rng.random(s)) for n, s in zip(names, shapes)}
    mirrored = {n: torch.from_numpy(rng.random(s)) for n, s in zip(names, shapes)}
    fake = {n: torch.from_numpy(rng.random((2 * 3,) + s[1:])) for n, s in zip(names, shapes)}   # n = 3
    one = sum(np.abs(real[n].numpy() - mirrored[n].numpy()).reshape(2, -1).mean(1) for n in names)
    assert np.allclose(stage_one_distillation(real, mirrored).numpy(), one)
    two = sum(np.abs(real[n].numpy()[:, None] - fake[n].numpy().reshape(2, 3, *fake[n].shape[1:]))
              .reshape(2, 3, -1).mean(2) for n in names)
    assert np.allclose(stage_two_distillation(real, fake).numpy(), two)
    summed = sum(np.abs(real[n].numpy() - mirrored[n].numpy()).reshape(2, -1).sum(1) for n in names)
    assert np.allclose(stage_one_distillation(real, mirrored, "sum").numpy(), summed)


def _small_model(**overrides) -> SDN:
    config = _config(source_widths=[2, 3, 3, 4, 4], source_fc=6, image_size=32, **overrides)
    torch.manual_seed(0)
    return SDN(config).double().train()


def _batch(n: int = 2, size: int = 32) -> TrainBatch:
    torch.manual_seed(1)
    return TrainBatch([torch.rand(n, 3, size, size, dtype=torch.float64) * 2 - 1], _text(n, dtype=torch.float64),
                      torch.zeros(n, dtype=torch.long))


def test_stage_one_and_two_losses_of_the_model_match_eq_1_to_3_in_float64():
    """The model's losses against Eq. 1-3 written out with numpy on D's and G's own representations: each conv
    layer l of D (real image) against G's representation of that layer (Eq. 1) or D's of the generated image
    (Eq. 3), mean absolute differences summed over the 16 layers, plus the image L1, batch mean."""
    model, batch = _small_model(), _batch()
    out = model.generator(batch.text, torch.zeros(2, 0, dtype=torch.float64))
    real, fake = batch.images[0], out.images[0]
    d_real = {k: v.detach().numpy() for k, v in model.source.conv_features(real).items()}
    d_fake = {k: v.detach().numpy() for k, v in model.source.conv_features(fake).items()}
    g = {k: v.detach().numpy() for k, v in out.extras["representations"].items()}
    assert len(d_real) == 16

    def mean_abs(a, b):
        return np.abs(a - b).reshape(a.shape[0], -1).mean(1)

    image = mean_abs(real.numpy(), fake.detach().numpy())
    eq1 = (sum(mean_abs(d_real[n], g[n]) for n in d_real) + image).mean()
    eq3 = (sum(mean_abs(d_real[n], d_fake[n]) for n in d_real) + image).mean()
    assert model.stage_one_loss(batch, out)["loss"].item() == pytest.approx(eq1, rel=1e-12)
    assert model.stage_two_loss(batch, out)["loss"].item() == pytest.approx(eq3, rel=1e-12)
    assert model.image_loss(batch, out)["loss"].item() == pytest.approx(image.mean(), rel=1e-12)
    assert model.joint_loss(batch, out)["loss"].item() == pytest.approx(eq1 + eq3, rel=1e-12)
    # Stage-II's gradient reaches G through the frozen D, which itself stays untouched
    model.stage_two_loss(batch, out)["loss"].backward()
    assert model.generator.fc8[0].weight.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in model.source.parameters())


def test_diverse_losses_of_the_model_match_eq_4_and_5_in_float64():
    model, batch = _small_model(diverse_n=2), _batch()
    out = model.generator(batch.text, torch.zeros(2, 1, dtype=torch.float64))
    cands = out.extras["candidates"].detach()
    real = batch.images[0]
    d_real = {k: v.numpy() for k, v in model.source.conv_features(real).items()}
    g = {k: v.detach().numpy() for k, v in out.extras["representations"].items()}

    def mean_abs(a, b):
        return np.abs(a - b).reshape(a.shape[0], -1).mean(1)

    image = np.stack([mean_abs(real.numpy(), cands[:, p].numpy()) for p in range(2)], 1)
    two = np.stack([sum(mean_abs(d_real[n], v.detach().numpy())
                        for n, v in model.source.conv_features(cands[:, p]).items()) for p in range(2)], 1)
    eq4 = (sum(mean_abs(d_real[n], g[n]) for n in d_real) + image.min(1)).mean()
    eq5 = (two + image).min(1).mean()
    assert model.stage_one_loss(batch, out)["loss"].item() == pytest.approx(eq4, rel=1e-12)
    assert model.stage_two_loss(batch, out)["loss"].item() == pytest.approx(eq5, rel=1e-12)


# ---------------------------------------------------------------------------- Table 3's schemes
SCHEME_TERMS = {  # variant -> [(phase, loss method, epochs, the terms it computes)]
    "baseline": [("image", "image_loss", ABLATION_EPOCHS, {"image"})],
    "stage1": [("stage1", "stage_one_loss", ABLATION_EPOCHS, {"image", "stage_one"})],
    "stage2": [("stage2", "stage_two_loss", ABLATION_EPOCHS, {"image", "stage_two"})],
    "joint": [("joint", "joint_loss", ABLATION_EPOCHS, {"image", "stage_one", "stage_two"})],
    "diverse": [("stage1", "stage_one_loss", ABLATION_EPOCHS // 2, {"image", "stage_one"}),
                ("stage2", "stage_two_loss", ABLATION_EPOCHS - ABLATION_EPOCHS // 2, {"image", "stage_two"})],
    "full": [("stage1", "stage_one_loss", ABLATION_EPOCHS // 2, {"image", "stage_one"}),
             ("stage2", "stage_two_loss", ABLATION_EPOCHS - ABLATION_EPOCHS // 2, {"image", "stage_two"})],
}


def test_the_variants_are_the_rows_of_table_3_at_one_budget():
    assert sorted(list_variants("sdn")) == sorted(f"sdn/{v}" for v in VARIANTS)
    assert list_variants(table="SDN Table 3") == list_variants("sdn")
    for v in VARIANTS:
        assert _config(f"sdn/{v}")["train"]["epochs"] == ABLATION_EPOCHS
    assert {v: _config(f"sdn/{v}")["diverse_n"] for v in VARIANTS} == {v: DIVERSE_N if v == "diverse" else 1
                                                                        for v in VARIANTS}


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_table_3_scheme_switches_the_right_loss_terms(variant):
    """Each row trains the phases and losses of its scheme, and each loss computes exactly its terms (a
    switched-off distillation term is not computed at all) and is their composition (Eq. 1-5)."""
    config = _config(f"sdn/{variant}", source_widths=[2, 3, 3, 4, 4], source_fc=6, image_size=32)
    torch.manual_seed(0)
    model = SDN(config).double().train()
    phases = model.phases()
    assert [(p.name, p.updates[0].loss, p.epochs) for p in phases] == [r[:3] for r in SCHEME_TERMS[variant]]
    assert all(len(p.updates) == 1 and p.updates[0].module == "generator" for p in phases)   # no adversary
    assert len(model.discriminators) == 0
    batch = _batch()
    for (_, loss, _, terms), phase in zip(SCHEME_TERMS[variant], phases):
        out = model.generator(batch.text, torch.zeros(2, model.noise_dim, dtype=torch.float64))
        computed = model._terms(batch, out, "stage_one" in terms, "stage_two" in terms)
        assert set(computed) == terms
        result = getattr(model, loss)(batch, out)
        assert set(result) == {"loss"} | terms
        image = computed["image"]
        one = loss_stage_one(computed["stage_one"], image) if "stage_one" in terms else 0
        two = loss_stage_two(computed["stage_two"], image) if "stage_two" in terms else 0
        expected = image.min(1).values.mean() if terms == {"image"} else torch.as_tensor(one + two)
        assert result["loss"].item() == pytest.approx(float(expected.detach()), rel=1e-12)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"scheme": "adversarial"}, "scheme: expected one of"),
    ({"diverse_n": 0}, "diverse_n: expected an int >= 1"),
    ({"l1_reduction": "max"}, "l1_reduction: expected one of"),
    ({"source_widths": [8, 8, 8, 8]}, "source_widths: expected 5"),
    ({"image_size": 48}, "image_size: VGG19 halves the size 5 times"),
    ({"train": {"epochs": 4, "stage1_epochs": 4}}, "train.stage1_epochs must be in"),
])
def test_bad_config_values_are_clear_errors(overrides, message):
    with pytest.raises(ValueError, match=message):
        SDN(_config(**overrides))


# ---------------------------------------------------------------------------- the source model
def test_folded_batch_norm_computes_what_the_trained_network_computes():
    torch.manual_seed(0)
    trained = VGG19([2, 3, 3, 4, 4], 6, 5, 1, batch_norm=True)
    for m in trained.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    trained.eval()
    plain = fold_batch_norm(trained)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in plain.modules())
    assert set(plain.state_dict()) == set(VGG19([2, 3, 3, 4, 4], 6, 5, 1).state_dict())
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    a, b = trained.representations(x), plain.representations(x)
    for name in a:
        assert torch.allclose(a[name], b[name], atol=1e-5), name


def test_shipped_stand_in_source_model_is_recorded_as_a_stand_in():
    path = standin_path("shapes")
    manifest = json.loads(path.with_suffix(".json").read_text())
    assert manifest["seed"] == 3 and manifest["dataset"]["train_split"] == "zs-train"
    assert manifest["command"].startswith("python -m models.sdn.source_model --dataset shapes")
    assert manifest["heldout_accuracy"] > 0.5 and manifest["train_time_s"] > 0
    from models.sdn.model import SDN as Model

    model = Model(_config())
    before = model.source.features[0].weight.clone()
    record = model.load_pretrained_parts("shapes")
    assert record[0]["sha256"] == manifest["sha256"] and record[0]["weights"] == path.name
    assert "STAND-IN" in record[0]["description"] and "ImageNet VGG19" in record[0]["description"]
    assert not torch.equal(before, model.source.features[0].weight)
    # the seen classes only: no label of the zero-shot split's unseen classes was a target
    unseen = set(load_dataset("shapes", split="zs-test", n_train=48, n_test=48, progress=False)
                 .zero_shot_classes()[1])
    assert not unseen & set(manifest["dataset"]["classes_seen"])


def test_source_model_errors_say_what_to_do(tmp_path, monkeypatch):
    features = VGG19Features([16, 32, 64, 128, 128])
    with pytest.raises(ValueError, match="python -m models.sdn.source_model --dataset cub"):
        load_source(features, _config(), "cub")
    with pytest.raises(ValueError, match="asks for \\[8, 8, 8, 8, 8\\]"):
        load_source(VGG19Features([8] * 5), _config(source_widths=[8] * 5), "shapes")
    with pytest.raises(ValueError, match="a torchvision VGG19 needs source_widths"):
        load_source(features, _config(source_weights=str(tmp_path / "x.pth")), "shapes")
    paper = VGG19Features()
    with pytest.raises(ValueError, match="no such file"):
        load_source(paper, _config(which="paper", source_weights=str(tmp_path / "missing.pth")), "cub")
    torch.save({"features.0.weight": torch.zeros(1)}, tmp_path / "wrong.pth")
    with pytest.raises(ValueError, match="is not torchvision's vgg19 state dict"):
        load_source(paper, _config(which="paper", source_weights=str(tmp_path / "wrong.pth")), "cub")


# ---------------------------------------------------------------------------- training
def _run(out, name="sdn", config="tiny", epochs=2, train=None, steps=1, **kw):
    return train_model(name, config, out_dir=out, epochs=epochs, steps_per_epoch=steps, quality_n=0, progress=False,
                       n_train=64, probe_n=0, overrides={"train": {"batch_size": 8, **(train or {})}}, **kw)


@pytest.mark.parametrize(("name", "config"), [("sdn", "tiny"), ("sdn", "tiny-zs")] +
                         [(f"sdn/{v}", "tiny") for v in VARIANTS if v != "full"])
def test_training_smoke_run_of_every_config_and_variant(name, config, tmp_path):
    """Every config and every Table-3 row trains (both phases of the sequential ones: one step each), writes
    its files, names the source stand-in in the manifest, and its exported generator makes images."""
    torch.set_num_threads(1)
    entry = MODELS.get(name)
    sequential = entry.config(config)["scheme"] == "sequential"
    manifest = _run(tmp_path, name, config, epochs=2 if sequential else 1, train={"stage1_epochs": 1})
    phases = [p.name for p in entry.build(entry.config(config, train={"epochs": 2, "stage1_epochs": 1})).phases()]
    assert [h["phase"] for h in manifest["history"]] == (phases if sequential else phases[:1])
    assert all(math.isfinite(v) for h in manifest["history"] for k, v in h.items() if k.endswith("_loss"))
    assert [r["weights"] for r in manifest["pretrained"]] == ["sdn-vgg19-shapes.safetensors"]
    assert "STAND-IN" in manifest["pretrained"][0]["description"]
    run = tmp_path / name
    assert (run / CHECKPOINT).is_file() and (run / "losses.csv").is_file()
    state = load_training_state(run / CHECKPOINT)
    assert set(state["optimizers"]) == {"g"} and not any(k.startswith("source") for k in state["generator"])
    ds = load_dataset("shapes", split="test", n_train=64, n_test=64, progress=False)
    gen = load_pretrained(name, ds, weights=run / f"{name}-shapes.safetensors")
    assert gen.generate(CAPTIONS[:2]).shape == (2, 3, 64, 64)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A tiny SDN and a tiny diverse SDN trained for two steps (one per phase)."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("sdn")
    for name in ("sdn", "sdn/diverse"):
        _run(out, name, train={"stage1_epochs": 1})
    return out


def test_generate_contract(trained_run):
    ds = load_dataset("shapes", split="test", n_train=64, n_test=64, progress=False)
    gen = load_pretrained("sdn", ds, weights=trained_run / "sdn" / "sdn-shapes.safetensors")
    a = gen.generate(CAPTIONS, seed=3)
    assert a.dtype == torch.uint8 and a.shape == (4, 3, 64, 64)
    assert torch.equal(a, gen.generate(CAPTIONS, seed=3))
    halves = torch.cat([gen.generate(CAPTIONS[:2], seed=3), gen.generate(CAPTIONS[2:], seed=5)])
    assert torch.equal(a, halves)
    # SDN has no noise (Sec. 3.1): one caption, one image, whatever the seed
    assert torch.equal(a, gen.generate(CAPTIONS, seed=4))
    out = gen.generator(gen.text_encoder.encode_each(CAPTIONS[:2]), torch.zeros(2, 0))
    assert not torch.equal(out.images[0][0], out.images[0][1])      # ... which depends on the caption


def test_diverse_generate_returns_the_candidate_its_seed_picks(trained_run):
    from t2ibench.generators.base import per_caption_noise

    from models.common.gan import to_uint8
    from models.sdn.networks import choose_candidate

    ds = load_dataset("shapes", split="test", n_train=64, n_test=64, progress=False)
    gen = load_pretrained("sdn/diverse", ds, weights=trained_run / "sdn/diverse" / "sdn/diverse-shapes.safetensors")
    captions = [CAPTIONS[0]] * 12
    images = gen.generate(captions, seed=0)
    noise = per_caption_noise(0, 12, (1,))
    picks = choose_candidate(noise, DIVERSE_N)
    assert len(set(picks.tolist())) > 1     # twelve seeds reach more than one of the n candidates
    cands = gen.generator(gen.text_encoder.encode_each(captions[:1]), noise[:1]).extras["candidates"][0]
    for j in range(12):
        assert (images[j].int() - to_uint8(cands[picks[j]]).int()).abs().max() <= 1


def test_interrupted_training_resumes_across_the_stage_switch(tmp_path, monkeypatch):
    """Killed in the first epoch of Stage-II (whose fresh Adam the resumed run rebuilds from the checkpoint) and
    rerun: the same weights, history and Adam moments as an uninterrupted run."""
    torch.set_num_threads(1)
    train = {"stage1_epochs": 1}
    ref = _run(tmp_path / "ref", train=train, steps=3)
    killed_in_epoch(monkeypatch, 1, lambda: _run(tmp_path / "run", train=train, steps=3))
    after_one = load_training_state(tmp_path / "run" / "sdn" / CHECKPOINT)
    assert after_one["epoch"] == 1 and after_one["history"][0]["phase"] == "stage1"
    resumed = _run(tmp_path / "run", train=train, steps=3)
    assert resumed["sha256"] == ref["sha256"]
    assert without_timings(resumed["history"]) == without_timings(ref["history"])
    phases = SDN(_config(train={"epochs": 2, **train})).phases()
    assert [h["phase"] for h in resumed["history"]] == [phases[phase_at(phases, e)[0]].name for e in range(2)] \
        == ["stage1", "stage2"]
    a = load_training_state(tmp_path / "ref" / "sdn" / CHECKPOINT)["optimizers"]["g"]["state"]
    b = load_training_state(tmp_path / "run" / "sdn" / CHECKPOINT)["optimizers"]["g"]["state"]
    assert a and all(torch.equal(s["exp_avg_sq"], b[i]["exp_avg_sq"]) for i, s in a.items())


# ---------------------------------------------------------------------------- paper size (slow)
@pytest.mark.slow
def test_paper_config_takes_a_real_step_in_each_stage_at_224_px(tmp_path):
    """One real step of Stage-I and of Stage-II of the ``paper`` config (full VGG19 widths, 224 px, the 3 fc
    layers at 4096) on shapes rendered at 224 px, batch 2, with the source loaded through the real path: a
    torchvision ``vgg19`` state dict file (randomly initialised here; ImageNet's in use)."""
    import torchvision

    torch.set_num_threads(2)
    torch.manual_seed(0)
    source = tmp_path / "vgg19.pth"
    torch.save(torchvision.models.vgg19().state_dict(), source)
    train = {"batch_size": 2, "epochs": 2, "stage1_epochs": 1}
    config = _config(which="paper", dataset="shapes", source_weights=str(source), train=train)
    initial = SDN(config)
    manifest = train_model("sdn", "paper", out_dir=tmp_path, dataset="shapes", n_train=4, steps_per_epoch=1,
                           quality_n=0, probe_n=0, progress=False,
                           overrides={"train": train, "source_weights": str(source)})
    assert [h["phase"] for h in manifest["history"]] == ["stage1", "stage2"]
    assert all(math.isfinite(v) for h in manifest["history"] for k, v in h.items() if k.endswith("_loss"))
    assert manifest["pretrained"][0]["weights"] == "vgg19.pth"
    assert "ImageNet" in manifest["pretrained"][0]["description"]
    state = load_training_state(tmp_path / "sdn" / CHECKPOINT)
    before = initial.generator.state_dict()
    assert [k for k, v in before.items() if v.is_floating_point() and not torch.equal(v, state["generator"][k])]
    ds = load_dataset("shapes", split="test", image_size=224, n_train=4, n_test=64, progress=False)
    gen = load_pretrained("sdn", ds, weights=tmp_path / "sdn" / "sdn-shapes.safetensors")
    assert gen.generate(CAPTIONS[:1]).shape == (1, 3, 224, 224)
