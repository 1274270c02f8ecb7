#!/usr/bin/env python
"""How far metric values move when only the arithmetic changes: the basis of the
cross-machine tolerance that README "What t2ibench guarantees" states.

One zoo row (default ``attngan`` on ``shapes``, n=500) is evaluated under

* the reference: 2 threads, generation batch 50;
* another generation batch size (7): must be bit-for-bit equal (aligned batches);
* 1 thread instead of 2: other reduction orders inside float32 kernels;
* oneDNN (mkldnn) off: other convolution kernels, as on another CPU;

and the relative difference of every metric from the reference is printed. Another machine
(other CPU, a GPU) changes the float32 arithmetic the way the last two rows do.

    python benchmarks/bench_determinism.py [--generator attngan] [--n-images 500]
"""
from __future__ import annotations

import argparse
import contextlib

import torch

from t2ibench import evaluate
from t2ibench.data import load_dataset
from t2ibench.registry import load_generator

METRICS = ["is", "fid", "kid", "ssim", "fsim", "ms-ssim", "r-precision", "rank1", "vs-similarity", "clipscore",
           "cmd"]


@contextlib.contextmanager
def arithmetic(threads=2, mkldnn=True):
    old = torch.get_num_threads(), torch.backends.mkldnn.enabled
    torch.set_num_threads(threads)
    torch.backends.mkldnn.enabled = mkldnn
    try:
        yield
    finally:
        torch.set_num_threads(old[0])
        torch.backends.mkldnn.enabled = old[1]


def values(result) -> dict[str, float]:
    return {m: result.value(m) for m in result.metrics}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--generator", default="attngan")
    p.add_argument("--n-images", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    ds = load_dataset("shapes", split="test")
    gen = load_generator(args.generator, dataset=ds)

    def run(batch_size=50, **kw):
        with arithmetic(**kw):
            return values(evaluate(gen, ds, metrics=METRICS, n_images=args.n_images, seed=args.seed,
                                   batch_size=batch_size, progress=False, generator_name=args.generator))

    ref = run()
    rows = {"batch size 7": run(batch_size=7), "1 thread": run(threads=1), "mkldnn off": run(mkldnn=False)}
    print(f"{args.generator} on shapes, n={args.n_images}: |value - reference| / max(|reference|, 1e-12)")
    print(f"{'metric':<16}{'reference':>14}" + "".join(f"{k:>16}" for k in rows))
    for m in METRICS:
        diffs = [abs(r[m] - ref[m]) / max(abs(ref[m]), 1e-12) for r in rows.values()]
        print(f"{m:<16}{ref[m]:>14.6g}" + "".join(f"{d:>16.2e}" for d in diffs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
