"""Inception Score: against a float64 numpy transcription of Salimans et al. 2016 and against
torch-fidelity's own ``metric_isc`` (same splits, shuffle and std convention)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from t2ibench import defaults
from t2ibench.metrics import TORCH_FIDELITY_RNG_SEED, inception_score


def numpy_is(probs: np.ndarray, splits: int) -> tuple[float, float]:
    """OpenAI's improved-gan ``inception_score.py`` loop: contiguous splits, np.std (ddof=0)."""
    scores = []
    n = probs.shape[0]
    for k in range(splits):
        part = probs[k * n // splits:(k + 1) * n // splits]
        py = part.mean(axis=0, keepdims=True)
        kl = part * (np.log(part) - np.log(py))
        scores.append(np.exp(kl.sum(axis=1).mean()))
    return float(np.mean(scores)), float(np.std(scores))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def logits():
    rng = np.random.default_rng(0)
    return rng.normal(size=(1003, 20)) * 3.0  # N not divisible by 10: uneven splits


def test_contiguous_splits_match_numpy_formula_logits_and_probs(logits):
    probs = softmax(logits)
    ref = numpy_is(probs, 10)
    assert inception_score(logits, 10, shuffle_seed=None) == pytest.approx(ref, rel=1e-10)
    assert inception_score(probs, 10, shuffle_seed=None) == pytest.approx(ref, rel=1e-10)
    assert inception_score(torch.from_numpy(logits).float(), 10, shuffle_seed=None) == pytest.approx(ref, rel=1e-5)
    assert inception_score(probs.astype(np.float32), 10, shuffle_seed=None) == pytest.approx(ref, rel=1e-5)


def test_explicit_from_logits_and_seeded_shuffle(logits):
    probs = softmax(logits)
    perm = np.random.RandomState(5).permutation(len(probs))
    ref = numpy_is(probs[perm], 7)
    assert inception_score(logits, 7, from_logits=True, shuffle_seed=5) == pytest.approx(ref, rel=1e-10)
    assert inception_score(probs, 7, from_logits=False, shuffle_seed=5) == pytest.approx(ref, rel=1e-10)


def test_default_convention_is_torch_fidelity(logits):
    from torch_fidelity.defaults import DEFAULTS
    from torch_fidelity.metric_isc import isc_featuresdict_to_metric

    assert TORCH_FIDELITY_RNG_SEED == DEFAULTS["rng_seed"]
    assert defaults.IS_SPLITS == DEFAULTS["isc_splits"] == 10
    probs = softmax(logits)
    # torch-fidelity applies softmax to its features; log(p) gives back exactly p.
    for name, feats in (("logits", logits), ("log-probs", np.log(probs))):
        tf = isc_featuresdict_to_metric({"logits_unbiased": torch.from_numpy(feats)}, "logits_unbiased",
                                        isc_splits=10, samples_shuffle=True, rng_seed=DEFAULTS["rng_seed"],
                                        verbose=False)
        tf = (tf["inception_score_mean"], tf["inception_score_std"])
        assert inception_score(logits) == pytest.approx(tf, rel=1e-10), name
        assert inception_score(probs) == pytest.approx(tf, rel=1e-10), name
    # and the contiguous convention differs from it (the split shuffle matters for the std)
    assert inception_score(probs, shuffle_seed=None)[1] != pytest.approx(inception_score(probs)[1], rel=1e-6)


def test_uniform_predictions_give_one():
    assert inception_score(np.full((50, 8), 1 / 8), 5) == pytest.approx((1.0, 0.0), abs=1e-12)
    assert inception_score(np.zeros((50, 8)), 5) == pytest.approx((1.0, 0.0), abs=1e-12)  # equal logits


@pytest.mark.parametrize("k", [2, 10, 37])
def test_one_hot_diverse_predictions_give_k(k):
    probs = np.eye(k)[np.arange(10 * k) % k]  # each split holds every class equally often
    assert inception_score(probs, 10, shuffle_seed=None) == pytest.approx((k, 0.0), abs=1e-9)
    # near-one-hot logits: close to K
    mean, _ = inception_score(np.log(probs * (1 - 1e-9) + 1e-9 / k), 10, shuffle_seed=None)
    assert mean == pytest.approx(k, rel=1e-6)


def test_single_class_collapse_gives_one():
    probs = np.zeros((40, 5))
    probs[:, 2] = 1.0
    assert inception_score(probs, 4)[0] == pytest.approx(1.0)


def test_splits_default_read_from_defaults(monkeypatch, logits):
    monkeypatch.setattr(defaults, "IS_SPLITS", 4)
    assert inception_score(logits) == inception_score(logits, 4)


def test_bad_inputs():
    good = np.full((20, 4), 0.25)
    with pytest.raises(ValueError, match="logits_or_probs"):
        inception_score(np.zeros(20), 2)
    with pytest.raises(ValueError, match="logits_or_probs"):
        inception_score(np.zeros((20, 4, 1)), 2)
    with pytest.raises(ValueError, match="logits_or_probs.*NaN"):
        inception_score(np.where(np.eye(20, 4) > 0, np.nan, 0.0), 2)
    with pytest.raises(ValueError, match="at least 10 rows"):
        inception_score(good[:9], 10)
    with pytest.raises(ValueError, match="splits"):
        inception_score(good, 0)
    with pytest.raises(TypeError, match="splits"):
        inception_score(good, 2.0)
    with pytest.raises(ValueError, match="not probabilities"):
        inception_score(good * 2, 2, from_logits=False)
    with pytest.raises(ValueError, match="not probabilities"):
        inception_score(np.full((20, 2), [-0.5, 1.5]), 2, from_logits=False)
    with pytest.raises(TypeError, match="from_logits"):
        inception_score(good, 2, from_logits="yes")
    with pytest.raises(TypeError, match="logits_or_probs"):
        inception_score(np.array([["a", "b"]] * 20), 2)


def test_split_warnings_name_degenerate_splits():
    from t2ibench.metrics.inception_score import split_warnings

    assert split_warnings(20, 10) == [] and split_warnings(1003, 10) == []
    tiny = split_warnings(15, 10)  # splits of 1 and 2 images
    assert len(tiny) == 1 and "as few as 1 image(s)" in tiny[0] and "at least 20 images" in tiny[0]
    single = split_warnings(500, 1)
    assert len(single) == 1 and "single split" in single[0] and "0 by construction" in single[0]
    assert len(split_warnings(1, 1)) == 2
    assert split_warnings(30, 10, min_split_size=4)  # the threshold is a parameter (defaults.IS_MIN_SPLIT_SIZE)


def test_the_bounds_the_split_warnings_state():
    # a split of m images has IS <= m (exp of a mutual information over m images), so 1 image gives 1
    rng = np.random.default_rng(3)
    probs = softmax(rng.normal(size=(30, 50)) * 10)
    assert inception_score(probs[:10], 10, shuffle_seed=None) == pytest.approx((1.0, 0.0), abs=1e-12)
    one_hot = np.eye(50)[:30]
    assert inception_score(one_hot, 10, shuffle_seed=None)[0] == pytest.approx(3.0)  # splits of 3: IS = m
    assert inception_score(probs, 1)[1] == 0.0  # one split: no spread
