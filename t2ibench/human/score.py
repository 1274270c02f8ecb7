"""Score a sheet's answers: the papers' statistics, confidence intervals and rater agreement.

:func:`score_answers` reads the key and the answers (:mod:`.answers`), and per criterion of the
sheet computes, by generator:

- pick criteria (``best``): the rank-1 ratio (KT-GAN Sec. IV-A / Table VI, CPGAN Sec. 4.3 /
  Table 2);
- rank criteria (``quality``, ``correlation``): the mean rank ± std (SDN Sec. 4.2 / Table 2);
- a percentile 95 % bootstrap interval of either, resampling captions and raters (:mod:`.stats`);

and the inter-rater agreement of the criterion (:mod:`.agreement`):

- Kendall's W, tie-corrected, per caption over the raters who answered it (judges = raters,
  objects = the caption's images), averaged over the captions with at least two raters. A best
  pick enters as a ranking with the picked image 1 and the others tied at the mid-rank
  (k + 2) / 2, which is what the tie correction is for.
- Krippendorff's α, ordinal, with coders = raters, units = (caption, image) pairs and the value
  = the rank the image got (for a best pick: picked or not, two ordered values, for which the
  ordinal, interval and nominal α coincide).

Under answers at random, a caption's W has expectation 1/m (m raters), so the mean W of a
study with few raters is well above 0 by chance; α is corrected for chance (about 0 then).

The result is a JSON-native dict (format :data:`SCORES_FORMAT`); :mod:`.report` writes it as a
table.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from t2ibench import defaults
from t2ibench.human.agreement import kendall_w, krippendorff_alpha
from t2ibench.human.answers import Answers, load_key, read_answers
from t2ibench.human.stats import bootstrap_mean_rank, bootstrap_rank1, mean_rank, rank1_ratio
from t2ibench.io import sha256_file

#: Format tag of the scores JSON.
SCORES_FORMAT = "t2ibench-human-scores/1"
#: Bootstrap resamples of ``t2ibench human-score`` unless ``--bootstrap`` says otherwise.
BOOTSTRAP_RESAMPLES = 1000


def _num(x) -> float | None:
    """A float for JSON: None for NaN."""
    x = float(x)
    return None if math.isnan(x) else x


def criterion_agreement(answers: Answers, criterion: str) -> dict:
    """Kendall's W (mean over captions with >= 2 raters) and Krippendorff's α (ordinal) of one criterion."""
    ranks = answers.as_ranks(criterion)  # [raters, captions, generators]
    answered = answers.answered(criterion)
    ws = []
    for c in range(ranks.shape[1]):
        judges = ranks[answered[:, c], c, :]
        if len(judges) >= 2:
            w = kendall_w(judges)
            if not math.isnan(w):
                ws.append(w)
    data = ranks.reshape(ranks.shape[0], -1)  # coders x (caption, generator) units
    alpha = krippendorff_alpha(data, "ordinal") if len(answers.raters) >= 2 else math.nan
    units = int(((~np.isnan(data)).sum(axis=0) >= 2).sum())
    reason = ""
    if len(answers.raters) < 2:
        reason = "one rater: agreement needs at least two"
    elif not ws:
        reason = "no caption was answered by two raters"
    return {"kendall_w": _num(np.mean(ws)) if ws else None, "kendall_w_captions": len(ws),
            "kendall_w_min": _num(np.min(ws)) if ws else None, "kendall_w_max": _num(np.max(ws)) if ws else None,
            "krippendorff_alpha_ordinal": _num(alpha), "krippendorff_alpha_units": units, "undefined_because": reason}


def score_answers(answer_files, key_file, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = defaults.SEED) -> dict:
    """Every statistic of the answers in ``answer_files`` to the sheet of ``key_file`` (see the module
    docstring), as a JSON-native dict. ``resamples``: bootstrap resamples (0: no intervals)."""
    if not isinstance(resamples, int) or isinstance(resamples, bool) or resamples < 0:
        raise ValueError(f"--bootstrap: expected an integer >= 0, got {resamples!r}")
    key = load_key(key_file)
    answers = read_answers(answer_files, key)
    rng = np.random.default_rng(seed)
    g = len(key.generators)
    criteria, notes = [], []
    for c in key.criteria:
        answered = answers.answered(c.id)
        per_rater = answered.sum(axis=1)
        for rater, got in zip(answers.raters, per_rater):
            if 0 < got < key.n_captions:
                notes.append(f"rater {rater} answered {int(got)} of {key.n_captions} captions for “{c.title}”")
        rows = []
        if c.kind == "pick":
            ratio = rank1_ratio(answers.picks[c.id], g)
            ci = bootstrap_rank1(answers.picks[c.id], g, resamples, rng) if resamples else None
            for j, name in enumerate(key.generators):
                rows.append({"generator": name, "rank1_ratio": _num(ratio[j]),
                             "ci95": None if ci is None else [_num(ci[j, 0]), _num(ci[j, 1])]})
        else:
            mean, std = mean_rank(answers.ranks[c.id])
            ci = bootstrap_mean_rank(answers.ranks[c.id], resamples, rng) if resamples else None
            for j, name in enumerate(key.generators):
                rows.append({"generator": name, "mean_rank": _num(mean[j]), "std": _num(std[j]),
                             "ci95": None if ci is None else [_num(ci[j, 0]), _num(ci[j, 1])]})
        criteria.append({"id": c.id, "kind": c.kind, "title": c.title, "statistic": c.statistic,
                         "papers": c.papers, "metric": c.metric, "answers": int(answered.sum()),
                         "raters": int((per_rater > 0).sum()), "captions": int(answered.any(axis=0).sum()),
                         "generators": rows, "agreement": criterion_agreement(answers, c.id)})
    return {
        "format": SCORES_FORMAT,
        "sheet_id": key.sheet_id,
        "key": {"file": Path(key_file).name, "sheet_sha256": key.raw.get("sheet_sha256"),
                "protocol": key.protocol, "seed": key.seed, "n_captions": key.n_captions},
        "dataset": key.dataset,
        "generators": key.generators,
        "raters": answers.raters,
        "answer_files": [{"file": Path(f).name, "sha256": sha256_file(f)} for f in answers.files],
        "rows": answers.rows,
        "bootstrap": {"resamples": resamples, "seed": int(seed), "resampled": ["captions", "raters"],
                      "interval": "percentile", "level": 0.95},
        "criteria": criteria,
        "notes": notes,
    }


__all__ = ["SCORES_FORMAT", "BOOTSTRAP_RESAMPLES", "score_answers", "criterion_agreement"]
