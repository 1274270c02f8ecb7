"""Leaderboard tables from :class:`~t2ibench.result.EvalResult` objects.

One table per dataset: a row per generator, a column per metric (``value`` and
``value_std``), written as Markdown, CSV, JSON and LaTeX, each atomically. The Markdown
and LaTeX show ``mean ± std`` and an arrow per metric (↑ higher is better, ↓ lower).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from t2ibench.io import write_json, write_text
from t2ibench.result import EvalResult


def results_table(results: Sequence[EvalResult]) -> pd.DataFrame:
    """A DataFrame: ``generator`` then, per metric, ``<metric>`` and ``<metric>_std``."""
    rows = []
    for r in results:
        row = {"generator": r.generator}
        for name, m in r.metrics.items():
            row[name] = m["value"]
            row[f"{name}_std"] = m.get("std")
        rows.append(row)
    return pd.DataFrame(rows)


def _directions(results: Sequence[EvalResult]) -> dict[str, bool]:
    out = {}
    for r in results:
        for name, m in r.metrics.items():
            out[name] = bool(m.get("higher_is_better", True))
    return out


def _cell(value, std, digits: int = 3) -> str:
    if value is None or pd.isna(value):
        return "–"
    text = f"{value:.{digits}f}"
    if std is not None and not pd.isna(std):
        text += f" ± {std:.{digits}f}"
    return text


def to_markdown(table: pd.DataFrame, directions: dict[str, bool]) -> str:
    metrics = [c for c in table.columns if c != "generator" and not c.endswith("_std")]
    head = ["generator"] + [f"{m} {'↑' if directions.get(m, True) else '↓'}" for m in metrics]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * len(metrics)) + "|"]
    for _, row in table.iterrows():
        cells = [str(row["generator"])] + [_cell(row[m], row.get(f"{m}_std")) for m in metrics]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def to_latex(table: pd.DataFrame, directions: dict[str, bool], caption: str = "") -> str:
    metrics = [c for c in table.columns if c != "generator" and not c.endswith("_std")]
    esc = lambda s: str(s).replace("_", r"\_").replace("&", r"\&").replace("%", r"\%")  # noqa: E731
    up, down = r"$\uparrow$", r"$\downarrow$"
    head = ["Generator"] + [f"{esc(m)} {up if directions.get(m, True) else down}" for m in metrics]
    lines = [r"\begin{table}[t]", r"\centering", r"\begin{tabular}{l" + "r" * len(metrics) + "}", r"\toprule",
             " & ".join(head) + r" \\", r"\midrule"]
    for _, row in table.iterrows():
        cells = [esc(row["generator"])] + [_cell(row[m], row.get(f"{m}_std")).replace("±", r"$\pm$")
                                           for m in metrics]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if caption:
        lines.append(r"\caption{" + esc(caption) + "}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def write_leaderboard(results: Sequence[EvalResult], out_dir, title: str) -> pd.DataFrame:
    """Write ``leaderboard.{md,csv,json,tex}`` into ``out_dir`` and return the table."""
    out_dir = Path(out_dir)
    table = results_table(results)
    directions = _directions(results)
    write_text(out_dir / "leaderboard.md", f"# {title}\n\n" + to_markdown(table, directions))
    write_text(out_dir / "leaderboard.csv", table.to_csv(index=False))
    write_json(out_dir / "leaderboard.json", {"title": title, "rows": [r.to_dict() for r in results]})
    write_text(out_dir / "leaderboard.tex", to_latex(table, directions, caption=title))
    return table
