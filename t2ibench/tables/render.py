"""A paper's table in its own layout, reported beside measured, with caption and agreement figures.

:func:`build_table` turns (spec, reported DataFrame, measured mapping, run info) into a
:class:`RenderedTable`; :func:`write_table` writes it as ``<out_dir>/<table id>.{md,csv,json,tex}``
(each atomically, byte-identical for identical inputs); :func:`index_markdown` lists many tables
with their agreement figures for ``leaderboards/README.md``.

**Layout.** One line per row of the paper (its order and labels), then per metric of the paper (its
order): one *reported* column per reported dataset (CUB, COCO, ... in the paper's order) followed by
one *measured* column on the run's dataset. Headers read ``"<metric> (<unit>) <arrow> · <dataset> ·
reported|measured"``. Reported cells print the transcribed value (``value ± pm``) or "—" where the
paper has a dash, a blank or no cell; measured cells print the value in the paper's unit with the
column's fixed decimals, or a status: "not in zoo" (no generator is that row), "human rating",
"no protocol", "n/a" (this row's cell cannot be measured; the notes say why), "not measured" (the
benchmark passed no value).

**Run info** (a dict): ``dataset`` (str), ``n`` (images per generator, int > 0), ``seed`` (int),
``stand_ins`` (list of str: every stand-in network the run used, named in the caption; also accepted
as ``stand-ins``), ``evaluators`` (optional ``{protocol: text}`` replacing the spec's description of the
evaluator on shapes; needed for a correct caption on other datasets). Other keys are kept in the JSON.
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from t2ibench.io import write_text
from t2ibench.tables import writers
from t2ibench.tables.writers import fmt_number, fmt_reported
from t2ibench.tables.agreement import Agreement, table_agreement
from t2ibench.tables.cells import MISSING, NOT_IN_ZOO, directions, measured_cells, reported_cells, units
from t2ibench.tables.specs import DATASET_NAMES, PAPER_NAMES, TableSpec

#: The file formats :func:`write_table` writes, in this order.
FORMATS = ("md", "csv", "json", "tex")


@dataclass
class Group:
    """The header of one metric: ``label`` (e.g. "IS ↑") over ``columns`` (frame column names) whose
    sub-heads are ``subheads`` (e.g. "CUB · reported"): one per reported dataset of ``datasets``, then
    the measured one."""

    metric_id: str
    label: str
    columns: list[str]
    subheads: list[str]
    datasets: list[str]


@dataclass
class RenderedTable:
    """One table, ready to write.

    frame: the paper's layout as display strings (columns "Row", "Generator", then per metric its
    reported and measured columns); groups: the metric header groups of the frame; caption; notes
    (one sentence each); agreement; values: every cell as numbers (``{"row", "metric", "dataset",
    "source": "reported"|"measured", "value", "std", "text"}``, None where none); run: the normalised
    run info; files: what :func:`write_table` wrote (format -> path)."""

    spec: TableSpec
    run: dict
    frame: pd.DataFrame
    groups: list[Group]
    caption: str
    notes: list[str]
    agreement: Agreement
    values: list[dict]
    files: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Everything as JSON-native data (what the ``.json`` file holds)."""
        return json.loads(json.dumps({
            "table": self.spec.id, "paper": self.spec.paper, "title": self.spec.title, "kind": self.spec.kind,
            "caption": self.caption, "notes": self.notes, "run": self.run, "spec": self.spec.to_dict(),
            "header": list(self.frame.columns), "rows": self.frame.values.tolist(),
            "values": self.values, "agreement": self.agreement.to_dict(),
        }, allow_nan=False))


def normalise_run(run: Mapping) -> dict:
    """The run info as a plain dict with ``dataset``, ``n``, ``seed``, ``stand_ins``, ``evaluators``
    (``ValueError`` naming a missing or malformed entry)."""
    run = dict(run)
    if "stand-ins" in run:
        run["stand_ins"] = run.pop("stand-ins")
    for key in ("dataset", "n", "seed"):
        if key not in run:
            raise ValueError(f"run info: {key!r} is missing (need dataset, n, seed; optional stand_ins, evaluators)")
    if not isinstance(run["dataset"], str) or not run["dataset"]:
        raise ValueError(f"run info: dataset must be a name, got {run['dataset']!r}")
    if isinstance(run["n"], bool) or not isinstance(run["n"], int) or run["n"] <= 0:
        raise ValueError(f"run info: n must be a positive int (images per generator), got {run['n']!r}")
    if isinstance(run["seed"], bool) or not isinstance(run["seed"], int):
        raise ValueError(f"run info: seed must be an int, got {run['seed']!r}")
    stand_ins = run.get("stand_ins") or []
    if isinstance(stand_ins, str) or not all(isinstance(s, str) for s in stand_ins):
        raise ValueError(f"run info: stand_ins must be a list of names, got {stand_ins!r}")
    run["stand_ins"] = list(stand_ins)
    evaluators = run.get("evaluators") or {}
    if not isinstance(evaluators, Mapping):
        raise ValueError(f"run info: evaluators must map protocol -> text, got {evaluators!r}")
    run["evaluators"] = {str(k): str(v) for k, v in sorted(evaluators.items())}
    return run


