"""KT-GAN (models/ktgan): the SDL and AATM equations on hand cases, the teacher without attention, the
student started from the teacher, the GTE trained only in its phase, the three-phase training run with
resume across both phase switches, every ablation variant's switch, the generate contract, and (slow)
one real step of every phase of the paper config at full size."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import models.ktgan  # noqa: F401  (registers ktgan and its variants)
from models.common.checkpoint import load_training_state
from models.common.data import GANTrainingData
from models.common.phases import phase_at
from models.common.text_encoder import EncodedText, FrozenTextEncoder
from models.common.trainer import CHECKPOINT, GANTrainer
from models.common.zoo import MODELS, list_variants, load_pretrained, weights_path
from models.ktgan.configs import (ABLATION_GTE_EPOCHS, ABLATION_STUDENT_EPOCHS, ABLATION_TEACHER_EPOCHS,
                                  VARIANTS)
from models.ktgan.losses import focal_matching_loss, semantic_distillation_loss, sentence_scores, word_scores
from models.ktgan.networks import WordFeatureUpdate
from models.train import train_model
from t2ibench.data import load_dataset
from interruption import killed_in_epoch, without_timings

CAPTIONS = ["a big red circle on a black background", "a small blue square in the top left corner",
            "there is a large green triangle on a white background", "a tiny yellow star on plain gray"]
#: one epoch per phase (teacher, gte, student), batches of 8
SMALL = {"epochs": 3, "teacher_epochs": 1, "gte_epochs": 1, "batch_size": 8, "gte_batch_size": 8}


@pytest.fixture(scope="module")
def text_encoder():
    return FrozenTextEncoder("shapes")


def _config(text_encoder, name="ktgan", which="tiny", **overrides):
    config = MODELS.get(name).config(which, **overrides)
    config.update(vocab_size=text_encoder.tokenizer.vocab_size, max_len=text_encoder.tokenizer.max_len)
    return config


def _model(text_encoder, name="ktgan", **overrides):
    torch.manual_seed(0)
    model = MODELS.get(name).build(_config(text_encoder, name, **overrides))
    model.text_encoder = text_encoder
    model.load_pretrained_parts("shapes")
    return model


# ----------------------------------------------------------------------------- the equations
def test_sdl_focal_matching_probability_and_loss_by_hand():
    """Eq. 3-4 on M = 2 pairs: P_i = 2 e^{S_ii} / (Σ_j e^{S_ji} + Σ_j e^{S_ij}), L = -Σ (1 - P_i)^γ log P_i."""
    a, b, c, d = 1.0, 0.0, 0.5, 2.0                     # S = [[a, b], [c, d]]: image row, caption column
    scores = torch.tensor([[a, b], [c, d]], dtype=torch.float64)
    p0 = 2 * math.exp(a) / (math.exp(a) + math.exp(c) + math.exp(a) + math.exp(b))
    p1 = 2 * math.exp(d) / (math.exp(b) + math.exp(d) + math.exp(c) + math.exp(d))
    for gamma in (0.0, 2.0, 5.0):
        loss, p = focal_matching_loss(scores, gamma)
        assert p.tolist() == pytest.approx([p0, p1], abs=1e-12)
        expected = -((1 - p0) ** gamma * math.log(p0) + (1 - p1) ** gamma * math.log(p1))
        assert float(loss) == pytest.approx(expected, abs=1e-12)
    # γ = 2 down-weights the easy pair (P1 ≈ 0.83) far more than the hard one (P0 ≈ 0.5)
    assert (1 - p1) ** 2 < 0.05 < (1 - p0) ** 2
    # pairs of one class are no negatives (AttnGAN's masking): each P_i is then 1 and the loss 0
    loss, p = focal_matching_loss(scores, 2.0, class_ids=[7, 7])
    assert p.tolist() == pytest.approx([1.0, 1.0]) and float(loss) == pytest.approx(0.0, abs=1e-12)
    # sentence level: d(v, s) is the cosine
    v = torch.tensor([[3.0, 4.0], [1.0, 0.0]], dtype=torch.float64)
    s = torch.tensor([[4.0, 3.0], [0.0, 2.0]], dtype=torch.float64)
    np.testing.assert_allclose(sentence_scores(v, s).numpy(), [[24 / 25, 4 / 5], [4 / 5, 0.0]], atol=1e-12)


def _word_scores_by_loops(regions, words, lengths, beta0):
    """Eq. 5 written out with loops (float64 numpy): R, R*, R+, O_i, R_W = log(Σ_i exp(β0 O_i·w_i))^(1/β0)."""
    v, w = regions.reshape(regions.shape[0], regions.shape[1], -1).numpy(), words.numpy()
    out = np.zeros((v.shape[0], w.shape[0]))
    for a in range(v.shape[0]):
        for b in range(w.shape[0]):
            t = int(lengths[b])
            wb, va = w[b, :, :t], v[a]
            r = wb.T @ va                                                 # [T, N]
            r_star = np.exp(r) / np.exp(r).sum(axis=0, keepdims=True)     # over words
            r_plus = np.exp(r_star) / np.exp(r_star).sum(axis=1, keepdims=True)   # over regions
            o = r_plus @ va.T                                             # [T, D]
            out[a, b] = np.log(np.exp(beta0 * (o * wb.T).sum(1)).sum()) / beta0
    return out


def test_sdl_word_matching_score_follows_eq5():
    from t2ibench.evaluators.damsm import word_similarities

    g = torch.Generator().manual_seed(0)
    regions = torch.randn(3, 4, 2, 3, generator=g, dtype=torch.float64) * 0.5   # 3 images, D 4, 6 regions
    words = torch.randn(3, 4, 5, generator=g, dtype=torch.float64) * 0.5        # 3 captions, T 5
    lengths = torch.tensor([5, 2, 3])
    words[1, :, 2:] = 0
    words[2, :, 3:] = 0
    got = word_scores(regions, words, lengths, beta0=5.0, similarity="dot")
    np.testing.assert_allclose(got.numpy(), _word_scores_by_loops(regions, words, lengths, 5.0), atol=1e-12)
    # with the cosine of AttnGAN's R(c_i, e_i) it is AttnGAN's Eq. 10 (paper form) with γ1 = 1, γ2 = β0
    cosine = word_scores(regions, words, lengths, beta0=5.0, similarity="cosine")
    ref = word_similarities(regions, words, lengths, gamma1=1.0, gamma2=5.0, eq10="paper")
    np.testing.assert_allclose(cosine.numpy(), ref.numpy(), atol=1e-10)
    # Eq. 8 = λ1 L_S* + λ2 L_W*, with the scores smoothed by γ3 (DAMSM's 10) where asked
    v, s = regions.mean(dim=(2, 3)), words.sum(2)
    sdl = semantic_distillation_loss(regions, v, words, s, lengths, gamma=2.0, beta0=5.0, lambda1=50.0,
                                     lambda2=20.0, gamma3=10.0)
    l_s = focal_matching_loss(10 * sentence_scores(v, s), 2.0)[0]
    l_w = focal_matching_loss(10 * word_scores(regions, words, lengths, 5.0), 2.0)[0]
    assert float(sdl["loss"]) == pytest.approx(float(50 * l_s + 20 * l_w), rel=1e-12)


def test_aatm_word_feature_update_on_two_words_and_two_regions_by_hand():
    """Eq. 2 with U = I: w1 = (1, 0), w2 = (0, 2); regions h1 = (1, 1), h2 = (2, 0) -> R = [[1, 2], [2, 0]];
    softmax over the words per region, max over the regions: R' = (σ(2 - 0)..., ...) by hand."""
    words = torch.tensor([[[1.0, 0.0], [0.0, 2.0]]], dtype=torch.float64)        # [1, D=2, T=2]
    h = torch.tensor([[1.0, 2.0], [1.0, 0.0]], dtype=torch.float64).view(1, 2, 1, 2)   # [1, D̂=2, 1, 2]
    e = math.exp
    r_prime = [max(e(1) / (e(1) + e(2)), e(2) / (e(2) + e(0))),      # word 1: regions 1 and 2
               max(e(2) / (e(1) + e(2)), e(0) / (e(2) + e(0)))]      # word 2
    for alpha, beta in ((0.85, 0.9), (0.85, 0.0), (1.0, 1.0)):
        update = WordFeatureUpdate(2, 2, alpha, beta).double()
        with torch.no_grad():
            update.project.weight.copy_(torch.eye(2, dtype=torch.float64)[:, :, None])
        with torch.no_grad():
            new, weights = update(words, h)
        assert weights[0].tolist() == pytest.approx(r_prime, abs=1e-12)
        expected = [[(alpha * r_prime[0] + beta) * 1.0, 0.0], [0.0, (alpha * r_prime[1] + beta) * 2.0]]
        np.testing.assert_allclose(new[0].numpy(), expected, atol=1e-12)
    # a padding word neither takes weight nor changes the real words' softmax
    padded = torch.cat([words, torch.full((1, 2, 1), 9.0, dtype=torch.float64)], dim=2)
    with torch.no_grad():
        new, weights = update(padded, h, mask=torch.tensor([[False, False, True]]))
    assert weights[0, :2].tolist() == pytest.approx(r_prime, abs=1e-12) and float(weights[0, 2]) == 0.0


