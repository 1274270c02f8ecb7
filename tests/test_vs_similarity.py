"""HDGAN VS-similarity: the metric vs numpy, the ranking loss vs hand computation, the VS maps
(training, resume, extractor), and the shipped vs-shapes maps."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import t2ibench.features.vs_maps  # noqa: F401  (registers vs-shapes / vs)
import t2ibench.features.vse  # noqa: F401  (a fixed text encoder for the generic tests)
from t2ibench.data import load_dataset
from t2ibench.evaluators import vs_maps
from t2ibench.evaluators.checkpoint import WEIGHTS_DIR
from t2ibench.evaluators.training import TrainConfig, fit
from t2ibench.features import list_extractors, load_extractor
from t2ibench.io import sha256_file
from t2ibench.metrics.vs_similarity import pairwise_cosine, vs_similarity

WEIGHTS = WEIGHTS_DIR / "vs-shapes.safetensors"
MANIFEST = WEIGHTS_DIR / "vs-shapes.json"
DAMSM_MANIFEST = WEIGHTS_DIR / "damsm-shapes.json"


def test_vs_similarity_matches_numpy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(40, 12)), rng.normal(size=(40, 12))
    cos = np.array([a[i] @ b[i] / (np.linalg.norm(a[i]) * np.linalg.norm(b[i])) for i in range(40)])
    r = vs_similarity(a, b)
    assert r["value"] == pytest.approx(cos.mean(), abs=1e-12)
    assert r["std"] == pytest.approx(np.sqrt(np.mean((cos - cos.mean()) ** 2)), abs=1e-12)  # population std
    assert r["n"] == 40
    assert np.allclose(pairwise_cosine(torch.from_numpy(a).float(), b), cos, atol=1e-6)
    assert vs_similarity(a, 2.5 * a)["value"] == pytest.approx(1.0)
    assert vs_similarity(a, -a)["value"] == pytest.approx(-1.0)


def test_vs_similarity_refuses_bad_input():
    a = np.ones((4, 3))
    with pytest.raises(ValueError, match="same shape"):
        vs_similarity(a, np.ones((5, 3)))
    with pytest.raises(ValueError, match="all zeros"):
        vs_similarity(a, np.vstack([np.ones((3, 3)), np.zeros((1, 3))]))
    with pytest.raises(ValueError, match="NaN"):
        vs_similarity(a, np.full((4, 3), np.nan))
    with pytest.raises(ValueError, match="2-d"):
        vs_similarity(np.ones(3), np.ones(3))


def test_ranking_loss_matches_hand_computation_and_the_released_code():
    s = np.array([[0.9, 0.5, 0.8],
                  [0.1, 0.3, 0.6],
                  [0.2, 0.95, 0.4]], dtype=np.float64)
    # by hand, margin 0.2: image i vs caption c' (rows) and caption c vs image i' (columns)
    # rows: 0 + 0.1 | 0 + 0.5 | 0 + 0.75;  columns: 0 + 0 | 0.4 + 0.85 | 0.6 + 0.4
    hand = 0.1 + 0.5 + 0.75 + 0.4 + 0.85 + 0.6 + 0.4
    # the released PairwiseRankingLoss, transcribed: (margin - diagonal).expand_as(scores) broadcasts the
    # 1-d diagonal along rows, so entry [i, j] uses diagonal[j]; its transpose uses diagonal[i]
    d = np.diag(s)
    cost_s = np.maximum(0, (0.2 - d)[None, :] + s)
    cost_im = np.maximum(0, ((0.2 - d)[None, :]).T + s)
    np.fill_diagonal(cost_s, 0)
    np.fill_diagonal(cost_im, 0)
    assert cost_s.sum() + cost_im.sum() == pytest.approx(hand)
    v = torch.eye(3, dtype=torch.float64)  # one-hot images: cosine(image i, caption j) = t_j[i] / |t_j|
    t = torch.from_numpy(s.T.copy())
    t = t / t.norm(dim=1, keepdim=True)
    scores = (v @ t.T).numpy()
    d2 = np.diag(scores)
    c1 = np.maximum(0, 0.2 - d2[None, :] + scores)
    c2 = np.maximum(0, 0.2 - d2[:, None] + scores)
    np.fill_diagonal(c1, 0)
    np.fill_diagonal(c2, 0)
    assert float(vs_maps.vs_ranking_loss(v, t)) == pytest.approx(c1.sum() + c2.sum(), abs=1e-12)
    from t2ibench.evaluators.vse import hinge_ranking_loss

    assert float(hinge_ranking_loss(torch.from_numpy(s), 0.2, max_violation=False)) == pytest.approx(hand, abs=1e-12)


def test_a_few_fit_steps_lower_the_ranking_loss():
    g = torch.Generator().manual_seed(0)
    v = torch.randn(64, 20, generator=g)
    t = v[:, :12] @ torch.randn(12, 10, generator=g) + 0.1 * torch.randn(64, 10, generator=g)  # related features
    torch.manual_seed(0)
    model = vs_maps.VSMaps({"arch": vs_maps.ARCH, "image_dim": 20, "text_dim": 10, "hid_dim": 16})

    def loss_fn(idx):
        return vs_maps.vs_ranking_loss(model.map_images(v[idx]), model.map_text(t[idx]))

    history = fit(model, loss_fn, 64, TrainConfig(epochs=20, batch_size=64, lr=1e-2), progress=False)
    assert history[-1]["loss"] < 0.5 * history[0]["loss"], [h["loss"] for h in history]


class _Interrupt(Exception):
    pass


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """VS maps over fixed features (shapes-classifier image features, vse-shapes sentences), tiny pools."""
    out = tmp_path_factory.mktemp("vs")
    m = vs_maps.train(out / "a", seed=1, epochs=3, progress=False, checkpoint=out / "a.pt", text_encoder="vse-shapes",
                      n_train=64, n_test=30, training_overrides={"batch_size": 16})
    return out, m


def test_resume_equals_uninterrupted(tiny_run, monkeypatch):
    out, full = tiny_run
    calls = {"n": 0}
    original = vs_maps.hinge_ranking_loss

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 6:  # second step of epoch 2 (4 steps per epoch)
            raise _Interrupt
        return original(*args, **kwargs)

    kw = dict(seed=1, epochs=3, progress=False, checkpoint=out / "b.pt", text_encoder="vse-shapes",
              n_train=64, n_test=30, training_overrides={"batch_size": 16})
    monkeypatch.setattr(vs_maps, "hinge_ranking_loss", flaky)
    with pytest.raises(_Interrupt):
        vs_maps.train(out / "b", **kw)
    monkeypatch.setattr(vs_maps, "hinge_ranking_loss", original)
    resumed = vs_maps.train(out / "b", **kw)
    assert resumed["sha256"] == full["sha256"]
    assert [h["loss"] for h in resumed["history"]] == [h["loss"] for h in full["history"]]


def test_manifest_and_user_extractor(tiny_run, tmp_path):
    out, m = tiny_run
    assert m["image_extractor"]["name"] == "shapes-classifier" and m["image_extractor"]["output"] == "features"
    assert m["text_encoder"]["name"] == "vse-shapes" and m["text_encoder"]["output"] == "sentence"
    assert m["config"] == {"arch": vs_maps.ARCH, "image_dim": 256, "text_dim": 256, "hid_dim": 512}
    for key in ("sha256", "command", "seed", "dataset", "test_vs_similarity", "test_vs_similarity_mismatched",
                "test_recall", "train_time_s"):
        assert key in m, key
    weights = out / "a" / "vs-shapes.safetensors"
    ext = load_extractor("vs", weights=str(weights))
    assert ext.roles == {"image": "embedding", "text": "sentence"} and ext.weights_id == m["sha256"]
    assert ext.outputs == ("embedding",) and ext.text_outputs == ("sentence",)
    ds = load_dataset("shapes", split="test", n_train=64, n_test=30, progress=False)
    images = ds.images(range(8))
    caps = [ds.captions(i)[0] for i in range(8)]
    emb = ext(images)["embedding"]
    sent = ext.encode_text(caps)["sentence"]
    # = f_v(classifier features), f_t(vse sentences), L2-normalised
    clf, txt = load_extractor("shapes-classifier"), load_extractor("vse-shapes")
    maps, _, _ = vs_maps.load_vs_maps(weights)
    with torch.no_grad():
        assert torch.allclose(emb, maps.map_images(clf(images)["features"]), atol=1e-5)
        assert torch.allclose(sent, maps.map_text(txt.encode_text(caps)["sentence"]), atol=1e-5)
    assert torch.allclose(emb.norm(dim=1), torch.ones(8), atol=1e-5)
    # the matching pairs score the manifest's held-out value's way: this is what the metric reads
    r = vs_similarity(emb, sent)
    assert -1 <= r["value"] <= 1 and r["n"] == 8
    d = ext.describe()
    assert d["image_extractor"]["name"] == "shapes-classifier" and d["text_encoder"]["name"] == "vse-shapes"
    # maps trained over other feature weights are refused
    man = json.loads((out / "a" / "vs-shapes.json").read_text())
    man["text_encoder"]["weights_id"] = "0" * 64
    (tmp_path / "vs-x.safetensors").write_bytes(weights.read_bytes())
    (tmp_path / "vs-x.json").write_text(json.dumps(man))
    with pytest.raises(ValueError, match="trained over text encoder"):
        load_extractor("vs", weights=str(tmp_path / "vs-x.safetensors"))


def test_vs_needs_weights_with_a_training_hint(tmp_path):
    assert {"vs-shapes", "vs"} <= set(list_extractors())
    with pytest.raises(ValueError, match="train-evaluators") as e:
        load_extractor("vs")
    assert "python -m t2ibench.evaluators.vs_maps" in str(e.value)
    with pytest.raises(ValueError, match="no such file"):
        load_extractor("vs", weights=str(tmp_path / "missing.safetensors"))
    with pytest.raises(ValueError, match="epochs"):
        vs_maps.train(tmp_path, epochs=0, progress=False)
    with pytest.raises(SystemExit) as exc:
        vs_maps.main(["--help"])
    assert exc.value.code == 0


@pytest.fixture(scope="module")
def shipped():
    if not DAMSM_MANIFEST.is_file():
        pytest.skip(f"{DAMSM_MANIFEST} is absent: the shipped vs-shapes maps are trained over damsm-shapes sentences")
    if not WEIGHTS.is_file() or not MANIFEST.is_file():
        pytest.fail(f"the shipped VS maps are missing: {WEIGHTS} / {MANIFEST}")
    return json.loads(MANIFEST.read_text())


def test_shipped_manifest(shipped):
    from t2ibench.data.shapes import fingerprint_of

    assert shipped["sha256"] == sha256_file(WEIGHTS)
    assert shipped["command"].startswith("python -m t2ibench.evaluators.vs_maps")
    assert shipped["image_extractor"]["name"] == "shapes-classifier"
    assert shipped["image_extractor"]["weights_id"] == sha256_file(WEIGHTS_DIR / "shapes-classifier.safetensors")
    assert shipped["text_encoder"]["name"] == "damsm-shapes" and shipped["text_encoder"]["output"] == "sentence"
    assert shipped["text_encoder"]["weights_id"] == sha256_file(WEIGHTS_DIR / "damsm-shapes.safetensors")
    assert shipped["dataset"]["train_fingerprint"] == fingerprint_of("train")
    assert shipped["dataset"]["test_fingerprint"] == fingerprint_of("test")
    gt, mis = shipped["test_vs_similarity"]["value"], shipped["test_vs_similarity_mismatched"]["value"]
    assert gt > mis + 0.2, (gt, mis)
    assert shipped["test_recall"]["n_folds"] == 20 and shipped["test_recall"]["r@1"] > 0.05


def test_shipped_held_out_vs_similarity_is_reproduced(shipped):
    import t2ibench.features.damsm  # noqa: F401

    ext = load_extractor("vs-shapes")
    assert ext.weights_id == shipped["sha256"] and ext.stand_in is True
    ds = load_dataset("shapes", split="test", n_test=500, progress=False)
    n = 300
    images = ds.images(range(n))
    caps = [c for i in range(n) for c in ds.captions(i)]
    emb = ext(images)["embedding"].repeat_interleave(10, dim=0)
    got = vs_similarity(emb, ext.encode_text(caps)["sentence"])
    want = shipped["test_vs_similarity"]
    assert abs(got["value"] - want["value"]) < 0.03, (got, want)
    assert abs(got["std"] - want["std"]) < 0.03, (got, want)
