"""Fréchet distance between two Gaussians (the core of FID, CLIP-FID and GR-GAN's CMD).

Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule...", Eq. (6)::

    d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2})

The trace of the matrix square root is computed from eigenvalues instead of
``scipy.linalg.sqrtm``: with ``A = S1^{1/2}`` (symmetric, from ``eigh``),
``A S2 A`` is symmetric positive semi-definite and has the same eigenvalues as
``S1 S2``, so ``Tr (S1 S2)^{1/2} = sum_i sqrt(lambda_i(A S2 A))``. Two symmetric
eigendecompositions in float64 replace a Schur-based sqrtm: faster, and exact for
singular or near-singular covariances (tiny negative eigenvalues from round-off are
clipped to 0, where sqrtm would return complex parts or need the +eps*I retry of
pytorch-fid).
"""
from __future__ import annotations

import numpy as np

from t2ibench.validation import check_features


def _psd_sqrt(sigma: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(sigma)
    w = np.clip(w, 0.0, None)
    return (v * np.sqrt(w)) @ v.T


def _check_gaussian(mu, sigma, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate the ``k``-th Gaussian (arguments ``mu{k}``, ``sigma{k}``); float64 mean and symmetrised covariance."""
    mu = np.asarray(mu, dtype=np.float64)
    if mu.ndim != 1:
        raise ValueError(f"mu{k}: expected a 1-d mean [D], got shape {mu.shape}")
    sigma = check_features(sigma, f"sigma{k}")
    if sigma.shape != (mu.shape[0], mu.shape[0]):
        raise ValueError(f"sigma{k}: expected a [D, D] covariance with D = len(mu{k}) = {mu.shape[0]}, "
                         f"got shape {sigma.shape}")
    if not np.isfinite(mu).all():
        raise ValueError(f"mu{k}: contains NaN or Inf values")
    return mu, (sigma + sigma.T) / 2.0


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Squared Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2), in float64.

    mu: ``[D]``; sigma: ``[D, D]`` symmetric positive semi-definite (singular is fine).
    Returns a float >= 0 (clipped at 0 against round-off).
    """
    mu1, sigma1 = _check_gaussian(mu1, sigma1, 1)
    mu2, sigma2 = _check_gaussian(mu2, sigma2, 2)
    if mu1.shape != mu2.shape:
        raise ValueError(f"mu1 and mu2: the two Gaussians have different dimensions: {mu1.shape[0]} and "
                         f"{mu2.shape[0]}")
    root1 = _psd_sqrt(sigma1)
    middle = root1 @ sigma2 @ root1
    eig = np.clip(np.linalg.eigvalsh((middle + middle.T) / 2.0), 0.0, None)
    diff = mu1 - mu2
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.sqrt(eig).sum()
    return float(max(value, 0.0))


def gaussian_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``[D]`` and unbiased covariance ``[D, D]`` (``np.cov`` convention, N-1) in float64."""
    x = check_features(features, "features", min_rows=2)
    return x.mean(axis=0), np.cov(x, rowvar=False)