def _generator_text(spec: TableSpec, label: str) -> str:
    r = spec.row(label)
    if r.generator is None:
        return NOT_IN_ZOO
    if r.options:
        return f"{r.generator} ({', '.join(f'{k}={v}' for k, v in sorted(r.options.items()))})"
    return r.generator


def _header(label: str, unit: str, arrow: str) -> str:
    return " ".join(p for p in (label, "(%)" if unit == "%" else "", arrow) if p)


def _caption(spec: TableSpec, reported: pd.DataFrame, run: dict) -> str:
    paper_caption = str(reported["caption"].iloc[0]) if len(reported) else ""
    table = str(reported["table"].iloc[0]) if len(reported) else spec.id
    dataset = run["dataset"]
    parts = [f"{PAPER_NAMES[spec.paper]} {table} ({spec.id}): reported values beside values measured by t2ibench."]
    if paper_caption:
        end = "" if paper_caption.endswith((".", ")")) else "."
        parts.append(f"Paper's caption: “{paper_caption}{end}”")
    else:
        parts.append("The paper's caption is not in the extracted text.")
    if spec.kind == "human":  # no image is generated for it by this run: the raters' sheet says which were shown
        parts.append(f"{spec.measured_on(dataset)} Rated by people on the images of a t2ibench human-sheet "
                     "(its captions, raters and seed in the column's description).")
    else:
        parts.append(f"{spec.measured_on(dataset)} n = {run['n']} images per generator, seed {run['seed']}.")
    cols = []
    for c in spec.columns:
        if c.is_human and run.get("human_scores"):
            cols.append(f"{c.label}: human raters, " + "; ".join(run["human_scores"]))
            continue
        if c.protocol is None:
            cols.append(f"{c.label}: not measured by t2ibench ({c.reason})")
            continue
        if c.protocol in run["evaluators"]:
            evaluator = run["evaluators"][c.protocol]
        elif dataset == "shapes":
            evaluator = c.evaluator
        else:
            evaluator = f"the default evaluator of the protocol on {dataset} (see the evaluation results)"
        extra = f", load options on shapes {json.dumps(c.options, sort_keys=True)}" if c.options else ""
        field_note = f", result field {c.field}" if c.field != "value" else ""
        cols.append(f"{c.label}: protocol {c.protocol}{field_note}{extra}; evaluator: {evaluator}")
    parts.append("Columns — " + "; ".join(cols) + ".")
    parts.append("Stand-ins: " + ("; ".join(run["stand_ins"]) + "." if run["stand_ins"] else "none named."))
    if run.get("not_measured"):
        parts.append("Not measured (no weights for this dataset yet): " + ", ".join(run["not_measured"]) + ".")
    parts.append(f"“{NOT_IN_ZOO}”: no zoo generator is that row; “{MISSING}”: the paper prints a dash, "
                 "leaves the cell blank or has no such cell.")
    return " ".join(parts)


def _notes(spec: TableSpec) -> list[str]:
    notes = [spec.note] if spec.note else []
    for r in spec.rows:
        against = (f" Its change is measured against “{r.base}”." if r.base is not None and r.base != spec.base_row
                   else "")
        if r.note or against:
            notes.append(f"{r.label}: {r.note}.{against}" if r.note else f"{r.label}:{against}")
        for metric_id, why in sorted(r.unmeasured.items()):
            notes.append(f"{r.label}, {spec.column(metric_id).label}: n/a — {why}.")
    return notes


