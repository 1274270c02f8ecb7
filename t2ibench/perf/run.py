"""The perf command: every measurement, on each device, idle and under a competing load.

``python -m t2ibench.perf`` (see ``--help``). Rows are printed as they come and the whole table
at the end; the result (machine, versions, date, configuration, rows, errors) is written as
JSON and Markdown to ``--out`` (default ``leaderboards/perf/``). A measurement that raises is
recorded as an error row (the others still run) and makes the exit status 1.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch

from t2ibench.perf import frechet, generation, inception, memory, pipeline, pixel, report
from t2ibench.perf.folder import write_folders
from t2ibench.perf.load import CompetingLoad, sigterm_as_exit
from t2ibench.perf.machine import machine_info, utc_now, versions
from t2ibench.perf.rows import skipped_row
from t2ibench.perf.settings import (DATASET, GENERATOR, LOAD_CONDITIONS, LOAD_WORKERS, MEASUREMENTS, OUT_DIR, SEED,
                                    SIZES)

EPILOG = """measurements (issue 15), each printed with the peer it is compared with:
  frechet     Frechet distance at d=2048 and 512: ours vs np.real(scipy.linalg.sqrtm(s1 @ s2));
              target speed-up >= 10 at 2048, values equal to 1e-6 relative
  inception   Inception (TF-FID TorchScript file) extraction images/s and FID on the same PNG
              folders: ours vs torch_fidelity.calculate_metrics with the same module
  pipeline    whole evaluation (IS, FID, KID, CLIP-FID, CMD, R-precision, SSIM, FSIM, MS-SSIM) of
              one generator's PNG folder: t2ibench's single pass vs torch-fidelity + CLIP + the
              papers' R-precision loop + piq per pair; same values, target speed-up >= 2
  pixel       SSIM / MS-SSIM / FSIM pairs/s on 64-px pairs: ours batched vs scikit-image's
              per-image loop (SSIM, target >= 10) and piq per image
  memory      peak RSS and wall time of an evaluation as N grows (fresh process per N), slope,
              target peak(Nmax) <= 1.2 x peak(Nmin) + feature matrices
  generation  images/s of each zoo model (tiny config, shipped weights)
