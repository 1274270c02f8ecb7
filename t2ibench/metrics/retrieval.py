"""Rank-k text-to-image retrieval (KT-GAN's "Rank-1", Tan et al., Sec. IV-A "Evaluation").

KT-GAN scores a generator by text-to-image retrieval with a VSE++ model (Faghri et al. 2018)
trained on the dataset: every caption queries the images generated for the captions of its
fold; the score is the fraction of captions whose *own* generated image is ranked first
("Rank-1"; R@5 and R@10 likewise). The paper states no more than that; the rules fixed here:

- **pairing**: caption ``i``'s own image is image ``i`` (``text_emb[i]`` and ``image_emb[i]`` are
  the joint-space embeddings of caption ``i`` and of the image generated for it);
- **folds**: captions are split, in the given order, into consecutive folds of ``fold_size``
  (default ``defaults.RANK_FOLD_SIZE`` = 1000, the usual 1k-caption protocol); each caption's
  gallery is the ``fold_size`` images of its own fold; a **last partial fold is dropped**
  (its count is returned as ``n_dropped``) unless ``N < fold_size``, in which case one fold of
  all ``N`` captions is used and ``note`` says so (recall grows as the gallery shrinks, so
  values at different fold sizes are not comparable);
- **similarity**: cosine (rows are L2-normalised here, in float64);
- **ties count against the query** (pessimistic rank): the rank of caption ``i`` is
  ``1 + #{j != i in the fold : s(i, j) >= s(i, i) - TIE_TOL}``; hit@k when rank <= k. So a
  generator that returns the same image for every caption scores 0, not 1 (an optimistic rule
  would rank the own image first among identical copies); ``TIE_TOL`` (1e-6) absorbs float32
  noise between embeddings of identical images computed in different batch positions;
- **aggregate**: recall per fold, then the mean and the population std (ddof=0) over folds.

:func:`rank_k_slots` applies the same rules when every image has several captions: caption slot
``s`` of all images is one query list, folds are cut within each list (a gallery never holds the
same image twice), and the mean/std run over the folds of all lists. The evaluators' held-out
recall (real test images as the gallery) uses it.
"""
from __future__ import annotations

import numpy as np

from t2ibench import defaults
from t2ibench.validation import check_features

#: cosine scores within this of the own image's score count as ties (against the query)
TIE_TOL = 1e-6
TIE_RULE = f"pessimistic: rank = 1 + #(other gallery images with cosine >= own cosine - {TIE_TOL:g})"


#: How the evaluators' manifests measure held-out text-to-image recall (:func:`rank_k_slots`).
RANK_K_SLOTS_PROTOCOL = ("text->image, real test images as the gallery; caption slot k of every test image is one "
                         "query list; consecutive folds within each list (rank_k_slots: pessimistic ties, a last "
                         "partial fold dropped), mean and std over the folds of all lists")


def _l2n(x: np.ndarray, name: str) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if (norms == 0).any():
        raise ValueError(f"{name}: row {int(np.flatnonzero(norms[:, 0] == 0)[0])} is all zeros (cosine undefined)")
    return x / norms


def retrieval_ranks(text_emb, image_emb) -> np.ndarray:
    """Pessimistic 1-based rank of image ``i`` for caption ``i`` within one gallery (int64 ``[N]``)."""
    t = _l2n(check_features(text_emb, "text_emb"), "text_emb")
    v = _l2n(check_features(image_emb, "image_emb"), "image_emb")
    s = t @ v.T
    own = np.diag(s)[:, None]
    return (s >= own - TIE_TOL).sum(axis=1).astype(np.int64)  # counts the own image itself once: rank >= 1


def _check_args(fold_size, ks):
    fold_size = defaults.RANK_FOLD_SIZE if fold_size is None else fold_size
    ks = defaults.RANK_KS if ks is None else ks
    if isinstance(fold_size, bool) or not isinstance(fold_size, (int, np.integer)):
        raise TypeError(f"fold_size: expected an int, got {type(fold_size).__name__}")
    if fold_size < 1:
        raise ValueError(f"fold_size: must be >= 1, got {fold_size}")
    if isinstance(ks, (int, np.integer)):
        ks = (ks,)
    ks = tuple(ks)
    if not ks or any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1 for k in ks):
        raise ValueError(f"ks: expected a non-empty sequence of positive ints, got {ks!r}")
    return int(fold_size), tuple(sorted({int(k) for k in ks}))


