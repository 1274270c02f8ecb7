"""GR-GAN (Yang et al., ICME 2022): the ITM's matching losses on a hand case, which text each GRG stage and
discriminator reads, the stage orders, every ablation variant's switch, the ITM stand-in and its command,
training smoke runs, resume, the generate contract, and (slow) the paper config at 256 px and the real
open_clip RN101 loading path."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import models.grgan  # noqa: F401  (registers grgan, its variants and the "grgan-itm" text encoder)
from models.common.checkpoint import load_training_state
from models.common.text_encoder import ZOO_WEIGHTS_DIR, EncodedText
from models.common.trainer import CHECKPOINT
from models.common.zoo import MODELS, list_variants, load_pretrained, weights_path
from models.grgan import itm
from models.grgan.configs import ABLATION_EPOCHS, TINY_EPOCHS, VARIANTS
from models.grgan.networks import GRGGenerator, GranularStage, PlainStage, Unrefined, mean_word
from models.train import train_model
from interruption import killed_in_epoch

REPO = Path(__file__).resolve().parents[1]
ITM_FILE = ZOO_WEIGHTS_DIR / "grgan-itm-shapes.safetensors"
CAPTIONS = ["a big red circle on a black background", "a small blue square in the top left corner",
            "there is a large green triangle on a white background", "a tiny yellow star on plain gray"]


# ----------------------------------------------------------------------------- Eq. 8-9 by hand
def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _cross_entropies(scores, classes):
    """-mean log p(diagonal) over rows and over columns, same-class off-diagonal pairs removed."""
    s = scores.copy()
    n = len(s)
    for i in range(n):
        for j in range(n):
            if i != j and classes[i] == classes[j] and classes[i] >= 0:
                s[i, j] = -np.inf
    rows = -np.mean([s[i, i] - np.log(np.exp(s[i][np.isfinite(s[i])]).sum()) for i in range(n)])
    cols = -np.mean([s[i, i] - np.log(np.exp(s[:, i][np.isfinite(s[:, i])]).sum()) for i in range(n)])
    return rows, cols


def test_itm_sentence_and_word_losses_match_a_float64_hand_computation():
    rng = np.random.default_rng(3)
    n, d, t = 3, 4, 3
    regions = rng.normal(size=(n, d, 2, 2))
    feature, sentence = rng.normal(size=(n, d)), rng.normal(size=(n, d))
    words = rng.normal(size=(n, d, t))
    lengths = np.array([3, 2, 1])
    classes = np.array([0, 1, 0])            # images 0 and 2 share a class: that pair is masked
    g1, g2, g3 = 4.0, 5.0, 10.0

    # Eq. 8: gamma * cosine inside the exponent, mean over the batch (the released sent_loss)
    cos = (feature @ sentence.T) / np.outer(np.linalg.norm(feature, axis=1), np.linalg.norm(sentence, axis=1))
    s1, s2 = _cross_entropies(g3 * cos, classes)
    # word level (App. 8.1 / DAMSM): per image a and caption b
    r = np.zeros((n, n))
    for a in range(n):
        v = regions[a].reshape(d, -1)                                    # [D, R]
        for b in range(n):
            e = words[b, :, :lengths[b]]                                 # [D, T_b]
            s = e.T @ v                                                  # [T_b, R]
            s_bar = _softmax(s, axis=0)                                  # over the words
            alpha = _softmax(g1 * s_bar, axis=1)                         # over the regions
            c = alpha @ v.T                                              # [T_b, D] region contexts
            rc = (c * e.T).sum(1) / (np.linalg.norm(c, axis=1) * np.linalg.norm(e.T, axis=1))
            r[a, b] = np.log(np.exp(g2 * rc).sum())
    w1, w2 = _cross_entropies(g3 * r, classes)

    as_t = (lambda x: torch.tensor(x, dtype=torch.float64))
    got_s = itm.sentence_matching_loss(as_t(feature), as_t(sentence), classes, g3)
    got_w = itm.word_matching_loss(as_t(regions), as_t(words), torch.tensor(lengths), classes, g1, g2, g3)
    assert [float(v) for v in got_s] == pytest.approx([s1, s2], abs=1e-10)
    assert [float(v) for v in got_w] == pytest.approx([w1, w2], abs=1e-10)
    total = itm.itm_loss(as_t(regions), as_t(feature), as_t(words), as_t(sentence), torch.tensor(lengths), classes,
                         lambda1=4.0, lambda2=1.0)                                           # Eq. 9
    assert float(total["loss"]) == pytest.approx(4 * (s1 + s2) + (w1 + w2), abs=1e-9)
    # without the class mask every off-diagonal pair is a negative: a larger sentence loss here
    assert float(sum(itm.sentence_matching_loss(as_t(feature), as_t(sentence), None, g3))) > s1 + s2 - 1e-12


# ----------------------------------------------------------------------------- GRG staging
def _text(n=4, dim=512, t=18, seed=0):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([5, 18, 3, 9][:n])
    mask = torch.arange(t)[None, :] >= lengths[:, None]
    words = torch.randn(n, dim, t, generator=g).masked_fill(mask[:, None, :], 0.0)
    return EncodedText(torch.randn(n, dim, generator=g), words, mask, lengths)


def _model(name="grgan", **overrides):
    torch.manual_seed(0)
    entry = MODELS.get(name)
    return entry.build(entry.config("tiny", **overrides)).eval()


def _inner_inputs(generator):
    """Record the word slots each text stage's fusion module (dynamic memory) receives."""
    seen = {}
    for k, stage in enumerate(generator.stages):
        if isinstance(stage, GranularStage):
            stage.inner.memory.register_forward_hook(
                lambda mod, args, out, k=k: seen.__setitem__(k, args[1].detach().clone()))
    return seen


