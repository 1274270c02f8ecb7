"""Visual-semantic similarity (HDGAN: Zhang, Xie & Yang 2018, Sec. 5 "Visual-semantic similarity").

HDGAN maps CNN image features and sentence embeddings into one joint space with two learned
linear maps ``f_v``, ``f_t`` (trained with the bidirectional ranking loss of its Eq. (5), see
:mod:`t2ibench.evaluators.vs_maps`) and scores a generated image ``o`` against its text ``t`` with

    s(x, y) = x . y / (||x|| ||y||),      VS = s(f_v(f_cnn(o)), f_t(t))

reported as the mean ± std over all (image, text) pairs (paper Table 4, e.g. "0.259 ± .159").
The released evaluation (``HDGan/neuralDist/testNeuralDist.py``) takes ``np.mean`` and
``np.std`` (population std, ddof=0) of the row-wise dot products of the L2-normalised
embeddings; this function computes the same from any embeddings (it normalises the rows
itself), in float64. Not piq's VSI (an image-quality index; DESIGN.md Sec. 3 "known traps").
"""
from __future__ import annotations

import numpy as np

from t2ibench.validation import check_features


def pairwise_cosine(x, y, names: tuple[str, str] = ("image_emb", "text_emb")) -> np.ndarray:
    """Cosine of matching rows: ``[N]`` float64 with ``out[i] = s(x[i], y[i])``."""
    a = check_features(x, names[0])
    b = check_features(y, names[1])
    if a.shape != b.shape:
        raise ValueError(f"{names[0]} and {names[1]} must have the same shape [N, D] (row i of each is pair i), "
                         f"got {a.shape} and {b.shape}")
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    for arr, name in ((na, names[0]), (nb, names[1])):
        if (arr == 0).any():
            raise ValueError(f"{name}: row {int(np.flatnonzero(arr == 0)[0])} is all zeros (cosine undefined)")
    return np.einsum("nd,nd->n", a, b) / (na * nb)


def vs_similarity(image_emb, text_emb) -> dict:
    """HDGAN's VS-similarity of matching rows: ``{"value": mean cosine, "std": population std, "n"}``.

    Args:
        image_emb: ``[N, D]`` joint-space image embeddings ``f_v(f_cnn(o_i))`` (numpy or torch).
        text_emb: ``[N, D]`` joint-space text embeddings ``f_t(t_i)`` of the captions the images
            were generated from (row ``i`` pairs with row ``i``).

    Raises:
        TypeError / ValueError: not 2-d, different shapes, NaN/Inf, an all-zero row.
    """
    cos = pairwise_cosine(image_emb, text_emb)
    return {"value": float(cos.mean()), "std": float(cos.std()), "n": int(cos.shape[0])}
