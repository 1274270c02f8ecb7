"""Agreement between a paper's reported values and t2ibench's measured values of one table.

On ``shapes`` the measured values are not comparable in size with the papers' CUB/COCO values,
so a table reports two kinds of agreement instead of differences:

1. **Rank agreement per column** (every table): Kendall's τ-b between the reported and the
   measured values of the rows that have both, for each reported dataset column of a metric
   (the one measurement on the run's dataset is compared with each reported dataset separately).
   With C concordant and D discordant pairs of rows, and T_r, T_m the pairs tied only in the
   reported / only in the measured values (n₀ = n(n−1)/2 pairs in all),

       τ_b = (C − D) / sqrt((C + D + T_r) · (C + D + T_m))

   (Kendall 1945; ``scipy.stats.kendalltau(variant="b")``; without ties τ_b = (C − D) / n₀).
   τ = 1: the same order; −1: reversed; 0: unrelated. Undefined (NaN, with the reason) when fewer
   than 2 rows have both values or when either side is constant. The p-value is scipy's two-sided
   test of τ = 0 (exact for small n without ties) — with 3–14 rows it is weak evidence at best.

2. **Direction of changes** (ablation and hyper-parameter tables): for every row r with a base row b
   (:attr:`~.specs.RowSpec.base`), per column and reported dataset, the reported change
   Δ_rep = rep(r) − rep(b) and the measured change Δ_meas = meas(r) − meas(b), each read through the
   metric's direction as "better" (Δ > 0 for ↑, Δ < 0 for ↓), "worse", or "same" (Δ = 0; the measured
   side may be given a tolerance). They *match* when both say "better" or both "worse". A change the
   paper reports as "same" claims no direction and is not counted; a change without a value on either
   side is not counted. Summary: the share k/n of matching changes among the n counted.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from t2ibench.tables.cells import directions, measured_cells, reported_cells
from t2ibench.tables.specs import TableSpec


def _r(x: float | None, nd: int = 10) -> float | None:
    """``x`` rounded to ``nd`` decimals (None for NaN/None): stable, readable JSON."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    v = round(float(x), nd)
    return 0.0 if v == 0 else v


def kendall_tau(reported: Sequence[float], measured: Sequence[float]) -> tuple[float, float, int, str]:
    """Kendall's τ-b between paired values, over the pairs where both are finite.

    Returns ``(tau, p_value, n, reason)``: ``n`` the number of pairs used; ``tau`` and ``p_value`` NaN
    with ``reason`` saying why when n < 2 or one side is constant, ``reason`` ``""`` otherwise.
    """
    x = np.asarray(reported, dtype=float)
    y = np.asarray(measured, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"kendall_tau: expected two 1-d sequences of equal length, got {x.shape} and {y.shape}")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    n = int(len(x))
    if n < 2:
        return math.nan, math.nan, n, f"fewer than 2 rows have both a reported and a measured value (n = {n})"
    if np.all(x == x[0]):
        return math.nan, math.nan, n, f"the reported values of the {n} rows are all equal"
    if np.all(y == y[0]):
        return math.nan, math.nan, n, f"the measured values of the {n} rows are all equal"
    res = stats.kendalltau(x, y, variant="b")
    return float(res.statistic), float(res.pvalue), n, ""


def verdict(change: float | None, direction: str, tol: float = 0.0) -> str | None:
    """A change read through a metric's direction: "better", "worse" or "same" (|change| ≤ ``tol``);
    None when the change is unknown. ``direction``: "↑" (higher is better) or "↓"."""
    if change is None or math.isnan(change):
        return None
    if direction not in ("↑", "↓"):
        raise ValueError(f"direction {direction!r} is neither ↑ nor ↓")
    if abs(change) <= tol:
        return "same"
    return "better" if (change > 0) == (direction == "↑") else "worse"


@dataclass(frozen=True)
class ColumnAgreement:
    """Kendall τ-b of one column against one reported dataset column: ``tau``/``p_value`` None when
    undefined (``reason`` says why), ``n`` rows used, ``rows`` their labels."""

    column: str
    dataset: str
    tau: float | None
    p_value: float | None
    n: int
    rows: tuple[str, ...]
    reason: str = ""


@dataclass(frozen=True)
class Change:
    """One row's change against its base row, in one column and reported dataset (paper's units).
    ``match``: True/False, or None when not counted (``reason`` says why)."""

    row: str
    base: str
    column: str
    dataset: str
    direction: str
    reported_change: float | None
    measured_change: float | None
    reported: str | None
    measured: str | None
    match: bool | None
    reason: str = ""