def test_only_stage_w_reads_the_words_and_stage_s_reads_the_sentence_copied_to_every_slot():
    model = _model()
    gen = model.generator
    assert isinstance(gen, GRGGenerator) and model.kinds == ("I", "S", "W")
    assert isinstance(gen.stages[0], Unrefined) and [s.kind for s in gen.stages[1:]] == ["S", "W"]
    seen = _inner_inputs(gen)
    text, noise = _text(), torch.randn(4, model.noise_dim)
    with torch.no_grad():
        before = gen(text, noise).images
    # S's memory gets c_s^r (the sentence in every slot, Eq. 2); W's gets the words c_w (Eq. 5)
    assert torch.equal(seen[1], text.sentence[:, :, None].expand(-1, -1, 18))
    assert torch.equal(seen[2], text.words)
    # other words, same sentence: stages I and S do not change at all, stage W does
    changed = EncodedText(text.sentence, _text(seed=1).words.masked_fill(text.mask[:, None, :], 0.0), text.mask,
                          text.lengths)
    with torch.no_grad():
        after = gen(changed, noise).images
    assert torch.equal(before[0], after[0]) and torch.equal(before[1], after[1])
    assert (before[2] - after[2]).abs().amax(dim=(1, 2, 3)).min() > 1e-4
    # the sentence reaches stage S through the slots (and stage I through F^ca): with F^ca's input held,
    # a new sentence changes S's input slots and its image
    held = EncodedText(_text(seed=2).sentence, text.words, text.mask, text.lengths)
    ca = gen.ca
    gen.ca = _FixedCA(ca, text.sentence)
    with torch.no_grad():
        other = gen(held, noise).images
    gen.ca = ca
    assert torch.equal(other[0], before[0])                          # I: only z and F^ca(c_s)
    assert torch.equal(seen[1], held.sentence[:, :, None].expand(-1, -1, 18))
    assert not torch.equal(other[1], before[1])


class _FixedCA(torch.nn.Module):
    """Conditioning augmentation evaluated on a fixed sentence (isolates what the later stages read)."""

    def __init__(self, ca, sentence):
        super().__init__()
        self.ca, self.sentence = ca, sentence

    def forward(self, sentence, noise=None):
        return self.ca(self.sentence, noise=noise)


def test_mean_word_vector_over_the_words_or_over_all_slots():
    text = _text(n=2, dim=3, t=4)
    words = text.words.numpy()
    expected = np.stack([words[i, :, :int(text.lengths[i])].mean(axis=1) for i in range(2)])
    assert mean_word(text, "words").numpy() == pytest.approx(expected, abs=1e-6)
    assert mean_word(text, "slots").numpy() == pytest.approx(words.mean(axis=2), abs=1e-6)


