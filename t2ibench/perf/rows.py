"""One row of the perf table (a dict, JSON-ready), how it is timed, and how values are compared.

A row: ``measurement``, ``case``, ``device``, ``load`` (``"idle"``/``"loaded"``), ``items`` (images,
pairs or 1 per timed call), ``ours`` and ``peer`` (``{"name", "seconds", "per_s"}``; ``peer`` is
``None`` where there is none), ``ratio`` (speed-up: peer seconds / our seconds), ``target``
(the ratio to reach, or ``None``), ``passed`` (``ratio >= target``; ``None`` without a target),
``values`` (one :func:`agreement` per compared number), ``extra`` (measurement-specific numbers)
and ``skipped`` (why the row did not run; then nothing else is filled in).
"""
from __future__ import annotations

import math
import time


def best_of(fn, repeats: int = 1, budget_s: float = math.inf):
    """``(best wall seconds, last return value, calls made)`` of up to ``repeats`` calls of ``fn()``,
    stopping early once the calls together took ``budget_s`` seconds (at least one call is made):
    a peer that collapses under the competing load is then timed fewer times instead of for minutes."""
    if repeats < 1:
        raise ValueError(f"repeats: must be >= 1, got {repeats}")
    best, value, spent, calls = math.inf, None, 0.0, 0
    while calls < repeats and (calls == 0 or spent < budget_s):
        t0 = time.perf_counter()
        value = fn()
        elapsed = time.perf_counter() - t0
        best, spent, calls = min(best, elapsed), spent + elapsed, calls + 1
    return best, value, calls


def relative_difference(ours: float, peer: float) -> float:
    """``|ours - peer| / |peer|`` (``|ours - peer|`` when ``peer`` is 0)."""
    d = abs(float(ours) - float(peer))
    return d / abs(float(peer)) if peer else d


def agreement(metric: str, ours: float, peer: float, rtol: float = 0.0, atol: float = 0.0,
              se: float | None = None, note: str | None = None) -> dict:
    """Whether two values of ``metric`` agree: ``|ours - peer| <= max(atol, rtol * |peer|)``, or,
    with ``se`` (a tolerance in standard errors, for estimates whose random draws differ),
    ``|ours - peer| <= se``; the dict keeps both values, the relative difference and the rule."""
    diff = abs(float(ours) - float(peer))
    if se is not None:
        bound, rule = float(se), f"|diff| <= {se:.3g} (standard errors)"
    else:
        bound, rule = max(float(atol), float(rtol) * abs(float(peer))), f"rtol {rtol:g}" + (f", atol {atol:g}" if atol else "")
    out = {"metric": metric, "ours": float(ours), "peer": float(peer), "rel_diff": relative_difference(ours, peer),
           "tolerance": rule, "agree": bool(diff <= bound)}
    return {**out, "note": note} if note else out


def make_row(measurement: str, case: str, *, items: int, ours_name: str, ours_s: float, peer_name: str | None = None,
             peer_s: float | None = None, target: float | None = None, values=(), extra=None) -> dict:
    """A timed row (see the module docstring); ``device`` and ``load`` are filled in by the runner."""
    def side(name, s):
        return {"name": name, "seconds": float(s), "per_s": items / s if s > 0 else math.inf}

    ratio = peer_s / ours_s if peer_s is not None and ours_s > 0 else None
    return {"measurement": measurement, "case": case, "items": int(items), "ours": side(ours_name, ours_s),
            "peer": side(peer_name, peer_s) if peer_name is not None else None, "ratio": ratio,
            "target": target, "passed": (ratio >= target) if target is not None and ratio is not None else None,
            "values": list(values), "extra": dict(extra or {}), "skipped": None}


def skipped_row(measurement: str, case: str, reason: str) -> dict:
    """A row that did not run, with the reason (printed in the table)."""
    return {"measurement": measurement, "case": case, "items": 0, "ours": None, "peer": None, "ratio": None,
            "target": None, "passed": None, "values": [], "extra": {}, "skipped": reason}
