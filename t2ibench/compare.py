"""Compare two results: a reproducibility check, or a one-sided regression gate.

:func:`compare` (used by ``t2ibench compare BASELINE NEW``) returns a :class:`Comparison`: one
row (a dict) per metric and an overall verdict. Two modes:

``reproduce`` (the default): the NEW result is a rerun of the BASELINE run — same generator,
  n_images, seed and dataset (name, split, fingerprint, image size) — and every compared metric
  must agree both ways within the cross-machine tolerance (``defaults.COMPARE_RTOL`` /
  ``COMPARE_ATOL`` for continuous metrics, ``COMPARE_HITS`` hits for retrieval shares, i.e.
  metrics recorded with ``counts_hits``); so must the std when both results have one. A row
  is ``ok`` or ``DIFFERS``. The check is symmetric: swapping the two files gives the same verdict.

``regress``: a gate for a new model (or a new version of one) against a baseline such as the
  current best. The generators and seeds may differ; the dataset (name, split, fingerprint,
  image size) and n_images must not (a different n changes FID's and KID's bias, and the
  retrieval galleries). Each metric is judged one-sided by its recorded direction
  (``higher_is_better``): worse by more than its tolerance is ``REGRESSED``, better by more
  than it is ``better``, anything in between ``ok``. The tolerance is, per metric:

  * when the results record a std over ``k >= 2`` units (R-precision's chunks, Rank-1's folds,
    CPGAN's batches, IS's splits, the images of SSIM/CLIPScore/VS-similarity, MS-SSIM's classes:
    the first of :data:`UNIT_FIELDS` that the entry has): ``COMPARE_REGRESS_STD_FACTOR``
    standard errors of the mean, SE = max(the two stds) / √k. A std without a unit count
    (KID, whose subsets overlap) is used undivided. A retrieval share's SE is at least its
    binomial error √(p(1−p)/n);
  * otherwise (FID, CLIP-FID, CMD, ITDis: no std, or a std over one unit):
    ``max(COMPARE_REGRESS_RTOL · √(COMPARE_REGRESS_N / n_images) · |baseline|,
    COMPARE_REGRESS_ATOL)`` (the seed-to-seed spread of these falls as 1/√n);
  * never less than the cross-machine tolerance of reproduce mode; for retrieval shares it
    is rounded up to whole hits (steps of 1/n_images) and shown in hits.

  A std that grew by more than ``COMPARE_REGRESS_STD_GROWTH`` times (and by more than the
  cross-machine tolerance) is ``REGRESSED`` too, whatever the value did — a model whose quality
  became erratic, and whose larger std would otherwise widen its own tolerance — when the std is
  over at least ``COMPARE_REGRESS_STD_MIN_UNITS`` units or an unstated count (a std over 10
  chunks or 2 folds is too noisy itself). The constants' measured basis is in
  :mod:`t2ibench.defaults`.

Both modes compare the metrics named in ``metrics`` (default: those of the baseline). A
metric named explicitly that either result lacks makes the results not comparable. Without
``metrics``, a metric present in only one result is listed as a ``skipped`` row (``only in
baseline`` / ``only in new``), not a failure — so a baseline with more metrics can gate a
cheaper run — and the summary names it; name the metrics to make their absence an error.

Never a pass, always :class:`NotComparable` (a ``ValueError``; the CLI's exit status 2),
naming what differs: a run field above; a compared metric's protocol fields (the
``MetricProtocol.describe()`` fields — metric, extractor, direction, counts_hits — every
text or boolean field such as ``protocol``, ``tie_rule``, ``variant``, and the settings in
:data:`PROTOCOL_SETTINGS`); the :data:`EXTRACTOR_FIELDS` (name, weights_id, resize_mode) of an
extractor a compared metric uses. Exit status of the CLI: 0 every row ok/better/skipped,
1 a row REGRESSED or DIFFERS, 2 not comparable or bad input.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from t2ibench import defaults
from t2ibench.result import EvalResult

MODES = ("reproduce", "regress")

#: Run fields that must be equal, per mode (dataset fields are ``dataset.<key>``).
RUN_FIELDS = {
    "reproduce": ("generator", "n_images", "seed", "dataset.name", "dataset.split", "dataset.fingerprint",
                  "dataset.image_size"),
    "regress": ("n_images", "dataset.name", "dataset.split", "dataset.fingerprint", "dataset.image_size"),
}

#: Numeric entries of a metric that are protocol settings (not measurements) and must be equal;
#: every text or boolean entry of a metric is a protocol field as well.
PROTOCOL_SETTINGS = ("splits", "subsets", "subset_size", "n_candidates", "n_chunks", "batch_size", "fold_size",
                     "w", "scales", "dim")

#: Entries of ``EvalResult.extractors[name]`` that must be equal for a metric using it to compare.
EXTRACTOR_FIELDS = ("name", "weights_id", "resize_mode")

#: What a metric's std is taken over (first one present): its standard error is std / sqrt(k).
UNIT_FIELDS = ("n_chunks", "n_folds", "n_batches", "splits", "n", "n_classes", "n_pairs_overall")

VERDICTS = ("ok", "better", "REGRESSED", "DIFFERS", "skipped")


class NotComparable(ValueError):
    """The results (or the chosen metrics) cannot be compared: exit status 2, never a pass."""


@dataclass
class Comparison:
    """What :func:`compare` found. ``rows``: one dict per metric with ``metric``, ``baseline``,
    ``new`` (values, ``None`` when absent), ``baseline_std``, ``new_std``, ``change`` (new −
    baseline), ``change_pct``, ``tolerance`` (absolute), ``tolerance_hits`` (retrieval shares),
    ``higher_is_better``, ``counts_hits``, ``verdict`` (one of :data:`VERDICTS`) and ``note``.
    ``verdict``: ``"ok"``, ``"regressed"`` (a row REGRESSED) or ``"differs"`` (a row DIFFERS)."""

    mode: str
    rows: list = field(default_factory=list)

    @property
    def verdict(self) -> str:
        verdicts = {r["verdict"] for r in self.rows}
        return "regressed" if "REGRESSED" in verdicts else "differs" if "DIFFERS" in verdicts else "ok"

    @property
    def ok(self) -> bool:
        return self.verdict == "ok"

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def names(self, verdict: str) -> list[str]:
        return [r["metric"] for r in self.rows if r["verdict"] == verdict]

    def summary(self) -> str:
        """One line: PASS/FAIL, the mode, and the count (and names) of each verdict."""
        compared = [r for r in self.rows if r["verdict"] != "skipped"]
        parts = []
        for verdict, word in (("ok", "ok"), ("better", "better"), ("REGRESSED", "regressed"), ("DIFFERS", "differ")):
            names = self.names(verdict)
            if names:
                parts.append(f"{len(names)} {word}" + (f": {', '.join(names)}" if verdict in ("REGRESSED", "DIFFERS")
                                                       else ""))
        skipped = [f"{r['metric']} ({r['note']})" for r in self.rows if r["verdict"] == "skipped"]
        if skipped:
            parts.append(f"{len(skipped)} skipped: {', '.join(skipped)}")
        return f"{'PASS' if self.ok else 'FAIL'} ({self.mode}): {len(compared)} metrics compared; " + "; ".join(parts)

    def table(self) -> str:
        """Every row as a fixed-width table, then the summary line."""
        head = ["metric", "baseline", "new", "change", "change %", "tolerance", "verdict", ""]
        if self.mode == "regress":
            head.insert(1, "better")
        lines = [head]
        for r in self.rows:
            cells = [r["metric"], _value_text(r["baseline"], r["baseline_std"]), _value_text(r["new"], r["new_std"]),
                     "" if r["change"] is None else f"{r['change']:+.4g}",
                     "" if r["change_pct"] is None else f"{r['change_pct']:+.2f}%",
                     _tolerance_text(r), r["verdict"], r["note"]]
            if self.mode == "regress":
                cells.insert(1, {True: "higher", False: "lower", None: ""}[r["higher_is_better"]])
            lines.append(cells)
        widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
        right = {"baseline", "new", "change", "change %", "tolerance"}
        out = ["  ".join((c.rjust(w) if head[i] in right else c.ljust(w)) for i, (c, w) in enumerate(zip(row, widths)))
               .rstrip() for row in lines]
        return "\n".join(out + [self.summary()])


def load_result(path) -> EvalResult:
    """Read a ``result.json``; ``ValueError`` naming the file when it is not one."""
    try:
        with open(path) as f:
            data = json.load(f)
        if not isinstance(data, dict):
            raise TypeError(f"expected a JSON object, got {type(data).__name__}")
        return EvalResult(**data)
    except (OSError, ValueError, TypeError) as e:
        raise ValueError(f"{path}: not a readable t2ibench result.json ({type(e).__name__}: {e})") from None


def compare(baseline, new, mode: str = "reproduce", metrics=None, *, rtol: float = defaults.COMPARE_RTOL,
            atol: float = defaults.COMPARE_ATOL, hits: int = defaults.COMPARE_HITS,
            regress_rtol: float = defaults.COMPARE_REGRESS_RTOL, regress_atol: float = defaults.COMPARE_REGRESS_ATOL,
            std_factor: float = defaults.COMPARE_REGRESS_STD_FACTOR,
            std_growth: float = defaults.COMPARE_REGRESS_STD_GROWTH) -> Comparison:
    """Compare ``new`` with ``baseline`` (:class:`EvalResult` objects or paths of result.json files)
    in ``mode`` ``"reproduce"`` or ``"regress"`` (rules in the module docstring).

    ``metrics``: the metric specs to compare (a list, or a comma-separated string); default the
    baseline's. ``rtol``/``atol``/``hits``: the cross-machine tolerance (reproduce mode's, and the
    floor of regress mode's); ``regress_rtol``/``regress_atol``: regress mode's tolerance of a
    metric without std; ``std_factor``: standard errors allowed in regress mode; ``std_growth``:
    the factor by which a std may grow in regress mode. Raises :class:`NotComparable` (a
    ``ValueError``) when the results cannot be compared, ``ValueError`` on bad arguments.
    """
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
    for name, v in (("rtol", rtol), ("atol", atol), ("regress_rtol", regress_rtol), ("regress_atol", regress_atol),
                    ("std_factor", std_factor)):
        if not _is_number(v) or not math.isfinite(v) or v < 0:
            raise ValueError(f"{name}: expected a finite number >= 0, got {v!r}")
    if isinstance(hits, bool) or not isinstance(hits, int) or hits < 0:
        raise ValueError(f"hits: expected a whole number of hits >= 0, got {hits!r}")
    if not _is_number(std_growth) or not math.isfinite(std_growth) or std_growth < 1:
        raise ValueError(f"std_growth: expected a finite number >= 1, got {std_growth!r}")
    baseline = baseline if isinstance(baseline, EvalResult) else load_result(baseline)
    new = new if isinstance(new, EvalResult) else load_result(new)
    for label, r in (("baseline", baseline), ("new", new)):
        _check_result(r, label)
    _check_same_run(baseline, new, mode)
    chosen = _chosen_metrics(baseline, new, metrics)
    _check_protocols(baseline, new, [m for m in chosen if m in baseline.metrics and m in new.metrics])

    n = baseline.n_images
    rows = []
    for name in chosen:
        b, w = baseline.metrics.get(name), new.metrics.get(name)
        if b is None or w is None:
            rows.append(_row(name, b, w, None, "skipped", "only in " + ("new" if b is None else "baseline")))
            continue
        hits_metric = bool(b.get("counts_hits"))
        floor = hits / n if hits_metric else max(rtol * max(abs(b["value"]), abs(w["value"])), atol)
        if not (math.isfinite(floor)):
            floor = atol
        if mode == "reproduce":
            rows.append(_reproduce_row(name, b, w, floor, rtol, atol, hits, n))
        else:
            rows.append(_regress_row(name, b, w, floor, n, rtol, atol, hits, regress_rtol, regress_atol, std_factor,
                                     std_growth))
    if all(r["verdict"] == "skipped" for r in rows):
        raise NotComparable(f"no metric is in both results: the baseline has {sorted(baseline.metrics)}, "
                            f"the new result {sorted(new.metrics)}")
    return Comparison(mode, rows)


# -- checks ------------------------------------------------------------------------------------------

def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_result(r: EvalResult, label: str) -> None:
    if not isinstance(r.metrics, dict) or not isinstance(r.dataset, dict) or not isinstance(r.extractors, dict):
        raise ValueError(f"{label} result: 'metrics', 'dataset' and 'extractors' must be JSON objects")
    if isinstance(r.n_images, bool) or not isinstance(r.n_images, int) or r.n_images < 1:
        raise ValueError(f"{label} result: n_images must be a positive whole number, got {r.n_images!r}")
    for name, m in r.metrics.items():
        if not isinstance(m, dict) or not _is_number(m.get("value")):
            raise ValueError(f"{label} result: metric {name!r} has no numeric 'value' (got {m!r:.80})")
        if m.get("std") is not None and not _is_number(m["std"]):
            raise ValueError(f"{label} result: metric {name!r} has a non-numeric 'std' {m['std']!r}")


def _get(r: EvalResult, key: str):
    if key.startswith("dataset."):
        return r.dataset.get(key.split(".", 1)[1])
    return getattr(r, key)


def _check_same_run(baseline: EvalResult, new: EvalResult, mode: str) -> None:
    diff = [f"{k}: {_get(baseline, k)!r} (baseline) vs {_get(new, k)!r} (new)" for k in RUN_FIELDS[mode]
            if _get(baseline, k) != _get(new, k)]
    if diff:
        hint = ("; reproduce mode compares reruns of one run — to gate a new model against a baseline use "
                "--mode regress (mode='regress')" if mode == "reproduce" else
                "; regress mode needs the same dataset and n_images (n changes FID's bias)")
        raise NotComparable(f"the results are of different runs, so their numbers are not comparable in {mode} "
                            f"mode: " + "; ".join(diff) + hint)


def _chosen_metrics(baseline: EvalResult, new: EvalResult, metrics) -> list[str]:
    if metrics is None:
        return list(baseline.metrics) + [m for m in new.metrics if m not in baseline.metrics]
    if isinstance(metrics, str):
        metrics = [m.strip() for m in metrics.split(",") if m.strip()]
    if not isinstance(metrics, (list, tuple)) or not all(isinstance(m, str) for m in metrics):
        raise ValueError(f"metrics: expected a list of metric names, got {metrics!r}")
    chosen = list(dict.fromkeys(metrics))
    if not chosen:
        raise ValueError("metrics: no metric named")
    missing = [f"{m!r} is not in the {label} result (it has {', '.join(sorted(r.metrics)) or 'none'})"
               for m in chosen for label, r in (("baseline", baseline), ("new", new)) if m not in r.metrics]
    if missing:
        raise NotComparable("chosen metric missing: " + "; ".join(missing))
    return chosen


def _protocol_keys(entry: dict) -> set:
    from t2ibench.protocols import MetricProtocol

    keys = set(MetricProtocol().describe()) | {k for k in PROTOCOL_SETTINGS if k in entry}
    keys |= {k for k, v in entry.items() if isinstance(v, (str, bool)) or v is None}
    return keys - {"value", "std"}


def _short(v) -> str:
    text = repr(v)
    return text if len(text) <= 100 else text[:97] + "..."


def _check_protocols(baseline: EvalResult, new: EvalResult, names: list[str]) -> None:
    problems, seen = [], set()
    for name in names:
        b, w = baseline.metrics[name], new.metrics[name]
        for k in sorted(_protocol_keys(b) | _protocol_keys(w)):
            if b.get(k) != w.get(k):
                problems.append(f"metric {name!r}: protocol field {k!r} is {_short(b.get(k))} (baseline) vs "
                                f"{_short(w.get(k))} (new)")
        ext = b.get("extractor")
        if not isinstance(ext, str) or ext in seen or b.get("extractor") != w.get("extractor"):
            continue
        seen.add(ext)
        eb, ew = baseline.extractors.get(ext), new.extractors.get(ext)
        if eb is None and ew is None:
            continue
        if eb is None or ew is None:
            problems.append(f"extractor {ext!r} (of metric {name!r}) is described only in the "
                            f"{'new' if eb is None else 'baseline'} result")
            continue
        for k in EXTRACTOR_FIELDS:
            if eb.get(k) != ew.get(k):
                problems.append(f"extractor {ext!r} (of metric {name!r}): {k} is {_short(eb.get(k))} (baseline) vs "
                                f"{_short(ew.get(k))} (new)")
    if problems:
        raise NotComparable("the results measured the metrics differently, so they are not comparable: "
                            + "; ".join(problems))


# -- rows ----------------------------------------------------------------------------------------------

def _row(name, b, w, tol, verdict, note, n=None) -> dict:
    bv, wv = (b or {}).get("value"), (w or {}).get("value")
    change = wv - bv if bv is not None and wv is not None and math.isfinite(bv) and math.isfinite(wv) else None
    hib = (b or w or {}).get("higher_is_better")
    counts_hits = bool((b or w or {}).get("counts_hits"))
    return {"metric": name, "baseline": bv, "new": wv, "baseline_std": (b or {}).get("std"),
            "new_std": (w or {}).get("std"), "change": change,
            "change_pct": None if change is None or bv == 0 else 100 * change / abs(bv),
            "tolerance": tol, "tolerance_hits": round(tol * n) if tol is not None and counts_hits and n else None,
            "higher_is_better": hib if isinstance(hib, bool) else None, "counts_hits": counts_hits,
            "verdict": verdict, "note": note}


def _units(entry: dict) -> int | None:
    for k in UNIT_FIELDS:
        v = entry.get(k)
        if isinstance(v, int) and not isinstance(v, bool) and v >= 1:
            return v
    return None


def _std_floor(b, w, rtol, atol, hits, n) -> float:
    """Cross-machine tolerance of the std: a retrieval share's std over k units moves by at most
    hits·√k/n when ``hits`` hits flip (k unknown: n, the loosest)."""
    if b.get("counts_hits"):
        return hits * math.sqrt(_units(b) or n) / n
    return max(rtol * max(abs(b["std"]), abs(w["std"])), atol)


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _reproduce_row(name, b, w, tol, rtol, atol, hits, n) -> dict:
    bv, wv = b["value"], w["value"]
    notes = []
    if not (math.isfinite(bv) and math.isfinite(wv)):
        value_ok = _same(bv, wv)
    else:
        value_ok = abs(wv - bv) <= tol
    if not value_ok:
        notes.append("value moved beyond the tolerance")
    bs, ws = b.get("std"), w.get("std")
    if bs is not None and ws is not None:
        if math.isfinite(bs) and math.isfinite(ws):
            std_tol = _std_floor(b, w, rtol, atol, hits, n)
            std_ok = abs(ws - bs) <= std_tol
        else:
            std_ok, std_tol = _same(bs, ws), None
        if not std_ok:
            notes.append(f"std {bs:.4g} -> {ws:.4g} differs" + (f" (tolerance {std_tol:.2g})" if std_tol else ""))
    return _row(name, b, w, tol, "DIFFERS" if notes else "ok", "; ".join(notes), n)


def _direction(name: str, b: dict) -> bool:
    hib = b.get("higher_is_better")
    if isinstance(hib, bool):
        return hib
    from t2ibench.protocols import METRICS

    base = str(b.get("metric") or name).split("@", 1)[0]
    if base in METRICS:
        return bool(getattr(METRICS.get(base), "higher_is_better", True))
    raise NotComparable(f"metric {name!r}: the results record no direction (higher_is_better) and no registered "
                        f"metric is called {base!r}, so regress mode cannot tell better from worse")


def _regress_row(name, b, w, floor, n, rtol, atol, hits, regress_rtol, regress_atol, std_factor, std_growth) -> dict:
    bv, wv = b["value"], w["value"]
    hib = _direction(name, b)
    if not math.isfinite(bv):
        if _same(bv, wv):
            return _row(name, b, w, None, "ok", f"both {bv}", n)
        raise NotComparable(f"metric {name!r}: the baseline value is {bv}, so there is nothing to gate against")
    stds = [s for s in (b.get("std"), w.get("std")) if s is not None and math.isfinite(s)]
    k = _units(b)
    se = max(stds) / math.sqrt(k or 1) if stds and (k is None or k >= 2) else None
    if b.get("counts_hits") and math.isfinite(wv):  # a share of n hits: binomial standard error
        binomial = max(math.sqrt(max(p * (1 - p), 0.0) / n) for p in (bv, wv))
        se = binomial if se is None else max(se, binomial)
    if se is not None:
        tol, source = std_factor * se, "std"
    else:
        tol, source = max(regress_rtol * math.sqrt(defaults.COMPARE_REGRESS_N / n) * abs(bv), regress_atol), "relative"
    if tol < floor:
        tol, source = floor, "cross-machine"
    if b.get("counts_hits"):
        tol = math.ceil(tol * n - 1e-9) / n
    row = _row(name, b, w, tol, "ok", "", n)
    row["tolerance_source"] = source
    if not math.isfinite(wv):
        row.update(verdict="REGRESSED", note=f"new value is {wv}")
        return row
    worse = (bv - wv) if hib else (wv - bv)
    notes = []
    if worse > tol:
        row["verdict"] = "REGRESSED"
        notes.append(f"{'lower' if hib else 'higher'} by more than the tolerance")
    bs, ws = b.get("std"), w.get("std")
    if (bs is not None and ws is not None and math.isfinite(bs) and math.isfinite(ws) and ws > std_growth * bs
            and (k is None or k >= defaults.COMPARE_REGRESS_STD_MIN_UNITS)
            and ws - bs > _std_floor(b, w, rtol, atol, hits, n)):
        row["verdict"] = "REGRESSED"
        grew = f"{ws / bs:.1f}x" if bs > 0 else f"from 0 to {ws:.3g}"
        notes.append(f"std grew {grew} ({bs:.3g} -> {ws:.3g}; limit {std_growth:g}x)")
    if row["verdict"] == "ok" and -worse > tol:
        row["verdict"] = "better"
    row["note"] = "; ".join(notes)
    return row


# -- text ----------------------------------------------------------------------------------------------

def _value_text(v, std) -> str:
    if v is None:
        return "-"
    return f"{v:.6g}" + (f" ± {std:.2g}" if std is not None else "")


def _tolerance_text(r) -> str:
    if r["tolerance"] is None:
        return ""
    if r["counts_hits"] and r["tolerance_hits"] is not None:
        return f"{r['tolerance_hits']} hits"
    return f"{r['tolerance']:.2g}"