def _recording(model):
    calls = []
    for k, d in enumerate(model.discriminators):
        if d.cond_head is not None:
            real = d.cond_logits
            d.cond_logits = (lambda h, c, k=k, real=real: calls.append((k, c.detach().clone())) or real(h, c))
    return calls


def _batch(model, n=4, text=None):
    from models.common.gan import TrainBatch

    text = text or _text(n, model.config["text_dim"])
    images = [torch.rand(n, 3, s, s) * 2 - 1 for s in model.image_sizes]
    return TrainBatch(images, text, torch.arange(n))


def test_d1_is_unconditional_d2_reads_the_sentence_and_d3_the_mean_word_vector():
    model = _model(matcher=None)
    d1, d2, d3 = model.discriminators
    assert d1.cond_head is None and d1.uncond_head is not None                  # Eq. 1
    assert d2.uncond_head is None and d3.uncond_head is None                    # Eq. 3, 6 (the code's b_jcu=False)
    calls = _recording(model)
    batch = _batch(model)
    out = model.generator(batch.text, torch.randn(4, model.noise_dim))
    d_terms = model.discriminator_loss(batch, out.detached())
    sentence, wrong = batch.text.sentence, batch.wrong_text.sentence
    word_mean, wrong_mean = mean_word(batch.text), mean_word(batch.wrong_text)
    by_d = {k: [c for j, c in calls if j == k] for k in (1, 2)}
    assert len(by_d[1]) == 3 and len(by_d[2]) == 3                  # real, fake, real with a wrong caption
    assert all(torch.equal(c, sentence) for c in by_d[1][:2]) and torch.equal(by_d[1][2], wrong)
    assert all(torch.allclose(c, word_mean) for c in by_d[2][:2]) and torch.allclose(by_d[2][2], wrong_mean)
    assert set(d_terms) == {"loss", "stage0", "stage1", "stage2"}
    calls.clear()
    g_terms = model.generator_loss(batch, out)
    assert [k for k, _ in calls] == [1, 2] and torch.equal(calls[0][1], sentence)
    assert torch.allclose(calls[1][1], word_mean)
    assert not any(k.startswith("match") for k in g_terms)          # no matcher: no matching terms


def test_paper_form_halves_the_adversarial_terms_and_drops_the_wrong_caption_pair():
    code, paper = _model(matcher=None), _model(matcher=None, adv_form="paper")
    batch = _batch(code)
    out = code.generator(batch.text, torch.randn(4, code.noise_dim))
    calls = _recording(paper)
    d_code, d_paper = code.discriminator_loss(batch, out.detached()), paper.discriminator_loss(batch, out.detached())
    assert len([k for k, _ in calls if k == 1]) == 2               # real and fake pairs only (Eq. 3)
    assert torch.allclose(d_code["stage0"], d_paper["stage0"])     # Eq. 1 is the same in both
    adv_code, adv_paper = code.adversarial_loss(batch, out), paper.adversarial_loss(batch, out)
    assert torch.allclose(adv_paper, adv_code / 2)


@pytest.mark.parametrize(("order", "first"), [("ISW", Unrefined), ("IWS", Unrefined), ("SWI", GranularStage)])
def test_stage_orders_build_with_each_stage_keeping_its_text_and_discriminator(order, first):
    model = _model(stage_order=order, matcher=None)
    gen = model.generator
    assert model.kinds == tuple(order) and isinstance(gen.stages[0], first)
    for k, kind in enumerate(order):
        stage, d = gen.stages[k], model.discriminators[k]
        if kind == "I":
            assert isinstance(stage, (Unrefined, PlainStage)) and d.cond_head is None
        else:
            assert stage.kind == kind and d.uncond_head is None
    seen = _inner_inputs(gen)
    text = _text()
    with torch.no_grad():
        out = gen(text, torch.randn(4, model.noise_dim))
    assert [tuple(x.shape) for x in out.images] == [(4, 3, s, s) for s in (16, 32, 64)]
    for k, kind in enumerate(order):
        if kind == "S":
            assert torch.equal(seen[k], text.sentence[:, :, None].expand(-1, -1, 18))
        elif kind == "W":
            assert torch.equal(seen[k], text.words)
    if order == "SWI":   # a text stage first: fused at the init stage's size, then an I stage without text
        assert isinstance(gen.stages[2], PlainStage)
    model.config["matcher"] = "itm"   # the ITM losses follow the S and W stages wherever they stand
    assert sorted(model.consistency_terms()) == sorted([(order.index("S"), 1.0, 0.0), (order.index("W"), 4.0, 1.0)])


