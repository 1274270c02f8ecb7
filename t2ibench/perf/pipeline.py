"""(c) The whole evaluation of one generator: t2ibench's single pass vs the separate-tools path.

Both read the same folder of generated PNGs (:mod:`t2ibench.perf.folder`): ours with
``evaluate_image_folder`` (``t2ibench eval --images DIR --captions FILE``), the metrics of
:data:`~t2ibench.perf.settings.PIPELINE_METRICS` with shapes' embedded evaluators; the peer with
:func:`t2ibench.perf.separate_tools.evaluate_separately` (torch-fidelity, the CLIP-style model
called directly with scipy's sqrtm, the papers' R-precision loop, piq per pair). Real-side
features are precomputed on both sides before timing (ours: its on-disk caches, filled by one
untimed evaluation of 50 images; the peer: torch-fidelity's cache and arrays kept from
:func:`~t2ibench.perf.separate_tools.prepare`). The values are printed side by side with
each metric's tolerance (:data:`~t2ibench.perf.settings.TOLERANCES`); target speed-up >= 2.
"""
from __future__ import annotations

import math
import warnings

from t2ibench.engine import evaluate
from t2ibench.generators.image_folder import evaluate_image_folder
from t2ibench.perf import separate_tools
from t2ibench.perf.rows import agreement, best_of, make_row
from t2ibench.perf.settings import GENERATOR, PIPELINE_METRICS, SE_FACTOR, TARGETS, TOLERANCES

PEER = "torch-fidelity + CLIP model with scipy sqrtm + papers' R-precision loop + piq per pair"
#: images of the untimed evaluation that fills t2ibench's real-feature and caption-pool caches
WARM_IMAGES = 50


_warmed: set = set()
#: the separate tools' prepared references, per (folder, device): prepared once per run
_refs: dict = {}


def warm_caches(dataset, seed: int, device: str, progress) -> None:
    """Fill t2ibench's on-disk caches of real features and caption pools with one untimed evaluation
    of :data:`WARM_IMAGES` images (once per process, dataset, seed and device)."""
    key = (dataset.fingerprint, seed, device)
    if key in _warmed:
        return
    progress("warming t2ibench's real-feature and caption caches (untimed)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        evaluate(GENERATOR, dataset, metrics=list(PIPELINE_METRICS), n_images=WARM_IMAGES, seed=seed, device=device,
                 allow_small_n=True, progress=False)
    _warmed.add(key)


def ours(folders, dataset, seed: int, device: str) -> dict:
    """``{metric: value}`` (and ``"ms-ssim overall"``) of the single pass over the folder."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small-n warnings: the comparison is about equal numbers
        result = evaluate_image_folder(folders.fake, folders.captions_file, dataset, metrics=list(PIPELINE_METRICS),
                                       seed=seed, device=device, progress=False)
    values = {m: result.metrics[m]["value"] for m in PIPELINE_METRICS}
    values["ms-ssim overall"] = result.metrics["ms-ssim"]["ms_ssim_overall"]
    return values


def compare(v_ours: dict, v_peer: dict) -> list[dict]:
    """One :func:`~t2ibench.perf.rows.agreement` per metric; a value whose peer drew its own random
    candidates or pairs (the peer reports a standard error for it) agrees within ``SE_FACTOR`` (3)
    standard errors of the difference of two such estimates (each estimate's standard error times
    sqrt(2)); the others within ``TOLERANCES[metric]``."""
    out = []
    for metric in (*PIPELINE_METRICS, "ms-ssim overall"):
        se = v_peer["_se"].get(metric)
        if se is not None:
            bound = SE_FACTOR * math.sqrt(2) * se
            out.append(agreement(metric, v_ours[metric], v_peer[metric], se=bound,
                                 note="the peer draws its own random candidates/pairs"))
        else:
            out.append(agreement(metric, v_ours[metric], v_peer[metric], **TOLERANCES[metric]))
    return out


def measure(sizes: dict, device: str, folders, dataset, seed: int, work, progress) -> list[dict]:
    """One row: both paths over ``folders`` (``sizes["pipeline_images"]`` generated images)."""
    n = len(folders.plan)
    warm_caches(dataset, seed, device, progress)
    key = (str(folders.fake), device)
    if key not in _refs:
        progress("pipeline: preparing the separate tools' real-image references (untimed)")
        _refs[key] = separate_tools.prepare(folders, dataset, device, work / "torch-fidelity-cache")
    refs = _refs[key]
    progress(f"pipeline {n} images: t2ibench single pass")
    t_ours, v_ours, _ = best_of(lambda: ours(folders, dataset, seed, device))
    progress(f"pipeline {n} images: separate tools")
    t_peer, v_peer, _ = best_of(lambda: separate_tools.evaluate_separately(folders, dataset, refs, seed, device))
    return [make_row("pipeline", f"{GENERATOR} {n} images", items=n, ours_name="t2ibench evaluate_image_folder",
                     ours_s=t_ours, peer_name=PEER, peer_s=t_peer, target=TARGETS["pipeline"]["ratio"],
                     values=compare(v_ours, v_peer),
                     extra={"peer_seconds_by_tool": {k: round(v, 3) for k, v in v_peer["_seconds"].items()}})]
