"""Improved precision and recall (Kynkäänniemi et al. 2019): against an independent float64 numpy
transcription of the k-NN manifold definition, and end to end on ``shapes``."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from t2ibench import defaults, evaluate
from t2ibench.metrics.precision_recall import precision_recall
from t2ibench.protocols import parse_metric


def numpy_precision_recall(fake: np.ndarray, real: np.ndarray, k: int) -> tuple[float, float]:
    """The paper's Sec. 2 definition, directly: radius of a sample = distance to its k-th nearest
    neighbour in its own set, itself excluded; precision = share of fake samples within the radius
    of some real sample; recall = share of real samples within the radius of some fake sample."""
    def dist(a, b):
        return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=-1))

    def radii(x):
        d = dist(x, x)
        np.fill_diagonal(d, np.inf)  # exclude self
        return np.sort(d, axis=1)[:, k - 1]

    r_real, r_fake = radii(real), radii(fake)
    precision = (dist(fake, real) <= r_real[None, :]).any(axis=1).mean()
    recall = (dist(real, fake) <= r_fake[None, :]).any(axis=1).mean()
    return float(precision), float(recall)


@pytest.mark.parametrize("n_fake, n_real, d, k, shift", [
    (120, 150, 16, 3, 0.0), (120, 150, 16, 3, 0.7), (60, 200, 8, 1, 0.3), (200, 90, 32, 5, 1.0),
])
def test_matches_numpy_knn_definition(n_fake, n_real, d, k, shift):
    rng = np.random.default_rng(n_fake + d + k)
    real = rng.normal(size=(n_real, d))
    fake = rng.normal(size=(n_fake, d)) * 0.8 + shift
    out = precision_recall(fake, real, k=k, batch_size=37)  # blocks that do not divide N
    p, r = numpy_precision_recall(fake, real, k)
    assert out["precision"] == p and out["recall"] == r
    assert 0 < p < 1 or shift == 0.0  # non-trivial cases
    assert out["f_score"] == pytest.approx(2 * p * r / max(1e-5, p + r))
    assert (out["k"], out["n_fake"], out["n_real"]) == (k, n_fake, n_real)


def test_defaults_match_torch_fidelity_and_its_full_computation():
    from torch_fidelity.defaults import DEFAULTS
    from torch_fidelity.metric_prc import calculate_precision_recall_full

    assert defaults.PRC_NEIGHBORHOOD == DEFAULTS["prc_neighborhood"] == 3
    rng = np.random.default_rng(7)
    real, fake = rng.normal(size=(100, 12)), rng.normal(size=(80, 12)) + 0.4
    out = precision_recall(fake, real)
    theirs = calculate_precision_recall_full(torch.from_numpy(fake), torch.from_numpy(real), 3)
    assert (out["precision"], out["recall"]) == pytest.approx(theirs, abs=1e-7)  # theirs: float32 means
    assert out == precision_recall(torch.from_numpy(fake).float().double(), real)  # torch input accepted


def test_far_apart_and_identical_sets():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(50, 4))
    far = precision_recall(real + 100.0, real)
    assert far["precision"] == 0.0 and far["recall"] == 0.0 and far["f_score"] == 0.0
    same = precision_recall(real, real)
    assert same["precision"] == 1.0 and same["recall"] == 1.0


def test_bad_inputs():
    x = np.zeros((10, 4))
    with pytest.raises(ValueError, match="features_fake.*at least 4 rows"):
        precision_recall(x[:3], x)
    with pytest.raises(ValueError, match="features_real.*at least 6 rows"):
        precision_recall(x, x[:5], k=5)
    with pytest.raises(ValueError, match="dimension"):
        precision_recall(x, np.zeros((10, 5)))
    with pytest.raises(ValueError, match="features_fake.*NaN"):
        precision_recall(np.full((10, 4), np.nan), x)
    with pytest.raises(ValueError, match="k: must be >= 1"):
        precision_recall(x, x, k=0)
    with pytest.raises(TypeError, match="k: expected an int"):
        precision_recall(x, x, k=2.0)
    with pytest.raises(ValueError, match="batch_size"):
        precision_recall(x, x, batch_size=0)


def test_specs_parse_like_fid():
    for name in ("precision", "recall"):
        assert parse_metric(name, "shapes").extractor == parse_metric("fid", "shapes").extractor == "shapes-classifier"
        assert parse_metric(name, "coco").extractor == "inception-v3-compat"
        p = parse_metric(f"{name}@inception-v3-compat", "shapes")
        assert p.extractor == "inception-v3-compat" and p.kind == "image"
        assert p.fake_roles == p.real_roles == ("embedding",) == parse_metric("fid", "shapes").fake_roles
        assert name not in defaults.DEFAULT_METRICS


@pytest.fixture(scope="module")
def rows(shapes_test):
    return {g: evaluate(g, shapes_test, metrics=["precision", "recall"], n_images=200, progress=False)
            for g in ("real", "noise")}


def test_real_images_score_near_one_and_noise_near_zero(rows):
    real, noise = rows["real"], rows["noise"]
    # real: the generated images are real test images, so each lies in the real manifold (precision 1
    # by construction); 200 of them cover most of the 2,000 real images' manifold (measured 0.935).
    assert real.value("precision") == 1.0
    assert real.value("recall") > 0.85
    assert noise.value("precision") < 0.05 and noise.value("recall") < 0.05
    m = real.metrics["precision"]
    assert m["n_fake"] == 200 and m["n_real"] == 2000 and m["k"] == 3 and m["extractor"] == "shapes-classifier"
    assert real.metrics["recall"]["precision"] == m["precision"]  # one shared computation