# ----------------------------------------------------------------------------- variants
#: name -> (backbone, grg, matcher, text encoder, consistency terms (stage, λ_s, λ_w), table)
EXPECTED = {
    "attngan-base": ("attngan", False, None, "damsm", [], "Table 2"),
    "attngan-damsm": ("attngan", False, "damsm", "damsm", [], "Table 2"),
    "attngan-damsm-grg": ("attngan", True, "damsm", "damsm", [(1, 1.0, 0.0), (2, 4.0, 1.0)], "Table 2"),
    "attngan-itm": ("attngan", False, "itm", "grgan-itm", [(2, 4.0, 1.0)], "Table 2"),
    "attngan-itm-grg": ("attngan", True, "itm", "grgan-itm", [(1, 1.0, 0.0), (2, 4.0, 1.0)], "Table 2"),
    "dmgan-base": ("dmgan", False, None, "damsm", [], "Table 2"),
    "dmgan-damsm": ("dmgan", False, "damsm", "damsm", [], "Table 2"),
    "dmgan-damsm-grg": ("dmgan", True, "damsm", "damsm", [(1, 1.0, 0.0), (2, 4.0, 1.0)], "Table 2"),
    "dmgan-itm": ("dmgan", False, "itm", "grgan-itm", [(2, 4.0, 1.0)], "Table 2"),
    "full": ("dmgan", True, "itm", "grgan-itm", [(1, 1.0, 0.0), (2, 4.0, 1.0)], "Table 2"),
    "lambda-1-1": ("dmgan", False, "itm", "grgan-itm", [(2, 1.0, 1.0)], "Table 4"),
    "lambda-2-1": ("dmgan", False, "itm", "grgan-itm", [(2, 2.0, 1.0)], "Table 4"),
    "lambda-3-1": ("dmgan", False, "itm", "grgan-itm", [(2, 3.0, 1.0)], "Table 4"),
    "lambda-4-2": ("dmgan", False, "itm", "grgan-itm", [(2, 4.0, 2.0)], "Table 4"),
    "lambda-5-2": ("dmgan", False, "itm", "grgan-itm", [(2, 5.0, 2.0)], "Table 4"),
    "order-iws": ("dmgan", True, "itm", "grgan-itm", [(2, 1.0, 0.0), (1, 4.0, 1.0)], "Table 6"),
    "order-swi": ("dmgan", True, "itm", "grgan-itm", [(0, 1.0, 0.0), (1, 4.0, 1.0)], "Table 6"),
}


def test_every_table_row_is_a_variant_with_the_ablation_budget():
    assert sorted(VARIANTS) == sorted(EXPECTED)
    assert list_variants("grgan") == sorted(f"grgan/{k}" for k in EXPECTED)
    lambdas = sorted((MODELS.get(n).config("tiny")["lambda1"], MODELS.get(n).config("tiny")["lambda2"])
                     for n in list_variants("grgan", table="GR-GAN Table 4")) + [(4.0, 1.0)]   # + dmgan-itm
    assert sorted(lambdas) == [(1, 1), (2, 1), (3, 1), (4, 1), (4, 2), (5, 2)]              # Table 4's rows
    for name in list_variants("grgan"):
        for config in ("tiny", "paper", "code"):
            assert MODELS.get(name).config(config)["train"]["epochs"] == ABLATION_EPOCHS
    assert MODELS.get("grgan").config("tiny")["train"]["epochs"] == TINY_EPOCHS


