"""CLIPScore (Hessel et al. 2021, "CLIPScore: A Reference-free Evaluation Metric for Image
Captioning", Sec. 3, Eq. 1)::

    CLIP-S(c, v) = w * max(cos(c, v), 0),   w = 2.5

for each image embedding v and the embedding c of the caption it was generated from (the
two rows at the same index); the corpus score is the mean over pairs. The paper's ``w = 2.5``
stretches the usual cosine range of CLIP ViT-B/32 towards [0, 1]; torchmetrics reports the
same quantity with ``w = 100``. Here ``std`` is the population standard deviation (ddof=0)
of the per-pair scores.

CLIP-FID (Kynkäänniemi et al. 2023) needs no function of its own: it is
:func:`t2ibench.metrics.frechet.frechet_distance` on the Gaussians
(:func:`~t2ibench.metrics.frechet.gaussian_statistics`) of CLIP image embeddings of generated
and real images.
"""
from __future__ import annotations

import numpy as np

from t2ibench import defaults
from t2ibench.validation import check_features


def clip_score(image_emb, text_emb, w: float | None = None) -> dict:
    """Mean ``w * max(cos, 0)`` over paired rows of ``image_emb`` and ``text_emb`` (both ``[N, D]``).

    Embeddings need not be normalised (the cosine normalises them); float64 throughout.
    Returns ``{"value", "std", "n", "w"}``. Raises ``ValueError`` for different shapes,
    NaN/Inf, zero-norm rows or a non-positive ``w``.
    """
    w = defaults.CLIPSCORE_W if w is None else w
    if isinstance(w, bool) or not isinstance(w, (int, float, np.floating, np.integer)) or not np.isfinite(w) or w <= 0:
        raise ValueError(f"w: expected a positive finite number, got {w!r}")
    a = check_features(image_emb, "image embeddings")
    b = check_features(text_emb, "text embeddings")
    if a.shape != b.shape:
        raise ValueError(f"CLIPScore: image and text embeddings must be paired with the same shape, got "
                         f"{a.shape} and {b.shape}")
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    if (na == 0).any() or (nb == 0).any():
        raise ValueError("CLIPScore: an embedding has zero norm (its cosine is undefined)")
    cos = np.einsum("nd,nd->n", a, b) / (na * nb)
    scores = float(w) * np.clip(cos, 0.0, None)
    return {"value": float(scores.mean()), "std": float(scores.std()), "n": int(len(scores)), "w": float(w)}
