"""Fréchet distance between two Gaussians (the core of FID, CLIP-FID and GR-GAN's CMD).

Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule...", Eq. (6)::

    d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2})

The trace of the matrix square root is computed from eigenvalues instead of
``scipy.linalg.sqrtm``: ``S1 S2`` has real non-negative eigenvalues, those of a symmetric
positive semi-definite matrix ``M`` similar to it, so ``Tr (S1 S2)^{1/2} = sum_i sqrt(lambda_i(M))``:

* **Cholesky path** (positive-definite ``S1``): ``S1 = L L^T`` and ``M = L^T S2 L``
  (``L^{-1} S1 S2 L = L^T S2 L``). LAPACK's ``dpotrf`` (the factor), ``dsygst`` (``L^T S2 L``
  in ``d^3`` flops, a quarter of two matrix products) and one eigenvalues-only symmetric solve
  (``dsyevr``), all float64 through scipy's LAPACK: the floor of this computation. At d = 2048 on
  this project's 2-core machine: 0.92-0.97 s idle and beside two busy processes, 10.3-11x and 21-44x
  faster than ``np.real(scipy.linalg.sqrtm(S1 @ S2))`` over the committed runs of
  ``python -m t2ibench.perf`` (``leaderboards/perf/perf-default-cpu.md`` has the latest); the torch path it replaced (``cholesky``, two products,
  ``eigvalsh`` on MKL) took 1.1 s / 1.7 s when timed by hand. If ``S1`` is numerically singular and ``S2`` is
  not, the roles swap (``S1 S2`` and ``S2 S1`` have the same eigenvalues).
* **eigh path** (both numerically singular): ``A = S1^{1/2}`` from a symmetric eigendecomposition
  (negative round-off eigenvalues clipped to 0) and ``M = A S2 A``.

"Numerically singular" (the criterion for leaving the Cholesky path): the factorisation fails (a
pivot <= 0), or a pivot is within its own round-off, ``L_kk^2 <= d * eps * S_kk`` (Higham 2002,
*Accuracy and Stability of Numerical Algorithms*, Thm. 10.3: the computed factor is exact for
``S + dS`` with ``|dS_ij| <= gamma_{d+1} sqrt(S_ii S_jj)``, so such a pivot cannot be told from 0:
the feature is a linear combination of the previous ones up to round-off). Covariances of
``n <= d`` samples (rank ``n - 1``) and constant features always meet it. Both paths are backward
stable; tiny negative eigenvalues of ``M`` from round-off are clipped to 0 (where sqrtm would
return complex parts or need pytorch-fid's +eps*I retry).

Threads: every LAPACK call runs on one BLAS thread (:func:`t2ibench.metrics.threads.blas_threads`).
Timed by hand once at d = 2048 on 2 cores, idle / beside two busy processes: one thread 0.89 s / 1.0 s; two
threads for the factorisation and ``dsygst`` 0.76 s / 1.5-3.8 s; two threads throughout 0.54 s /
1.8 s. OpenBLAS's threads spin while they wait for each other, and on shared cores that costs
more than the second core brings (the same collapse makes ``sqrtm`` 3-4x slower there).

Accuracy, measured against closed forms (covariances sharing an eigenbasis, where
``Tr (S1 S2)^{1/2} = sum_i sqrt(a_i b_i)``; d = 64–2048; ``tests/test_frechet.py``):

* full rank: round-off, 1e-15–1e-12 relative;
* singular (a quarter to half of the eigenvalues 0, as for a covariance of n <= d
  samples): each zero eigenvalue of ``M`` comes out of ``eigvalsh`` as round-off of
  order eps·||S|| (eps = 2.2e-16), and its square root, about 2e-8·sqrt(||S||), enters the
  trace. That is 1e-8–3e-8 relative at FID-like distances (d² of 30–1,200), growing as d²
  shrinks (1e-6 at d² = 0.5, 4e-5 at d² = 0.01); ``scipy.linalg.sqrtm`` errs by the same
  amount on the same inputs (1.5e-8–3.3e-8 and 1e-6–5e-5). The same holds on the Cholesky
  path with one singular covariance.

:func:`gaussian_sample_warnings` words the two small-sample caveats of a Fréchet distance
between *fitted* Gaussians (singular covariance, small-sample bias) for the protocols.
"""
from __future__ import annotations