@pytest.mark.parametrize("variant", sorted(EXPECTED))
def test_each_variant_switches_what_its_table_row_names(variant):
    backbone, grg, matcher, encoder, terms, table = EXPECTED[variant]
    entry = MODELS.get(f"grgan/{variant}")
    assert entry.variant.table == f"GR-GAN {table}" and entry.parent == "grgan"
    config = entry.config("tiny")
    assert (config["backbone"], config["grg"], config["matcher"], config["text_encoder"]) == (
        backbone, grg, matcher, encoder)
    assert config["text_dim"] == (256 if encoder == "damsm" else 512)
    model = entry.build(config)
    fusion = "memory" if backbone == "dmgan" else "attention"
    refinement = [s.inner if isinstance(s, GranularStage) else s for s in model.generator.stages]
    assert any(hasattr(s, fusion) for s in refinement)
    assert isinstance(model.generator, GRGGenerator) == grg
    assert sorted(model.consistency_terms()) == sorted(terms)
    if not grg:   # the backbone's own discriminators: both heads, sentence-conditioned, at every scale
        assert all(d.cond_head is not None and d.uncond_head is not None for d in model.discriminators)
    sn = any("parametrizations" in n for n, _ in model.discriminators.named_parameters())
    assert sn == (backbone == "dmgan")


def test_bad_config_values_are_named():
    entry = MODELS.get("grgan")
    for key, value, needle in (("stage_order", "SIW", "stage_order"), ("matcher", "clip", "matcher"),
                               ("backbone", "stackgan", "backbone"), ("adv_form", "both", "adv_form"),
                               ("lambda1", -1.0, "lambda1"), ("grg", "yes", "grg"),
                               ("word_condition", "mean", "word_condition")):
        with pytest.raises(ValueError, match=needle):
            entry.build(entry.config("tiny", **{key: value}))
    with pytest.raises(ValueError, match="text_encoder"):     # the ITM's losses need the ITM's text side
        entry.build(entry.config("tiny", text_encoder="damsm", text_dim=256))
    with pytest.raises(ValueError, match="stages"):
        entry.build(entry.config("tiny", stages=2, init_ups=3))


# ----------------------------------------------------------------------------- the ITM
def test_shipped_itm_is_a_named_stand_in_apart_from_the_evaluators():
    from t2ibench.evaluators.tiny_clip import packaged_files
    from t2ibench.io import sha256_file

    manifest = json.loads(ITM_FILE.with_suffix(".json").read_text())
    assert manifest["sha256"] == sha256_file(ITM_FILE)
    assert manifest["backbone"] == "stand-in" and "CLIP RN101" in manifest["stands_in_for"]
    assert manifest["seed"] not in (0, 1) and "--seed 6" in manifest["command"]
    evaluator, _ = packaged_files("shapes")
    assert manifest["sha256"] != sha256_file(evaluator)
    ours = itm.load_itm(ITM_FILE)[0].towers.clip.state_dict()
    from safetensors.torch import load_file

    theirs = load_file(str(evaluator))
    shared = [k for k in ours if k in theirs and ours[k].shape == theirs[k].shape and ours[k].is_floating_point()
              and ours[k].numel() > 1]
    assert shared and not any(torch.allclose(ours[k], theirs[k].float()) for k in shared)   # not copied
    recall = manifest["held_out_recall"]
    assert recall["sentence"]["i2t_r5"] > 0.2 and recall["word"]["i2t_r5"] > 0.2      # well above chance (0.005)


def test_itm_text_encoder_interface():
    enc = itm.ITMTextEncoder("shapes")
    text = enc.encode_each(CAPTIONS)
    assert text.sentence.shape == (4, 512) and text.words.shape == (4, 512, 18)
    assert torch.equal(text.lengths, torch.tensor([len(c.split()) for c in CAPTIONS]).clamp(max=18))
    assert (text.words.masked_select(text.mask[:, None, :]) == 0).all()                  # zero at padding
    again = enc.encode_each(CAPTIONS[2:])
    assert torch.equal(again.words, text.words[2:])                                        # batch-independent
    regions, feature = enc.encode_images(torch.rand(2, 3, 32, 32) * 2 - 1)
    assert regions.shape == (2, 512, 8, 8) and feature.shape == (2, 512)
    assert enc.describe()["sha256"] == enc.sha256 and "stand-in" in enc.describe()["backbone"]


