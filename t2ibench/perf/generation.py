"""(f) Generation images/s of each zoo model at its ``tiny`` config (the shipped ``shapes`` weights).

Each model is loaded with ``t2ibench.registry.load_generator`` and generates ``n`` images for the
first ``n`` captions of the evaluation plan, in calls of ``defaults.BATCH_SIZE`` with per-caption
seeds (as the single pass calls it), after one untimed warm-up call. No peer: the rate is what an
evaluation's generation stage costs per model. A model without shipped weights is skipped.
"""
from __future__ import annotations

from t2ibench import defaults
from t2ibench.engine import evaluation_plan
from t2ibench.generators.base import generate_checked
from t2ibench.perf.rows import best_of, make_row, skipped_row
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
        progress(f"generation {name}: {n} images")
        gen = load_generator(name, dataset=dataset, device=device)
        generate_checked(gen, name, captions[:2], seed=seed)

        def run():
            for s in range(0, n, defaults.BATCH_SIZE):
                generate_checked(gen, name, captions[s:s + defaults.BATCH_SIZE], seed=seed + s)

        t, _, _ = best_of(run, sizes["generation_repeats"])
        rows.append(make_row("generation", name, items=n, ours_name=f"{name} (tiny, shipped weights)", ours_s=t))
    return rows
