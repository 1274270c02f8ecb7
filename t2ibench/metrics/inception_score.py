"""Inception Score (Salimans et al. 2016, "Improved Techniques for Training GANs", Sec. 4).

    IS = exp( E_x KL( p(y|x) || p(y) ) ),   p(y) = E_x p(y|x)   (the paper's Sec. 4 formula)

computed per split (p(y) is the split's marginal) and reported as mean ± std over splits.

Split convention (libraries differ, DESIGN.md Sec. 3 "known traps"):

* default, ``shuffle_seed=TORCH_FIDELITY_RNG_SEED`` (2020): torch-fidelity's
  ``isc_features_to_metric`` — rows permuted with ``np.random.RandomState(seed).permutation(N)``,
  then split ``k`` is rows ``[k*N//splits, (k+1)*N//splits)``; std is the population std
  (``np.std``, ddof=0). Bit-for-bit the same splits as ``torch_fidelity.calculate_isc`` with its
  default ``rng_seed``.
* ``shuffle_seed=None``: contiguous splits in the given order, as the original OpenAI
  ``inception_score.py`` and StackGAN/AttnGAN's ``compute_inception_score`` (same
  ``i*N//splits`` boundaries, ``np.std`` with ddof=0).
* :func:`inception_score_stackgan` (metric ``is-stackgan``): StackGAN's released code, which also
  scores only whole batches of 64 (the last ``N mod 64`` images are dropped), then contiguous splits.

Degenerate splits (:func:`split_warnings`): the IS of a split of m images is at most m (the
exponent is the mutual information between image and label over the split, at most log m), so
a 1-image split has IS = 1 whatever the images; and one split over the whole set has std 0 by
construction, not an uncertainty.
"""
from __future__ import annotations

import numpy as np
from scipy.special import log_softmax

from t2ibench import defaults
from t2ibench.validation import check_features

#: torch-fidelity's default ``rng_seed`` (``torch_fidelity.defaults.DEFAULTS["rng_seed"]``), used by
#: its IS shuffle and its KID subset sampling; a test checks it against the installed torch-fidelity.
TORCH_FIDELITY_RNG_SEED = 2020

#: Rows count as probabilities when every entry is >= 0 and every row sums to 1 within this tolerance.
PROBABILITY_SUM_ATOL = 1e-3


def _looks_like_probabilities(x: np.ndarray) -> bool:
    return bool((x >= 0).all() and np.allclose(x.sum(axis=1), 1.0, rtol=0, atol=PROBABILITY_SUM_ATOL))


def inception_score(logits_or_probs, splits: int | None = None, *, from_logits: bool | None = None,
                    shuffle_seed: int | None = TORCH_FIDELITY_RNG_SEED) -> tuple[float, float]:
    """Inception Score ``(mean, std)`` over ``splits`` splits (Salimans et al. 2016, Sec. 4).

    Args:
        logits_or_probs: ``[N, K]`` class logits or class probabilities p(y|x) (numpy or torch).
        splits: number of splits; ``None`` reads ``defaults.IS_SPLITS`` (10) at call time.
            ``N >= splits`` is required.
        from_logits: ``True``: rows are logits (softmax applied); ``False``: rows are
            probabilities (must be >= 0 and sum to 1 within ``PROBABILITY_SUM_ATOL``; they are
            renormalised exactly); ``None`` (default): probabilities if they look like them,
            logits otherwise.
        shuffle_seed: ``TORCH_FIDELITY_RNG_SEED`` (default) shuffles rows as torch-fidelity
            does; ``None`` keeps contiguous splits (OpenAI / StackGAN code); any other int
            shuffles with ``np.random.RandomState(shuffle_seed).permutation``.

    Returns:
        ``(mean, std)`` as floats; std is the population std over splits (ddof=0).
        Computed in float64; 0·log 0 is taken as 0.
    """
    if splits is None:
        splits = defaults.IS_SPLITS
    if isinstance(splits, bool) or not isinstance(splits, (int, np.integer)):
        raise TypeError(f"splits: expected an int, got {type(splits).__name__}")
    if splits < 1:
        raise ValueError(f"splits: must be >= 1, got {splits}")
    if from_logits is not None and not isinstance(from_logits, bool):
        raise TypeError(f"from_logits: expected True, False or None, got {from_logits!r}")
    x = check_features(logits_or_probs, "logits_or_probs")
    if x.shape[0] < splits:
        raise ValueError(f"logits_or_probs: needs at least {splits} rows (one image per split, splits={splits}), "
                         f"got {x.shape[0]}")
    n = x.shape[0]

    if from_logits is None:
        from_logits = not _looks_like_probabilities(x)
    if from_logits:
        log_p = log_softmax(x, axis=1)
        p = np.exp(log_p)
    else:
        if not _looks_like_probabilities(x):
            raise ValueError(
                "logits_or_probs: from_logits=False but the rows are not probabilities "
                f"(need entries >= 0 and row sums within {PROBABILITY_SUM_ATOL} of 1; row sums span "
                f"[{x.sum(axis=1).min():.6g}, {x.sum(axis=1).max():.6g}], min entry {x.min():.6g})")
        p = x / x.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore"):
            log_p = np.log(p)

    if shuffle_seed is not None:
        perm = np.random.RandomState(shuffle_seed).permutation(n)
        p, log_p = p[perm], log_p[perm]

    scores = []
    for k in range(splits):
        lo, hi = k * n // splits, (k + 1) * n // splits
        pk, log_pk = p[lo:hi], log_p[lo:hi]
        with np.errstate(divide="ignore", invalid="ignore"):
            log_marginal = np.log(pk.mean(axis=0, keepdims=True))
            # p * (log p - log q), with 0 * log 0 = 0 (q > 0 wherever p > 0)
            terms = np.where(pk > 0, pk * (log_pk - log_marginal), 0.0)
        scores.append(float(np.exp(terms.sum(axis=1).mean())))
    return float(np.mean(scores)), float(np.std(scores))


