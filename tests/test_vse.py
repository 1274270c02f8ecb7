"""VSE++ (Rank-1 retrieval model): losses vs hand computation, training/resume, shipped weights, extractor."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import t2ibench.features.vse  # noqa: F401  (registers vse-shapes / vse)
from t2ibench.data import load_dataset
from t2ibench.data.shapes import fingerprint_of
from t2ibench.evaluators import vse
from t2ibench.evaluators.checkpoint import WEIGHTS_DIR
from t2ibench.evaluators.training import TrainConfig, fit
from t2ibench.features import list_extractors, load_extractor
from t2ibench.io import sha256_file

WEIGHTS = WEIGHTS_DIR / "vse-shapes.safetensors"
MANIFEST = WEIGHTS_DIR / "vse-shapes.json"
TINY = {"cnn_widths": [4, 8, 8, 8], "cnn_grid": 2, "embed_dim": 16, "word_dim": 8}

# scores[i, j] = s(image i, caption j); the positives are on the diagonal
S = np.array([[0.9, 0.5, 0.8],
              [0.1, 0.3, 0.6],
              [0.2, 0.95, 0.4]], dtype=np.float64)


def _hand_losses(s: np.ndarray, margin: float):
    """Per-pair hinge terms written out one by one: (max of hinges l_MH, sum of hinges l_SH)."""
    n = len(s)
    caption_terms = [[max(0.0, margin - s[i, i] + s[i, c]) for c in range(n) if c != i] for i in range(n)]
    image_terms = [[max(0.0, margin - s[c, c] + s[i, c]) for i in range(n) if i != c] for c in range(n)]
    mh = sum(max(t) for t in caption_terms) + sum(max(t) for t in image_terms)
    sh = sum(sum(t) for t in caption_terms) + sum(sum(t) for t in image_terms)
    return mh, sh


def test_losses_match_hand_computation():
    mh, sh = _hand_losses(S, 0.2)
    # the same numbers by hand, margin 0.2 (image i vs negative captions; caption c vs negative images):
    # rows:   i=0: c=1 -> 0, c=2 -> 0.1;  i=1: c=0 -> 0, c=2 -> 0.5;  i=2: c=0 -> 0, c=1 -> 0.75
    # cols:   c=0: i=1 -> 0, i=2 -> 0;    c=1: i=0 -> 0.4, i=2 -> 0.85;  c=2: i=0 -> 0.6, i=1 -> 0.4
    assert mh == pytest.approx(0.1 + 0.5 + 0.75 + 0.0 + 0.85 + 0.6)
    assert sh == pytest.approx(0.1 + 0.5 + 0.75 + 0.4 + 0.85 + 0.6 + 0.4)
    t = torch.from_numpy(S)
    assert float(vse.hinge_ranking_loss(t, 0.2, max_violation=True)) == pytest.approx(mh, abs=1e-12)
    assert float(vse.hinge_ranking_loss(t, 0.2, max_violation=False)) == pytest.approx(sh, abs=1e-12)
    # on embeddings: the cosine matrix goes through the same function
    g = torch.Generator().manual_seed(0)
    im = torch.nn.functional.normalize(torch.randn(5, 7, generator=g, dtype=torch.float64), dim=1)
    cap = torch.nn.functional.normalize(torch.randn(5, 7, generator=g, dtype=torch.float64), dim=1)
    mh5, sh5 = _hand_losses((im @ cap.T).numpy(), 0.2)
    assert float(vse.contrastive_loss(im, cap)) == pytest.approx(mh5, abs=1e-12)
    assert float(vse.contrastive_loss(im, cap, max_violation=False)) == pytest.approx(sh5, abs=1e-12)
    with pytest.raises(ValueError, match="square"):
        vse.hinge_ranking_loss(torch.zeros(2, 3))


@pytest.fixture(scope="module")
def small_shapes():
    return load_dataset("shapes", split="test", n_train=64, n_test=48, progress=False)


@pytest.mark.parametrize("max_violation", [True, False])
def test_a_few_fit_steps_lower_the_loss(small_shapes, max_violation):
    from t2ibench.data.tokenizer import Tokenizer

    ds = small_shapes
    tok = Tokenizer.build(c for i in range(len(ds)) for c in ds.captions(i))
    torch.manual_seed(0)
    model = vse.build_model({**vse.CONFIGS["shapes"], **TINY, "vocab_size": tok.vocab_size, "max_len": tok.max_len})
    images = ds.images(range(32))
    ids, lengths = tok.batch([ds.captions(i)[0] for i in range(32)])

    def loss_at(idx):
        return vse.contrastive_loss(model.encode_images(images[idx]), model.encode_ids(ids[idx], lengths[idx]),
                                    max_violation=max_violation)

    history = fit(model, loss_at, 32, TrainConfig(epochs=15, batch_size=32, lr=3e-3, grad_clip=2.0), progress=False)
    before, after = history[0]["loss"], history[-1]["loss"]  # one step per epoch, the same 32 pairs
    assert after < 0.8 * before, [h["loss"] for h in history]


class _Interrupt(Exception):
    pass


def test_resume_equals_uninterrupted(tmp_path, monkeypatch):
    from t2ibench.data.shapes import ShapesDataset

    kw = dict(dataset="shapes", seed=3, epochs=2, progress=False, n_train=64, n_test=30, batch_size=32,
              config_overrides=TINY, training_overrides={"warmup_epochs": 1})
    full = vse.train(tmp_path / "a", checkpoint=tmp_path / "a.pt", **kw)

    calls = {"n": 0}
    original = ShapesDataset.images

    def flaky(self, indices):
        if self.split == "train":
            calls["n"] += 1
            if calls["n"] == 3:  # first step of epoch 2 (2 steps per epoch); after the warm-up switch
                raise _Interrupt
        return original(self, indices)

    monkeypatch.setattr(ShapesDataset, "images", flaky)
    with pytest.raises(_Interrupt):
        vse.train(tmp_path / "b", checkpoint=tmp_path / "b.pt", **kw)
    monkeypatch.setattr(ShapesDataset, "images", original)
    assert (tmp_path / "b.pt").is_file() and not (tmp_path / "b" / "vse-shapes.safetensors").exists()
    resumed = vse.train(tmp_path / "b", checkpoint=tmp_path / "b.pt", **kw)
    assert resumed["sha256"] == full["sha256"]
    assert [h["loss"] for h in resumed["history"]] == [h["loss"] for h in full["history"]]
    assert [h["max_violation"] for h in full["history"]] == [0.0, 1.0]
    # the tiny run's manifest has every field a user needs
    for key in ("sha256", "config", "tokenizer", "command", "seed", "dataset", "test_recall", "test_recall_fold250",
                "train_time_s"):
        assert key in full, key
    r = full["test_recall"]  # 30 test images: one fold of 30 per caption slot
    assert r["n_folds"] == r["caption_slots"] == 10 and r["fold_size"] == 30
    assert "fewer than fold_size" in r["note"]
    # a user-trained file loads as the "vse" extractor
    ext = load_extractor("vse", weights=str(tmp_path / "a" / "vse-shapes.safetensors"))
    assert ext.weights_id == full["sha256"] and ext.name == "vse"


@pytest.fixture(scope="module")
def manifest():
    if not WEIGHTS.is_file() or not MANIFEST.is_file():
        pytest.fail(f"the shipped VSE++ model is missing: {WEIGHTS} / {MANIFEST}")
    return json.loads(MANIFEST.read_text())


@pytest.fixture(scope="module")
def extractor():
    return load_extractor("vse-shapes")


def test_shipped_manifest(manifest):
    assert manifest["sha256"] == sha256_file(WEIGHTS)
    assert manifest["command"].startswith("python -m t2ibench.evaluators.vse")
    assert manifest["dataset"]["train_fingerprint"] == fingerprint_of("train")
    assert manifest["dataset"]["test_fingerprint"] == fingerprint_of("test")
    assert manifest["loss"]["max_violation"] is True and manifest["loss"]["margin"] == 0.2
    r = manifest["test_recall"]
    assert r["fold_size"] == 1000 and r["n_folds"] == 20 and r["n_dropped"] == 0
    assert r["r@1"] > 0.3 and r["r@5"] > 0.6 and r["r@10"] > r["r@5"] > r["r@1"]
    assert WEIGHTS.stat().st_size < 8e6


def test_held_out_recall_is_reproduced(manifest, extractor):
    # the first 400 images of the default test split (test image i is pool image n_train + i)
    ds = load_dataset("shapes", split="test", n_test=500, progress=False)
    got = vse.held_out_recall(lambda x: extractor(x)["embedding"], lambda c: extractor.encode_text(c)["sentence"],
                              ds, fold_sizes=(250,), n=500)["250"]
    want = manifest["test_recall_fold250"]
    assert got["n_folds"] == 20
    for k in ("r@1", "r@5", "r@10"):
        assert abs(got[k] - want[k]) < 0.05, (k, got[k], want[k])


def test_extractor_contract(extractor, manifest):
    assert {"vse-shapes", "vse"} <= set(list_extractors())
    assert extractor.roles == {"image": "embedding", "text": "sentence"}
    assert extractor.outputs == ("embedding",) and extractor.text_outputs == ("sentence",)
    assert extractor.weights_id == manifest["sha256"] and extractor.stand_in is True
    d = extractor.describe()
    assert d["weights_id"] == manifest["sha256"] and d["trained_on"] == "shapes"
    g = torch.Generator().manual_seed(0)
    for size in (48, 64, 96):
        x = torch.randint(0, 256, (3, 3, size, size), dtype=torch.uint8, generator=g)
        e = extractor(x)["embedding"]
        assert e.shape == (3, manifest["config"]["embed_dim"])
        assert torch.allclose(e.norm(dim=1), torch.ones(3), atol=1e-5)
    t = extractor.encode_text(["a red circle.", "a big blue star at the upper left on black", "zzz unknown words"])
    assert t["sentence"].shape == (3, manifest["config"]["embed_dim"])
    assert torch.allclose(t["sentence"].norm(dim=1), torch.ones(3), atol=1e-5)
    with pytest.raises(TypeError):
        extractor(torch.zeros(1, 3, 64, 64))  # float images are refused at the boundary
    with pytest.raises(ValueError):
        extractor.encode_text(["ok", "  "])


def test_vse_needs_weights_with_a_training_hint(tmp_path):
    with pytest.raises(ValueError, match="train-evaluators") as e:
        load_extractor("vse")
    assert "python -m t2ibench.evaluators.vse" in str(e.value)
    with pytest.raises(ValueError, match="no such file"):
        load_extractor("vse", weights=str(tmp_path / "missing.safetensors"))
    # a copy without its manifest: the tokenizer is missing, said so
    (tmp_path / "x.safetensors").write_bytes(WEIGHTS.read_bytes())
    with pytest.raises(ValueError, match="manifest"):
        load_extractor("vse", weights=str(tmp_path / "x.safetensors"))
    # a corrupted copy next to the real manifest: sha256 mismatch
    (tmp_path / "y.safetensors").write_bytes(WEIGHTS.read_bytes()[:-8] + b"\0" * 8)
    (tmp_path / "y.json").write_text(MANIFEST.read_text())
    with pytest.raises(ValueError, match="sha256"):
        load_extractor("vse", weights=str(tmp_path / "y.safetensors"))


def test_training_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError, match="backbone-weights"):
        vse.train(tmp_path, backbone="resnet18", progress=False)
    with pytest.raises(ValueError, match="backbone"):
        vse.train(tmp_path, backbone="vgg19", backbone_weights="x", progress=False)
    with pytest.raises(ValueError, match="epochs"):
        vse.train(tmp_path, epochs=0, progress=False)
    with pytest.raises(ValueError, match="training_overrides"):
        vse.train(tmp_path, training_overrides={"nope": 1}, progress=False)
    with pytest.raises(SystemExit) as e:
        vse.main(["--help"])
    assert e.value.code == 0


def test_resnet_backbone_loads_user_weights(tmp_path):
    import torchvision

    config = {**vse.CONFIGS["default"], "image_encoder": "resnet18", "image_size": 224, "embed_dim": 32,
              "vocab_size": 10, "max_len": 18}
    config.pop("cnn_widths")
    model = vse.build_model(config)
    ref = torchvision.models.resnet18(weights=None)
    torch.save(ref.state_dict(), tmp_path / "r18.pth")
    digest = vse.load_backbone_weights(model, tmp_path / "r18.pth")
    assert digest == sha256_file(tmp_path / "r18.pth")
    assert torch.equal(model.image_encoder.cnn.conv1.weight, ref.conv1.weight)
    assert not model.image_encoder.cnn.conv1.weight.requires_grad  # frozen ("fc" setting)
    model.train()
    assert not model.image_encoder.cnn.training and model.image_encoder.fc.training
    out = model.encode_images(torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8))
    assert out.shape == (2, 32)
    torch.save({"conv1.weight": torch.zeros(1)}, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="does not fit"):
        vse.load_backbone_weights(model, tmp_path / "bad.pth")
