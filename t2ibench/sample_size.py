"""FID and KID against the number of generated images (issue 13, point 4): FID's bias with n, in one picture.

FID (Heusel et al. 2017) is biased upward at finite n — roughly by c/n, with c depending on the
generator (Chong & Forsyth, CVPR 2020) — so two rows are comparable only at equal n, while KID (Bińkowski
et al. 2018, an unbiased MMD estimate) is not biased by n. :func:`against_n` evaluates each generator at
every n of ``ns`` (the first n captions of the one evaluation plan, the same seed, the dataset's default
extractor for both metrics, each n a full :func:`t2ibench.engine.evaluate` run with its own kept images)
and :func:`plot_against_n` draws the two curves side by side: a row whose FID keeps falling as n grows
shows the bias; KID stays flat within its std.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

#: the sizes of the default picture on ``shapes`` (its test split has 2000 images: the plan's largest n)
DEFAULT_NS = (250, 500, 1000, 2000)
#: the metrics of the picture
AGAINST_N_METRICS = ("fid", "kid")


def sizes_up_to(n_images: int, ns=DEFAULT_NS) -> list[int]:
    """The sizes of ``ns`` below a run's ``n_images``, and ``n_images`` itself (the run's own n)."""
    return sorted({n for n in ns if n < n_images} | {n_images})


def against_n(generators: dict, dataset, ns=DEFAULT_NS, seed: int = 0, device: str = "cpu",
              extractor_weights=None, progress: bool = False, known=(),
              generator_precision: str | None = None) -> pd.DataFrame:
    """One row per (generator, n): ``generator, n, fid, kid, kid_std, reused`` (``generators``: name -> a loaded
    generator or a registered name). ``n`` larger than the dataset's split is left out. ``known``:
    :class:`~t2ibench.result.EvalResult` s already computed (the leaderboard's), used where one has this
    generator, n, seed, dataset, generator precision and both metrics with the default extractor, instead of
    evaluating again. ``generator_precision``: as :func:`t2ibench.engine.evaluate`'s (``None``: float32)."""
    from t2ibench import defaults
    from t2ibench.engine import evaluate

    precision = generator_precision or defaults.GENERATOR_PRECISION
    reuse = {(r.generator, r.n_images): r for r in known
             if r.seed == seed and r.dataset.get("fingerprint") == dataset.fingerprint
             and r.provenance.get("generator_precision", "float32") == precision
             and set(AGAINST_N_METRICS) <= set(r.metrics)}
    rows = []
    for name, generator in generators.items():
        for n in (n for n in ns if n <= len(dataset)):
            result = reuse.get((name, n)) or evaluate(
                generator, dataset, metrics=list(AGAINST_N_METRICS), n_images=n, seed=seed, device=device,
                extractor_weights=extractor_weights, progress=progress, generator_name=name,
                generator_precision=precision)
            reused = (name, n) in reuse
            if reused:
                print(f"fid/kid against n: {name} at n={n} read from this run's leaderboard result (same generator, "
                      f"n, seed, dataset fingerprint, precision and default extractor), not evaluated again",
                      flush=True)
            kid = result.metrics["kid"]
            rows.append({"generator": name, "n": n, "fid": result.value("fid"), "kid": kid["value"],
                         "kid_std": kid.get("std"), "reused": reused})
    return pd.DataFrame(rows, columns=["generator", "n", "fid", "kid", "kid_std", "reused"])


def plot_against_n(table: pd.DataFrame, path, title: str | None = None) -> Path:
    """FID (left) and KID ± std (right) against n on a log axis, one line per generator; PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from t2ibench.plots import save_figure

    fig, (ax_fid, ax_kid) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, rows in table.groupby("generator", sort=False):
        ax_fid.plot(rows["n"], rows["fid"], marker="o", ms=4, label=name)
        ax_kid.errorbar(rows["n"], rows["kid"], yerr=rows["kid_std"].fillna(0), marker="o", ms=4, capsize=2,
                        label=name)
    for ax, label in ((ax_fid, "FID ↓ (biased upward at small n)"), (ax_kid, "KID ↓ ± std (unbiased)")):
        ax.set_xscale("log")
        ax.set_xticks(sorted(table["n"].unique()))
        ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.get_xaxis().set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("generated images n (first n captions of one plan)")
        ax.set_title(label, fontsize=10)
        ax.tick_params(labelsize=8)
    ax_kid.legend(fontsize=7, loc="best")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, Path(path))
    return Path(path)