Every measurement runs on idle cores and again under a competing load of busy processes that the
command starts and always stops. Sizes: --quick (smoke), default (a few minutes on 2 CPU cores),
--full (the issue's sizes: 1k/5k/20k images for the memory curve). Timings on shared cores are
indicative only."""


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m t2ibench.perf", description="Measure t2ibench against the "
                                "separate-tools path on this machine and write leaderboards/perf/.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smoke-run sizes (seconds per measurement)")
    size.add_argument("--full", action="store_true", help="the issue's sizes (long on CPU)")
    p.add_argument("--only", default=",".join(MEASUREMENTS),
                   help=f"comma-separated measurements to run (default all: {','.join(MEASUREMENTS)})")
    p.add_argument("--load", choices=("idle", "loaded", "both"), default="both",
                   help="idle cores, under the competing load, or both (default)")
    p.add_argument("--load-workers", type=int, default=LOAD_WORKERS,
                   help=f"busy processes of the competing load (default {LOAD_WORKERS})")
    p.add_argument("--device", default="auto",
                   help="cpu, cuda, or cpu,cuda; auto (default): cpu, plus cuda when a GPU is present")
    p.add_argument("--seed", type=int, default=SEED, help=f"seed of the statistics, plans and draws (default {SEED})")
    p.add_argument("--out", default=OUT_DIR, help=f"folder for the JSON and Markdown results (default {OUT_DIR})")
    p.add_argument("--name", default=None, help="file stem of the results (default perf-<mode>-<devices>)")
    args = p.parse_args(argv)
    args.only = [m.strip() for m in args.only.split(",") if m.strip()]
    unknown = set(args.only) - set(MEASUREMENTS)
    if unknown or not args.only:
        p.error(f"--only: unknown measurement(s) {sorted(unknown)}; choose from {', '.join(MEASUREMENTS)}")
    if args.device == "auto":
        args.devices = ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
    else:
        args.devices = [d.strip() for d in args.device.split(",") if d.strip()]
        bad = [d for d in args.devices if d not in ("cpu", "cuda")]
        if bad or not args.devices:
            p.error(f"--device: expected cpu, cuda, cpu,cuda or auto, got {args.device!r}")
        if "cuda" in args.devices and not torch.cuda.is_available():
            p.error("--device cuda: no CUDA device is available")
    if args.load_workers < 1:
        p.error("--load-workers: must be >= 1")
    from t2ibench.io import check_writable

    try:  # before any measurement: results must not be lost at the end
        check_writable(args.out, "--out")
    except ValueError as e:
        p.error(str(e))
    args.mode = "quick" if args.quick else "full" if args.full else "default"
    return args


class Progress:
    """Progress lines on stderr, with the elapsed time."""

    def __init__(self):
        self.t0 = time.perf_counter()

    def __call__(self, message: str) -> None:
        m, s = divmod(int(time.perf_counter() - self.t0), 60)
        print(f"[perf {m:02d}:{s:02d}] {message}", file=sys.stderr, flush=True)


def run(args) -> dict:
    """Run the selected measurements; returns the result dict (also written by :func:`main`)."""
    from t2ibench.data import load_dataset

    progress = Progress()
    sizes = SIZES[args.mode]
    loads = list(LOAD_CONDITIONS) if args.load == "both" else [args.load]
    result = {"date": utc_now(), "machine": machine_info(), "versions": versions(),
              "config": {"command": " ".join(["python -m t2ibench.perf", *sys.argv[1:]]), "mode": args.mode,
                         "sizes": sizes, "seed": args.seed, "devices": args.devices, "loads": loads,
                         "load_workers": args.load_workers, "measurements": args.only, "generator": GENERATOR,
                         "dataset": DATASET},
              "rows": [], "errors": []}
    dataset = load_dataset(DATASET, split="test")
    weights = inception.default_weights()
    with tempfile.TemporaryDirectory(prefix="t2ibench-perf-") as tmp:
        work = Path(tmp)
        folders = {}
        if "inception" in args.only and weights is not None:
            n = sizes["inception_images"]
            folders["inception"] = write_folders(work / "inception", GENERATOR, dataset, n, args.seed, n_real=n,
                                                 progress=progress)
        if "pipeline" in args.only:
            folders["pipeline"] = write_folders(work / "pipeline", GENERATOR, dataset, sizes["pipeline_images"],
                                                args.seed, progress=progress)
        jobs = {
            "frechet": lambda d: frechet.measure(sizes, d, args.seed, progress) if d == "cpu" else
            [skipped_row("frechet", "d=*", "not applicable on cuda: frechet_distance is a float64 NumPy kernel")],
            "inception": lambda d: inception.measure(sizes, d, folders.get("inception"), weights, progress),
            "pipeline": lambda d: pipeline.measure(sizes, d, folders["pipeline"], dataset, args.seed, work, progress),
            "pixel": lambda d: pixel.measure(sizes, d, dataset, progress),
            "memory": lambda d: memory.measure(sizes, d, dataset, args.seed, progress),
            "generation": lambda d: generation.measure(sizes, d, dataset, args.seed, progress),
        }
        for device in args.devices:
            for load in loads:
                progress(f"--- device {device}, {load} cores" +
                         (f" ({args.load_workers} busy processes started)" if load == "loaded" else ""))
                with CompetingLoad(args.load_workers if load == "loaded" else 0):
                    for name in args.only:
                        try:
                            rows = jobs[name](device)
                        except Exception as e:  # noqa: BLE001 — one failed measurement must not lose the others
                            message = f"{name} ({device}, {load}): {type(e).__name__}: {e}"
                            result["errors"].append(message)
                            traceback.print_exc()
                            rows = [skipped_row(name, "*", f"error: {type(e).__name__}: {e}")]
                        for r in rows:
                            r.update(device=device, load=load)
                            result["rows"].append(r)
                        print(report.text_table(report.HEADER, report.table_rows(rows)), file=sys.stderr, flush=True)
    result["config"]["wall_seconds"] = round(time.perf_counter() - progress.t0, 1)  # the whole run
    return result


def main(argv=None) -> int:
    args = parse_args(argv)
    sigterm_as_exit()
    try:
        result = run(args)
    except KeyboardInterrupt:
        print("interrupted: the competing load is stopped; nothing written", file=sys.stderr)
        return 130
    print(report.render_text(result))
    stem = args.name or f"perf-{args.mode}-{'+'.join(args.devices)}"
    js, md = report.write(result, args.out, stem)
    print(f"\nwrote {js} and {md}")
    return 1 if result["errors"] else 0
