"""Kernel Inception Distance (Bińkowski et al. 2018, "Demystifying MMD GANs", Sec. 4 / Eq. (5)).

KID is the unbiased estimator of the squared MMD (Gretton et al. 2012, Eq. (3)) with the
polynomial kernel ``k(x, y) = (gamma <x, y> + coef0)^degree`` (the paper: degree 3, gamma 1/d,
coef0 1), averaged over random subsets:

    MMD²_u = 1/(m(m-1)) sum_{i!=j} k(x_i, x_j) + 1/(m(m-1)) sum_{i!=j} k(y_i, y_j) - 2/m² sum_{i,j} k(x_i, y_j)

The computation is torch-fidelity's own ``torch_fidelity.metric_kid.kid_features_to_metric``
(code adapted from the paper's ``MMD-GAN/gan/compute_scores.py``), called on the feature
arrays in float64: each of ``subsets`` rounds draws ``subset_size`` rows of each set without
replacement from one ``np.random.RandomState(seed)``; the result is the mean and the
population std (ddof=0) over subsets — the same numbers ``torch_fidelity.calculate_kid``
reports for the same features and ``rng_seed``. KID may be slightly negative for very similar
distributions (the estimator is unbiased).

Seed rule: :func:`kid` with ``seed=None`` uses torch-fidelity's default ``rng_seed`` (2020;
its other defaults are ``kid_subsets=100``, ``kid_subset_size=1000``, as
``defaults.KID_SUBSETS`` / ``defaults.KID_SUBSET_SIZE``), so it equals
``torch_fidelity.calculate_kid`` with its defaults on the same features. The evaluation
protocol (``t2ibench.protocols.KID``) instead draws the subsets from a generator seeded by the
*run* seed (``evaluate(seed=...)``, default 0): its value is not torch-fidelity's default KID
on the same features unless the run seed is 2020 and the subset count and size match (both
are unbiased estimates of the same MMD², so they differ by the subset-sampling noise).

Degenerate subsets (:func:`kid_subset_warnings`): with fewer than ``subset_size`` rows the size
is clipped, so the std over subsets describes smaller subsets than the default's and is not
comparable with it; when the subset size equals a set's size every subset holds that whole set
(drawn without replacement), and when it equals both, every subset is the same pair of sets, so
the std is 0 by construction (up to round-off) and not an uncertainty.
"""
from __future__ import annotations

import numpy as np
import torch

from t2ibench import defaults
from t2ibench.metrics.inception_score import TORCH_FIDELITY_RNG_SEED
from t2ibench.validation import check_features


