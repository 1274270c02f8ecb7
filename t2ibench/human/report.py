"""The human-evaluation scores as a table in the project's four formats: Markdown, CSV, JSON, LaTeX.

One row per generator (in the sheet's ``--generators`` order); per criterion of the sheet a value
column and its 95 % bootstrap interval: "Rank-1 ratio (%) ↑" for the best pick (as KT-GAN Table VI
and CPGAN Table 2 print it), "Quality rank ↓" and "Correlation rank ↓" as mean ± std (as SDN Table 2
prints it). Under the table, the inter-rater agreement per criterion. Cell text, escaping and
number formatting are those of :mod:`t2ibench.tables.writers` (the paper tables' writers); the
output is deterministic (fixed decimals, sorted JSON keys, ``\\n`` line ends, no timestamps).
Files: ``<out>/human-scores.{md,csv,json,tex}``.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from t2ibench.io import write_text
from t2ibench.tables.writers import md_table, fmt_number, latex_escape, md_escape

#: The files :func:`write_scores` writes, by format.
FILES = {"md": "human-scores.md", "csv": "human-scores.csv", "json": "human-scores.json", "tex": "human-scores.tex"}

_MISSING = "—"


def _f(x, digits: int = 2) -> str:
    return _MISSING if x is None else fmt_number(x, digits)


def _ci(ci, scale: float = 1.0) -> str:
    if not ci or ci[0] is None or ci[1] is None:
        return _MISSING
    return f"[{fmt_number(ci[0] * scale, 2)}, {fmt_number(ci[1] * scale, 2)}]"


def column_labels(criterion: dict) -> tuple[str, str]:
    """The headers of a criterion's value column and interval column."""
    if criterion["kind"] == "pick":
        return "Rank-1 ratio (%) ↑", "Rank-1 ratio 95% CI (%)"
    name = criterion["id"].capitalize()
    return f"{name} rank ↓ (mean ± std)", f"{name} rank 95% CI"


def table_rows(scores: dict) -> tuple[list[str], list[list[str]]]:
    """``(header, rows)`` of the main table, as display strings."""
    header = ["Generator"]
    for c in scores["criteria"]:
        header += list(column_labels(c))
    rows = []
    for j, name in enumerate(scores["generators"]):
        row = [name]
        for c in scores["criteria"]:
            cell = c["generators"][j]
            if c["kind"] == "pick":
                ratio = cell["rank1_ratio"]
                row += [_MISSING if ratio is None else fmt_number(100 * ratio, 2), _ci(cell["ci95"], 100.0)]
            else:
                value = _MISSING if cell["mean_rank"] is None else (
                    _f(cell["mean_rank"]) + ("" if cell["std"] is None else f" ± {_f(cell['std'])}"))
                row += [value, _ci(cell["ci95"])]
        rows.append(row)
    return header, rows


def agreement_rows(scores: dict) -> tuple[list[str], list[list[str]]]:
    """``(header, rows)`` of the agreement table, one row per criterion."""
    header = ["Criterion", "Protocol", "Kendall's W (mean over captions)", "Captions with ≥ 2 raters",
              "Krippendorff's α (ordinal)", "Units with ≥ 2 raters", "Undefined because"]
    rows = []
    for c in scores["criteria"]:
        a = c["agreement"]
        rows.append([c["title"], c["papers"], _f(a["kendall_w"], 3), str(a["kendall_w_captions"]),
                     _f(a["krippendorff_alpha_ordinal"], 3), str(a["krippendorff_alpha_units"]),
                     a["undefined_because"] or _MISSING])
    return header, rows


def title(scores: dict) -> str:
    return f"Human evaluation — sheet {scores['sheet_id']}"


