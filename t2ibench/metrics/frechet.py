"""Fréchet distance between two Gaussians (the core of FID, CLIP-FID and GR-GAN's CMD).

Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule...", Eq. (6)::

    d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2})

The trace of the matrix square root is computed from eigenvalues instead of
``scipy.linalg.sqrtm``: ``S1 S2`` has real non-negative eigenvalues, those of a symmetric
positive semi-definite matrix ``M`` similar to it, so ``Tr (S1 S2)^{1/2} = sum_i sqrt(lambda_i(M))``:

* **Cholesky path** (positive-definite ``S1``): ``S1 = L L^T`` and ``M = L^T S2 L``
  (``L^{-1} S1 S2 L = L^T S2 L``). One Cholesky factorisation, two matrix products and one
  eigenvalues-only symmetric solve (``torch.linalg.eigvalsh``, float64): the floor of this
  computation. Measured at d = 2048 on a 2-core machine shared with other jobs (indicative):
  15x faster than ``np.real(scipy.linalg.sqrtm(S1 @ S2))`` with both at their default threads,
  34x with two busy-looping processes added (sqrtm's multi-threaded Schur form collapses on busy
  cores), 8x against sqrtm restricted to one BLAS thread; values equal to 6.5e-15 relative.
  LAPACK's ``dsygst`` would form ``L^T S2 L`` in a quarter of the flops (12x against one-thread
  sqrtm), but through scipy's OpenBLAS, whose threads cannot be limited at run time and which
  ran 1.7-5x slower than this path on busy cores. If ``S1`` is numerically singular and ``S2`` is
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
return complex parts or need pytorch-fid's +eps*I retry). The symmetric eigenvalue solve runs on
one intra-op thread (:func:`t2ibench.metrics.gaussian_window.single_thread`): its tridiagonal
reduction is a loop of memory-bound matrix-vector steps, each a synchronisation point, and with
two threads it ran 2-5x *slower* on two cores shared with other processes; the products and the
factorisation (BLAS-3, few synchronisation points) keep torch's threads.

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
import torch

from t2ibench import defaults
from t2ibench.metrics.gaussian_window import single_thread
from t2ibench.validation import check_features


def _psd_sqrt(sigma: torch.Tensor) -> torch.Tensor:
    w, v = torch.linalg.eigh(sigma)
    return (v * w.clamp_min(0.0).sqrt()) @ v.mT


def _cholesky_factor(sigma: torch.Tensor) -> torch.Tensor | None:
    """Lower Cholesky factor ``L`` (``L L^T = sigma``), or None when ``sigma`` is numerically
    singular: the factorisation fails or a pivot ``L_kk^2 <= d * eps * sigma_kk`` (module docstring)."""
    factor, info = torch.linalg.cholesky_ex(sigma)
    if int(info) != 0:
        return None
    d = sigma.shape[0]
    if bool((factor.diagonal() ** 2 <= d * torch.finfo(sigma.dtype).eps * sigma.diagonal()).any()):
        return None
    return factor


def _similar_psd(sigma1: torch.Tensor, sigma2: torch.Tensor) -> torch.Tensor:
    """A symmetric PSD matrix with the eigenvalues of ``sigma1 @ sigma2`` (module docstring)."""
    for a, b in ((sigma1, sigma2), (sigma2, sigma1)):
        factor = _cholesky_factor(a)
        if factor is not None:
            return factor.mT @ b @ factor
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
    middle = _similar_psd(torch.from_numpy(sigma1), torch.from_numpy(sigma2))
    with single_thread():
        eig = torch.linalg.eigvalsh(middle).clamp_min(0.0)
    trace_sqrt = float(eig.sqrt().sum())
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
