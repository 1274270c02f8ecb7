"""Every default of ``python -m t2ibench.perf`` in one place: sizes per run mode, targets, peers.

Three size sets: ``quick`` (a smoke run, seconds per measurement), ``default`` (a few minutes on
2 CPU cores for the whole command, both load conditions), ``full`` (the issue's sizes: Fréchet at
2048, 1k/5k/20k images for the memory curve; tens of minutes on 2 cores, minutes on a GPU).
"""
from __future__ import annotations

#: The measurements, in the order they run and print (``--only`` takes these names).
MEASUREMENTS = ("frechet", "inception", "pipeline", "pixel", "memory", "generation")

#: Sizes per run mode. frechet_dims: feature dimensions; frechet_repeats: timed repetitions
#: (best kept); inception_images: generated PNGs (and as many real ones) both extractors read;
#: pipeline_images: captions of the whole-evaluation comparison; pixel_pairs: image pairs (64 px
#: shapes test images; best of pixel_repeats calls, fewer once they took pixel_budget_s seconds together:
#: piq's per-image loop under the competing load took ~35 s a call); memory_images: N of each fresh-subprocess evaluation;
#: generation_images: images each zoo model generates (best of generation_repeats).
SIZES = {
    "quick": {"frechet_dims": (64, 256), "frechet_repeats": 1, "inception_images": 20, "pipeline_images": 100,
              "pixel_pairs": 40, "pixel_repeats": 1, "pixel_budget_s": 10, "memory_images": (100, 200), "generation_images": 10,
              "generation_repeats": 1},
    "default": {"frechet_dims": (2048, 512), "frechet_repeats": 1, "inception_images": 24,
                "pipeline_images": 100, "pixel_pairs": 300, "pixel_repeats": 5, "pixel_budget_s": 10, "memory_images": (100, 200, 400),
                "generation_images": 50, "generation_repeats": 1},
    "full": {"frechet_dims": (2048, 512), "frechet_repeats": 3, "inception_images": 1000, "pipeline_images": 2000,
             "pixel_pairs": 300, "pixel_repeats": 5, "pixel_budget_s": 30, "memory_images": (1000, 5000, 20000), "generation_images": 500,
             "generation_repeats": 3},
}

#: Targets of issue 15 (speed-up = peer time / our time on the same inputs).
TARGETS = {
    "frechet": {"case": "d=2048", "ratio": 10.0},
    "pipeline": {"ratio": 2.0},
    "pixel": {"case": "ssim vs scikit-image", "ratio": 10.0},
    #: peak RSS at the largest N <= this times the peak at the smallest N, plus the feature matrices
    "memory": {"peak_factor": 1.2},
}

#: Agreement of each value with its peer's: relative tolerance (``atol`` near zero). Protocol-exact
#: metrics (same features, same formula, same random draws) agree to round-off. A value whose peer
#: draws its own random candidates/pairs (R-precision: the papers' code draws its own 99
#: distractors; MS-SSIM when a class has more images than the pairs need) agrees within
#: ``SE_FACTOR`` standard errors of the difference instead, whatever the metric.
TOLERANCES = {
    "frechet": {"rtol": 1e-6},
    "fid": {"rtol": 1e-4}, "kid": {"rtol": 1e-4, "atol": 1e-6}, "is": {"rtol": 1e-4},
    "clip-fid": {"rtol": 1e-4}, "cmd": {"rtol": 1e-4, "atol": 1e-6},
    "ssim": {"rtol": 1e-4, "atol": 1e-6}, "fsim": {"rtol": 1e-4, "atol": 1e-6},
    "ms-ssim": {"rtol": 1e-4, "atol": 1e-6},
}
#: Standard errors of the difference within which two independently drawn estimates agree.
SE_FACTOR = 3.0

#: Metrics of the whole-evaluation comparison (issue 15: IS, FID, KID, CLIP-FID/CMD, R-precision,
#: SSIM/FSIM, MS-SSIM), computed with shapes' default embedded evaluators.
PIPELINE_METRICS = ("is", "fid", "kid", "clip-fid", "cmd", "r-precision", "ssim", "fsim", "ms-ssim")
#: The generator whose images the pipeline, Inception and memory measurements evaluate.
GENERATOR = "gan-int-cls"
DATASET = "shapes"
#: The run seed: torch-fidelity's default ``rng_seed``. t2ibench shuffles the IS splits with 2020
#: whatever the run seed (torch-fidelity's convention) and seeds the KID subsets with the run seed,
#: so one torch-fidelity call with ``rng_seed=2020`` draws the same IS splits and KID subsets.
SEED = 2020

#: Competing load: busy Python worker processes, one per core of the 2-core reference machine.
LOAD_WORKERS = 2

#: Generator precisions timed per device type by the generation rows (t2ibench.perf.generation):
#: on CUDA also float16 autocast (``--generator-precision float16``), the usual GPU speed-up.
GENERATION_PRECISIONS = {"cpu": ("float32",), "cuda": ("float32", "float16")}
#: Load conditions run by default: idle cores, then with the competing load.
LOAD_CONDITIONS = ("idle", "loaded")

#: Where the JSON and Markdown results go (relative to the current directory).
OUT_DIR = "leaderboards/perf"
