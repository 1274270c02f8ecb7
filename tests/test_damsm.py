"""DAMSM: losses against the paper's equations, training/resume, shipped weights, extractor contract."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

import t2ibench.features.damsm  # noqa: F401  (registers damsm, damsm-shapes)
from t2ibench.data import load_dataset
from t2ibench.data.training_pairs import CaptionedTrainSet
from t2ibench.data.shapes import fingerprint_of
from t2ibench.evaluators import damsm as dm
from t2ibench.features import load_extractor
from t2ibench.io import sha256_file

WEIGHTS, MANIFEST = dm.weights_paths("shapes")
TINY = {"nef": 16, "rnn_hidden": 8, "emb_dim": 8, "cnn_widths": [4, 8, 8, 8]}


# ----------------------------------------------------------------------------- reference formulas
def _softmax(x, axis):
    x = x - x.max(axis=axis, keepdims=True)
    return np.exp(x) / np.exp(x).sum(axis=axis, keepdims=True)


def _ref_R(v, e, g1=4.0, g2=5.0, paper=False):
    """R(Q, D), Eq. 7-10, for one image (v: [D, R]) and one caption (e: [D, T]) in float64."""
    s = e.T @ v                                    # Eq. 7: s_ij = e_i^T v_j         [T, R]
    s_bar = _softmax(s, axis=0)                    # Eq. 8: normalised over words i
    alpha = _softmax(g1 * s_bar, axis=1)           # Eq. 9: over regions j
    c = alpha @ v.T                                # c_i = sum_j alpha_j v_j        [T, D]
    cos = (c * e.T).sum(1) / np.maximum(np.linalg.norm(c, axis=1) * np.linalg.norm(e.T, axis=1), 1e-8)
    r = np.log(np.exp(g2 * cos).sum())             # Eq. 10 as in AttnGAN's code
    return r / g2 if paper else r                  # the paper's (...)^(1/g2)


def _ref_ce(scores, classes=None):
    """(-mean_i log P(D_i|Q_i), -mean_i log P(Q_i|D_i)) with same-class pairs (j != i) removed."""
    n = len(scores)
    keep = np.ones((n, n), dtype=bool)
    if classes is not None:
        c = np.asarray(classes)
        keep = ~((c[:, None] == c[None, :]) & (c[:, None] >= 0)) | np.eye(n, dtype=bool)

    def one(s):
        return -np.mean([s[i, i] - np.log(np.exp(s[i][keep[i]]).sum()) for i in range(n)])

    return one(scores), one(scores.T)


@pytest.fixture(scope="module")
def tiny_inputs():
    rng = np.random.default_rng(0)
    B, D, R, T = 3, 4, 2, 2
    V = rng.normal(size=(B, D, R))
    E = rng.normal(size=(B, D, T + 1))             # one extra padding column, ignored via lengths
    lengths = np.array([2, 1, 2])
    g = rng.normal(size=(B, D))
    s = rng.normal(size=(B, D))
    return V, E, lengths, g, s


@pytest.mark.parametrize("eq10", ["code", "paper"])
def test_word_similarities_follow_eq_7_to_10(tiny_inputs, eq10):
    V, E, lengths, _, _ = tiny_inputs
    expected = np.array([[_ref_R(V[a], E[b][:, :lengths[b]], paper=eq10 == "paper") for b in range(3)]
                         for a in range(3)])
    got = dm.word_similarities(torch.tensor(V), torch.tensor(E), torch.tensor(lengths), eq10=eq10).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    # 4-d regions [B, D, H, W] are flattened the same way
    got4 = dm.word_similarities(torch.tensor(V).reshape(3, 4, 1, 2), torch.tensor(E), torch.tensor(lengths), eq10=eq10)
    np.testing.assert_allclose(got4.numpy(), expected, rtol=1e-10)


@pytest.mark.parametrize("classes", [None, [0, 1, 2], [5, 5, 7], [-1, -1, 3]])
def test_losses_match_hand_computed_values(tiny_inputs, classes):
    V, E, lengths, g, s = tiny_inputs
    S_w = 10.0 * np.array([[_ref_R(V[a], E[b][:, :lengths[b]]) for b in range(3)] for a in range(3)])
    cos = (g @ s.T) / np.maximum(np.linalg.norm(g, axis=1)[:, None] * np.linalg.norm(s, axis=1)[None], 1e-8)
    S_s = 10.0 * cos
    ew0, ew1 = _ref_ce(S_w, classes)
    es0, es1 = _ref_ce(S_s, classes)
    t = {k: torch.tensor(v) for k, v in zip("VElgs", (V, E, lengths, g, s))}
    w0, w1, scores = dm.words_loss(t["V"], t["E"], t["l"], classes)
    np.testing.assert_allclose(scores.numpy(), S_w, rtol=1e-10)
    np.testing.assert_allclose([float(w0), float(w1)], [ew0, ew1], rtol=1e-10)
    s0, s1, _ = dm.sentence_loss(t["g"], t["s"], classes)
    np.testing.assert_allclose([float(s0), float(s1)], [es0, es1], rtol=1e-10)
    out = dm.damsm_loss(t["V"], t["g"], t["E"], t["s"], t["l"], classes)
    np.testing.assert_allclose(float(out["loss"]), ew0 + ew1 + es0 + es1, rtol=1e-10)


def test_masking_of_same_class_pairs():
    g = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]], dtype=torch.float64)
    s = g.clone()
    # items 0 and 1 nearly identical: with distinct classes they confuse each other
    unmasked = dm.sentence_loss(g, s, [0, 1, 2])
    masked = dm.sentence_loss(g, s, [0, 0, 2])
    assert float(masked[0]) < float(unmasked[0]) and float(masked[1]) < float(unmasked[1])
    # scores are returned before masking; masked entries do not enter the cross-entropy at all
    assert torch.equal(masked[2], unmasked[2])
    eye = 10 * torch.eye(3, dtype=torch.float64)
    bump = torch.tensor([[0, 50.0, 0], [50.0, 0, 0], [0, 0, 0]], dtype=torch.float64)
    a, b = dm._cross_entropy_both(eye, [0, 0, 2]), dm._cross_entropy_both(eye + bump, [0, 0, 2])
    assert torch.allclose(a[0], b[0]) and torch.allclose(a[1], b[1])
    # class -1 means "no class": never masked
    assert torch.allclose(dm.sentence_loss(g, s, [-1, -1, 2])[0], unmasked[0])
    with pytest.raises(ValueError):
        dm.sentence_loss(g, s, [0, 1])


def test_directions_are_symmetric(tiny_inputs):
    _, _, _, g, s = tiny_inputs
    g, s = torch.tensor(g), torch.tensor(s)
    a0, a1, _ = dm.sentence_loss(g, s, [0, 1, 1])
    b0, b1, _ = dm.sentence_loss(s, g, [0, 1, 1])
    assert torch.allclose(a0, b1) and torch.allclose(a1, b0)
    # identical image and text codes give equal losses in both directions
    c0, c1, _ = dm.sentence_loss(g, g, None)
    assert torch.allclose(c0, c1)


def test_text_encoder_pads_words_to_max_len():
    torch.manual_seed(0)
    enc = dm.TextEncoder(vocab_size=20, emb_dim=8, nef=16, max_len=18).eval()
    ids = torch.tensor([[3, 4, 5, 0], [6, 7, 8, 9]])
    lengths = torch.tensor([3, 4])
    words, sent = enc(ids, lengths)
    assert words.shape == (2, 16, 18) and sent.shape == (2, 16)
    assert torch.all(words[0, :, 3:] == 0) and torch.all(words[1, :, 4:] == 0)
    w1, s1 = enc(ids[:1, :3], lengths[:1])  # padding and batch company do not matter
    assert torch.allclose(w1, words[:1], atol=1e-6) and torch.allclose(s1, sent[:1], atol=1e-6)


# ----------------------------------------------------------------------------- training
def _tiny_train(out, checkpoint=None, epochs=2, seed=0):
    return dm.train(out, dataset="shapes", seed=seed, epochs=epochs, progress=False, checkpoint=checkpoint,
                    n_train=96, n_test=48, batch_size=16, heldout_pairs=48, config_overrides=TINY)


def test_fit_lowers_the_loss_and_writes_a_manifest(tmp_path):
    torch.set_num_threads(1)
    man = dm.train(tmp_path, dataset="shapes", seed=0, epochs=4, progress=False, n_train=96, n_test=48,
                   batch_size=16, heldout_pairs=48, config_overrides=TINY)
    losses = [h["loss"] for h in man["history"]]
    assert losses[-1] < losses[0], losses
    w, m = dm.weights_paths("shapes", tmp_path)
    on_disk = json.loads(m.read_text())
    assert on_disk["sha256"] == sha256_file(w) == man["sha256"]
    assert on_disk["backbone"] == "cnn" and on_disk["config"]["backbone"] == "cnn"
    assert on_disk["tokenizer"]["words"][:2] == ["<pad>", "<unk>"]
    for key in ("heldout_recall_i2t_r1", "heldout_recall_t2i_r1", "heldout_r_precision", "train_time_s",
                "torch_version", "command", "seed", "epochs"):
        assert key in on_disk, key
    assert on_disk["dataset"]["train_fingerprint"] == fingerprint_of("train", n_train=96, n_test=48)
    ext = load_extractor("damsm", weights=str(w))
    assert ext.weights_id == man["sha256"] and ext.config["nef"] == 16


def test_resume_gives_the_same_weights(tmp_path, monkeypatch):
    torch.set_num_threads(1)
    ref = _tiny_train(tmp_path / "ref", checkpoint=tmp_path / "ref.pt")
    ck = tmp_path / "ck.pt"
    real_batch = CaptionedTrainSet.batch
    calls = {"n": 0}

    def interrupted(self, idx, epoch):
        calls["n"] += 1
        if epoch == 1 and calls["n"] > 8:  # die in the middle of the second epoch
            raise KeyboardInterrupt
        return real_batch(self, idx, epoch)

    monkeypatch.setattr(CaptionedTrainSet, "batch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _tiny_train(tmp_path / "run", checkpoint=ck)
    assert ck.is_file() and torch.load(ck, weights_only=True)["epoch"] == 1
    monkeypatch.setattr(CaptionedTrainSet, "batch", real_batch)
    resumed = _tiny_train(tmp_path / "run", checkpoint=ck)
    assert resumed["sha256"] == ref["sha256"]
    assert [h["loss"] for h in resumed["history"]] == [h["loss"] for h in ref["history"]]


def test_corrupt_checkpoint_is_a_value_error(tmp_path):
    ck = tmp_path / "ck.pt"
    ck.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match="corrupt"):
        _tiny_train(tmp_path, checkpoint=ck, epochs=1)


def test_inception_backbone_needs_user_weights(tmp_path):
    with pytest.raises(ValueError, match="imagenet-inception-weights"):
        dm.load_inception_state(None)
    with pytest.raises(ValueError, match="no such file"):
        dm.load_inception_state(tmp_path / "missing.pth")
    bad = tmp_path / "bad.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, bad)
    with pytest.raises(ValueError, match="inception_v3"):
        dm.load_inception_state(bad)
    with pytest.raises(ValueError, match="imagenet-inception-weights"):
        dm.train(tmp_path, dataset="shapes", backbone="inception", progress=False)
    # the architecture itself (random weights): AttnGAN's 17x17 regions and 2048-d pool -> 256
    torch.manual_seed(0)
    net = dm.DAMSM(dm.make_config(10, 18, "inception")).eval()
    with torch.no_grad():
        regions, glob = net.encode_images(dm.preprocess(torch.zeros(1, 3, 64, 64, dtype=torch.uint8), net.config))
    assert regions.shape == (1, 256, 17, 17) and glob.shape == (1, 256)
    assert dm.resize_mode(net.config).startswith("bilinear-299")
    trainable = {n.split(".")[1] for n, p in net.image_encoder.named_parameters(prefix="x") if p.requires_grad}
    assert trainable == {"emb_features", "emb_cnn_code"}


def test_main_help(capsys):
    with pytest.raises(SystemExit) as e:
        dm.main(["--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    assert "--checkpoint" in text and "--imagenet-inception-weights" in text and "resumes" in " ".join(text.split())


# ----------------------------------------------------------------------------- shipped weights
@pytest.fixture(scope="module")
def manifest():
    if not WEIGHTS.is_file() or not MANIFEST.is_file():
        pytest.fail(f"the shipped DAMSM is missing: {WEIGHTS} / {MANIFEST}")
    return json.loads(MANIFEST.read_text())


@pytest.fixture(scope="module")
def extractor():
    return load_extractor("damsm-shapes")


def test_shipped_manifest_matches_the_weights(manifest):
    assert manifest["sha256"] == sha256_file(WEIGHTS)
    assert manifest["name"] == "damsm-shapes" and manifest["backbone"] == "cnn"
    assert manifest["command"].startswith("python -m t2ibench.evaluators.damsm")
    assert manifest["dataset"]["train_fingerprint"] == fingerprint_of("train")
    assert manifest["dataset"]["test_fingerprint"] == fingerprint_of("test")
    assert manifest["heldout_r_precision"] >= 0.7
    assert WEIGHTS.stat().st_size < 8e6


def test_shipped_held_out_quality_is_reproduced(manifest, extractor):
    torch.set_num_threads(1)
    test = load_dataset("shapes", split="test", progress=False)
    got = dm.evaluate_heldout(extractor.net, extractor.tokenizer, test, n_pairs=manifest["heldout_n_pairs"],
                              seed=manifest["seed"])
    for key in ("heldout_recall_i2t_r1", "heldout_recall_t2i_r1", "heldout_r_precision"):
        assert abs(got[key] - manifest[key]) <= 0.03, (key, got[key], manifest[key])


def test_extractor_contract(extractor, manifest):
    assert extractor.name == "damsm-shapes" and extractor.weights_id == manifest["sha256"]
    assert extractor.outputs == ("global", "regions") and extractor.text_outputs == ("sentence", "words")
    assert extractor.roles == {"image": "global", "text": "sentence"}
    assert extractor.stand_in is True and extractor.resize_mode == "bilinear-antialias-64"  # CNN, not Inception
    d = extractor.describe()
    assert d["backbone"].startswith("cnn trained on shapes") and d["weights_id"] == manifest["sha256"]
    g = torch.Generator().manual_seed(0)
    for size in (48, 64):
        out = extractor(torch.randint(0, 256, (3, 3, size, size), dtype=torch.uint8, generator=g))
        assert out["global"].shape == (3, 256) and out["regions"].shape == (3, 256, 8, 8)
    caps = ["a red circle.",
            "a big blue square at the top left of the image on a gray background, alone here and nothing else"]
    t = extractor.encode_text(caps, batch_size=1)
    assert t["sentence"].shape == (2, 256) and t["words"].shape == (2, 256, 18)
    assert torch.allclose(t["sentence"], extractor.encode_text(caps)["sentence"], atol=1e-5)
    assert extractor.word_lengths(caps).tolist() == [3, 18]


def test_weights_checks(tmp_path, manifest):
    with pytest.raises(ValueError, match="train-evaluators"):
        load_extractor("damsm")
    w, m = tmp_path / "mine.safetensors", tmp_path / "mine.json"
    shutil.copy(WEIGHTS, w)
    with pytest.raises(ValueError, match="manifest"):
        load_extractor("damsm", weights=str(w))  # no manifest beside it: no tokenizer
    bad = dict(manifest, sha256="0" * 64)
    m.write_text(json.dumps(bad))
    with pytest.raises(ValueError, match="sha256"):
        load_extractor("damsm", weights=str(w))
    m.write_text(json.dumps(manifest))
    assert load_extractor("damsm", weights=str(w)).weights_id == manifest["sha256"]
    w.write_bytes(w.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ValueError, match="sha256"):
        load_extractor("damsm", weights=str(w))


def test_missing_user_damsm_names_the_dataset_in_use():
    """The 'damsm' extractor without weights says how to train one on the dataset being evaluated
    (not on cub), with the flags that training command really has."""
    with pytest.raises(ValueError) as e:
        load_extractor("damsm", dataset="coco")
    msg = str(e.value)
    assert "train-evaluators --dataset coco " in msg and "python -m t2ibench.evaluators.damsm --dataset coco " in msg
    assert "damsm-coco.safetensors" in msg and "cub" not in msg
    assert "--imagenet-inception-weights" in msg and " --inception-weights" not in msg
    with pytest.raises(ValueError) as e:  # no dataset known: a placeholder, never another dataset's name
        load_extractor("damsm")
    assert "--dataset DATASET" in str(e.value) and "cub" not in str(e.value)
    # factories without a dataset argument are built as before
    assert load_extractor("damsm-shapes", dataset="coco").name == "damsm-shapes"