def test_itm_command_trains_writes_and_reloads(tmp_path):
    torch.set_num_threads(1)
    with pytest.warns(UserWarning, match="fewer than one batch"):   # 96 images: one batch of the towers' 128
        manifest = itm.train(tmp_path, n_train=96, epochs=(1, 1), seed=7, progress=False, heldout_n=40,
                             checkpoint=tmp_path / "ckpt")
    path = tmp_path / "grgan-itm-shapes.safetensors"
    assert path.is_file() and (tmp_path / "ckpt.towers").is_file() and (tmp_path / "ckpt.heads").is_file()
    assert manifest["held_out_recall"]["word"]["n_pairs"] == 40
    assert set(manifest["history"]) == {"towers", "heads"}
    enc = itm.ITMTextEncoder("shapes", weights=path)
    assert enc.encode(CAPTIONS[:2]).words.shape == (2, 512, 18)
    manifest_path = path.with_suffix(".json")
    bad = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps({**bad, "sha256": "0" * 64}))
    with pytest.raises(ValueError, match="sha256"):
        itm.ITMTextEncoder("shapes", weights=path)
    with pytest.raises(ValueError, match="no GR-GAN ITM for 'coco'.*--clip-weights"):
        itm.ITMTextEncoder("coco")
    done = subprocess.run([sys.executable, "-m", "models.grgan.itm", "--help"], cwd=REPO, capture_output=True,
                          text=True)
    assert done.returncode == 0 and "--clip-weights" in done.stdout and "--seed" in done.stdout


# ----------------------------------------------------------------------------- training, generate
def test_training_smoke_run_records_the_itm_and_meets_the_generate_contract(tmp_path, shapes_test):
    torch.set_num_threads(1)
    manifest = train_model("grgan", "tiny", out_dir=tmp_path, n_train=64, max_steps=2, quality_n=0, probe_n=0,
                           progress=False, overrides={"train": {"batch_size": 8}})
    history = manifest["history"]
    assert all(math.isfinite(v) for h in history for k, v in h.items() if k not in ("phase",))
    assert {"g_match_s1", "g_match_s2", "g_match_w2"} <= set(history[0])             # Eq. 4 and Eq. 7
    (record,) = manifest["pretrained"]
    assert record["weights"] == ITM_FILE.name and "stand-in" in record["description"]
    assert manifest["text_encoder"]["sha256"] == record["sha256"]
    gen = load_pretrained("grgan", shapes_test, weights=tmp_path / "grgan" / "grgan-shapes.safetensors")
    a = gen.generate(CAPTIONS, seed=3)
    assert a.dtype == torch.uint8 and a.shape == (4, 3, 64, 64)
    assert torch.equal(a, gen.generate(CAPTIONS, seed=3)) and not torch.equal(a, gen.generate(CAPTIONS, seed=4))
    assert torch.equal(a, torch.cat([gen.generate(CAPTIONS[:2], seed=3), gen.generate(CAPTIONS[2:], seed=5)]))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variant_training_smoke_runs(variant, tmp_path):
    torch.set_num_threads(1)
    name = f"grgan/{variant}"
    manifest = train_model(name, "tiny", out_dir=tmp_path, n_train=32, max_steps=1, quality_n=0, probe_n=0,
                           progress=False, overrides={"train": {"batch_size": 8}})
    row = manifest["history"][0]
    assert all(math.isfinite(v) for k, v in row.items() if k != "phase")
    matching = {k for k in row if k.startswith(("g_match", "g_damsm"))}
    config = MODELS.get(name).config("tiny")
    if config["matcher"] is None:
        expected = set()
    elif config["matcher"] == "damsm" and not config["grg"]:
        expected = {"g_damsm_w", "g_damsm_s"}                          # the backbone's own DAMSM loss
    elif config["grg"]:                                                # staged: L_s on S; L_s + L_w on W
        s, w = config["stage_order"].index("S"), config["stage_order"].index("W")
        expected = {f"g_match_s{s}", f"g_match_s{w}", f"g_match_w{w}"}
    else:
        expected = {"g_match_s2", "g_match_w2"}                        # the matcher on the last stage only
    assert matching == expected
    assert len(manifest["pretrained"]) == (config["matcher"] == "itm")   # the ITM, where it is the matcher
    assert manifest["text_encoder"]["weights"] == ("damsm-shapes.safetensors" if config["text_encoder"] == "damsm"
                                                   else ITM_FILE.name)
    assert weights_path(name, "shapes", tmp_path / name).is_file()


