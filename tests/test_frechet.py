"""Distribution distances on features: Fréchet distance (FID/CMD core) and KID.

References are independent of the code under test: the Fréchet distance is checked against the
usual ``scipy.linalg.sqrtm(sigma1 @ sigma2)`` form in float64 (pytorch-fid's formula), KID against
a direct numpy transcription of the unbiased MMD² of Bińkowski et al. 2018.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from t2ibench.metrics import frechet_distance, gaussian_statistics, kid
from t2ibench.metrics.frechet import gaussian_sample_warnings
from t2ibench.metrics.kid import kid_subset_warnings
from t2ibench.metrics.inception_score import TORCH_FIDELITY_RNG_SEED


def scipy_frechet(mu1, sigma1, mu2, sigma2) -> float:
    """||mu1 - mu2||² + Tr(S1 + S2 - 2 sqrtm(S1 S2)), real part of the Schur-based sqrtm."""
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    covmean = np.real(covmean)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def random_gaussian(rng, d, n=None):
    n = n or 3 * d
    a = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) / np.sqrt(d)
    return gaussian_statistics(a + rng.normal(size=d))


# ----------------------------------------------------------------------------- Fréchet distance

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_scipy_sqrtm_d64(seed):
    rng = np.random.default_rng(seed)
    mu1, s1 = random_gaussian(rng, 64)
    mu2, s2 = random_gaussian(rng, 64)
    ours, ref = frechet_distance(mu1, s1, mu2, s2), scipy_frechet(mu1, s1, mu2, s2)
    assert ours == pytest.approx(ref, rel=1e-6)


def test_matches_scipy_sqrtm_d512():
    rng = np.random.default_rng(7)
    mu1, s1 = random_gaussian(rng, 512, n=2000)
    mu2, s2 = random_gaussian(rng, 512, n=2000)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(scipy_frechet(mu1, s1, mu2, s2), rel=1e-6)


def test_symmetric_and_accepts_torch_and_float32():
    rng = np.random.default_rng(3)
    mu1, s1 = random_gaussian(rng, 32)
    mu2, s2 = random_gaussian(rng, 32)
    d = frechet_distance(mu1, s1, mu2, s2)
    assert frechet_distance(mu2, s2, mu1, s1) == pytest.approx(d, rel=1e-9)
    as_torch = frechet_distance(torch.from_numpy(mu1), torch.from_numpy(s1), torch.from_numpy(mu2), torch.from_numpy(s2))
    assert as_torch == pytest.approx(d, rel=1e-12)
    assert frechet_distance(mu1.astype(np.float32), s1.astype(np.float32), mu2, s2) == pytest.approx(d, rel=1e-4)


def test_identical_gaussians_are_zero():
    rng = np.random.default_rng(4)
    mu, s = random_gaussian(rng, 128)
    assert frechet_distance(mu, s, mu, s) == pytest.approx(0.0, abs=1e-8 * np.trace(s))
    assert frechet_distance(mu, s, mu.copy(), s.copy()) >= 0.0


def test_mean_shift_only():
    rng = np.random.default_rng(5)
    mu, s = random_gaussian(rng, 16)
    shift = rng.normal(size=16)
    assert frechet_distance(mu, s, mu + shift, s) == pytest.approx(shift @ shift, rel=1e-6, abs=1e-8)


def test_known_closed_form_diagonal():
    # diagonal covariances: Tr(S1 + S2 - 2 sqrt(S1 S2)) = sum (sqrt(a) - sqrt(b))²
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 0.0])
    mu1, mu2 = np.zeros(3), np.array([1.0, 0.0, 2.0])
    expected = 5.0 + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-12)


def _commuting_case(d, zeros, seed, close=None):
    """Covariances sharing a random eigenbasis Q: S1 = Q diag(a) Q^T, S2 = Q diag(b) Q^T, so
    Tr (S1 S2)^{1/2} = sum sqrt(a_i b_i) and d² = |mu1 - mu2|² + sum (sqrt a_i - sqrt b_i)² exactly;
    ``zeros`` eigenvalues of each are 0 (overlapping in half of them); ``close``: b = a (1 + close·noise)."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    a = rng.uniform(0.01, 2.0, d)
    if close is None:
        b = rng.uniform(0.01, 2.0, d)
        a[:zeros], b[zeros // 2:zeros // 2 + zeros] = 0.0, 0.0
        mu1, mu2 = 0.1 * rng.normal(size=d), 0.1 * rng.normal(size=d)
    else:
        b = a * (1 + close * rng.normal(size=d))
        a[:zeros], b[:zeros] = 0.0, 0.0
        mu1 = mu2 = np.zeros(d)
    exact = float((mu1 - mu2) @ (mu1 - mu2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2))
    return (mu1, (q * a) @ q.T, mu2, (q * b) @ q.T), exact


@pytest.mark.parametrize("d", [64, 512])
def test_eigenvalue_form_against_closed_forms(d):
    # Full rank (Cholesky path): round-off. Singular (both: eigh path): each zero eigenvalue of A S2 A
    # comes out as round-off of order eps·||S|| whose square root (~2e-8·sqrt||S||) enters the trace
    # (measured 1e-8–3e-8 relative at these FID-like distances, as scipy's sqrtm); not exact.
    # Bounds: ~30x the measured errors.
    for seed in range(2):
        args, exact = _commuting_case(d, 0, seed)
        assert frechet_distance(*args) == pytest.approx(exact, rel=1e-12)
        for zeros in (d // 4, d // 2):
            args, exact = _commuting_case(d, zeros, seed)
            rel = abs(frechet_distance(*args) - exact) / exact
            assert rel < 1e-6
            assert rel > 1e-11  # documented as not exact: if this starts failing, update the docstring
    # close Gaussians (d² ~ 0.01–0.1), half the eigenvalues 0: the same absolute error, larger relative
    args, exact = _commuting_case(d, d // 2, 0, close=0.05)
    assert abs(frechet_distance(*args) - exact) < 3e-8 * (d // 2) * 10


def _spy_eigh_path(monkeypatch):
    """Count calls of the eigh fallback (``_psd_sqrt``) of ``frechet_distance``."""
    from t2ibench.metrics import frechet as module

    calls = []
    real = module._psd_sqrt
    monkeypatch.setattr(module, "_psd_sqrt", lambda s: calls.append(s.shape) or real(s))
    return calls


def test_cholesky_factor_criterion():
    # numerically singular (leave the Cholesky path): n <= d samples, a constant feature, rank one
    from t2ibench.metrics.frechet import _cholesky_factor

    rng = np.random.default_rng(11)
    d = 64
    for n, positive_definite in ((d // 2, False), (d, False), (d + 1, True), (3 * d, True)):
        _, s = gaussian_statistics(rng.normal(size=(n, d)))
        factor = _cholesky_factor(s)
        assert (factor is not None) is positive_definite
        if positive_definite:
            np.testing.assert_allclose(factor @ factor.T, s, rtol=0, atol=1e-13)
    s = np.eye(d)
    s[5, 5] = 0.0
    assert _cholesky_factor(s) is None
    v = rng.normal(size=d)
    assert _cholesky_factor(np.outer(v, v)) is None
    # ill-conditioned but positive definite (eigenvalues down to 1e-15): pivots above round-off
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    assert _cholesky_factor((q * np.geomspace(1.0, 1e-15, d)) @ q.T) is not None


@pytest.mark.parametrize("d", [64, 512])
def test_one_singular_covariance_takes_the_cholesky_path_of_the_other(d, monkeypatch):
    # S1 singular: the roles swap (S2 S1 has the eigenvalues of S1 S2); S2 singular: L1^T S2 L1.
    # Measured 8e-9–3e-8 relative, as the eigh path and scipy's sqrtm on the same inputs.
    calls = _spy_eigh_path(monkeypatch)
    rng = np.random.default_rng(d)
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    for singular in (0, 1):
        a, b = rng.uniform(0.01, 2.0, d), rng.uniform(0.01, 2.0, d)
        (a if singular == 0 else b)[: d // 2] = 0.0
        mu1, mu2 = 0.1 * rng.normal(size=d), 0.1 * rng.normal(size=d)
        s1, s2 = (q * a) @ q.T, (q * b) @ q.T
        exact = float((mu1 - mu2) @ (mu1 - mu2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2))
        ours = frechet_distance(mu1, s1, mu2, s2)
        assert abs(ours - exact) / exact < 1e-6
        assert ours == pytest.approx(scipy_frechet(mu1, s1, mu2, s2), rel=1e-6)
        assert frechet_distance(mu2, s2, mu1, s1) == pytest.approx(ours, rel=1e-9)
    assert calls == []  # the eigh fallback was never needed
    # both singular: the eigh fallback
    _, s = gaussian_statistics(rng.normal(size=(d // 2, d)))
    frechet_distance(np.zeros(d), s, np.zeros(d), s)
    assert len(calls) == 1


def test_ill_conditioned_covariances_on_the_cholesky_path(monkeypatch):
    # positive definite down to eigenvalues of 1e-15 (relative): Cholesky path, round-off error
    # (measured <= 8e-12 relative; scipy's sqrtm 9e-12)
    calls = _spy_eigh_path(monkeypatch)
    d = 64
    rng = np.random.default_rng(12)
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    for cond in (1e-6, 1e-10, 1e-15):
        a, b = rng.permutation(np.geomspace(1.0, cond, d)), rng.uniform(0.01, 2.0, d)
        exact = float(np.sum((np.sqrt(a) - np.sqrt(b)) ** 2))
        assert frechet_distance(np.zeros(d), (q * a) @ q.T, np.zeros(d), (q * b) @ q.T) == pytest.approx(
            exact, rel=1e-10)
    assert calls == []


@pytest.mark.parametrize("n", [10, 40])
def test_singular_covariances_stay_finite(n):
    # N < d: rank-deficient sample covariances, where sqrtm(S1 S2) returns complex/NaN parts
    rng = np.random.default_rng(n)
    d = 64
    mu1, s1 = gaussian_statistics(rng.normal(size=(n, d)))
    mu2, s2 = gaussian_statistics(rng.normal(size=(n, d)) + 0.1)
    assert np.linalg.matrix_rank(s1) < d
    value = frechet_distance(mu1, s1, mu2, s2)
    assert np.isfinite(value) and value >= 0.0
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-6 * np.trace(s1))
    # exactly rank-one and zero covariances
    v = rng.normal(size=d)
    r1 = np.outer(v, v)
    assert frechet_distance(mu1, r1, mu1, r1) == pytest.approx(0.0, abs=1e-8 * (v @ v))
    assert frechet_distance(mu1, np.zeros((d, d)), mu2, np.zeros((d, d))) == pytest.approx(
        float((mu1 - mu2) @ (mu1 - mu2)), rel=1e-12)


def test_real_clip_statistics(shared_dir):
    """GR-GAN's released CLIP ViT-B/32 COCO statistics (512-d): image vs caption Gaussians."""
    base = shared_dir / "reference" / "grgan-cmd"
    img, txt = np.load(base / "image_feature.npz"), np.load(base / "sent_feature.npz")
    mu1, s1 = img["mu"].astype(np.float64), img["sigma"].astype(np.float64)
    mu2, s2 = txt["mu"].astype(np.float64), txt["sigma"].astype(np.float64)
    assert mu1.shape == (512,) and s1.shape == (512, 512)
    ours = frechet_distance(mu1, s1, mu2, s2)
    assert np.isfinite(ours) and ours > 0
    assert ours == pytest.approx(scipy_frechet(mu1, s1, mu2, s2), rel=1e-6)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-9 * np.trace(s1))


def test_gaussian_statistics_matches_numpy():
    x = np.random.default_rng(0).normal(size=(50, 8))
    mu, sigma = gaussian_statistics(torch.from_numpy(x).float())
    np.testing.assert_allclose(mu, x.mean(0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(sigma, np.cov(x, rowvar=False, ddof=1), rtol=1e-5, atol=1e-6)


def test_frechet_bad_inputs():
    mu, s = np.zeros(4), np.eye(4)
    with pytest.raises(ValueError, match="mu"):
        frechet_distance(np.zeros((4, 1)), s, mu, s)
    with pytest.raises(ValueError, match="sigma"):
        frechet_distance(mu, np.eye(3), mu, s)
    with pytest.raises(ValueError, match="sigma"):
        frechet_distance(mu, np.zeros(4), mu, s)
    with pytest.raises(ValueError, match="different dimensions"):
        frechet_distance(mu, s, np.zeros(5), np.eye(5))
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(np.array([0, 0, 0, np.nan]), s, mu, s)
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(mu, np.full((4, 4), np.inf), mu, s)
    with pytest.raises(ValueError, match="features"):
        gaussian_statistics(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="features"):
        gaussian_statistics(np.zeros(4))


# ----------------------------------------------------------------------------- KID

def numpy_kid(x, y, subsets, subset_size, seed, degree=3, gamma=None, coef0=1.0):
    """Bińkowski et al. 2018: polynomial kernel, unbiased MMD², subsets drawn as torch-fidelity draws them."""
    gamma = 1.0 / x.shape[1] if gamma is None else gamma
    rng = np.random.RandomState(seed)
    values = []
    for _ in range(subsets):
        a = x[rng.choice(len(x), subset_size, replace=False)]
        b = y[rng.choice(len(y), subset_size, replace=False)]
        kxx = (gamma * a @ a.T + coef0) ** degree
        kyy = (gamma * b @ b.T + coef0) ** degree
        kxy = (gamma * a @ b.T + coef0) ** degree
        m = subset_size
        mmd = ((kxx.sum() - np.trace(kxx)) + (kyy.sum() - np.trace(kyy))) / (m * (m - 1)) - 2 * kxy.mean()
        values.append(mmd)
    return float(np.mean(values)), float(np.std(values))


def test_kid_matches_numpy_formula():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(120, 32)), rng.normal(size=(90, 32)) * 1.1 + 0.2
    ours = kid(x, y, subsets=7, subset_size=50, seed=3)
    ref = numpy_kid(x, y, 7, 50, 3)
    assert ours[0] == pytest.approx(ref[0], rel=1e-9)
    assert ours[1] == pytest.approx(ref[1], rel=1e-9)
    # kernel parameters are passed through
    ours = kid(x, y, subsets=3, subset_size=40, degree=2, gamma=0.5, coef0=0.0, seed=1)
    assert ours[0] == pytest.approx(numpy_kid(x, y, 3, 40, 1, degree=2, gamma=0.5, coef0=0.0)[0], rel=1e-9)


def test_kid_default_seed_is_torch_fidelity_and_subset_size_is_clipped():
    from torch_fidelity.defaults import DEFAULTS

    assert TORCH_FIDELITY_RNG_SEED == DEFAULTS["rng_seed"]
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(60, 8)), rng.normal(size=(45, 8))
    # subset_size 1000 > 45 rows: clipped to min(N_fake, N_real) = 45, with a warning
    with pytest.warns(UserWarning, match="subset_size 1000 clipped to 45"):
        clipped = kid(x, y, subsets=4)
    assert clipped == pytest.approx(numpy_kid(x, y, 4, 45, TORCH_FIDELITY_RNG_SEED), rel=1e-9)
    assert kid(x, y, subsets=4, subset_size=45, seed=5) != kid(x, y, subsets=4, subset_size=45, seed=6)
    assert kid(x, y, subsets=4, subset_size=45, seed=5) == kid(torch.from_numpy(x), y, subsets=4, subset_size=45,
                                                               seed=5)


def test_kid_same_distribution_near_zero_and_shift_positive():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(400, 16)), rng.normal(size=(400, 16))
    same, _ = kid(x, y, subsets=20, subset_size=200)
    shifted, _ = kid(x, y + 1.0, subsets=20, subset_size=200)
    assert abs(same) < 0.02 < shifted


def test_kid_bad_inputs():
    x = np.zeros((10, 4))
    with pytest.raises(ValueError, match="features_fake"):
        kid(np.zeros((1, 4)), x)
    with pytest.raises(ValueError, match="features_real"):
        kid(x, np.zeros((10, 4, 1)))
    with pytest.raises(ValueError, match="dimension"):
        kid(x, np.zeros((10, 5)))
    with pytest.raises(ValueError, match="features_real"):
        kid(x, np.full((10, 4), np.nan))
    with pytest.raises(ValueError, match="subset_size"):
        kid(x, x, subset_size=1)
    with pytest.raises(TypeError, match="subsets"):
        kid(x, x, subsets=2.5)
    with pytest.raises(ValueError, match="gamma"):
        kid(x, x, gamma=-1.0)


def test_gaussian_sample_warnings():
    assert gaussian_sample_warnings(20000, 30000, 2048) == []
    notes = gaussian_sample_warnings(100, 30000, 2048, guidance=10000)
    assert len(notes) == 2 and "singular (rank at most 99 < 2048)" in notes[0]
    assert "FID at n=100 is biased upward" in notes[1] and "compare only at equal n" in notes[1]
    assert "30000" in notes[1]
    assert "real images" in gaussian_sample_warnings(20000, 500, 2048)[0]
    assert gaussian_sample_warnings(3000, 3000, 256, metric="CMD", guidance=10000)[0].startswith("CMD at n=3000")


def test_kid_subset_warnings():
    assert kid_subset_warnings(5000, 5000, 1000) == []
    clipped_only = kid_subset_warnings(500, 800, 1000)
    assert len(clipped_only) == 2 and "clipped to 500" in clipped_only[0]
    assert "all 500 generated images" in clipped_only[1] and "choice of real images" in clipped_only[1]
    same = kid_subset_warnings(79, 79, 1000)
    assert "every subset is the same set" in same[1] and "0 by construction" in same[1]
    assert kid_subset_warnings(1000, 1000, 1000) == [same[1].replace("79", "1000")]
    # the std really is 0 (up to round-off) when the subsets cover both sets
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 4)), rng.normal(size=(30, 4)) + 0.5
    mean, std = kid(x, y, subsets=5, subset_size=30)
    assert mean > 0 and std < 1e-12 * mean
