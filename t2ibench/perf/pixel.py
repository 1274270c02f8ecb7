"""(d) SSIM / MS-SSIM / FSIM pairs per second: t2ibench's batched functions vs per-image loops.

Pairs: test images ``k`` and ``k + n`` of ``shapes`` (64 px), ``n = sizes["pixel_pairs"]`` (300).
Ours: ``t2ibench.metrics.ssim`` / ``ms_ssim`` / ``fsim(chromatic=False)`` on the whole batch.
Peers: ``skimage.metrics.structural_similarity`` per image (SSIM; Gaussian 11x11 window, sigma
1.5, population covariances — Wang et al. 2004's settings) and ``piq.ssim`` /
``piq.multi_scale_ssim`` / ``piq.fsim`` called per image, the way a loop over an image folder
calls them. The mean value over the pairs is compared (and the largest per-pair difference
kept); target speed-up >= 10 for SSIM vs scikit-image.
"""
from __future__ import annotations

import importlib.util

import numpy as np
import torch

from t2ibench import defaults
from t2ibench.metrics import fsim, ms_ssim, ssim
from t2ibench.perf.rows import agreement, best_of, make_row, skipped_row
from t2ibench.perf.separate_tools import ms_ssim_per_pair
from t2ibench.perf.settings import TARGETS, TOLERANCES


def skimage_ssim_loop(x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """Per-pair SSIM by scikit-image (uint8 ``[N, 3, H, W]`` on the CPU)."""
    from skimage.metrics import structural_similarity

    a, b = x.permute(0, 2, 3, 1).numpy(), y.permute(0, 2, 3, 1).numpy()
    return np.array([structural_similarity(p, q, channel_axis=-1, data_range=255, gaussian_weights=True,
                                           sigma=defaults.SSIM_SIGMA, use_sample_covariance=False)
                     for p, q in zip(a, b)])


def piq_loop(metric: str, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """Per-pair values by piq, one call per image pair."""
    import piq

    k, s = defaults.SSIM_KERNEL_SIZE, defaults.SSIM_SIGMA
    calls = {"ssim": lambda p, q: piq.ssim(p[None].float(), q[None].float(), data_range=255.0, kernel_size=k,
                                           kernel_sigma=s).item(),
             "ms-ssim": ms_ssim_per_pair,
             "fsim": lambda p, q: piq.fsim(p[None].float(), q[None].float(), data_range=255.0, chromatic=False).item()}
    return np.array([calls[metric](p, q) for p, q in zip(x, y)])


OURS = {"ssim": lambda x, y: ssim(x, y, data_range=255), "ms-ssim": lambda x, y: ms_ssim(x, y, data_range=255),
        "fsim": lambda x, y: fsim(x, y, data_range=255, chromatic=False)}


def measure(sizes: dict, device: str, dataset, progress) -> list[dict]:
    """Four rows: SSIM vs scikit-image, and SSIM, MS-SSIM, FSIM vs piq per image."""
    n = sizes["pixel_pairs"]
    if 2 * n > len(dataset):
        raise ValueError(f"pixel_pairs: {n} pairs need {2 * n} images, {dataset.name} has {len(dataset)}")
    x, y = dataset.images(range(n)), dataset.images(range(n, 2 * n))
    xd, yd = x.to(device), y.to(device)
    repeats, budget = sizes["pixel_repeats"], sizes["pixel_budget_s"]
    rows = []
    for metric, peer_name in (("ssim", "skimage.metrics.structural_similarity per image"),
                              ("ssim", "piq.ssim per image"), ("ms-ssim", "piq.multi_scale_ssim per image"),
                              ("fsim", "piq.fsim(chromatic=False) per image")):
        peer_kind = "scikit-image" if peer_name.startswith("skimage") else "piq"
        case = f"{metric} vs {peer_kind}"
        if peer_kind == "scikit-image" and importlib.util.find_spec("skimage") is None:
            rows.append(skipped_row("pixel", case, "scikit-image is not installed (pip install 't2ibench[perf]')"))
            continue
        progress(f"pixel {case}: {n} pairs")
        def ours(k=n):
            return OURS[metric](xd[:k], yd[:k]).double().cpu().numpy()

        def peer(k=n):  # scikit-image reads CPU arrays, piq the device's tensors
            return skimage_ssim_loop(x[:k], y[:k]) if peer_kind == "scikit-image" else piq_loop(metric, xd[:k], yd[:k])

        ours(2), peer(2)  # untimed first calls: imports, numba's kernels loaded from its cache (or compiled)
        t_peer, v_peer, calls_peer = best_of(peer, repeats, budget)
        t_ours, v_ours, calls_ours = best_of(ours, calls_peer)  # as many calls as the peer got: best of equal draws
        target = TARGETS["pixel"]["ratio"] if case == TARGETS["pixel"]["case"] else None
        rows.append(make_row("pixel", case, items=n, ours_name=f"t2ibench.metrics.{metric.replace('-', '_')} (batched)",
                             ours_s=t_ours, peer_name=peer_name, peer_s=t_peer, target=target,
                             values=[agreement(f"mean {metric}", v_ours.mean(), v_peer.mean(), **TOLERANCES[metric])],
                             extra={"max_pair_abs_diff": float(np.abs(v_ours - v_peer).max()),
                                    "timed_calls": {"ours": calls_ours, "peer": calls_peer}}))
    return rows