def fold_recalls(text_emb, image_emb, fold_size: int | None = None, ks=None) -> tuple[dict[int, list[float]], dict]:
    """Per-fold recalls ``({k: [recall of fold 0, ...]}, info)``; :func:`rank_k` aggregates them.

    ``info``: ``n_folds``, ``fold_size`` (gallery size used), ``n_queries``, ``n_dropped``, ``note``.
    """
    fold_size, ks = _check_args(fold_size, ks)
    t = check_features(text_emb, "text_emb")
    v = check_features(image_emb, "image_emb")
    if t.shape != v.shape:
        raise ValueError(f"text_emb and image_emb must have the same shape [N, D] (row i of each is pair i), "
                         f"got {t.shape} and {v.shape}")
    n = t.shape[0]
    note = ""
    if n < fold_size:
        size, n_folds = n, 1
        note = (f"only {n} captions, fewer than fold_size={fold_size}: one fold of {n} (a smaller gallery "
                f"gives higher recall; not comparable with {fold_size}-caption folds)")
    else:
        size, n_folds = fold_size, n // fold_size
    if size < max(ks):
        raise ValueError(f"the retrieval gallery has {size} images, fewer than max(ks)={max(ks)}; "
                         f"give at least {max(ks)} caption/image pairs (or smaller ks)")
    n_dropped = n - size * n_folds
    if n_dropped:
        note = (f"the last {n_dropped} captions (a partial fold) were dropped; "
                f"{n_folds} folds of {size} were scored")
    hits: dict[int, list[float]] = {k: [] for k in ks}
    for f in range(n_folds):
        ranks = retrieval_ranks(t[f * size:(f + 1) * size], v[f * size:(f + 1) * size])
        for k in ks:
            hits[k].append(float((ranks <= k).mean()))
    info = dict(n_folds=int(n_folds), fold_size=int(size), n_queries=int(size * n_folds), n_dropped=int(n_dropped),
                note=note)
    return hits, info


def _aggregate(hits: dict[int, list[float]], info: dict) -> dict:
    out: dict = {}
    for k, values in hits.items():
        out[f"r@{k}"] = float(np.mean(values))
        out[f"r@{k}_std"] = float(np.std(values))
    out.update(n_folds=info["n_folds"], fold_size=info["fold_size"], n_queries=info["n_queries"],
               n_dropped=info["n_dropped"], tie_rule=TIE_RULE, note=info["note"])
    return out


def rank_k(text_emb, image_emb, fold_size: int | None = None, ks=None) -> dict:
    """Text-to-image Recall@k over folds (KT-GAN Rank-1 protocol; rules in the module docstring).

    Args:
        text_emb: ``[N, D]`` caption embeddings (numpy or torch), one per query caption.
        image_emb: ``[N, D]`` image embeddings in the same joint space; row ``i`` is the image
            generated for caption ``i``.
        fold_size: captions per fold (gallery size); ``None`` reads ``defaults.RANK_FOLD_SIZE``.
        ks: recall cut-offs; ``None`` reads ``defaults.RANK_KS`` (1, 5, 10).

    Returns:
        ``{"r@1": mean recall over folds, "r@1_std": population std, "r@5": ..., "r@5_std": ...,
        "n_folds", "fold_size" (the gallery size used), "n_queries" (captions scored),
        "n_dropped" (captions of a dropped last partial fold), "tie_rule", "note"}``.

    Raises:
        TypeError / ValueError: bad arrays (not 2-d, NaN/Inf, all-zero rows), different shapes,
            a non-positive ``fold_size`` or ``k``, or a gallery smaller than ``max(ks)``.
    """
    return _aggregate(*fold_recalls(text_emb, image_emb, fold_size, ks))


def rank_k_slots(text_slots, image_emb, fold_size: int | None = None, ks=None) -> dict:
    """:func:`rank_k` for several captions per image: each ``text_slots[s]`` (``[N, D]``, caption
    slot ``s`` of every image) is its own query list against the same ``image_emb``; folds are
    made within each list (so no gallery holds an image twice) and the mean/std run over the
    folds of all lists. Extra keys: ``caption_slots``; ``n_folds`` / ``n_queries`` / ``n_dropped``
    are totals over the lists."""
    if len(text_slots) == 0:
        raise ValueError("text_slots: no caption slots were given")
    all_hits: dict[int, list[float]] = {}
    total = dict(n_folds=0, n_queries=0, n_dropped=0)
    info: dict = {}
    for s, text in enumerate(text_slots):
        hits, info = fold_recalls(text, image_emb, fold_size, ks)
        for k, v in hits.items():
            all_hits.setdefault(k, []).extend(v)
        for key in total:
            total[key] += info[key]
    out = _aggregate(all_hits, {**info, **total})
    if info["note"]:
        out["note"] = f"per caption slot: {info['note']}"
    out["caption_slots"] = len(text_slots)
    return out
