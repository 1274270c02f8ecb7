"""The picture of one paper table: reported against measured, one panel per metric (issue 13, point 4).

Each panel is a scatter of the rows that have both numbers: x the value the paper reports (one colour
per reported dataset), y the value t2ibench measures (± its std as an error bar), each point labelled
with the row, the panel titled with the metric, its direction and Kendall τ-b per reported dataset.
Rows the paper reports but the zoo cannot measure (and the reverse) have no point: the panel says how
many rows have both. Same order of rows as the paper's table; the measured values are on the run's
dataset, so only the ordering (τ) is comparable, not the sizes.
"""
from __future__ import annotations

import math
from pathlib import Path

from t2ibench.tables.render import RenderedTable
from t2ibench.tables.specs import DATASET_NAMES

#: reported datasets' colours (matplotlib's tab10 entries), in a fixed order
DATASET_COLOURS = {"cub": "tab:blue", "coco": "tab:orange", "flowers": "tab:green", "": "tab:gray"}


def _pairs(table: RenderedTable, metric_id: str) -> dict[str, list[tuple[str, float, float, float | None]]]:
    """Per reported dataset: ``(row, reported, measured, measured std)`` of the rows with both values."""
    measured = {v["row"]: (v["value"], v["std"]) for v in table.values
                if v["metric"] == metric_id and v["source"] == "measured" and v["value"] is not None}
    out: dict[str, list] = {}
    for v in table.values:
        if v["metric"] == metric_id and v["source"] == "reported" and v["value"] is not None and v["row"] in measured:
            out.setdefault(v["dataset"], []).append((v["row"], v["value"], *measured[v["row"]]))
    return out


def plot_table(table: RenderedTable, path) -> Path | None:
    """Write the reported-vs-measured figure of ``table`` to ``path`` (PNG); None (nothing written)
    when no column has a measurable protocol or human raters' scores (a human-rating table without
    ``--human-scores``, or a no-protocol table)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from t2ibench.plots import save_figure

    measured = {v["metric"] for v in table.values if v["source"] == "measured" and v["value"] is not None}
    groups = [g for g, c in zip(table.groups, table.spec.columns)
              if c.protocol is not None or (c.is_human and c.metric_id in measured)]
    if not groups:
        return None
    taus = {(a.column, a.dataset): a.tau for a in table.agreement.columns}
    cols = min(3, len(groups))
    rows = math.ceil(len(groups) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.9 * rows), squeeze=False)
    for ax in axes.flat[len(groups):]:
        ax.axis("off")
    for ax, group in zip(axes.flat, groups):
        pairs = _pairs(table, group.metric_id)
        n = 0
        for dataset, points in sorted(pairs.items()):
            n = max(n, len(points))
            xs, ys = [p[1] for p in points], [p[2] for p in points]
            errs = [p[3] or 0.0 for p in points]
            tau = taus.get((group.metric_id, dataset))
            label = f"{DATASET_NAMES.get(dataset, dataset)} (τ-b {'—' if tau is None else f'{tau:.2f}'})"
            ax.errorbar(xs, ys, yerr=errs, fmt="o", ms=5, capsize=2, color=DATASET_COLOURS.get(dataset, "tab:red"),
                        label=label)
            for row, x, y, _ in points:
                ax.annotate(row, (x, y), fontsize=6, xytext=(3, 3), textcoords="offset points")
        ax.set_title(f"{group.label}: {n} rows with both", fontsize=9)
        ax.set_xlabel("reported (paper)", fontsize=8)
        ax.set_ylabel(f"measured ({DATASET_NAMES.get(table.run['dataset'], table.run['dataset'])}, "
                      f"n = {table.run['n']})", fontsize=8)
        ax.tick_params(labelsize=7)
        if pairs:
            ax.legend(fontsize=7, loc="best")
        else:
            ax.text(0.5, 0.5, "no row has both values", ha="center", va="center", transform=ax.transAxes, fontsize=8)
    fig.suptitle(f"{table.spec.title} — reported vs measured", fontsize=10)
    fig.tight_layout()
    save_figure(fig, Path(path))
    return Path(path)