# ----------------------------------------------------------------------------- networks
def _text(n=2, dim=256, t=18, vocab=20):
    lengths = torch.tensor([t] * n)
    return EncodedText(torch.randn(n, dim), torch.randn(n, dim, t), torch.zeros(n, t, dtype=torch.bool), lengths,
                       {"ids": torch.randint(2, vocab, (n, t))})


def test_teacher_has_no_attention_and_carries_the_students_names(text_encoder):
    from models.common.attention import WordAttention
    from models.ktgan.networks import WordFeatureUpdate as WFU

    model = _model(text_encoder).eval()
    assert not any(isinstance(m, (WordAttention, WFU)) for m in model.teacher.modules())
    assert sum(isinstance(m, WordAttention) for m in model.generator.modules()) == 2          # B_1, B_2
    assert sum(isinstance(m, WFU) for m in model.generator.modules()) == 2
    images = torch.rand(2, 3, 64, 64) * 2 - 1
    out = model.teacher(images, torch.randn(2, model.noise_dim))
    assert [tuple(x.shape[-2:]) for x in out.images] == [(16, 16), (32, 32), (64, 64)]
    assert out.extras["stages"] == [None, None]                 # no attention maps: H'_i = F'_i(H'_{i-1} ‖ H'_{i-1})
    teacher, student = model.teacher.generator.state_dict(), model.generator.state_dict()
    assert all(k in student and student[k].shape == v.shape for k, v in teacher.items())
    extra = sorted({k.split(".weight")[0] for k in set(student) - set(teacher) if not k.startswith("gte.")})
    assert extra == ["stages.0.attention.project", "stages.0.update.project", "stages.1.attention.project",
                     "stages.1.update.project", "student_started"]