import numpy as np

from t2ibench import defaults
from t2ibench.metrics.threads import blas_threads
from t2ibench.validation import check_features


def _psd_sqrt(sigma: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(sigma)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def _cholesky_factor(sigma: np.ndarray) -> np.ndarray | None:
    """Lower Cholesky factor ``L`` (``L L^T = sigma``; LAPACK ``dpotrf``, upper triangle zero), or None
    when ``sigma`` is numerically singular: the factorisation fails or a pivot
    ``L_kk^2 <= d * eps * sigma_kk`` (module docstring)."""
    from scipy.linalg import lapack

    factor, info = lapack.dpotrf(sigma, lower=1, clean=1)
    if info != 0:
        return None
    d = sigma.shape[0]
    if bool((np.diag(factor) ** 2 <= d * np.finfo(np.float64).eps * np.diag(sigma)).any()):
        return None
    return factor


def _similar_psd(sigma1: np.ndarray, sigma2: np.ndarray) -> np.ndarray:
    """A symmetric PSD matrix with the eigenvalues of ``sigma1 @ sigma2`` (module docstring); its lower
    triangle is the one to read (``dsygst`` writes only that one)."""
    from scipy.linalg import lapack

    with blas_threads(1):
        for a, b in ((sigma1, sigma2), (sigma2, sigma1)):
            factor = _cholesky_factor(a)
            if factor is not None:
                middle, info = lapack.dsygst(b, factor, itype=2, lower=1)  # L^T b L
                if info != 0:
                    raise RuntimeError(f"LAPACK dsygst failed (info {info})")
                return middle
        root = _psd_sqrt(sigma1)
        return root @ sigma2 @ root


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
    from scipy.linalg import eigvalsh

    middle = _similar_psd(sigma1, sigma2)
    with blas_threads(1):
        eig = eigvalsh(middle, lower=True, driver="evr", check_finite=False, overwrite_a=True)  # dsyevr
    trace_sqrt = float(np.sqrt(np.clip(eig, 0.0, None)).sum())
    diff = mu1 - mu2
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt
    return float(max(value, 0.0))


def gaussian_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``[D]`` and unbiased covariance ``[D, D]`` (``np.cov`` convention, N-1) in float64."""
    x = check_features(features, "features", min_rows=2)
    return x.mean(axis=0), np.cov(x, rowvar=False)


def gaussian_sample_warnings(n_fake: int, n_real: int, dim: int, metric: str = "FID",
                             guidance: int | None = None) -> list[str]:
    """Sentences on a Fréchet distance between Gaussians fitted to ``n_fake`` and ``n_real`` samples in ``dim`` dims.

    * ``n <= dim`` (either set): the covariance of n samples has rank at most n - 1 < dim,
      so it is singular; the distance is still defined (eigenvalue form above) but the
      fitted Gaussian lives on an (n-1)-dimensional subspace.
    * ``n_fake < guidance`` (``None`` reads ``defaults.FID_GUIDANCE_IMAGES``): the estimate
      is biased upward, by roughly c/n with a c that depends on the generator (Chong &
      Forsyth 2020, "Effectively Unbiased FID and Inception Score and where to find them",
      CVPR), so values are comparable only at equal n; GR-GAN evaluates 30,000 COCO captions
      and HDGAN/StackGAN 30,000 images.

    Returns an empty list when neither applies.
    """
    guidance = defaults.FID_GUIDANCE_IMAGES if guidance is None else guidance
    notes = []
    for what, n in (("generated", n_fake), ("real", n_real)):
        if n <= dim:
            notes.append(f"the covariance of the {n} {what} images' {dim}-d features is singular (rank at most "
                         f"{n - 1} < {dim}): the Fréchet distance is still defined, but the Gaussian fitted to "
                         f"them is degenerate; use more than {dim} images")
    if n_fake < guidance:
        notes.append(f"{metric} at n={n_fake} is biased upward (small-sample bias, roughly c/n; Chong & Forsyth "
                     f"2020); compare only at equal n; the papers use 30000 (GR-GAN on COCO; "
                     f"the FID authors recommend at least {guidance}, defaults.FID_GUIDANCE_IMAGES)")
    return notes