def inception_score_stackgan(logits_or_probs, splits: int | None = None, batch_size: int | None = None, *,
                             from_logits: bool | None = None) -> tuple[float, float]:
    """Inception Score ``(mean, std)`` as StackGAN's released evaluation computes it (``is-stackgan``).

    hanzhanggit/StackGAN-inception-model ``inception_score.py`` (also DM-GAN's
    ``eval/IS/bird/inception_score_bird.py``), ``get_inception_score``: images go through the
    classifier in ``n_batches = floor(N / batch_size)`` batches of ``batch_size`` (64), so the last
    ``N mod batch_size`` images are never scored; the predictions are split into ``splits`` (10)
    contiguous parts ``[i*M//splits, (i+1)*M//splits)`` of the ``M = n_batches * batch_size``
    predictions; per part ``exp(mean_x sum_y p (log p - log mean_x p))``; mean and population std
    (``np.std``) over parts. Here: the first ``M`` rows in the given order
    (:func:`inception_score` with ``shuffle_seed=None``).

    Differences from the released code: it first permutes the images with an unseeded
    ``np.random.shuffle`` (so which ``N mod 64`` images are left out, and the split contents,
    change from run to run); here the order is the evaluation plan's, which is deterministic.
    It computes in float32 and a probability of exactly 0 gives ``nan`` there (0 · log 0); here
    float64 with 0 · log 0 = 0.

    Args: as :func:`inception_score`; ``splits`` ``None`` reads ``defaults.IS_SPLITS``,
    ``batch_size`` ``None`` reads ``defaults.IS_STACKGAN_BATCH_SIZE``. At least one full batch
    and ``splits`` rows must remain.
    """
    batch_size = defaults.IS_STACKGAN_BATCH_SIZE if batch_size is None else batch_size
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
    x = check_features(logits_or_probs, "logits_or_probs")
    used = len(x) - len(x) % batch_size
    if used == 0:
        raise ValueError(f"logits_or_probs: StackGAN's IS scores whole batches of {batch_size} only; {len(x)} rows "
                         f"make none")
    return inception_score(x[:used], splits, from_logits=from_logits, shuffle_seed=None)


def split_warnings(n: int, splits: int | None = None, min_split_size: int | None = None) -> list[str]:
    """Sentences on degenerate IS splits of ``n`` images into ``splits`` (``None``: ``defaults.IS_SPLITS``).

    Warns when the smallest split (``n // splits`` images, boundaries ``k*n//splits``) holds
    fewer than ``min_split_size`` (``None``: ``defaults.IS_MIN_SPLIT_SIZE``, 2) images, and
    when there is a single split (std 0 by construction). Empty when neither applies.
    """
    splits = defaults.IS_SPLITS if splits is None else int(splits)
    min_split_size = defaults.IS_MIN_SPLIT_SIZE if min_split_size is None else int(min_split_size)
    notes = []
    smallest = n // splits if splits >= 1 else n
    if smallest < min_split_size:
        notes.append(f"{n} images in {splits} splits leave splits of as few as {smallest} image(s): the IS of a "
                     f"split of m images is at most m (a 1-image split scores exactly 1), so the value measures the split "
                     f"size, not the images; use at least {min_split_size * splits} images")
    if splits == 1:
        notes.append(f"a single split covers all {n} images: the std is 0 by construction, not an uncertainty")
    return notes
