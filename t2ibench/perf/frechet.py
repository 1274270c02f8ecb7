"""(a) Fréchet distance: ``t2ibench.metrics.frechet_distance`` vs ``np.real(scipy.linalg.sqrtm(s1 @ s2))``.

The peer is the form torch-fidelity (``metric_fid.fid_statistics_to_metric``), clean-fid and
pytorch-fid use: the trace of the matrix square root of ``S1 S2`` by ``scipy.linalg.sqrtm``
(Heusel et al. 2017, Eq. 6). Both get the same float64 statistics of random pool3-like features
(non-negative, correlated, skewed) of ``2 d`` rows each, so both covariances are full rank; the
relative difference of the two values is reported (target: 1e-6) beside the speed-up (target:
>= 10 at d = 2048).
"""
from __future__ import annotations

import numpy as np
import scipy.linalg

from t2ibench.metrics import frechet_distance, gaussian_statistics
from t2ibench.perf.rows import agreement, best_of, make_row
from t2ibench.perf.settings import TARGETS, TOLERANCES

PEER = "np.real(scipy.linalg.sqrtm(s1 @ s2)) (torch-fidelity/clean-fid/pytorch-fid form)"


def scipy_sqrtm_frechet(mu1, sigma1, mu2, sigma2) -> float:
    """The peer: ``|mu1 - mu2|^2 + tr S1 + tr S2 - 2 tr Re sqrtm(S1 S2)`` (float64)."""
    covmean = np.real(scipy.linalg.sqrtm(sigma1 @ sigma2))
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def random_statistics(rng: np.random.Generator, dim: int, n: int):
    """Mean and covariance of ``n`` pool3-like random features of width ``dim``."""
    mix = rng.normal(size=(dim, dim)) / np.sqrt(dim)
    feats = np.maximum(rng.normal(size=(n, dim)) @ mix + 0.3, 0.0)
    return gaussian_statistics(feats)


def measure(sizes: dict, device: str, seed: int, progress) -> list[dict]:
    """One row per dimension in ``sizes["frechet_dims"]``; the device is irrelevant (float64 NumPy)."""
    rows = []
    target = TARGETS["frechet"]
    for dim in sizes["frechet_dims"]:
        progress(f"frechet d={dim}: statistics")
        rng = np.random.default_rng([seed, dim])
        s1, s2 = random_statistics(rng, dim, 2 * dim), random_statistics(rng, dim, 2 * dim)
        progress(f"frechet d={dim}: t2ibench")
        t_ours, v_ours, _ = best_of(lambda: frechet_distance(*s1, *s2), sizes["frechet_repeats"])
        progress(f"frechet d={dim}: scipy sqrtm")
        t_peer, v_peer, _ = best_of(lambda: scipy_sqrtm_frechet(*s1, *s2), sizes["frechet_repeats"])
        case = f"d={dim}"
        rows.append(make_row("frechet", case, items=1, ours_name="t2ibench.metrics.frechet_distance",
                             ours_s=t_ours, peer_name=PEER, peer_s=t_peer,
                             target=target["ratio"] if case == target["case"] else None,
                             values=[agreement("frechet distance", v_ours, v_peer, **TOLERANCES["frechet"])]))
    return rows
