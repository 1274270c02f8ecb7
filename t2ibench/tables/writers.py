"""The four file formats of a rendered paper table: Markdown, CSV, JSON, LaTeX.

Each writer takes a :class:`~t2ibench.tables.render.RenderedTable` and returns the file's text.
Output is deterministic: fixed column order, fixed float formatting (done when the table is built),
JSON with sorted keys, ``\\n`` line ends, no timestamps. The LaTeX is plain ASCII: every special
character is escaped and every non-ASCII character of the papers' labels (arrows, ±, Greek letters,
sub- and superscripts, daggers, check marks, dashes) is written as a LaTeX command; it needs the
``booktabs`` package.
"""
from __future__ import annotations

import io
import json
import math
from typing import TYPE_CHECKING

from t2ibench.tables.cells import MISSING
from t2ibench.tables.specs import DATASET_NAMES

if TYPE_CHECKING:
    from t2ibench.tables.render import RenderedTable


def fmt_reported(value: float, pm: float) -> str:
    """A transcribed value as text: the float's shortest form (``4.85``, ``0.316``), `` ± pm`` when
    given; "—" for NaN."""
    if math.isnan(value):
        return MISSING
    text = repr(float(value))
    return f"{text} ± {float(pm)!r}" if not math.isnan(pm) else text


def fmt_number(x: float, digits: int, sign: bool = False) -> str:
    """``x`` with ``digits`` fixed decimals (no negative zero; ``sign``: a leading + for x > 0)."""
    text = f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"
    if float(text) == 0:
        text = f"{0:.{digits}f}"
    return text

_MD_SPECIAL = {"\\": "\\\\", "|": "\\|", "*": "\\*", "_": "\\_", "`": "\\`"}


def md_escape(text: str) -> str:
    """``text`` for a Markdown table cell: ``\\ | * _ ` `` escaped, line breaks as spaces."""
    return "".join(_MD_SPECIAL.get(ch, ch) for ch in str(text)).replace("\n", " ")


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
    "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}",
}
_LATEX_UNICODE = {
    "↑": r"\ensuremath{\uparrow}", "↓": r"\ensuremath{\downarrow}", "→": r"\ensuremath{\rightarrow}",
    "±": r"\ensuremath{\pm}", "×": r"\ensuremath{\times}", "·": r"\ensuremath{\cdot}", "−": r"\ensuremath{-}",
    "α": r"\ensuremath{\alpha}", "β": r"\ensuremath{\beta}", "γ": r"\ensuremath{\gamma}", "η": r"\ensuremath{\eta}",
    "λ": r"\ensuremath{\lambda}", "τ": r"\ensuremath{\tau}", "σ": r"\ensuremath{\sigma}",
    "₀": r"\textsubscript{0}", "₁": r"\textsubscript{1}", "₂": r"\textsubscript{2}", "₃": r"\textsubscript{3}",
    "¹": r"\textsuperscript{1}", "²": r"\textsuperscript{2}", "³": r"\textsuperscript{3}",
    "⁻": r"\textsuperscript{\ensuremath{-}}", "⁺": r"\textsuperscript{+}", "†": r"\ensuremath{^\dagger}",
    "✓": r"\ensuremath{\surd}", "—": "---", "–": "--", "“": "``", "”": "''", "‘": "`", "’": "'",
    "é": r"\'e", "ö": r"\"o", "ü": r"\"u", "ä": r"\"a", "≤": r"\ensuremath{\le}", "≥": r"\ensuremath{\ge}",
}


def latex_escape(text: str) -> str:
    """``text`` for LaTeX: the special characters ``\\ & % $ # _ { } ~ ^ < >`` escaped and the non-ASCII
    characters of :data:`_LATEX_UNICODE` as commands; any other non-ASCII character is kept as is (UTF-8
    input)."""
    return "".join(_LATEX_SPECIAL.get(ch) or _LATEX_UNICODE.get(ch) or ch for ch in str(text))


# -- Markdown ------------------------------------------------------------------------------------------


