"""(e) Peak resident memory and wall time of a whole evaluation as N grows, each N in a fresh process.

Each N runs ``python -m t2ibench.perf.memory N ...`` (a fresh interpreter, so the peak is that
evaluation's own): ``t2ibench.engine.evaluate`` of the generator on ``shapes`` with the
pipeline's metrics, caches warm. The child reports its peak resident set size
(:func:`peak_rss_mb`: ``VmHWM``), wall time (evaluation only, not the imports) and, on
CUDA, ``torch.cuda.max_memory_allocated``. The slope (MB and s per 1,000 images) is the
least-squares line through the points. Target (issue 15): ``peak(N_max) <= 1.2 x peak(N_min) +
features(N_max)``, the feature matrices being ``N x sum(D) x 12`` bytes — every generated image's
features and caption embeddings as float32 plus the float64 copy a Gaussian fit makes.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings

import numpy as np

from t2ibench.perf.rows import make_row
from t2ibench.perf.settings import DATASET, GENERATOR, PIPELINE_METRICS, TARGETS

#: bytes per feature entry counted in the target's allowance (float32 kept + float64 fitting copy)
FEATURE_ENTRY_BYTES = 12
MB = 2 ** 20


def feature_width(dataset, device: str) -> int:
    """Sum of the widths of every image output and caption embedding the pipeline's metrics read."""
    from t2ibench.features import load_extractor
    from t2ibench.protocols import parse_metric

    width = 0
    for name in sorted({parse_metric(m, dataset.name).extractor for m in PIPELINE_METRICS} - {None}):
        e = load_extractor(name, device=device, dataset=dataset.name)
        width += sum(v.shape[1] for k, v in e(dataset.images([0, 1])).items() if k in set(e.roles.values()))
        if callable(getattr(e, "encode_text", None)):
            width += sum(v.shape[1] for k, v in e.encode_text(["a caption"]).items() if k in set(e.roles.values()))
    return width


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB: ``VmHWM`` of ``/proc/self/status`` (Linux; reset by
    ``exec``), else ``getrusage``'s ``ru_maxrss``, which Linux carries over from the parent at ``fork``
    and keeps across ``exec`` — so a child started from a large process would report the parent's size."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    scale = 1 if sys.platform != "darwin" else 1024  # kB on Linux, bytes on macOS
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / scale


def child(n: int, seed: int, device: str) -> dict:
    """Run one evaluation of ``n`` images in this process; its peak memory and time (JSON-ready)."""
    import torch

    from t2ibench.data import load_dataset
    from t2ibench.engine import evaluate

    dataset = load_dataset(DATASET, split="test")
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        evaluate(GENERATOR, dataset, metrics=list(PIPELINE_METRICS), n_images=n, seed=seed, device=device,
                 allow_small_n=True, progress=False)
    seconds = time.perf_counter() - t0
    out = {"n": n, "seconds": seconds, "peak_rss_mb": peak_rss_mb()}
    if device.startswith("cuda"):
        out["cuda_peak_mb"] = torch.cuda.max_memory_allocated() / MB
    return out


def run_child(n: int, seed: int, device: str) -> dict:
    """:func:`child` in a fresh interpreter; its JSON line."""
    proc = subprocess.run([sys.executable, "-m", "t2ibench.perf.memory", str(n), "--seed", str(seed),
                           "--device", device], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"memory child N={n} failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(sizes: dict, device: str, dataset, seed: int, progress) -> list[dict]:
    """One row per N, then a ``slope`` row with the target's pass/fail."""
    from t2ibench.perf.pipeline import warm_caches

    warm_caches(dataset, seed, device, progress)
    width = feature_width(dataset, device)
    points, rows = [], []
    for n in sizes["memory_images"]:
        progress(f"memory N={n}: fresh process")
        p = {**run_child(n, seed, device), "feature_mb": n * width * FEATURE_ENTRY_BYTES / MB}
        points.append(p)
        rows.append(make_row("memory", f"N={n}", items=n, ours_name="t2ibench evaluate (fresh process)",
                             ours_s=p["seconds"], extra={k: v for k, v in p.items() if k not in ("n", "seconds")}))
    ns = np.array([p["n"] for p in points], dtype=np.float64)
    first, last = points[0], points[-1]
    bound = TARGETS["memory"]["peak_factor"] * first["peak_rss_mb"] + last["feature_mb"]
    extra = {"peak_rss_mb_per_1k": float(np.polyfit(ns, [p["peak_rss_mb"] for p in points], 1)[0] * 1000)
             if len(points) > 1 else None,
             "seconds_per_1k": float(np.polyfit(ns, [p["seconds"] for p in points], 1)[0] * 1000)
             if len(points) > 1 else None,
             "peak_rss_mb_max_n": last["peak_rss_mb"], "bound_mb": bound}
    row = make_row("memory", "slope", items=int(ns.sum()), ours_name="t2ibench evaluate (fresh process)",
                   ours_s=sum(p["seconds"] for p in points), extra=extra)
    row["target"] = (f"peak(N={last['n']}) <= {TARGETS['memory']['peak_factor']} x peak(N={first['n']}) + "
                     f"features(N={last['n']})")
    row["passed"] = bool(last["peak_rss_mb"] <= bound)
    return rows + [row]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description="one evaluation of N images; prints its peak memory and time as JSON")
    p.add_argument("n", type=int)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    print(json.dumps(child(args.n, args.seed, args.device)))


if __name__ == "__main__":
    main()
