"""The human-rating kit for the papers' human-evaluation tables (KT-GAN Table VI, SDN Table 2,
CPGAN Table 2; issue 13, point 5).

- ``t2ibench human-sheet``: :func:`.sheet.build_sheet` writes one self-contained HTML page
  (:mod:`.page`) showing, per caption, every generator's image side by side in a shuffled order
  under the labels A, B, C, ...; raters answer by clicking and download their answers as CSV.
  The key (which label is which generator) goes to a separate ``key.json``.
- ``t2ibench human-score``: :func:`.score.score_answers` checks the answer CSVs against the key
  (:mod:`.answers`) and computes the rank-1 ratios and mean ranks (:mod:`.stats`), bootstrap
  intervals, and the inter-rater agreement (:mod:`.agreement`); :mod:`.report` writes the table
  as Markdown, CSV, JSON and LaTeX.

The protocols and the CSV schema are described in :mod:`.protocols`.
"""
from t2ibench.human.agreement import kendall_w, krippendorff_alpha
from t2ibench.human.protocols import CSV_COLUMNS, PROTOCOLS, Criterion, criteria_for

__all__ = ["CSV_COLUMNS", "PROTOCOLS", "Criterion", "criteria_for", "kendall_w", "krippendorff_alpha",
           "build_sheet", "score_answers", "write_scores"]


def __getattr__(name: str):  # the sheet builder imports torch; keep `import t2ibench.human` light
    if name == "build_sheet":
        from t2ibench.human.sheet import build_sheet

        return build_sheet
    if name == "score_answers":
        from t2ibench.human.score import score_answers

        return score_answers
    if name == "write_scores":
        from t2ibench.human.report import write_scores

        return write_scores
    raise AttributeError(f"module 't2ibench.human' has no attribute {name!r}")
