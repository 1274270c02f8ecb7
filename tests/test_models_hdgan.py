"""HDGAN's own ablations (Zhang et al. 2018, Sec. 5): Table 6's hierarchically-nested discriminators on a
subset of the side outputs, Table 5's "No Local", and Table 2's side outputs of one model."""
from __future__ import annotations

import math

import pytest
import torch

import models  # noqa: F401  (registers the zoo)
from models.common.gan import GeneratorOutput, TrainBatch
from models.common.text_encoder import EncodedText
from models.common.zoo import MODELS, list_variants, load_pretrained, weights_path
from models.hdgan.configs import ABLATION_EPOCHS
from models.train import train_model

TABLES = {"HDGAN Table 6": {"full": [0, 1, 2], "d-256": [2], "d-128-256": [1, 2], "d-64-256": [0, 2]},
          "HDGAN Table 5": {"no-local": [0, 2]}}


def test_every_row_of_tables_5_and_6_is_a_variant_at_one_budget():
    assert set(list_variants("hdgan")) == {f"hdgan/{v}" for rows in TABLES.values() for v in rows}
    for table, rows in TABLES.items():
        assert set(list_variants(table=table)) == {f"hdgan/{v}" for v in rows}
        for variant, sides in rows.items():
            config = MODELS.get(f"hdgan/{variant}").config("tiny")
            assert config["nested_sides"] == sides and config["train"]["epochs"] == ABLATION_EPOCHS
            assert config["local_loss"] is (variant != "no-local")
            # everything else is the tiny config of hdgan
            base = MODELS.get("hdgan").config("tiny")
            assert {k: v for k, v in config.items() if k not in ("nested_sides", "local_loss", "train")} == \
                   {k: v for k, v in base.items() if k not in ("nested_sides", "local_loss", "train")}


