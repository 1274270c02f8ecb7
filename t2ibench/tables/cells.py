"""The cells of one table: reported values from the transcription, measured values from the benchmark.

Both are looked up here once, so that the rendering (:mod:`.render`) and the agreement figures
(:mod:`.agreement`) read the same numbers.

- **Reported**: ``reported_cells(spec, df)`` → ``{(row label, metric id, dataset): (value, pm)}`` from
  :func:`t2ibench.reported.load_reported`'s DataFrame (floats as printed, NaN where the paper prints a
  dash or blank; a cell the paper does not have at all is absent).
- **Measured**: the benchmark passes ``{(row label, metric id): (mean, std) | None}`` in t2ibench's own
  units (the result entry's :attr:`~.specs.ColumnSpec.field`, a share for Rank-1 and R-precision);
  ``measured_cells`` validates the keys, scales to the paper's unit (``ColumnSpec.scale``), computes
  gain columns (``ColumnSpec.gain_of``) and gives every cell a :class:`Measured` with either a value or
  the reason there is none (:data:`NOT_IN_ZOO`, ...).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd

from t2ibench.tables.specs import TableSpec, cells

#: Measured-cell statuses shown instead of a number.
NOT_IN_ZOO = "not in zoo"          # the row maps to no generator
HUMAN = "human rating"             # the column is rated by people (t2ibench human-sheet)
NO_PROTOCOL = "no protocol"        # t2ibench has no protocol for the column (the caption says why)
NOT_APPLICABLE = "n/a"             # this row's cell cannot be measured (RowSpec.unmeasured says why)
NOT_MEASURED = "not measured"      # measurable, but the benchmark passed no value (None, NaN or absent)
MISSING = "—"                      # a reported cell the paper leaves blank or does not have


@dataclass(frozen=True)
class Measured:
    """One measured cell in the paper's unit: ``value`` ± ``std`` (``std`` None when there is none), or
    ``value`` None and ``status`` saying why."""

    value: float | None
    std: float | None = None
    status: str = ""

    @property
    def ok(self) -> bool:
        return self.value is not None


def reported_cells(spec: TableSpec, reported: pd.DataFrame) -> dict[tuple[str, str, str], tuple[float, float]]:
    """``{(row, metric id, dataset): (value, pm)}`` of the reported table (NaN for blank).

    ``ValueError`` when the DataFrame holds a row label or metric id that the spec does not have
    (the spec and the transcription disagree)."""
    labels = {r.label for r in spec.rows}
    metric_ids = {c.metric_id for c in spec.columns}
    out = {}
    for row, metric, dataset, value, pm in zip(reported["row"], reported["metric"], reported["dataset"],
                                               reported["value"], reported["pm"]):
        if row not in labels or metric not in metric_ids:
            raise ValueError(f"{spec.id}: reported cell ({row!r}, {metric!r}) is not in the table spec "
                             f"(rows {sorted(labels)}, columns {sorted(metric_ids)})")
        out[(row, metric, dataset)] = (float(value), float(pm))
    return out


def directions(spec: TableSpec, reported: pd.DataFrame) -> dict[str, str]:
    """``{metric id: "↑" | "↓"}`` from the reported data (a gain column: ↑, more gain is better)."""
    out: dict[str, str] = {}
    for metric, arrow in zip(reported["metric"], reported["direction"]):
        if out.setdefault(metric, arrow) != arrow:
            raise ValueError(f"{spec.id}: metric {metric!r} has both directions in the reported data")
    for c in spec.columns:
        out.setdefault(c.metric_id, "↑" if c.gain_of else "")
    return out


def units(spec: TableSpec, reported: pd.DataFrame) -> dict[str, str]:
    """``{metric id: unit}`` from the reported data (``%``, ``fraction``, ``score``)."""
    out = dict(zip(reported["metric"], reported["unit"]))
    return {c.metric_id: out.get(c.metric_id, "score") for c in spec.columns}


def _pair(key, v) -> tuple[float, float | None] | None:
    """A measured entry as ``(mean, std)``; None for None or a NaN mean."""
    if v is None:
        return None
    if isinstance(v, (int, float)):
        mean, std = v, None
    else:
        try:
            mean, std = v
        except (TypeError, ValueError):
            raise ValueError(f"measured {key}: expected (mean, std), a number or None, got {v!r}") from None
    if mean is None or math.isnan(float(mean)):
        return None
    std = None if std is None or math.isnan(float(std)) else float(std)
    return float(mean), std


def measured_cells(spec: TableSpec, measured: Mapping[tuple[str, str], object]) -> dict[tuple[str, str], Measured]:
    """Every (row, metric id) cell of ``spec`` as a :class:`Measured`, in the paper's unit.

    ``measured`` maps ``(row label, metric id)`` to ``(mean, std)`` (std may be None), a bare number,
    or None, in t2ibench's units (a human-rated cell of a row with a generator: the raters' score, a share for
    a rank-1 ratio, :mod:`.human_scores`). ``ValueError`` for a key that is not a measurable cell of the spec
    (unknown row or column, a row without generator, a column without protocol, a gain column — it is
    computed — or a row's unmeasured cell), so that a wiring mistake cannot pass silently.

    A gain column's value is ``m(row) − m(reference row)`` of its source column (0 for the reference
    row itself); its std is ``sqrt(s_row² + s_ref²)`` (independent estimates) when both are given.
    """
    measurable = {(c.row, c.metric_id) for c in cells(spec)} | set(human_keys(spec))
    for key in measured:
        if key not in measurable:
            raise ValueError(f"{spec.id}: measured {key!r} is not a measurable cell of the table; "
                             f"measurable: {sorted(measurable)}")
    raw = {k: _pair(k, v) for k, v in measured.items()}
    out: dict[tuple[str, str], Measured] = {}
    for r in spec.rows:
        for c in spec.columns:
            key = (r.label, c.metric_id)
            if c.protocol is None:
                v = raw.get(key) if c.is_human else None
                out[key] = (Measured(None, status=HUMAN if c.is_human else NO_PROTOCOL) if v is None else
                            Measured(v[0] * c.scale, None if v[1] is None else v[1] * c.scale))
            elif r.generator is None:
                out[key] = Measured(None, status=NOT_IN_ZOO)
            elif c.metric_id in r.unmeasured:
                out[key] = Measured(None, status=NOT_APPLICABLE)
            elif c.gain_of is not None:
                source, reference = c.gain_of
                own, ref = raw.get((r.label, source)), raw.get((reference, source))
                if own is None or ref is None:
                    out[key] = Measured(None, status=NOT_MEASURED)
                elif r.label == reference:
                    out[key] = Measured(0.0, None)
                else:
                    std = math.hypot(own[1], ref[1]) if own[1] is not None and ref[1] is not None else None
                    out[key] = Measured((own[0] - ref[0]) * c.scale, None if std is None else std * c.scale)
            else:
                v = raw.get(key)
                out[key] = (Measured(None, status=NOT_MEASURED) if v is None else
                            Measured(v[0] * c.scale, None if v[1] is None else v[1] * c.scale))
    return out


def human_keys(spec: TableSpec) -> list[tuple[str, str]]:
    """The ``(row label, metric id)`` cells of ``spec`` that human raters' scores fill: rows with a
    generator (no load options: a rating sheet shows each generator's final images) × human columns."""
    return [(r.label, c.metric_id) for r in spec.rows if r.generator is not None and not r.options
            for c in spec.columns if c.is_human]


def collect_measured(spec: TableSpec, lookup: Callable[[str, dict, str], Mapping | None]) -> dict:
    """The measured mapping of ``spec`` from evaluation results.

    ``lookup(generator, options, protocol)`` returns the metric's result entry
    (``EvalResult.metrics[protocol]``: ``{"value": ..., "std": ..., ...}``) for that evaluation, or None
    when it was not run. Each cell reads its column's ``field`` and ``std_field``."""
    out = {}
    for c in cells(spec):
        entry = lookup(c.generator, c.options, c.protocol)
        if entry is None or entry.get(c.field) is None:
            out[(c.row, c.metric_id)] = None
            continue
        std = entry.get(c.std_field) if c.std_field else None
        out[(c.row, c.metric_id)] = (float(entry[c.field]), None if std is None else float(std))
    return out


__all__ = ["NOT_IN_ZOO", "HUMAN", "NO_PROTOCOL", "NOT_APPLICABLE", "NOT_MEASURED", "MISSING", "Measured",
           "reported_cells", "directions", "units", "measured_cells", "human_keys", "collect_measured"]
