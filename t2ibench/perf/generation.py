"""(f) Generation images/s of each zoo model at its ``tiny`` config (the shipped ``shapes`` weights).

Each model is loaded with ``t2ibench.registry.load_generator`` and generates ``n`` images for the
first ``n`` captions of the evaluation plan, in calls of ``defaults.BATCH_SIZE`` with per-caption
seeds (as the single pass calls it), after one untimed warm-up call, in each precision
``settings.GENERATION_PRECISIONS`` names for the device (on CUDA also float16 autocast: a row
``NAME float16``). No peer: the rate is what an evaluation's generation stage costs per model. A model
without shipped weights is skipped.
"""
from __future__ import annotations

import torch

from t2ibench import defaults
from t2ibench.engine import evaluation_plan
from t2ibench.generators.base import generate_checked, generator_autocast
from t2ibench.perf.rows import best_of, make_row, skipped_row
from t2ibench.perf import settings
from t2ibench.registry import load_generator


def zoo_models() -> list[str]:
    """The zoo's models (no ablation variants), sorted."""
    from models.common.zoo import list_models

    return list_models()


def measure(sizes: dict, device: str, dataset, seed: int, progress) -> list[dict]:
    n = sizes["generation_images"]
    captions = [str(c) for c in evaluation_plan(dataset, n, seed)]
    rows = []
    for name in zoo_models():
        from models.common.zoo import has_weights

        if not has_weights(name, dataset.name):
            rows.append(skipped_row("generation", name, f"no shipped weights for {dataset.name}"))
            continue
        gen = load_generator(name, dataset=dataset, device=device)
        for precision in settings.GENERATION_PRECISIONS[torch.device(device).type]:
            case = name if precision == "float32" else f"{name} {precision}"
            progress(f"generation {case}: {n} images")

            def run(k=n, precision=precision):
                with generator_autocast(precision, device):
                    for s in range(0, k, defaults.BATCH_SIZE):
                        generate_checked(gen, name, captions[s:min(k, s + defaults.BATCH_SIZE)], seed=seed + s)

            run(2)  # untimed warm-up
            t, _, _ = best_of(run, sizes["generation_repeats"])
            rows.append(make_row("generation", case, items=n, ours_name=f"{name} (tiny, shipped weights, {precision})",
                                 ours_s=t))
    return rows