def caption(scores: dict) -> str:
    """One paragraph: what was rated, by whom, and how each column is computed."""
    ds, key, b = scores["dataset"], scores["key"], scores["bootstrap"]
    n_r = len(scores["raters"])
    parts = [f"{key['n_captions']} captions of {ds['name']} ({ds['split']} split, evaluation plan seed {key['seed']}), "
             f"{len(scores['generators'])} generators shown side by side in a random order per caption, "
             f"{n_r} rater{'s' if n_r != 1 else ''} ({', '.join(scores['raters'])}), protocol “{key['protocol']}”."]
    for c in scores["criteria"]:
        if c["kind"] == "pick":
            parts.append(f"Rank-1 ratio: the share of the {c['answers']} (rater, caption) answers in which the "
                         f"generator's image was picked as the best; {c['papers']}.")
        else:
            parts.append(f"{c['id'].capitalize()} rank: mean ± sample std of the rank (1 = best) over the "
                         f"{c['answers']} (rater, caption) rankings; {c['papers']}.")
    if b["resamples"]:
        parts.append(f"95% CI: percentile bootstrap, {b['resamples']} resamples of captions and raters "
                     f"(seed {b['seed']}).")
    else:
        parts.append("No bootstrap intervals (--bootstrap 0).")
    parts.append("Agreement: Kendall's W with the tie correction per caption (a best pick ranks the other images "
                 "tied), averaged over captions; Krippendorff's α (ordinal) over (caption, image) units.")
    return " ".join(parts)


def to_markdown(scores: dict) -> str:
    header, rows = table_rows(scores)
    lines = [f"# {title(scores)}", "", caption(scores), ""]
    lines += md_table(header, rows, ["l"] + ["r"] * (len(header) - 1))
    a_header, a_rows = agreement_rows(scores)
    lines += ["", "**Inter-rater agreement** (1 = every rater gives the same answer):", ""]
    lines += md_table(a_header, a_rows, ["l", "l", "r", "r", "r", "r", "l"])
    if scores["notes"]:
        lines += ["", "**Notes.**", ""] + [f"- {md_escape(n)}" for n in scores["notes"]]
    return "\n".join(lines) + "\n"


def to_csv(scores: dict) -> str:
    """The main table's display strings as CSV (everything else is in the JSON)."""
    header, rows = table_rows(scores)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def to_json(scores: dict) -> str:
    """Every number (fractions, not %), the display table, the caption and the agreement figures."""
    header, rows = table_rows(scores)
    doc = dict(scores, title=title(scores), caption=caption(scores), table={"header": header, "rows": rows})
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def to_latex(scores: dict) -> str:
    """A LaTeX ``table`` float (booktabs) with the caption and the agreement figures under the tabular."""
    header, rows = table_rows(scores)
    lines = [f"% human-scores {scores['sheet_id']}: written by t2ibench.human (needs \\usepackage{{booktabs}})",
             r"\begin{table}[t]", r"\centering", r"\small",
             r"\caption{" + latex_escape(caption(scores)) + "}",
             r"\label{tab:human-" + scores["sheet_id"] + "}",
             r"\begin{tabular}{l" + "r" * (len(header) - 1) + "}", r"\toprule",
             " & ".join(latex_escape(h) for h in header) + r" \\", r"\midrule"]
    lines += [" & ".join(latex_escape(c) for c in row) + r" \\" for row in rows]
    lines += [r"\bottomrule", r"\end{tabular}"]
    summary = []
    for c in scores["criteria"]:
        a = c["agreement"]
        summary.append(f"{c['title']}: W = {_f(a['kendall_w'], 3)} ({a['kendall_w_captions']} captions), "
                       f"α = {_f(a['krippendorff_alpha_ordinal'], 3)}")
    agreement = "Inter-rater agreement — " + "; ".join(summary) + "."
    lines.append(r"\par\smallskip\footnotesize " + latex_escape(agreement))
    lines += [r"\par " + latex_escape(n) for n in scores["notes"]]
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


WRITERS = {"md": to_markdown, "csv": to_csv, "json": to_json, "tex": to_latex}


def write_scores(scores: dict, out) -> dict[str, Path]:
    """Write ``<out>/human-scores.{md,csv,json,tex}`` (each atomically); returns format -> path."""
    out = Path(out)
    files = {}
    for fmt, name in FILES.items():
        files[fmt] = out / name
        write_text(files[fmt], WRITERS[fmt](scores))
    return files


__all__ = ["FILES", "column_labels", "table_rows", "agreement_rows", "caption", "to_markdown", "to_csv", "to_json",
           "to_latex", "write_scores"]