def test_baseline_is_attngan(text_encoder):
    """Everything off, KT-GAN's generator is AttnGAN's: the same tensors, the same images."""
    from models.attngan.networks import Generator as AttnGANGenerator

    config = _config(text_encoder, "ktgan/baseline")
    model = MODELS.get("ktgan").build(config).eval()
    c = config
    attngan = AttnGANGenerator(c["text_dim"], c["z_dim"], c["c_dim"], c["ngf"], c["init_ups"], c["stages"],
                               c["r_num"]).eval()
    state = {k: v for k, v in model.generator.state_dict().items() if k != "student_started"}
    attngan.load_state_dict(state, strict=True)
    text, noise = _text(), torch.randn(2, model.noise_dim)
    with torch.no_grad():
        a, b = model.generator(text, noise), attngan(text, noise)
    assert all(torch.equal(x, y) for x, y in zip(a.images, b.images))
    assert model.teacher is None and [p.name for p in model.phases()] == ["student"]


# ----------------------------------------------------------------------------- phases
def _trainer(model, text_encoder, out, train_ds, seed=0):
    data = GANTrainingData(train_ds, text_encoder, model.image_sizes, seed, model.config["train"])
    return GANTrainer(model, data, out, seed=seed, progress=False)


@pytest.fixture(scope="module")
def train64():
    return load_dataset("shapes", split="train", image_size=64, n_train=64, n_test=64, progress=False)