def kid(features_fake, features_real, subsets: int | None = None, subset_size: int | None = None,
        degree: int = 3, gamma: float | None = None, coef0: float = 1.0,
        seed: int | None = None) -> tuple[float, float]:
    """KID ``(mean, std)`` between two feature sets ``[N_fake, D]`` and ``[N_real, D]``.

    Args:
        features_fake, features_real: feature arrays (numpy or torch), at least 2 rows each.
        subsets: number of random subsets; ``None`` reads ``defaults.KID_SUBSETS`` (100).
        subset_size: rows per subset; ``None`` reads ``defaults.KID_SUBSET_SIZE`` (1000).
            **Clipped** to ``min(subset_size, N_fake, N_real)`` with a ``UserWarning``
            (torch-fidelity would refuse instead); callers that report KID should report the
            effective size next to it and the sentences of :func:`kid_subset_warnings`, as the
            evaluation protocol does.
        degree, gamma, coef0: polynomial kernel; ``gamma=None`` means ``1 / D``.
        seed: seed of the subset sampling; ``None`` uses torch-fidelity's default ``rng_seed``
            (2020), so the value equals ``torch_fidelity.calculate_kid`` on the same features.

    Returns:
        ``(mean, std)`` floats over the subsets (std with ddof=0).

    Raises:
        ValueError: fewer than 2 rows in a set, different feature dimensions, NaN/Inf,
            non-positive subsets/subset_size/degree.
    """
    from torch_fidelity.metric_kid import kid_features_to_metric

    if subsets is None:
        subsets = defaults.KID_SUBSETS
    if subset_size is None:
        subset_size = defaults.KID_SUBSET_SIZE
    if seed is None:
        seed = TORCH_FIDELITY_RNG_SEED
    for name, v in (("subsets", subsets), ("subset_size", subset_size), ("degree", degree), ("seed", seed)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{name}: expected an int, got {type(v).__name__}")
    if subsets < 1 or subset_size < 2 or degree < 1:
        raise ValueError(f"subsets >= 1, subset_size >= 2 and degree >= 1 are required, "
                         f"got subsets={subsets}, subset_size={subset_size}, degree={degree}")
    if gamma is not None and not (np.isfinite(gamma) and gamma > 0):
        raise ValueError(f"gamma: must be a positive finite number or None, got {gamma!r}")
    if not np.isfinite(coef0):
        raise ValueError(f"coef0: must be finite, got {coef0!r}")
    fake = check_features(features_fake, "features_fake", min_rows=2)
    real = check_features(features_real, "features_real", min_rows=2)
    if fake.shape[1] != real.shape[1]:
        raise ValueError(f"features_fake and features_real must have the same dimension D, "
                         f"got {fake.shape[1]} and {real.shape[1]}")
    size = int(min(subset_size, fake.shape[0], real.shape[0]))
    if size < subset_size:
        import warnings

        warnings.warn(f"kid: subset_size {subset_size} clipped to {size} (n_fake={fake.shape[0]}, "
                      f"n_real={real.shape[0]})", UserWarning, stacklevel=2)
    out = kid_features_to_metric(
        torch.from_numpy(fake), torch.from_numpy(real),
        kid_subsets=int(subsets), kid_subset_size=size, kid_kernel="poly",
        kid_kernel_poly_degree=int(degree), kid_kernel_poly_gamma=gamma, kid_kernel_poly_coef0=coef0,
        rng_seed=int(seed), verbose=False)
    return float(out["kernel_inception_distance_mean"]), float(out["kernel_inception_distance_std"])


def kid_subset_warnings(n_fake: int, n_real: int, subset_size: int | None = None) -> list[str]:
    """Sentences on KID subsets of (requested) ``subset_size`` rows drawn from ``n_fake`` and ``n_real`` rows.

    ``subset_size=None`` reads ``defaults.KID_SUBSET_SIZE``. The effective size is
    ``m = min(subset_size, n_fake, n_real)``. Returns:

    * when ``m < subset_size``: the clipping, and that the std (not the unbiased mean) depends
      on the subset size, so it is comparable only at equal size;
    * when ``m == n_fake == n_real``: every subset is the same set, so the std is 0 by
      construction and not an uncertainty;
    * when ``m`` equals only one of them: every subset holds that whole set, so the std
      reflects only the sampling of the other set.
    """
    requested = defaults.KID_SUBSET_SIZE if subset_size is None else int(subset_size)
    m = int(min(requested, n_fake, n_real))
    notes = []
    if m < requested:
        notes.append(f"subset size clipped to {m} (the default is {requested}; n_fake={n_fake}, n_real={n_real}): "
                     f"the mean is still an unbiased MMD² estimate, but the std over subsets describes subsets of "
                     f"{m}, so compare it only at equal subset size (torch-fidelity would refuse this)")
    if m == n_fake == n_real:
        notes.append(f"each subset of {m} covers the whole set of {m} generated and {m} real images, so every "
                     f"subset is the same set: the std is 0 by construction, not an uncertainty")
    elif m in (n_fake, n_real):
        which, other = ("generated", "real") if m == n_fake else ("real", "generated")
        notes.append(f"each subset of {m} holds all {m} {which} images: the std over subsets reflects only the "
                     f"choice of {other} images, not the uncertainty of the {which} set")
    return notes
