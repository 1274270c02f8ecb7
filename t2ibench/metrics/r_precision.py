"""R-precision (AttnGAN Sec. 4.1): does the generated image retrieve its own caption?

Pure functions on embeddings (a DAMSM's global image feature and sentence embedding, or
CLIP's): nothing here runs a network.

:func:`r_precision` — the DM-GAN code protocol (``code/trainer.py`` ``sampling``, with
``datasets.py`` ``get_mis_caption``), which later papers (CPGAN, TISE) quote as "R-precision":

- **candidates**: for image ``i``, its own caption (``text_emb[i]``) plus ``n_candidates - 1``
  (99) captions drawn at random from the pool (every caption of the test split) among items
  of *other classes* than ``classes[i]`` (``candidates="other-classes"``; DM-GAN's
  ``get_mis_caption(cls_id)``). ``candidates="random"``: drawn from the whole pool regardless
  of class (TISE's CLIP-R-precision on COCO). Class ``-1`` means "no class": an image or pool
  entry of class -1 excludes nothing, so ``other-classes`` then behaves like ``random``.
  In both modes pool entries whose embedding is (numerically) the own caption's — cosine
  ``>= 1 - 1e-6`` with it: the own caption itself, or the same text — are never drawn.
  Differences from DM-GAN: distractors are drawn *without* replacement (DM-GAN draws each of
  the 99 independently with ``random.randint``, so repeats are possible), from
  ``np.random.default_rng(seed)`` (DM-GAN: Python's unseeded ``random``).
- **score**: cosine ``a·b / max(‖a‖‖b‖, 1e-8)`` in float64 (DM-GAN's formula).
- **hit**: the own caption ranks first. **Tie rule**: pessimistic — a distractor whose cosine
  is within :data:`TIE_TOL` of the own caption's counts against the image (so identical
  embeddings never score a hit). DM-GAN's ``torch.argmax(scores) == 0`` with the own caption
  at index 0 counts exact ties as hits; with real-valued features exact ties do not happen,
  but a degenerate encoder output (e.g. constant captions) would score 1.0 there.
- **chunks**: as DM-GAN: the per-image hits are shuffled (``np.random.shuffle(R)`` there;
  here a permutation from ``np.random.default_rng([seed, 1])``) and split into ``n_chunks``
  (10) contiguous chunks; the hit rate of each chunk; ``value`` = mean of the chunk rates,
  ``std`` = their population std (``np.std``, ddof=0). DM-GAN evaluates 30,000 images in
  chunks of 3,000 and averages ``R[i*3000:(i+1)*3000-1]`` (an off-by-one that drops the
  last image of each chunk; not reproduced). When ``N`` is not a multiple of ``n_chunks``
  chunk sizes differ by one (``np.array_split``).

:func:`r_precision_cpgan` — CPGAN's variant (``evaluation/caculate_R_precison.py`` of the
CPGAN code; the paper only says "R precision [31]"): the images are shuffled (their
DataLoader ``shuffle=True, drop_last=True``) and cut into batches of 100; within a batch
each image is ranked against the 100 captions *of that batch* (its own among them) — no
class filtering, no pool, so captions of the same class or even the same text compete;
hit = own caption first (``torch.sort`` descending there; ties pessimistic here); the
value is the mean over batches of the batch hit rate (CPGAN prints it as a percentage
and reports no std; the std over batches is returned here as well); a last partial
batch is dropped.
"""
from __future__ import annotations

import numpy as np

from t2ibench import defaults
from t2ibench.validation import check_features

#: cosine scores within this of the own caption's score count as ties (against the image)
TIE_TOL = 1e-6
TIE_RULE = f"pessimistic: a candidate with cosine >= own cosine - {TIE_TOL:g} makes the image a miss"
CANDIDATE_MODES = ("other-classes", "random")
COS_EPS = 1e-8
#: pool captions with cosine >= 1 - SAME_TOL to the own caption count as the own caption
SAME_TOL = 1e-6


def _classes(x, n: int, name: str) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if x.ndim != 1 or len(x) != n:
        raise ValueError(f"{name}: expected a 1-d array of {n} class ids, got shape {x.shape}")
    if x.size and not np.issubdtype(x.dtype, np.integer):
        if not np.all(np.equal(np.mod(x, 1), 0)):
            raise ValueError(f"{name}: class ids must be integers")
    return x.astype(np.int64)


