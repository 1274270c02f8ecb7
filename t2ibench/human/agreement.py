"""Inter-rater agreement: Kendall's W (with the tie correction) and Krippendorff's α.

**Kendall's coefficient of concordance W** (Kendall & Babington Smith 1939; the tie-corrected
form of Kendall & Gibbons, *Rank Correlation Methods*, 1990, and Siegel & Castellan,
*Nonparametric Statistics*, 1988, Eq. 9.16). ``m`` judges rank the same ``n`` objects (ties get
their mid-rank); ``R_i`` is the sum of object ``i``'s ranks::

    W = 12 S / (m² (n³ − n) − m Σ_j T_j),   S = Σ_i (R_i − m (n + 1) / 2)²,
    T_j = Σ_g (t_g³ − t_g) over the groups of t_g tied ranks of judge j.

W is 1 when every judge gives the same ranking and 0 when the rank sums are all equal. It relates
to the mean Spearman correlation over pairs of judges: r̄_s = (m W − 1) / (m − 1); when judges
rank at random its expectation is 1/m (it is not corrected for chance; α is).

**Krippendorff's α** (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability", and
*Content Analysis*, 4th ed. 2019, Ch. 12): coders assign values to units, any coder may skip a
unit. From the coincidence matrix of the values in units coded at least twice::

    o_ck = Σ_u (number of ordered pairs of values (c, k) in unit u) / (m_u − 1),
    n_c = Σ_k o_ck,  n = Σ_c n_c,
    α = 1 − (n − 1) Σ_{c,k} o_ck δ²_ck / Σ_{c,k} n_c n_k δ²_ck,

with the difference δ²_ck of the level of measurement: nominal ``[c ≠ k]``, interval ``(c − k)²``,
ordinal ``(Σ_{g=c..k} n_g − (n_c + n_k) / 2)²`` (values in their order, g running over the values
from c to k). α = 1 is perfect agreement, α = 0 agreement at chance level.

Implemented here (a few lines of numpy) rather than depending on a package; checked in the tests
against Krippendorff's (2011) worked example C (4 observers, 12 units: nominal 0.743, ordinal
0.815, interval 0.849).
"""
from __future__ import annotations

import math

import numpy as np


def _tie_term(ranks: np.ndarray) -> float:
    """Σ_g (t_g³ − t_g) over the groups of equal values of one judge's ranks."""
    _, counts = np.unique(ranks, return_counts=True)
    return float(np.sum(counts.astype(float) ** 3 - counts))


def kendall_w(ranks) -> float:
    """Kendall's W of ``ranks`` (``[m judges, n objects]``, each row a ranking 1..n with ties as
    mid-ranks), tie-corrected. NaN when it is undefined: fewer than two judges or objects, or every
    judge ties every object."""
    r = np.asarray(ranks, dtype=float)
    if r.ndim != 2:
        raise ValueError(f"ranks: expected a [judges, objects] array, got shape {r.shape}")
    m, n = r.shape
    if m < 2 or n < 2:
        return math.nan
    if np.isnan(r).any():
        raise ValueError("ranks: every judge must rank every object (no missing values)")
    s = float(np.sum((r.sum(axis=0) - m * (n + 1) / 2) ** 2))
    denominator = m * m * (n ** 3 - n) - m * sum(_tie_term(row) for row in r)
    return math.nan if denominator <= 0 else 12 * s / denominator


def krippendorff_alpha(data, level: str = "ordinal") -> float:
    """Krippendorff's α of ``data`` (``[coders, units]``, NaN where a coder did not code a unit) at
    ``level`` ``nominal``, ``ordinal`` or ``interval``. NaN when undefined: no unit coded twice, or
    a single value in all pairable data (no expected disagreement)."""
    if level not in ("nominal", "ordinal", "interval"):
        raise ValueError(f"level: expected nominal, ordinal or interval, got {level!r}")
    x = np.asarray(data, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"data: expected a [coders, units] array, got shape {x.shape}")
    values = np.unique(x[~np.isnan(x)])
    if len(values) == 0:
        return math.nan
    # value counts per unit: [units, values]
    counts = np.stack([(x == v).sum(axis=0) for v in values], axis=1).astype(float)
    m_u = counts.sum(axis=1)
    pairable = m_u >= 2
    if not pairable.any():
        return math.nan
    c = counts[pairable]
    # ordered pairs of values within a unit (c_u c_uᵀ minus each value paired with itself), / (m_u − 1)
    pairs = c[:, :, None] * c[:, None, :] - c[:, :, None] * np.eye(len(values))[None]
    o = (pairs / (m_u[pairable] - 1)[:, None, None]).sum(axis=0)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    if level == "nominal":
        delta2 = 1.0 - np.eye(len(values))
    elif level == "interval":
        delta2 = (values[:, None] - values[None, :]) ** 2
    else:
        cum = np.concatenate([[0.0], np.cumsum(n_c)])  # cum[i] = n_0 + ... + n_{i-1}
        lo = np.minimum.outer(np.arange(len(values)), np.arange(len(values)))
        hi = np.maximum.outer(np.arange(len(values)), np.arange(len(values)))
        between = cum[hi + 1] - cum[lo]  # Σ_{g=lo..hi} n_g
        delta2 = (between - (n_c[:, None] + n_c[None, :]) / 2) ** 2
    expected = float(np.sum(np.outer(n_c, n_c) * delta2))
    if expected == 0:
        return math.nan
    observed = float(np.sum(o * delta2))
    return 1.0 - (n - 1) * observed / expected


__all__ = ["kendall_w", "krippendorff_alpha"]