def test_gte_trains_only_in_its_phase_and_the_student_starts_from_the_teacher(text_encoder, train64, tmp_path):
    torch.set_num_threads(1)
    model = _model(text_encoder, train=SMALL)
    trainer = _trainer(model, text_encoder, tmp_path, train64)
    gte0 = {k: v.clone() for k, v in model.generator.gte.state_dict().items()}
    rest0 = {k: v.clone() for k, v in model.generator.state_dict().items() if not k.startswith("gte.")}
    encoder0 = {k: v.clone() for k, v in model.teacher.encoder.state_dict().items()}
    trainer.fit(epochs=1, steps_per_epoch=2)                                     # the teacher phase
    assert not all(torch.equal(v, model.teacher.encoder.state_dict()[k]) for k, v in encoder0.items())  # fine-tuned
    assert all(torch.equal(v, model.generator.gte.state_dict()[k]) for k, v in gte0.items())
    teacher1 = {k: v.clone() for k, v in model.teacher.state_dict().items()}
    trainer.fit(epochs=2, steps_per_epoch=2)                                     # the GTE phase
    gte1 = {k: v.clone() for k, v in model.generator.gte.state_dict().items()}
    assert not all(torch.equal(v, gte1[k]) for k, v in gte0.items())             # the GTE moved ...
    student = model.generator.state_dict()
    assert all(torch.equal(v, student[k]) for k, v in rest0.items())             # ... and nothing else of G
    assert all(torch.equal(v, model.teacher.state_dict()[k]) for k, v in teacher1.items())   # teacher frozen

    trainer.enter_phase(2)                                                       # the switch to the student
    assert int(model.generator.student_started) == 1
    for student, teacher, name in ((model.generator, model.teacher.generator, "generator"),
                                   (model.discriminators, model.teacher_discriminators, "discriminators")):
        s, t = student.state_dict(), teacher.state_dict()
        assert all(torch.equal(s[k], v) for k, v in t.items())                  # every teacher tensor copied
        assert model.not_from_teacher[name] == sorted(set(s) - set(t))
    assert model.not_from_teacher["discriminators"] == []                       # D: all of it
    assert [k for k in model.not_from_teacher["generator"] if not k.startswith("gte.")] == [
        "stages.0.attention.project.weight", "stages.0.update.project.weight",
        "stages.1.attention.project.weight", "stages.1.update.project.weight", "student_started"]
    ema = trainer.ema.shadow.state_dict()
    assert all(torch.equal(v, ema[k]) for k, v in model.generator.state_dict().items())   # the EMA restarted
    model.train()
    assert not model.generator.gte.training and not model.teacher.encoder.training   # frozen: no dropout / BN stats
    trainer.fit(epochs=3, steps_per_epoch=2)                                     # the student phase
    assert all(torch.equal(v, model.generator.gte.state_dict()[k]) for k, v in gte1.items())   # GTE frozen
    moved = [k for k, v in model.generator.state_dict().items() if not k.startswith("gte.") and
             v.is_floating_point() and not torch.equal(v, model.teacher.generator.state_dict().get(k, v + 1))]
    assert moved                                                                 # the student trained


def _run(out, name="ktgan", train=None, **kw):
    return train_model(name, "tiny", out_dir=out, steps_per_epoch=2, quality_n=0, progress=False, n_train=64,
                       overrides={"train": {**SMALL, **(train or {})}}, probe_n=0, **kw)