def md_table(header: list[str], rows: list[list[str]], align: list[str]) -> list[str]:
    """The lines of a Markdown table: escaped ``header``, one alignment per column (``"r"`` right, else left),
    ``rows`` as given (already formatted); shared by the paper tables and the human-rating scores."""
    out = ["| " + " | ".join(md_escape(h) for h in header) + " |",
           "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    out += ["| " + " | ".join(md_escape(c) for c in row) + " |" for row in rows]
    return out


def _fmt(x, digits: int, sign: bool = False) -> str:
    return "—" if x is None else fmt_number(x, digits, sign)


def _fmt_change(x: float | None) -> str:
    """A reported change in the precision of the printed values (their difference, already rounded)."""
    if x is None:
        return "—"
    return ("+" if x > 0 else "") + repr(float(x))


def agreement_lines(t: RenderedTable) -> list[str]:
    """The agreement figures of a table as Markdown lines (a τ table; for ablation and
    hyper-parameter tables the changes against the base rows)."""
    a, spec = t.agreement, t.spec
    label = {c.metric_id: c.label for c in spec.columns}
    digits = {c.metric_id: c.digits for c in spec.columns}
    run_ds = DATASET_NAMES.get(t.run["dataset"], t.run["dataset"])
    out = [f"**Rank agreement** (Kendall τ-b of the measured values on {run_ds} against each reported "
           "column, over the rows that have both):", ""]
    rows = [[label[c.column], DATASET_NAMES[c.dataset], _fmt(c.tau, 2), _fmt(c.p_value, 3), str(c.n), c.reason]
            for c in a.columns]
    out += md_table(["Column", "Reported on", "τ-b", "p", "n", "Why undefined"], rows,
                     ["l", "l", "r", "r", "r", "l"])
    if spec.base_row is not None:
        share = "—" if a.share is None else f"{a.share:.0%}"
        out += ["", f"**Direction of changes** against the base row “{spec.base_row}” (or the row named in "
                f"“Against”): {a.matches} of {a.counted} counted changes go the way the paper reports ({share}); "
                "a change the paper reports as none, or one without both values, is not counted.", ""]
        rows = [[ch.row, ch.base, label[ch.column], DATASET_NAMES[ch.dataset],
                 _fmt_change(ch.reported_change), _fmt(ch.measured_change, digits[ch.column], True),
                 ch.reported or "—", ch.measured or "—",
                 {True: "yes", False: "no", None: "not counted"}[ch.match], ch.reason] for ch in a.changes]
        out += md_table(["Row", "Against", "Column", "On", "Reported Δ", "Measured Δ", "Reported", "Measured",
                          "Match", "Why not counted"], rows, ["l", "l", "l", "l", "r", "r", "l", "l", "l", "l"])
    return out


def to_markdown(t: RenderedTable) -> str:
    """The table as a Markdown document: title, caption, the table, agreement figures, notes."""
    frame = t.frame
    lines = [f"# {t.spec.title}", "", t.caption, ""]
    lines += md_table(list(frame.columns), frame.values.tolist(), ["l", "l"] + ["r"] * (frame.shape[1] - 2))
    lines += [""] + agreement_lines(t)
    if t.notes:
        lines += ["", "**Notes.**", ""] + [f"- {md_escape(n)}" for n in t.notes]
    return "\n".join(lines) + "\n"


# -- CSV and JSON -----------------------------------------------------------------------------------------


def to_csv(t: RenderedTable) -> str:
    """The table in the paper's layout as CSV (the display strings of the Markdown table)."""
    buf = io.StringIO()
    t.frame.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


def to_json(t: RenderedTable) -> str:
    """Everything: spec, run info, caption, notes, the display table, every value as numbers and the
    agreement figures; sorted keys, NaN as null."""
    return json.dumps(t.to_dict(), indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


# -- LaTeX -------------------------------------------------------------------------------------------------


def to_latex(t: RenderedTable) -> str:
    """The table as a LaTeX ``table`` float (booktabs): metric groups over their reported and measured
    columns, the caption, and the agreement summary and notes under the tabular."""
    frame, groups = t.frame, t.groups
    ncols = frame.shape[1]
    head1, rules, head2 = ["", ""], [], ["Row", "Generator"]
    col = 3
    for g in groups:
        k = len(g.columns)
        head1.append(rf"\multicolumn{{{k}}}{{c}}{{{latex_escape(g.label)}}}")
        rules.append(rf"\cmidrule(lr){{{col}-{col + k - 1}}}")
        head2 += [latex_escape(s) for s in g.subheads]
        col += k
    lines = [f"% {t.spec.id}: written by t2ibench.tables (needs \\usepackage{{booktabs}})",
             r"\begin{table}[t]", r"\centering", r"\small",
             r"\caption{" + latex_escape(t.caption) + "}",
             r"\label{tab:" + t.spec.id + "}",
             r"\begin{tabular}{ll" + "r" * (ncols - 2) + "}", r"\toprule",
             " & ".join(head1) + r" \\", "".join(rules), " & ".join(head2) + r" \\", r"\midrule"]
    for row in frame.values.tolist():
        lines.append(" & ".join(latex_escape(c) for c in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    a = t.agreement
    label = {c.metric_id: c.label for c in t.spec.columns}
    taus = [f"{label[c.column]} ({DATASET_NAMES[c.dataset]}): "
            + (f"τ-b = {_fmt(c.tau, 2)}, n = {c.n}" if c.tau is not None else f"undefined ({c.reason})")
            for c in a.columns]
    summary = "Rank agreement — " + ("; ".join(taus) if taus else "none") + "."
    if t.spec.base_row is not None:
        summary += (f" Direction of changes against the base row “{t.spec.base_row}”: {a.matches} of {a.counted} "
                    "counted changes go the way the paper reports.")
    lines += [r"\par\smallskip\footnotesize " + latex_escape(summary)]
    for n in t.notes:
        lines.append(r"\par " + latex_escape(n))
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


__all__ = ["fmt_reported", "fmt_number", "md_escape", "latex_escape", "agreement_lines", "to_markdown", "to_csv",
           "to_json", "to_latex"]
