"""Improved precision and recall (Kynkäänniemi, Karras, Laine, Lehtinen & Aila 2019, "Improved
Precision and Recall Metric for Assessing Generative Models", NeurIPS; Sec. 2, Eqs. (1)–(2)).

Each set of feature vectors approximates its manifold by the union of hyperspheres centred on
its samples, with radius the distance to the sample's k-th nearest neighbour in the same set
(itself excluded):

    f(phi, Phi) = 1 if ||phi - phi'||_2 <= NND_k(phi') for some phi' in Phi, else 0
    precision   = 1/|Phi_g| sum_{phi_g} f(phi_g, Phi_r)   (generated samples inside the real manifold)
    recall      = 1/|Phi_r| sum_{phi_r} f(phi_r, Phi_g)   (real samples inside the generated manifold)

with k = 3 (the paper's choice, Sec. 2; torch-fidelity's ``prc_neighborhood``). Computed
through torch-fidelity's own implementation, ``torch_fidelity.metric_prc.prc_features_to_metric``
(its ``kthvalue(k + 1)`` of the in-set distances skips the zero self-distance), in float64 on
the feature arrays, in distance blocks of ``defaults.PRC_BATCH_SIZE`` rows (``save_cpu_ram``,
memory ``block x N``).

The paper embeds images with a pre-trained VGG-16 (its 4096-d second fully connected layer,
also torch-fidelity's ``calculate_prc`` default) and uses 50,000 images per set. This
benchmark uses the image embedding of the extractor named in the spec, the one FID reads
(pool3 for ``inception-v3-compat``, the stand-in's features on ``shapes``), so values are
comparable only for the same extractor and the same n: the k-NN radii shrink as n grows.
"""
from __future__ import annotations

import numpy as np
import torch

from t2ibench import defaults
from t2ibench.validation import check_features


def precision_recall(features_fake, features_real, k: int | None = None, *,
                     batch_size: int | None = None) -> dict:
    """Improved precision and recall of generated vs real feature sets ``[N_fake, D]``, ``[N_real, D]``.

    Args:
        features_fake, features_real: feature arrays (numpy or torch), at least ``k + 1`` rows each.
        k: the neighbourhood size of the radii; ``None`` reads ``defaults.PRC_NEIGHBORHOOD`` (3).
        batch_size: rows per distance block; ``None`` reads ``defaults.PRC_BATCH_SIZE``.

    Returns:
        ``{"precision", "recall", "f_score", "k", "n_fake", "n_real"}``: precision and recall as
        exact shares (hits / N in float64; torch-fidelity's own float32 mean rounded back to its
        hit count), ``f_score = 2 P R / max(1e-5, P + R)`` as torch-fidelity defines it.

    Raises:
        TypeError: ``k`` or ``batch_size`` not an int.
        ValueError: ``k < 1``, ``batch_size < 1``, fewer than ``k + 1`` rows in a set, different
            feature dimensions, NaN/Inf.
    """
    from torch_fidelity.metric_prc import prc_features_to_metric

    k = defaults.PRC_NEIGHBORHOOD if k is None else k
    batch_size = defaults.PRC_BATCH_SIZE if batch_size is None else batch_size
    for name, v in (("k", k), ("batch_size", batch_size)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{name}: expected an int, got {type(v).__name__}")
        if v < 1:
            raise ValueError(f"{name}: must be >= 1, got {v}")
    fake = check_features(features_fake, "features_fake", min_rows=int(k) + 1)
    real = check_features(features_real, "features_real", min_rows=int(k) + 1)
    if fake.shape[1] != real.shape[1]:
        raise ValueError(f"features_fake and features_real must have the same dimension D, "
                         f"got {fake.shape[1]} and {real.shape[1]}")
    out = prc_features_to_metric(torch.from_numpy(fake), torch.from_numpy(real), prc_neighborhood=int(k),
                                 prc_batch_size=int(batch_size), save_cpu_ram=True, verbose=False)
    # torch-fidelity averages the 0/1 hits in float32; its sum of 0/1 is exact (N < 2^24), so rounding
    # share * N recovers the hit count and the share is reported exactly as hits / N in float64.
    n_fake, n_real = int(fake.shape[0]), int(real.shape[0])
    precision = round(float(out["precision"]) * n_fake) / n_fake
    recall = round(float(out["recall"]) * n_real) / n_real
    return {"precision": precision, "recall": recall, "f_score": 2 * precision * recall / max(1e-5, precision + recall),
            "k": int(k), "n_fake": n_fake, "n_real": n_real}