def test_three_phase_training_writes_everything_and_generates(tmp_path, shapes_test):
    torch.set_num_threads(1)
    manifest = train_model("ktgan", "tiny", out_dir=tmp_path, steps_per_epoch=1, quality_n=0, progress=False,
                           n_train=64, overrides={"train": SMALL}, probe_n=16)
    assert [h["phase"] for h in manifest["history"]] == ["teacher", "gte", "student"]
    assert all(math.isfinite(v) for h in manifest["history"] for k, v in h.items() if k != "phase")
    assert {"tg_per0", "tg_per2", "gte_sentence", "gte_words", "g_damsm_w"} <= {k for h in manifest["history"]
                                                                                 for k in h}
    assert manifest["config"]["vocab_size"] == FrozenTextEncoder("shapes").tokenizer.vocab_size
    roles = [p["role"] for p in manifest["pretrained"]]
    assert roles == ["teacher image encoder (initialisation)", "perceptual-loss network"]
    assert all(p["weights"] == "damsm-shapes.safetensors" and "stand-in" in p["description"]
               for p in manifest["pretrained"])                                 # the zoo DAMSM, never an evaluator
    run = tmp_path / "ktgan"
    assert (run / CHECKPOINT).is_file() and (run / "samples" / "epoch_003.png").is_file()
    gen = load_pretrained("ktgan", shapes_test, weights=run / "ktgan-shapes.safetensors")
    assert gen.generator.gte is not None                                        # the GTE ships inside G
    a = gen.generate(CAPTIONS, seed=3)
    assert a.dtype == torch.uint8 and a.shape == (4, 3, 64, 64)
    assert torch.equal(a, gen.generate(CAPTIONS, seed=3))
    assert not torch.equal(a, gen.generate(CAPTIONS, seed=4))
    assert torch.equal(a, torch.cat([gen.generate(CAPTIONS[:2], seed=3), gen.generate(CAPTIONS[2:], seed=5)]))


def test_resume_across_each_phase_switch(tmp_path, monkeypatch):
    """Killed in the first epoch of the GTE phase, rerun and killed in the first epoch of the student phase,
    rerun to the end: the same weights, history and optimiser moments as an uninterrupted run."""
    torch.set_num_threads(1)
    ref = _run(tmp_path / "ref")
    for dies_in in (1, 2):                     # teacher -> gte, then gte -> student (teacher initialisation)
        killed_in_epoch(monkeypatch, dies_in, lambda: _run(tmp_path / "run"))
        assert load_training_state(tmp_path / "run" / "ktgan" / CHECKPOINT)["epoch"] == dies_in
    resumed = _run(tmp_path / "run")
    assert resumed["sha256"] == ref["sha256"]
    assert without_timings(resumed["history"]) == without_timings(ref["history"])
    a = load_training_state(tmp_path / "ref" / "ktgan" / CHECKPOINT)
    b = load_training_state(tmp_path / "run" / "ktgan" / CHECKPOINT)
    for key in ("teacher", "teacher_discriminators", "discriminators", "ema"):
        assert all(torch.equal(v, b[key][k]) for k, v in a[key].items())
    for key in ("g", "d"):
        for i, state in a["optimizers"][key]["state"].items():
            assert torch.equal(state["exp_avg_sq"], b["optimizers"][key]["state"][i]["exp_avg_sq"])


# ----------------------------------------------------------------------------- variants and configs
def _blocks(model):
    return [k + 1 for k, stage in enumerate(model.generator.stages) if stage.update is not None]