@dataclass(frozen=True)
class Agreement:
    """The agreement figures of one table: τ per (column, dataset); for ablation and hyper-parameter
    tables the changes against the base rows, ``matches`` of ``counted``, ``share`` = matches / counted
    (None when nothing is counted)."""

    table: str
    columns: tuple[ColumnAgreement, ...]
    changes: tuple[Change, ...] = ()
    matches: int = 0
    counted: int = 0
    same_tol: float = 0.0

    @property
    def share(self) -> float | None:
        return self.matches / self.counted if self.counted else None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["share"] = self.share
        return d


def _datasets_of(spec: TableSpec, rep: Mapping) -> dict[str, list[str]]:
    """Per metric id, the reported datasets that have it, in the spec's dataset order."""
    return {c.metric_id: [d for d in spec.datasets if any(k[1] == c.metric_id and k[2] == d for k in rep)]
            for c in spec.columns}


def table_agreement(spec: TableSpec, reported: pd.DataFrame, measured: Mapping, same_tol: float = 0.0) -> Agreement:
    """The agreement figures of ``spec`` (see the module docstring).

    Args:
        spec: the table's spec.
        reported: :func:`t2ibench.reported.load_reported` of ``spec.id``.
        measured: ``{(row label, metric id): (mean, std) | None}`` in t2ibench units (as
            :func:`.cells.measured_cells` takes it).
        same_tol: a measured change with |Δ| ≤ ``same_tol`` (paper's unit) reads as "same".
    """
    rep = reported_cells(spec, reported)
    meas = measured_cells(spec, measured)
    arrows = directions(spec, reported)
    per_metric = _datasets_of(spec, rep)

    columns = []
    for c in spec.columns:
        for d in per_metric[c.metric_id]:
            if not c.scored or (c.is_human and not any(meas[(r.label, c.metric_id)].ok for r in spec.rows)):
                columns.append(ColumnAgreement(c.metric_id, d, None, None, 0, (), c.reason))
                continue
            labels, xs, ys = [], [], []
            for r in spec.rows:
                x = rep.get((r.label, c.metric_id, d), (math.nan,))[0]
                m = meas[(r.label, c.metric_id)]
                if math.isfinite(x) and m.ok:
                    labels.append(r.label)
                    xs.append(x)
                    ys.append(m.value)
            tau, p, n, reason = kendall_tau(xs, ys)
            columns.append(ColumnAgreement(c.metric_id, d, _r(tau), _r(p), n, tuple(labels), reason))

    changes = []
    for r in spec.rows:
        if r.base is None:
            continue
        for c in spec.columns:
            if not c.scored:
                continue
            arrow = arrows[c.metric_id]
            for d in per_metric[c.metric_id]:
                if c.gain_of is not None and c.gain_of[1] == r.base:
                    # a gain over the base row is itself the change against it
                    d_rep = rep.get((r.label, c.metric_id, d), (math.nan,))[0]
                else:
                    d_rep = (rep.get((r.label, c.metric_id, d), (math.nan,))[0]
                             - rep.get((r.base, c.metric_id, d), (math.nan,))[0])
                m_row, m_base = meas[(r.label, c.metric_id)], meas[(r.base, c.metric_id)]
                if c.gain_of is not None and c.gain_of[1] == r.base:
                    d_meas = m_row.value if m_row.ok else math.nan
                else:
                    d_meas = m_row.value - m_base.value if m_row.ok and m_base.ok else math.nan
                v_rep, v_meas = verdict(d_rep, arrow), verdict(d_meas, arrow, same_tol)
                if v_rep is None:
                    match, reason = None, "no reported change (a value is missing)"
                elif v_meas is None:
                    match, reason = None, f"no measured change ({m_row.status or m_base.status or 'missing'})"
                elif v_rep == "same":
                    match, reason = None, "the paper reports no change: no direction to reproduce"
                else:
                    match, reason = v_rep == v_meas, ""
                changes.append(Change(r.label, r.base, c.metric_id, d, arrow, _r(d_rep), _r(d_meas), v_rep, v_meas,
                                      match, reason))
    counted = [ch for ch in changes if ch.match is not None]
    return Agreement(spec.id, tuple(columns), tuple(changes), sum(ch.match for ch in counted), len(counted),
                     float(same_tol))


__all__ = ["kendall_tau", "verdict", "ColumnAgreement", "Change", "Agreement", "table_agreement"]