def _batch_and_output(model, n=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    sizes = model.image_sizes
    text = EncodedText(torch.randn(n, 256, generator=g), torch.randn(n, 256, 18, generator=g),
                       torch.zeros(n, 18, dtype=torch.bool), torch.full((n,), 18))
    real = [torch.rand(n, 3, s, s, generator=g) * 2 - 1 for s in sizes]
    fake = [torch.rand(n, 3, s, s, generator=g) * 2 - 1 for s in sizes]
    out = GeneratorOutput(fake, torch.zeros(n, model.config["c_dim"]), torch.zeros(n, model.config["c_dim"]))
    return TrainBatch(real, text, torch.zeros(n, dtype=torch.long)), out


@pytest.mark.parametrize("variant", ["d-256", "d-64-256", "no-local"])
def test_discriminators_and_loss_terms_follow_the_switches(variant):
    """The model has a discriminator exactly at the configured sides, and its losses are the hand sum of
    Eq. 4's least-squares terms over those sides only (the local terms only with the local loss)."""
    torch.manual_seed(0)
    entry = MODELS.get(f"hdgan/{variant}")
    model = entry.build(entry.config("tiny")).eval()
    sides = entry.config("tiny")["nested_sides"]
    # one discriminator per configured side, sized for it: log2(size / 8) stride-2 blocks down to 8x8
    sizes = [model.image_sizes[i] for i in sides]
    assert [len(d.encode) for d in model.discriminators] == [s.bit_length() - 4 for s in sizes]
    batch, out = _batch_and_output(model)
    d_terms = model.discriminator_loss(batch, out.detached())
    local = model.config["local_loss"]
    assert sorted(k for k in d_terms if k != "loss") == sorted(
        [f"pair{i}" for i in sides] + ([f"local{i}" for i in sides] if local else []))
    expected_d, expected_g = 0.0, 0.0
    t, t_wrong = batch.text.sentence, batch.wrong_text.sentence
    with torch.no_grad():
        for i, d in zip(sides, model.discriminators):
            hr, hf = d.encode(batch.images[i]), d.encode(out.images[i])
            # "paper" average: the three pair terms summed (Eq. 4)
            expected_d += ((d.pair_logits(hr, t) - 1) ** 2).mean() + (d.pair_logits(hf, t) ** 2).mean() + \
                (d.pair_logits(hr, t_wrong) ** 2).mean()
            expected_g += ((d.pair_logits(hf, t) - 1) ** 2).mean()
            if local:
                expected_d += ((d.local_logits(hr) - 1) ** 2).mean() + (d.local_logits(hf) ** 2).mean()
                expected_g += ((d.local_logits(hf) - 1) ** 2).mean()
        g_terms = model.generator_loss(batch, out)
    assert float(d_terms["loss"].detach()) == pytest.approx(float(expected_d), rel=1e-5)
    assert float(g_terms["adv"]) == pytest.approx(float(expected_g), rel=1e-5)


def test_a_side_without_discriminator_gets_no_gradient_from_the_adversary():
    """Table 6's "256 only": the 16/32 px heads of the tiny generator receive no gradient."""
    torch.manual_seed(0)
    entry = MODELS.get("hdgan/d-256")
    model = entry.build(entry.config("tiny"))
    batch, _ = _batch_and_output(model)
    out = model.generator(batch.text, torch.randn(4, model.noise_dim))
    model.generator_loss(batch, out)["loss"].backward()
    heads = model.generator.heads
    assert heads[0][0].weight.grad is None and heads[1][0].weight.grad is None
    assert heads[2][0].weight.grad is not None and heads[2][0].weight.grad.abs().sum() > 0


def test_bad_nested_sides_are_clear_errors():
    entry = MODELS.get("hdgan")
    for sides in ([0, 1], [], [0, 1, 5]):
        with pytest.raises(ValueError, match="nested_sides"):
            entry.build(entry.config("tiny", nested_sides=sides))


def test_side_outputs_of_one_model(shapes_test):
    """Table 2: the 16/32/64 px side outputs of the shipped tiny HDGAN, without retraining: the same
    generator pass (the final image equals the default generator's), each scale its own fingerprint."""
    final = load_pretrained("hdgan", shapes_test)
    captions = ["a big red circle on a black background", "a small blue square"]
    images = {s: load_pretrained("hdgan", shapes_test, side_output=s) for s in (16, 32, 64)}
    for s, gen in images.items():
        assert gen.generate(captions, seed=2).shape == (2, 3, s, s)
    assert torch.equal(images[64].generate(captions, seed=2), final.generate(captions, seed=2))
    assert images[64].fingerprint == final.fingerprint
    assert len({str(g.fingerprint) for g in images.values()}) == 3
    with pytest.raises(ValueError, match="side_output 48 px is not one of its scales 16, 32, 64"):
        load_pretrained("hdgan", shapes_test, side_output=48)


@pytest.mark.parametrize("variant", [v for rows in TABLES.values() for v in rows])
def test_variant_training_smoke_run(variant, tmp_path, shapes_test):
    """Every Table 5/6 row trains through ``models.train`` (one step, the ablation's config), logs the
    pair (and local) terms of exactly its nested sides, and exports a generator that loads and draws."""
    torch.set_num_threads(1)
    name = f"hdgan/{variant}"
    manifest = train_model(name, "tiny", out_dir=tmp_path, n_train=32, max_steps=1, quality_n=0, probe_n=0,
                           progress=False, overrides={"train": {"batch_size": 8}})
    row, sides = manifest["history"][0], MODELS.get(name).config("tiny")["nested_sides"]
    assert all(math.isfinite(v) for k, v in row.items() if k != "phase")
    local = [f"d_local{i}" for i in sides] if variant != "no-local" else []
    assert sorted(k for k in row if k.startswith(("d_pair", "d_local"))) == sorted([f"d_pair{i}" for i in sides] + local)
    gen = load_pretrained(name, shapes_test, weights=weights_path(name, "shapes", tmp_path / name))
    assert gen.generate(["a big red circle on a black background"], seed=1).shape == (1, 3, 64, 64)