def _positive_int(v, name: str, lo: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise ValueError(f"{name}: expected an int >= {lo}, got {v!r}")
    return int(v)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine of ``a [n, D]`` with ``b [n, k, D]`` (or ``[n, D]``) as DM-GAN computes it."""
    if b.ndim == 2:
        return (a * b).sum(-1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), COS_EPS)
    dots = np.einsum("nd,nkd->nk", a, b)
    norms = np.linalg.norm(a, axis=1)[:, None] * np.linalg.norm(b, axis=2)
    return dots / np.maximum(norms, COS_EPS)


def _draw(rng, m: int, need: int, eligible_fn) -> np.ndarray | None:
    """``need`` distinct pool indices among the eligible ones, uniformly, in draw order (rejection
    sampling; falls back to the explicit list when eligible entries are rare); ``None`` when fewer
    than ``need`` are eligible."""
    chosen: list[int] = []
    seen: set[int] = set()
    for _ in range(20):
        draws = rng.integers(0, m, size=2 * need)
        for d in draws[eligible_fn(draws)]:
            d = int(d)
            if d not in seen:
                seen.add(d)
                chosen.append(d)
                if len(chosen) == need:
                    return np.asarray(chosen, dtype=np.int64)
    idx = np.flatnonzero(eligible_fn(np.arange(m)))
    if len(idx) < need:
        return None
    return rng.choice(idx, size=need, replace=False)


def r_precision(image_emb, text_emb, pool_emb, pool_classes, classes, n_candidates: int | None = None,
                n_chunks: int | None = None, candidates: str = "other-classes", seed: int = 0) -> dict:
    """R-precision, DM-GAN code protocol (rules in the module docstring).

    Args:
        image_emb: ``[N, D]`` image embeddings (numpy or torch), one per generated image.
        text_emb: ``[N, D]`` embedding of each image's own caption.
        pool_emb: ``[M, D]`` candidate captions (e.g. every caption of the test split).
        pool_classes: ``[M]`` class of each pool caption's image (-1: no class).
        classes: ``[N]`` class of each image's caption (-1: no class).
        n_candidates: captions ranked per image, own included (``None``: ``defaults.R_PRECISION_CANDIDATES``, 100).
        n_chunks: chunks for mean ± std (``None``: ``defaults.R_PRECISION_CHUNKS``, 10).
        candidates: ``"other-classes"`` (DM-GAN) or ``"random"`` (TISE CLIP-R-precision).
        seed: seeds the distractor draw and the chunk shuffle.

    Returns ``{"value", "std", "n", "n_candidates", "n_chunks", "hit_rate", "chunk_values",
    "candidates", "tie_rule", "protocol"}``. Raises ``ValueError`` on shape mismatches,
    ``N < n_chunks``, or a pool with fewer eligible captions than ``n_candidates - 1``
    for some image.
    """
    n_candidates = defaults.R_PRECISION_CANDIDATES if n_candidates is None else n_candidates
    n_chunks = defaults.R_PRECISION_CHUNKS if n_chunks is None else n_chunks
    n_candidates = _positive_int(n_candidates, "n_candidates", 2)
    n_chunks = _positive_int(n_chunks, "n_chunks", 1)
    if candidates not in CANDIDATE_MODES:
        raise ValueError(f"candidates: expected one of {', '.join(CANDIDATE_MODES)}, got {candidates!r}")
    img = check_features(image_emb, "image_emb")
    txt = check_features(text_emb, "text_emb")
    pool = check_features(pool_emb, "pool_emb")
    n, d = img.shape
    if txt.shape != img.shape:
        raise ValueError(f"text_emb: expected shape {img.shape} like image_emb, got {txt.shape}")
    if pool.shape[1] != d:
        raise ValueError(f"pool_emb: expected {d} columns like image_emb, got shape {pool.shape}")
    m = pool.shape[0]
    pool_cls = _classes(pool_classes, m, "pool_classes")
    cls = _classes(classes, n, "classes")
    if n < n_chunks:
        raise ValueError(f"r_precision: {n} images are fewer than the {n_chunks} chunks of the protocol")
    need = n_candidates - 1

    class_count = {int(c): int(k) for c, k in zip(*np.unique(pool_cls, return_counts=True))}
    pool_unit = pool / np.maximum(np.linalg.norm(pool, axis=1, keepdims=True), COS_EPS)
    txt_unit = txt / np.maximum(np.linalg.norm(txt, axis=1, keepdims=True), COS_EPS)

    rng = np.random.default_rng(seed)
    picks = np.empty((n, need), dtype=np.int64)
    for i in range(n):
        c = int(cls[i])
        filter_class = candidates == "other-classes" and c >= 0
        what = "captions of other classes" if filter_class else "other captions"
        upper = m - (class_count.get(c, 0) if filter_class else 0)
        drawn = None
        if upper >= need:
            def eligible_fn(idx, c=c, filter_class=filter_class, t=txt_unit[i]):
                ok = pool_unit[idx] @ t < 1.0 - SAME_TOL  # never the own caption (or an identical one)
                if filter_class:
                    ok &= (pool_cls[idx] != c) | (pool_cls[idx] < 0)
                return ok

            drawn = _draw(rng, m, need, eligible_fn)
        if drawn is None:
            raise ValueError(f"r_precision: gallery smaller than the protocol needs: image {i} (class {c}) has "
                             f"fewer than {need} pool {what} ({n_candidates} candidates need {need}; the pool "
                             f"has {m} captions)")
        picks[i] = drawn

    hits = np.empty(n, dtype=bool)
    for start in range(0, n, 256):
        sl = slice(start, min(start + 256, n))
        own = _cosines(img[sl], txt[sl])
        others = _cosines(img[sl], pool[picks[sl]])
        hits[sl] = (others < own[:, None] - TIE_TOL).all(axis=1)

    if candidates == "random":
        drawn_from = "at random"
    elif (cls < 0).all():
        drawn_from = "of other classes; no classes given (-1), so at random"
    else:
        drawn_from = "of other classes"
    order = np.random.default_rng([seed, 1]).permutation(n)
    chunk_values = np.array([c.mean() for c in np.array_split(hits[order].astype(np.float64), n_chunks)])
    return {
        "value": float(chunk_values.mean()),
        "std": float(chunk_values.std()),
        "n": n,
        "n_candidates": n_candidates,
        "n_chunks": n_chunks,
        "hit_rate": float(hits.mean()),
        "chunk_values": [float(v) for v in chunk_values],
        "candidates": candidates,
        "tie_rule": TIE_RULE,
        "protocol": (f"DM-GAN code: own caption + {need} pool captions drawn without replacement "
                     f"({drawn_from}), cosine, "
                     f"hit when the own caption ranks first (ties against the image); hits shuffled into "
                     f"{n_chunks} chunks, mean and population std of the chunk hit rates"),
    }


def r_precision_cpgan(image_emb, text_emb, batch_size: int = 100, seed: int = 0) -> dict:
    """R-precision, CPGAN's batch variant (rules in the module docstring).

    The ``N`` pairs are shuffled (``np.random.default_rng(seed)``) and cut into batches of
    ``batch_size``; each image is ranked against the captions of its batch; a last partial
    batch is dropped (its size is ``n_dropped``). Differs from :func:`r_precision` in that the
    candidates are the other *generated pairs' captions of the same batch* (no class filter,
    no pool of the whole split), there is no chunking (mean over batches), and CPGAN reports
    no std (``std`` here is the population std over batches).
    """
    batch_size = _positive_int(batch_size, "batch_size", 2)
    img = check_features(image_emb, "image_emb")
    txt = check_features(text_emb, "text_emb")
    if txt.shape != img.shape:
        raise ValueError(f"text_emb: expected shape {img.shape} like image_emb, got {txt.shape}")
    n = img.shape[0]
    if n < batch_size:
        raise ValueError(f"r_precision_cpgan: {n} images are fewer than one batch of {batch_size}")
    order = np.random.default_rng(seed).permutation(n)
    n_batches = n // batch_size
    rates = []
    for b in range(n_batches):
        idx = order[b * batch_size:(b + 1) * batch_size]
        a, t = img[idx], txt[idx]
        sim = (a @ t.T) / np.maximum(np.linalg.norm(a, axis=1)[:, None] * np.linalg.norm(t, axis=1)[None, :], COS_EPS)
        own = np.diag(sim)[:, None]
        others = np.where(np.eye(batch_size, dtype=bool), -np.inf, sim)
        rates.append(float((others < own - TIE_TOL).all(axis=1).mean()))
    rates = np.asarray(rates)
    return {
        "value": float(rates.mean()),
        "std": float(rates.std()),
        "n": n,
        "n_used": n_batches * batch_size,
        "n_dropped": n - n_batches * batch_size,
        "batch_size": batch_size,
        "n_batches": n_batches,
        "batch_values": [float(v) for v in rates],
        "tie_rule": TIE_RULE,
        "protocol": (f"CPGAN code: shuffled batches of {batch_size}, each image vs the {batch_size} captions of "
                     f"its batch, hit when the own caption ranks first (ties against the image); mean (and "
                     f"population std) over batches; last partial batch dropped"),
    }