def build_table(spec: TableSpec, reported: pd.DataFrame, measured: Mapping, run: Mapping,
                same_tol: float = 0.0) -> RenderedTable:
    """The table ``spec`` in the paper's layout (see the module docstring).

    Args:
        spec: the table spec (:func:`~.specs.get_spec`).
        reported: :func:`t2ibench.reported.load_reported` of ``spec.id``.
        measured: ``{(row label, metric id): (mean, std) | None}`` in t2ibench units
            (:func:`.cells.measured_cells`; :func:`.cells.collect_measured` builds it from results).
        run: run info (see the module docstring).
        same_tol: passed to :func:`~.agreement.table_agreement`.
    """
    run = normalise_run(run)
    rep = reported_cells(spec, reported)
    meas = measured_cells(spec, measured)
    arrows, unit_of = directions(spec, reported), units(spec, reported)
    run_ds = DATASET_NAMES.get(run["dataset"], run["dataset"])

    groups: list[Group] = []
    for c in spec.columns:
        head = _header(c.label, unit_of[c.metric_id], arrows[c.metric_id])
        datasets = [d for d in spec.datasets if any(k[1] == c.metric_id and k[2] == d for k in rep)]
        subs = [f"{DATASET_NAMES[d]} · reported" for d in datasets] + [f"{run_ds} · measured"]
        groups.append(Group(c.metric_id, head, [f"{head} · {s}" for s in subs], subs, datasets))

    lines, values = [], []
    for r in spec.rows:
        line = {"Row": r.label, "Generator": _generator_text(spec, r.label)}
        for c, g in zip(spec.columns, groups):
            for name, d in zip(g.columns[:-1], g.datasets):
                value, pm = rep.get((r.label, c.metric_id, d), (math.nan, math.nan))
                line[name] = fmt_reported(value, pm)
                values.append({"row": r.label, "metric": c.metric_id, "dataset": d, "source": "reported",
                               "value": None if math.isnan(value) else value,
                               "std": None if math.isnan(pm) else pm, "text": line[name]})
            m = meas[(r.label, c.metric_id)]
            if m.ok:
                text = fmt_number(m.value, c.digits)
                if m.std is not None:
                    text += f" ± {fmt_number(m.std, c.digits)}"
            else:
                text = m.status
            line[g.columns[-1]] = text
            values.append({"row": r.label, "metric": c.metric_id, "dataset": run["dataset"], "source": "measured",
                           "value": m.value, "std": m.std, "text": text})
        lines.append(line)
    columns = ["Row", "Generator"] + [name for g in groups for name in g.columns]
    frame = pd.DataFrame(lines, columns=columns)
    return RenderedTable(spec, run, frame, groups, _caption(spec, reported, run), _notes(spec),
                         table_agreement(spec, reported, measured, same_tol=same_tol), values)


def write_table(spec: TableSpec, reported: pd.DataFrame, measured: Mapping, run: Mapping, out_dir,
                same_tol: float = 0.0) -> RenderedTable:
    """Build the table and write ``<out_dir>/<table id>.{md,csv,json,tex}``, each atomically; return
    the :class:`RenderedTable` with ``files`` set. Same inputs give byte-identical files."""
    table = build_table(spec, reported, measured, run, same_tol=same_tol)
    out_dir = Path(out_dir)
    render = {"md": writers.to_markdown, "csv": writers.to_csv, "json": writers.to_json, "tex": writers.to_latex}
    for fmt in FORMATS:
        path = out_dir / f"{spec.id}.{fmt}"
        write_text(path, render[fmt](table))
        table.files[fmt] = str(path)
    return table


def _tau_summary(table: RenderedTable) -> str:
    parts = []
    for c in table.spec.columns:
        rows = [a for a in table.agreement.columns if a.column == c.metric_id]
        if not rows or not c.scored or (c.is_human and all(a.n == 0 for a in rows)):
            continue
        cells = [f"{DATASET_NAMES[a.dataset]} {'—' if a.tau is None else fmt_number(a.tau, 2)} (n={a.n})"
                 for a in rows]
        parts.append(f"{c.label}: " + ", ".join(cells))
    return "; ".join(parts) if parts else "—"


def index_markdown(results: Sequence[RenderedTable], relative_to=None) -> str:
    """A Markdown section for ``leaderboards/README.md``: one line per table with its title, Kendall τ-b
    per column (per reported dataset, with n), the matching directions k/n of ablation and
    hyper-parameter tables, and links to its files (relative to the folder ``relative_to`` when given).
    """
    lines = ["## The papers' tables: reported beside measured", "",
             "Kendall τ-b between the reported and the measured values of the rows that have both (per "
             "reported dataset, n rows); directions: the changes against the base row that go the way the "
             "paper reports, of those counted (ablation and hyper-parameter tables).", "",
             "| Table | Kind | Kendall τ-b (n) | Directions | Files |", "|---|---|---|---|---|"]
    for t in results:
        if t.spec.base_row is None:
            directions_text = "—"
        elif t.agreement.counted:
            directions_text = f"{t.agreement.matches}/{t.agreement.counted}"
        else:
            directions_text = "0/0 (none measured)"
        links = []
        for fmt in (*FORMATS, "png"):          # the figure, where measure.py drew one
            if fmt in t.files:
                path = t.files[fmt]
                if relative_to is not None:
                    path = os.path.relpath(path, relative_to)
                links.append(f"[{fmt}]({Path(path).as_posix()})")
        tau = _tau_summary(t)
        if t.spec.kind == "human" and tau == "—":
            tau = "human rating (no --human-scores given)"
        lines.append(f"| {writers.md_escape(t.spec.title)} | {t.spec.kind} | {writers.md_escape(tau)} | "
                     f"{directions_text} | {' · '.join(links) or '—'} |")
    return "\n".join(lines) + "\n"


__all__ = ["FORMATS", "Group", "RenderedTable", "normalise_run", "build_table",
           "write_table", "index_markdown"]