EXPECTED = {  # variant -> (AATM blocks, β, GTE, teacher init, phases)
    "baseline": ([], 0.9, False, False, ["student"]),
    "sdm": ([], 0.9, True, True, ["teacher", "gte", "student"]),
    "aatm": ([1, 2], 0.9, False, False, ["student"]),
    "full": ([1, 2], 0.9, True, True, ["teacher", "gte", "student"]),
    "aatm-b1": ([1], 0.9, False, False, ["student"]),
    "aatm-no-res": ([1, 2], 0.0, False, False, ["student"]),
    "aatm-gte": ([1, 2], 0.9, True, False, ["teacher", "gte", "student"]),
    "aatm-teacher-init": ([1, 2], 0.9, False, True, ["teacher", "student"]),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_variant_switch(variant, text_encoder):
    name = f"ktgan/{variant}"
    blocks, beta, gte, teacher_init, phases = EXPECTED[variant]
    config = _config(text_encoder, name)
    model = MODELS.get(name).build(config)
    assert _blocks(model) == blocks and all(s.update.beta == beta for s in model.generator.stages if s.update)
    assert (model.generator.gte is not None) == gte and config["teacher_init"] == teacher_init
    assert [p.name for p in model.phases()] == phases
    epochs = {"teacher": ABLATION_TEACHER_EPOCHS, "gte": ABLATION_GTE_EPOCHS, "student": ABLATION_STUDENT_EPOCHS}
    assert [p.epochs for p in model.phases()] == [epochs[p] for p in phases]   # one budget for every row
    model.text_encoder = text_encoder
    records = model.load_pretrained_parts("shapes")
    assert len(records) == (2 if gte or teacher_init else 0)                    # no teacher, no stand-ins
    out = model.eval().generator(_text(vocab=text_encoder.tokenizer.vocab_size), torch.randn(2, model.noise_dim))
    assert out.images[-1].shape == (2, 3, 64, 64)
    weights = [x["word_weights"] for x in out.extras["stages"]]
    assert [k + 1 for k, w in enumerate(weights) if w is not None] == blocks


def test_variants_are_the_rows_of_tables_one_to_three():
    assert sorted(list_variants("ktgan")) == sorted(f"ktgan/{v}" for v in EXPECTED)
    assert list_variants(table="KT-GAN Table II") == ["ktgan/aatm-b1", "ktgan/aatm-no-res"]
    tiny = MODELS.get("ktgan").config("tiny")
    phases = MODELS.get("ktgan").build({**tiny, "vocab_size": 10, "max_len": 18}).phases()
    assert [(p.name, p.epochs) for p in phases] == [("teacher", 1), ("gte", 3), ("student", 6)]
    assert [phases[phase_at(phases, e)[0]].name for e in range(10)] == ["teacher"] + ["gte"] * 3 + ["student"] * 6


@pytest.mark.parametrize(("overrides", "match"), [
    ({"aatm_blocks": [3]}, r"aatm_blocks must list distinct blocks B_i, i in 1\.\.2"),
    ({"aatm_blocks": [1, 1]}, "aatm_blocks"),
    ({"eta": [0.1, 0.1]}, "eta must list 3 weights"),
    ({"aatm_alpha": -1}, "aatm_alpha must be a number >= 0, got -1"),
    ({"sdl_beta0": 0}, "sdl_beta0 must be a number > 0"),
    ({"sdl_gamma3": -10}, "sdl_gamma3 must be a number > 0, got -10"),
    ({"sdl_word_similarity": "l2"}, "sdl_word_similarity must be one of dot, cosine, got 'l2'"),
    ({"gte_init": "clip"}, "gte_init must be one of scratch, damsm"),
    ({"perceptual_layer": "relu6_1"}, "perceptual_layer must be a VGG19 layer"),
    ({"gte": "yes"}, "gte must be true or false"),
    ({"train": {"epochs": 3}}, "train.epochs 3 leaves no student epochs"),
    ({"vocab_size": None}, "vocab_size must be the zoo text encoder's"),
])
def test_bad_config_values_are_clear_errors(overrides, match):
    config = MODELS.get("ktgan").config("tiny", **{"vocab_size": 10, "max_len": 18, **overrides})
    with pytest.raises(ValueError, match=match):
        MODELS.get("ktgan").build(config)


def test_user_pretrained_files_are_loaded_by_the_real_code(text_encoder, tmp_path):
    """A user's torchvision VGG19 file is what the perceptual loss reads (up to relu5_4, ImageNet-normalised);
    a file that is not one is a clear error; the GTE can start from the zoo DAMSM's text encoder."""
    from torchvision.models import vgg19

    net = vgg19(weights=None)
    torch.save({k: v for k, v in net.state_dict().items() if k.startswith("features.")}, tmp_path / "vgg19.pth")
    model = _model(text_encoder, vgg19_weights=str(tmp_path / "vgg19.pth"), gte_init="damsm")
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    expected = net.features[:36].eval()((((x + 1) / 2) - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
                                        / torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
    assert torch.allclose(model.perceptual(x), expected, atol=1e-5)
    assert all(torch.equal(v, text_encoder.damsm.text_encoder.state_dict()[k])
               for k, v in model.generator.gte.state_dict().items())
    torch.save({"features.0.weight": torch.zeros(1)}, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="not a torchvision vgg19 state dict"):
        _model(text_encoder, vgg19_weights=str(tmp_path / "bad.pth"))


def test_a_user_inception_file_is_the_teachers_image_encoder(text_encoder, tmp_path):
    """With ``inception_weights`` the teacher encodes with torchvision's Inception-v3 from that file (frozen
    trunk, new 256-d projections the teacher phase trains), recorded with the file's sha256."""
    from torchvision.models import inception_v3

    from t2ibench.io import sha256_file

    net = inception_v3(weights=None, aux_logits=True, init_weights=False)
    torch.save(net.state_dict(), tmp_path / "inception.pth")
    model = _model(text_encoder, inception_weights=str(tmp_path / "inception.pth"))
    record = model.load_pretrained_parts("shapes")[0]
    assert record["sha256"] == sha256_file(tmp_path / "inception.pth") and "Inception-v3" in record["description"]
    encoder = model.teacher.encoder.net
    assert torch.equal(encoder.Mixed_6e.branch1x1.conv.weight, net.Mixed_6e.branch1x1.conv.weight)
    assert [n for n, p in encoder.named_parameters() if p.requires_grad] == ["emb_features.weight",
                                                                              "emb_cnn_code.weight",
                                                                              "emb_cnn_code.bias"]
    with torch.no_grad():
        regions, v = model.teacher.encoder(torch.rand(2, 3, 64, 64) * 2 - 1)
    assert regions.shape == (2, 256, 17, 17) and v.shape == (2, 256)


# ----------------------------------------------------------------------------- full size
@pytest.mark.slow
def test_paper_config_takes_a_real_step_in_every_phase_at_full_size(tmp_path):
    train = {"epochs": 3, "teacher_epochs": 1, "gte_epochs": 1, "batch_size": 2, "gte_batch_size": 2}
    manifest = train_model("ktgan", "paper", out_dir=tmp_path, dataset="shapes", n_train=4, steps_per_epoch=1,
                           quality_n=0, probe_n=0, progress=False, overrides={"train": train})
    assert [h["phase"] for h in manifest["history"]] == ["teacher", "gte", "student"]
    assert all(math.isfinite(v) for h in manifest["history"] for k, v in h.items() if k.endswith("_loss"))
    config = manifest["config"]
    assert config["image_size"] == 256 and config["stages"] == 3 and config["ngf"] == 32
    state = load_training_state(tmp_path / "ktgan" / CHECKPOINT)
    model = MODELS.get("ktgan").build(config)
    out = model.generator.eval()(_text(vocab=config["vocab_size"]), torch.randn(2, model.noise_dim))
    assert [tuple(x.shape[-2:]) for x in out.images] == [(64, 64), (128, 128), (256, 256)]
    for network in ("teacher_discriminators", "discriminators"):
        assert set(state[network]) == set(getattr(model, network).state_dict())


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variant_training_smoke_run(variant, tmp_path):
    """Every Table I-III row trains through ``models.train`` (one step per epoch of each of its phases, the
    ablation's epochs), exports a generator that loads and draws, and records the pretrained parts its
    phases read."""
    torch.set_num_threads(1)
    name = f"ktgan/{variant}"
    manifest = train_model(name, "tiny", out_dir=tmp_path, steps_per_epoch=1, quality_n=0, progress=False,
                           n_train=32, probe_n=0, overrides={"train": {"batch_size": 8, "gte_batch_size": 8}})
    phases = EXPECTED[variant][-1]
    epochs = {"teacher": ABLATION_TEACHER_EPOCHS, "gte": ABLATION_GTE_EPOCHS, "student": ABLATION_STUDENT_EPOCHS}
    assert [h["phase"] for h in manifest["history"]] == [p for p in phases for _ in range(epochs[p])]
    assert all(math.isfinite(v) for h in manifest["history"] for k, v in h.items() if k != "phase")
    assert len(manifest["pretrained"]) == (2 if len(phases) > 1 else 0)
    gen = load_pretrained(name, load_dataset("shapes", split="test", n_train=32, n_test=8, progress=False),
                          weights=weights_path(name, "shapes", tmp_path / name))
    assert gen.generate(CAPTIONS[:2], seed=1).shape == (2, 3, 64, 64)
