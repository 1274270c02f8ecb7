"""The papers' human-evaluation statistics and their bootstrap confidence intervals.

- **Rank-1 ratio** of generator g (pick criteria; KT-GAN Sec. IV-A / Table VI, CPGAN Sec. 4.3 /
  Table 2): ``#{(rater, caption): g picked} / #{(rater, caption) answered}``.
- **Mean rank ± std** of generator g (rank criteria; SDN Sec. 4.2 / Table 2): the mean and the
  sample standard deviation (n − 1 denominator) of the ranks g received over all answered
  (rater, caption) pairs; 1 is best. SDN does not say which std it prints.
- **Bootstrap confidence intervals**: both sources of variation are resampled, the captions and
  the raters (a two-way bootstrap of the crossed design: each resample draws ``C`` captions and
  ``R`` raters with replacement, and every answer of a drawn rater to a drawn caption enters with
  the product of their multiplicities); the interval is the percentile interval (2.5 % and 97.5 %
  quantiles) over the resamples. With one rater only the captions vary.
"""
from __future__ import annotations

import numpy as np


def rank1_ratio(picks: np.ndarray, n_generators: int) -> np.ndarray:
    """Per generator, the share of answered (rater, caption) pairs that picked it
    (``picks``: int ``[raters, captions]``, -1 unanswered). NaN when nothing was answered."""
    answered = picks >= 0
    total = answered.sum()
    counts = np.array([(picks == g).sum() for g in range(n_generators)], dtype=float)
    return counts / total if total else np.full(n_generators, np.nan)


def mean_rank(ranks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per generator, the mean and sample std of its ranks over the answered (rater, caption) pairs
    (``ranks``: ``[raters, captions, generators]``, NaN unanswered)."""
    flat = ranks.reshape(-1, ranks.shape[2])
    flat = flat[~np.isnan(flat).any(axis=1)]
    if len(flat) == 0:
        nan = np.full(ranks.shape[2], np.nan)
        return nan, nan.copy()
    std = flat.std(axis=0, ddof=1) if len(flat) > 1 else np.full(ranks.shape[2], np.nan)
    return flat.mean(axis=0), std


def _weights(rng: np.random.Generator, n: int, resamples: int) -> np.ndarray:
    """``[resamples, n]`` multiplicities of a draw of ``n`` out of ``n`` with replacement."""
    return rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(float)


def bootstrap_means(values: np.ndarray, answered: np.ndarray, resamples: int, rng: np.random.Generator,
                    ) -> np.ndarray:
    """``[resamples, G]`` weighted means of ``values`` (``[raters, captions, G]``, any value where
    not ``answered``) under a two-way resampling of raters and captions."""
    raters, captions, _ = values.shape
    v = np.where(answered[:, :, None], values, 0.0)
    m = answered.astype(float)
    wr = _weights(rng, raters, resamples) if raters > 1 else np.ones((resamples, 1))
    wc = _weights(rng, captions, resamples)
    num = np.einsum("br,brg->bg", wr, np.einsum("bc,rcg->brg", wc, v))
    den = np.einsum("br,br->b", wr, wc @ m.T)
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / den[:, None]


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> np.ndarray:
    """``[G, 2]``: the (1 − level)/2 and (1 + level)/2 quantiles of each column of ``samples``,
    ignoring resamples in which a value is undefined."""
    lo, hi = 100 * (1 - level) / 2, 100 * (1 + level) / 2
    return np.stack([np.nanpercentile(samples, lo, axis=0), np.nanpercentile(samples, hi, axis=0)], axis=1)


def bootstrap_rank1(picks: np.ndarray, n_generators: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``[G, 2]`` percentile 95 % interval of the rank-1 ratios."""
    onehot = (picks[:, :, None] == np.arange(n_generators)[None, None, :]).astype(float)
    return percentile_interval(bootstrap_means(onehot, picks >= 0, resamples, rng))


def bootstrap_mean_rank(ranks: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``[G, 2]`` percentile 95 % interval of the mean ranks."""
    answered = ~np.isnan(ranks).any(axis=2)
    return percentile_interval(bootstrap_means(np.nan_to_num(ranks), answered, resamples, rng))


__all__ = ["rank1_ratio", "mean_rank", "bootstrap_means", "percentile_interval", "bootstrap_rank1",
           "bootstrap_mean_rank"]
