"""Figures worth looking at: captioned image grids and per-metric bar charts (matplotlib, PNG)."""
from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from t2ibench.io import atomic_write  # noqa: E402


def save_figure(fig, path) -> None:
    """Save a matplotlib figure as PNG atomically and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    with atomic_write(path) as f:
        f.write(buf.getvalue())


def save_captioned_grid(images: torch.Tensor, captions: Sequence[str], path, ncols: int = 4,
                        title: str | None = None) -> None:
    """Save uint8 ``[N, 3, H, W]`` images as a PNG grid with each caption under its image."""
    n = len(images)
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.6 * ncols, 3.1 * nrows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < n:
            ax.imshow(images[k].permute(1, 2, 0).numpy(), interpolation="nearest")
            ax.set_title("\n".join(textwrap.wrap(str(captions[k]), 30)[:3]), fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    save_figure(fig, path)


def save_model_grid(rows: dict[str, torch.Tensor], captions: Sequence[str], path, title: str | None = None) -> None:
    """Save the images of several generators for the same captions as one PNG grid: one row per generator
    (``rows``: name -> uint8 ``[N, 3, H, W]``, the images of ``captions`` in order; sizes may differ), one
    column per caption, the captions printed over the first row and the generator names at the left."""
    names, n = list(rows), len(captions)
    if not names or any(len(rows[name]) != n for name in names):
        raise ValueError(f"save_model_grid: every row needs {n} images (one per caption), got "
                         f"{ {name: len(rows[name]) for name in names} }")
    height = 1.75 * len(names) + 0.9
    fig, axes = plt.subplots(len(names), n, figsize=(1.7 * n + 1.2, height), squeeze=False)
    for i, name in enumerate(names):
        for k in range(n):
            ax = axes[i, k]
            ax.imshow(rows[name][k].permute(1, 2, 0).numpy(), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title("\n".join(textwrap.wrap(str(captions[k]), 22)[:4]), fontsize=6)
            if k == 0:
                ax.set_ylabel(name, fontsize=8, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title, fontsize=10, y=1 - 0.12 / height)
    # no band of empty figure between the title and the first row (the default margins scale with height)
    fig.tight_layout(pad=0.4, rect=(0, 0, 1, 1 - (0.35 if title else 0) / height))
    save_figure(fig, path)


def save_metric_bars(table, path, title: str | None = None) -> None:
    """One bar chart per metric column of a leaderboard ``DataFrame`` (rows: generators).

    ``table`` has a ``generator`` column and, per metric, ``<metric>`` and optionally
    ``<metric>_std`` columns; error bars show the std where there is one.
    """
    metrics = [c for c in table.columns if c != "generator" and not c.endswith("_std")]
    ncols = min(5, len(metrics))                       # rows of five charts: readable at a glance
    nrows = -(-len(metrics) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 3.4 * nrows), squeeze=False)
    for ax in axes.flat[len(metrics):]:
        ax.set_visible(False)
    for ax, m in zip(axes.flat, metrics):
        err = table.get(f"{m}_std")
        ax.bar(table["generator"], table[m], yerr=None if err is None else err.fillna(0), color="tab:blue")
        ax.set_title(m, fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
        ax.tick_params(axis="y", labelsize=7)
        # labels end under their bar: long names do not run into their neighbours
        plt.setp(ax.get_xticklabels(), rotation=60, ha="right", rotation_mode="anchor")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)
