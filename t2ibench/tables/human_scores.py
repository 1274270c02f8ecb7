"""Human raters' scores as the measured values of the papers' human-rated tables.

KT-GAN Table VI and CPGAN Table 2 (rank-1 ratio, % — the share of captions on which raters picked a
method's image as the best) and SDN Table 2 (mean rank ± std by quality and by text correlation) are
measured by people, not by a network: ``t2ibench human-sheet`` builds the rating page,
``t2ibench human-score`` turns the raters' answers into ``human-scores.json``
(format :data:`t2ibench.human.score.SCORES_FORMAT`), and ``benchmark.py --human-scores FILE`` puts
those numbers in the measured column of each human table they fit.

**When a scores file fills a table.** A rank-1 ratio and a mean rank depend on which images were
shown together (three generators share 100 % of the picks; four spread it thinner; a mean rank runs
from 1 to the number of generators), so a file fills a table only when the sheet showed exactly the
table's rows that have a zoo generator — KT-GAN Table VI: ``attngan, dmgan, ktgan``; CPGAN Table 2:
``stackgan, attngan, cpgan``; SDN Table 2: ``sdn, stackgan, gan-int-cls`` (GAWWN is not in the zoo, so
these ranks run over three methods where the paper's ran over four: the caption says so) — on the
run's dataset, and only the columns whose metric id its criteria name (``human_rank1``,
``human_rank_quality``, ``human_rank_correlation``). Every other file is left out for that table with
the reason printed; two files that would fill the same cell are an error (score their answers
together: ``t2ibench human-score`` takes several answer files).
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from t2ibench.tables.cells import human_keys
from t2ibench.tables.specs import TableSpec


@dataclass(frozen=True)
class HumanScores:
    """One ``human-scores.json``: ``path``, and the scores dict :func:`t2ibench.human.score.score_answers`
    returns."""

    path: Path
    scores: dict

    @property
    def generators(self) -> set[str]:
        return set(self.scores["generators"])

    def describe(self) -> str:
        """Where the numbers come from, in words (for the table's caption)."""
        s = self.scores
        raters = len(s["raters"])
        key = s["key"]
        return (f"scored by t2ibench human-score from {self.path.name} (sheet {s['sheet_id']}, protocol "
                f"{key['protocol']}, seed {key['seed']}, {key['n_captions']} captions, "
                f"{raters} rater{'s' * (raters != 1)}, generators {', '.join(s['generators'])})")


def load_human_scores(paths: Iterable) -> list[HumanScores]:
    """Read ``human-scores.json`` files; ``ValueError`` naming the file for one that is not JSON or not
    the scores format."""
    from t2ibench.human.score import SCORES_FORMAT

    out = []
    for p in paths:
        path = Path(p)
        if not path.is_file():
            raise ValueError(f"--human-scores {path}: no such file (expected the human-scores.json that "
                             "'t2ibench human-score' writes)")
        try:
            scores = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"--human-scores {path}: not JSON ({e})") from None
        if not isinstance(scores, dict) or scores.get("format") != SCORES_FORMAT:
            found = scores.get("format") if isinstance(scores, dict) else type(scores).__name__
            raise ValueError(f"--human-scores {path}: format {found!r}, expected {SCORES_FORMAT!r} (the "
                             "human-scores.json of 't2ibench human-score')")
        out.append(HumanScores(path, scores))
    return out


def _value(criterion: dict, generator: str) -> tuple[float, float | None] | None:
    """``(value, std)`` of ``generator`` under ``criterion`` in t2ibench's units (a share for a rank-1
    ratio, a rank for a mean rank), None when its raters gave none."""
    entry = next(g for g in criterion["generators"] if g["generator"] == generator)
    if criterion["kind"] == "pick":
        return None if entry["rank1_ratio"] is None else (float(entry["rank1_ratio"]), None)
    return None if entry["mean_rank"] is None else (float(entry["mean_rank"]), entry["std"])


def human_measured(spec: TableSpec, files: Iterable[HumanScores], dataset: str) -> tuple[dict, list[str], list[str]]:
    """The human-rated cells of ``spec`` from the scores ``files`` (see the module docstring).

    Returns ``(measured, used, skipped)``: ``{(row label, metric id): (value, std)}`` as
    :func:`~.cells.measured_cells` takes it, the description of each file used (for the caption), and
    why each other file was left out. ``ValueError`` when two files fill the same cell."""
    keys = human_keys(spec)
    if not keys:
        return {}, [], []
    rows = {r.label: r.generator for r in spec.rows}
    wanted = {rows[label] for label, _ in keys}
    metrics = {metric for _, metric in keys}
    measured, used, skipped, filled_by = {}, [], [], {}
    for f in files:
        name = f.scores.get("dataset", {}).get("name")
        criteria = [c for c in f.scores["criteria"] if c["metric"] in metrics]
        if name != dataset:
            skipped.append(f"{f.path}: rated on {name}, this table is measured on {dataset}")
        elif f.generators != wanted:
            skipped.append(f"{f.path}: its sheet shows {', '.join(sorted(f.generators))}; {spec.id} needs "
                           f"exactly {', '.join(sorted(wanted))} (a rank-1 ratio or mean rank depends on what "
                           "was shown together)")
        elif not criteria:
            skipped.append(f"{f.path}: none of its criteria ({', '.join(c['metric'] for c in f.scores['criteria'])})"
                           f" is a column of {spec.id} ({', '.join(sorted(metrics))})")
        else:
            for c in criteria:
                for label, metric in keys:
                    if metric != c["metric"]:
                        continue
                    if (label, metric) in filled_by:
                        raise ValueError(f"{spec.id}: {label} / {metric} is rated in both {filled_by[label, metric]} "
                                         f"and {f.path}; score the answers together (t2ibench human-score takes "
                                         "several answer files) and pass one human-scores.json")
                    filled_by[label, metric] = f.path
                    measured[(label, metric)] = _value(c, rows[label])
            used.append(f.describe())
    return measured, used, skipped


__all__ = ["HumanScores", "load_human_scores", "human_measured"]
