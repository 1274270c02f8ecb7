"""Rank-k (KT-GAN Rank-1) retrieval: ceilings, chance level, known ranks, ties, folds, errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from t2ibench.metrics.retrieval import TIE_TOL, rank_k, rank_k_slots, retrieval_ranks


def _unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_identical_embeddings_score_one():
    x = np.random.default_rng(0).normal(size=(300, 16))
    r = rank_k(x, x, fold_size=100)
    assert r["r@1"] == r["r@5"] == r["r@10"] == 1.0
    assert r["r@1_std"] == 0.0 and r["n_folds"] == 3 and r["fold_size"] == 100 and r["n_dropped"] == 0
    # torch input and a different scale per row (cosine is scale-free)
    t = torch.from_numpy(x).float()
    assert rank_k(t * 3.0, t, fold_size=100)["r@1"] == 1.0


def test_random_embeddings_are_at_chance():
    rng = np.random.default_rng(1)
    n, fold = 20_000, 100
    r = rank_k(rng.normal(size=(n, 32)), rng.normal(size=(n, 32)), fold_size=fold, ks=(1, 5, 10))
    for k in (1, 5, 10):
        p = k / fold
        assert abs(r[f"r@{k}"] - p) < 5 * np.sqrt(p * (1 - p) / n), (k, r[f"r@{k}"])
    assert r["n_folds"] == 200


def test_constructed_ranks_and_the_tie_rule():
    # gallery = one-hot images, so caption i's cosine with image j is t[i, j] / |t[i]|: we choose every score
    n = 6
    images = np.eye(n)
    text = np.full((n, n), 0.1)
    own = np.array([0.9, 0.5, 0.5, 0.3, 0.2, 0.6])
    text[np.arange(n), np.arange(n)] = own
    # caption 0: nothing above -> rank 1; caption 1: one score above -> rank 2
    text[1, 4] = 0.7
    # caption 2: one score equal to its own (a tie, counted against it) -> rank 2
    text[2, 0] = 0.5
    # caption 3: three above -> rank 4; caption 4: all five others above -> rank 6
    text[3, [0, 1, 2]] = 0.8
    text[4, [0, 1, 2, 3, 5]] = 0.25
    # caption 5: one score within TIE_TOL below its own is a tie too -> rank 2
    text[5, 0] = 0.6 - TIE_TOL / 10
    expected = np.array([1, 2, 2, 4, 6, 2])
    assert retrieval_ranks(text, images).tolist() == expected.tolist()
    # brute force with the same rule
    s = _unit(text) @ images.T
    brute = [1 + sum(1 for j in range(n) if j != i and s[i, j] >= s[i, i] - TIE_TOL) for i in range(n)]
    assert brute == expected.tolist()
    r = rank_k(text, images, fold_size=6, ks=(1, 2, 4, 6))
    assert r["r@1"] == pytest.approx(1 / 6)
    assert r["r@2"] == pytest.approx(4 / 6)
    assert r["r@4"] == pytest.approx(5 / 6)
    assert r["r@6"] == 1.0
    assert "pessimistic" in r["tie_rule"]


def test_identical_generated_images_score_zero():
    # a collapsed generator (one image for every caption) must not score 1 through ties
    rng = np.random.default_rng(2)
    text = rng.normal(size=(50, 8))
    images = np.tile(rng.normal(size=(1, 8)), (50, 1))
    r = rank_k(text, images, fold_size=50)
    assert r["r@1"] == r["r@5"] == r["r@10"] == 0.0


def test_folds_partial_folds_and_small_sets():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(25, 8))
    # fold 0 (rows 0-9): every caption finds its image; fold 1 (rows 10-19): every caption points at another image
    text = x.copy()
    text[10:20] = x[np.r_[11:20, 10]]
    r = rank_k(text, x, fold_size=10, ks=(1,))
    assert r["n_folds"] == 2 and r["n_dropped"] == 5 and r["n_queries"] == 20
    assert r["r@1"] == pytest.approx(0.5) and r["r@1_std"] == pytest.approx(0.5)
    assert "dropped" in r["note"]
    # fewer captions than fold_size: one fold of N, said in the note
    r = rank_k(x, x, fold_size=1000)
    assert r["n_folds"] == 1 and r["fold_size"] == 25 and r["r@1"] == 1.0 and "fewer than fold_size" in r["note"]
    # default fold size and ks come from t2ibench.defaults
    r = rank_k(rng.normal(size=(2000, 4)), rng.normal(size=(2000, 4)))
    assert r["fold_size"] == 1000 and {"r@1", "r@5", "r@10"} <= set(r)


def test_caption_slots_make_separate_query_lists():
    rng = np.random.default_rng(4)
    img = rng.normal(size=(30, 8))
    good, bad = img.copy(), img[np.r_[1:30, 0]]
    r = rank_k_slots([good, bad], img, fold_size=10, ks=(1,))
    assert r["n_folds"] == 6 and r["caption_slots"] == 2 and r["r@1"] == pytest.approx(0.5)
    assert rank_k_slots([good], img, fold_size=10)["r@1"] == rank_k(good, img, fold_size=10)["r@1"]
    with pytest.raises(ValueError, match="no caption slots"):
        rank_k_slots([], img)


def test_bad_input_is_refused():
    x = np.random.default_rng(5).normal(size=(20, 4))
    with pytest.raises(ValueError, match="fewer than max"):
        rank_k(x[:5], x[:5], fold_size=5)  # gallery of 5 < k = 10
    with pytest.raises(ValueError, match="fewer than max"):
        rank_k(x, x, fold_size=8, ks=(1, 9))
    with pytest.raises(ValueError, match="same shape"):
        rank_k(x, x[:10], fold_size=5, ks=(1,))
    with pytest.raises(ValueError, match="fold_size"):
        rank_k(x, x, fold_size=0)
    with pytest.raises(TypeError, match="fold_size"):
        rank_k(x, x, fold_size=2.5)
    with pytest.raises(ValueError, match="ks"):
        rank_k(x, x, fold_size=10, ks=(0,))
    with pytest.raises(ValueError, match="ks"):
        rank_k(x, x, fold_size=10, ks=())
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        rank_k(bad, x, fold_size=10, ks=(1,))
    zero = x.copy()
    zero[2] = 0
    with pytest.raises(ValueError, match="all zeros"):
        rank_k(x, zero, fold_size=10, ks=(1,))
    with pytest.raises(ValueError, match="2-d"):
        rank_k(x[0], x[0], fold_size=10)
