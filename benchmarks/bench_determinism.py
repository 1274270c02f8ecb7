#!/usr/bin/env python
"""How far metric values move when only the arithmetic changes: the basis of the
cross-machine tolerance that README "What t2ibench guarantees" states.

One zoo row (default ``attngan`` on ``shapes``, n=500) is evaluated under

* the reference: 2 threads, generation batch 50;
* another generation batch size (7): must be bit-for-bit equal (aligned batches);
* 1 thread instead of 2: other reduction orders inside float32 kernels;
* oneDNN (mkldnn) off: other convolution kernels, as on another CPU;

and every metric's difference from the reference is printed: relative for continuous metrics,
in hits (|Δ|·n) for retrieval shares (R-precision, Rank-1), beside the tolerance that
``t2ibench compare`` applies (``defaults.COMPARE_*``). Another machine (other CPU, a GPU)
changes the float32 arithmetic the way the last two rows do. Exits 1 if the batch-size row
is not bit-for-bit zero or a row exceeds the stated tolerance.

    python benchmarks/bench_determinism.py [--generator attngan] [--n-images 500]
"""
from __future__ import annotations

import argparse
import contextlib

import torch

from t2ibench import defaults, evaluate
from t2ibench.data import load_dataset
from t2ibench.registry import load_generator
from t2ibench.result import compare_results


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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--generator", default="attngan")
    p.add_argument("--n-images", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    ds = load_dataset("shapes", split="test")
    gen = load_generator(args.generator, dataset=ds)

    def run(batch_size=defaults.BATCH_SIZE, **kw):
        with arithmetic(**kw):
            return evaluate(gen, ds, metrics=list(defaults.DEFAULT_METRICS), n_images=args.n_images, seed=args.seed,
                            batch_size=batch_size, progress=False, generator_name=args.generator)

    ref = run()
    rows = {"batch size 7": run(batch_size=7), "1 thread": run(threads=1), "mkldnn off": run(mkldnn=False)}
    compared = {name: {c["metric"]: c for c in compare_results(r, ref)} for name, r in rows.items()}
    print(f"{args.generator} on shapes, n={args.n_images}: relative change, or change in hits for retrieval shares")
    print(f"{'metric':<16}{'reference':>14}" + "".join(f"{k:>16}" for k in rows) + f"{'tolerance':>12}")
    for m, entry in ref.metrics.items():
        hits = entry["counts_hits"]
        change = [abs(compared[k][m]["value"] - entry["value"]) * (args.n_images if hits else
                  1 / max(abs(entry["value"]), 1e-12)) for k in rows]
        tol = f"{defaults.COMPARE_HITS} hits" if hits else f"{defaults.COMPARE_RTOL:.0e}"
        print(f"{m:<16}{entry['value']:>14.6g}" + "".join(f"{d:>16.2e}" for d in change) + f"{tol:>12}")
    exact = all(c["value"] == c["reference"] for c in compared["batch size 7"].values())
    within = all(c["ok"] for rows_ in compared.values() for c in rows_.values())
    print(f"batch size: {'bit-for-bit equal' if exact else 'NOT equal'}; all rows within the stated tolerance: "
          f"{'yes' if within else 'NO'}")
    return 0 if exact and within else 1


if __name__ == "__main__":
    raise SystemExit(main())
