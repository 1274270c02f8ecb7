"""R-precision: DM-GAN code protocol and CPGAN's batch variant, on hand-made embeddings."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from t2ibench import defaults
from t2ibench.metrics.r_precision import r_precision, r_precision_cpgan


def _setup(n=500, d=16, per=5, n_classes=25, seed=0):
    rng = np.random.default_rng(seed)
    classes = np.arange(n) % n_classes
    img = rng.normal(size=(n, d))
    pool = np.repeat(img, per, axis=0) + 0.01 * rng.normal(size=(n * per, d))
    return img, pool, np.repeat(classes, per), classes


def test_perfectly_aligned_embeddings_score_one():
    img, pool, pool_cls, cls = _setup()
    out = r_precision(img, img.copy(), pool, pool_cls, cls)
    assert out["value"] == 1.0 and out["std"] == 0.0 and out["n"] == 500
    assert out["n_candidates"] == 100 and out["n_chunks"] == 10 and len(out["chunk_values"]) == 10
    assert "ties" in out["protocol"] and out["candidates"] == "other-classes"
    # torch input works the same
    assert r_precision(torch.tensor(img), torch.tensor(img), torch.tensor(pool), torch.tensor(pool_cls),
                       torch.tensor(cls))["value"] == 1.0


@pytest.mark.parametrize("k", [100, 10])
def test_random_embeddings_score_one_over_n_candidates(k):
    rng = np.random.default_rng(1)
    n, m = 4000, 8000
    img, txt, pool = rng.normal(size=(n, 8)), rng.normal(size=(n, 8)), rng.normal(size=(m, 8))
    out = r_precision(img, txt, pool, np.arange(m) % 40, np.arange(n) % 40, n_candidates=k)
    p = 1.0 / k
    assert abs(out["value"] - p) <= 4 * np.sqrt(p * (1 - p) / n), out["value"]
    assert out["std"] > 0


def test_hand_constructed_ranks_and_tie_rule():
    # 2-d unit vectors; pool entries of class 1 are the only distractors of the class-0 images and
    # vice versa, and there are exactly n_candidates - 1 = 2 of them: the draw is forced
    ang = lambda a: [np.cos(a), np.sin(a)]  # noqa: E731
    pool = np.array([ang(0.0), ang(0.5), ang(2.0), ang(2.3)])
    pool_cls = np.array([0, 0, 1, 1])
    img = np.array([ang(0.0), ang(2.15), ang(2.0), ang(-0.3), ang(1.5), ang(-0.25)])
    txt = np.array([ang(0.1), ang(1.8), ang(2.3), ang(0.45), ang(1.0), ang(-0.5)])
    cls = np.array([0, 0, 1, 1, 0, 1])
    # image 0 (cls 0): own cos(0.1)=.995 vs pool 2,3 at angles 2.0, 2.3 -> hit
    # image 1 (cls 0): own at 0.35 rad vs pool 2 at 0.15 rad -> miss
    # image 2 (cls 1): own at 0.3 rad vs pool 0 at 2.0, pool 1 at 1.5 -> hit
    # image 3 (cls 1): own at 0.75 rad vs pool 0 at 0.3 rad -> miss
    # image 4 (cls 0): own at 0.5 rad vs pool 2 at 0.5 rad -> tie -> miss (pessimistic)
    # image 5 (cls 1): own at 0.25 rad vs pool 0 at 0.25 rad -> tie -> miss
    out = r_precision(img, txt, pool, pool_cls, cls, n_candidates=3, n_chunks=1)
    assert out["value"] == pytest.approx(2 / 6) and out["std"] == 0.0 and out["hit_rate"] == pytest.approx(2 / 6)
    out2 = r_precision(img, txt, pool, pool_cls, cls, n_candidates=3, n_chunks=2)
    assert out2["value"] == pytest.approx(2 / 6)  # equal chunks: mean of chunk rates = hit rate
    assert sorted(out2["chunk_values"]) in ([0.0, 2 / 3], [1 / 3, 1 / 3])
    assert out2["std"] == pytest.approx(np.std(out2["chunk_values"]))  # population std (DM-GAN's np.std)


def test_other_classes_and_random_differ_where_they_should():
    # each class's captions are near-duplicates of each other: drawn as distractors ("random"),
    # they beat the own caption about half the time; "other-classes" never draws them
    rng = np.random.default_rng(2)
    n_classes, per = 10, 30
    centers = rng.normal(size=(n_classes, 32))
    cls = np.repeat(np.arange(n_classes), per)
    txt = centers[cls] + 0.05 * rng.normal(size=(len(cls), 32))
    img = centers[cls] + 0.05 * rng.normal(size=(len(cls), 32))
    pool, pool_cls = txt, cls
    other = r_precision(img, txt, pool, pool_cls, cls, n_candidates=20)
    rand = r_precision(img, txt, pool, pool_cls, cls, n_candidates=20, candidates="random")
    assert other["value"] == 1.0 and rand["value"] < 0.5
    # without classes (-1) other-classes behaves exactly like random
    none = -np.ones_like(cls)
    a = r_precision(img, txt, pool, none, none, n_candidates=20, seed=3)
    b = r_precision(img, txt, pool, none, none, n_candidates=20, seed=3, candidates="random")
    assert a["value"] == b["value"] and a["chunk_values"] == b["chunk_values"]
    # the own caption inside the pool is never drawn as its own distractor
    assert r_precision(img, img, img, none, none, n_candidates=20, candidates="random")["value"] == 1.0
    # CPGAN's batches hold same-class captions: lower than DM-GAN's other-class candidates
    cp = r_precision_cpgan(img, txt, batch_size=100)
    assert cp["value"] < 0.5 < other["value"]


def test_gallery_too_small_and_bad_inputs():
    img, pool, pool_cls, cls = _setup(n=50, per=1, n_classes=2)   # 25 captions of the other class
    with pytest.raises(ValueError, match="gallery smaller than the protocol needs"):
        r_precision(img, img, pool, pool_cls, cls)
    assert r_precision(img, img, pool, pool_cls, cls, n_candidates=26)["value"] == 1.0
    with pytest.raises(ValueError, match="chunks"):
        r_precision(img[:5], img[:5], pool, pool_cls, cls[:5], n_candidates=3)
    with pytest.raises(ValueError, match="text_emb"):
        r_precision(img, img[:, :3], pool, pool_cls, cls, n_candidates=3)
    with pytest.raises(ValueError, match="pool_emb"):
        r_precision(img, img, pool[:, :3], pool_cls, cls, n_candidates=3)
    with pytest.raises(ValueError, match="pool_classes"):
        r_precision(img, img, pool, pool_cls[:-1], cls, n_candidates=3)
    with pytest.raises(ValueError, match="classes"):
        r_precision(img, img, pool, pool_cls, cls[:-1], n_candidates=3)
    with pytest.raises(ValueError, match="candidates"):
        r_precision(img, img, pool, pool_cls, cls, n_candidates=3, candidates="same-class")
    with pytest.raises(ValueError, match="NaN"):
        r_precision(np.full_like(img, np.nan), img, pool, pool_cls, cls, n_candidates=3)


def test_deterministic_for_a_seed_and_defaults_read_at_call_time(monkeypatch):
    rng = np.random.default_rng(4)
    img, txt = rng.normal(size=(300, 4)), rng.normal(size=(300, 4))
    pool, pool_cls, cls = rng.normal(size=(900, 4)), np.arange(900) % 7, np.arange(300) % 7
    a = r_precision(img, txt, pool, pool_cls, cls, seed=5)
    b = r_precision(img, txt, pool, pool_cls, cls, seed=5)
    assert a == b
    c = r_precision(img, txt, pool, pool_cls, cls, seed=6)
    assert c["chunk_values"] != a["chunk_values"]
    monkeypatch.setattr(defaults, "R_PRECISION_CANDIDATES", 10)
    monkeypatch.setattr(defaults, "R_PRECISION_CHUNKS", 3)
    d = r_precision(img, txt, pool, pool_cls, cls)
    assert d["n_candidates"] == 10 and d["n_chunks"] == 3


def test_cpgan_variant():
    rng = np.random.default_rng(5)
    img = rng.normal(size=(250, 16))
    perfect = r_precision_cpgan(img, img)
    assert perfect["value"] == 1.0 and perfect["n_batches"] == 2 and perfect["n_dropped"] == 50
    assert perfect["n_used"] == 200 and perfect["batch_size"] == 100
    txt = rng.normal(size=(20000, 16))
    rand = r_precision_cpgan(rng.normal(size=(20000, 16)), txt)
    assert abs(rand["value"] - 0.01) <= 4 * np.sqrt(0.01 * 0.99 / 20000)
    assert r_precision_cpgan(img, img, seed=1) == r_precision_cpgan(img, img, seed=1)
    # hand case, one batch of 2: image 0 (angle 0) is closer to caption 1 (angle .05) than to its own
    # (angle .2) -> miss; image 1 (angle .1) is closer to its own caption 1 -> hit
    a = np.array([[1.0, 0.0], [1.0, 0.1]])
    t = np.array([[1.0, 0.2], [1.0, 0.05]])
    assert r_precision_cpgan(a, t, batch_size=2)["value"] == 0.5
    # identical captions in a batch tie -> both miss
    assert r_precision_cpgan(a, np.array([[1.0, 1.0], [1.0, 1.0]]), batch_size=2)["value"] == 0.0
    with pytest.raises(ValueError, match="fewer than one batch"):
        r_precision_cpgan(img[:99], img[:99])
    with pytest.raises(ValueError, match="text_emb"):
        r_precision_cpgan(img, img[:-1])