def test_interrupted_training_resumes_with_the_same_adamax_state(tmp_path, monkeypatch):
    torch.set_num_threads(1)
    run = (lambda out: train_model("grgan", "tiny", out_dir=out, n_train=16, epochs=2, steps_per_epoch=1,
                                   quality_n=0, probe_n=0, progress=False, overrides={"train": {"batch_size": 8}}))
    ref = run(tmp_path / "ref")
    killed_in_epoch(monkeypatch, 1, lambda: run(tmp_path / "run"))
    resumed = run(tmp_path / "run")
    assert resumed["sha256"] == ref["sha256"]
    a = load_training_state(tmp_path / "ref" / "grgan" / CHECKPOINT)
    b = load_training_state(tmp_path / "run" / "grgan" / CHECKPOINT)
    for key in ("g", "d"):
        for i, state in a["optimizers"][key]["state"].items():
            assert torch.equal(state["exp_inf"], b["optimizers"][key]["state"][i]["exp_inf"])   # Adamax's u_t


# ----------------------------------------------------------------------------- slow: full size
@pytest.mark.slow
def test_paper_config_takes_a_real_step_at_256_px(tmp_path):
    entry = MODELS.get("grgan")
    train = {"batch_size": 2, "epochs": 1, "workers": 0}
    torch.manual_seed(0)
    initial = entry.build(entry.config("paper", dataset="shapes", train=train))
    manifest = train_model("grgan", "paper", out_dir=tmp_path, dataset="shapes", n_train=4, steps_per_epoch=1,
                           quality_n=0, probe_n=0, progress=False, overrides={"train": train})
    row = manifest["history"][0]
    assert {"g_match_s1", "g_match_w2"} <= set(row) and all(math.isfinite(v) for k, v in row.items() if k != "phase")
    state = load_training_state(tmp_path / "grgan" / CHECKPOINT)
    for network in ("generator", "discriminators"):
        before = getattr(initial, network).state_dict()
        assert any(v.is_floating_point() and not torch.equal(v, state[network][k]) for k, v in before.items())
    assert initial.image_sizes == (64, 128, 256) and manifest["config"]["train"]["optimizer"] == "adamax"


@pytest.mark.slow
def test_real_clip_rn101_loads_through_open_clip_and_trains_the_itm_heads(tmp_path):
    """The real path with a randomly initialised RN101 saved as a file (the OpenAI weights cannot be
    downloaded here): open_clip loads it, only the heads are trained and saved, and the ITM reloads with
    the CLIP file's sha256 checked."""
    import open_clip
    from safetensors.torch import save_file

    clip_file = tmp_path / "rn101.safetensors"
    save_file({k: v.contiguous() for k, v in open_clip.create_model(itm.CLIP_MODEL).state_dict().items()},
              str(clip_file))
    with pytest.warns(UserWarning, match="fewer than one batch"):
        manifest = itm.train(tmp_path / "itm", n_train=8, epochs=(0, 1), clip_weights=clip_file, progress=False,
                             heldout_n=8)
    assert manifest["backbone"] == "clip" and manifest["stands_in_for"] is None
    enc = itm.ITMTextEncoder("shapes", weights=tmp_path / "itm" / "grgan-itm-shapes.safetensors")
    from safetensors.torch import load_file

    assert all(k.startswith("heads.") for k in load_file(str(enc.path)))        # CLIP itself is not copied
    text = enc.encode(CAPTIONS[:2])
    assert text.words.shape == (2, 512, itm.CLIP_WORDS) and text.sentence.shape == (2, 512)
    regions, feature = enc.encode_images(torch.rand(2, 3, 64, 64) * 2 - 1)
    assert regions.shape == (2, 512, 14, 14) and feature.shape == (2, 512)
    with pytest.raises(ValueError, match="not the CLIP file"):
        save_file({k: v.contiguous() * 2 for k, v in open_clip.create_model(itm.CLIP_MODEL).state_dict().items()},
                  str(clip_file))
        itm.ITMTextEncoder("shapes", weights=enc.path)
