"""Time ``t2ibench.metrics.frechet_distance`` (two symmetric eigendecompositions) against the
usual ``scipy.linalg.sqrtm(sigma1 @ sigma2)`` form (pytorch-fid / TF-FID) on the same random
statistics, and report how far apart the two values are.

    python benchmarks/bench_frechet_distance.py --dim 2048 --repeats 3

Not a test: timings depend on the machine and its BLAS threads. The peer formula, the random
statistics and the timing are those of ``python -m t2ibench.perf`` (:mod:`t2ibench.perf.frechet`),
which runs this comparison at d = 2048 and 512 among its other measurements.
"""
from __future__ import annotations

import argparse

from t2ibench.metrics import frechet_distance
from t2ibench.perf.frechet import random_statistics, scipy_sqrtm_frechet
from t2ibench.perf.rows import best_of


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dim", type=int, default=2048, help="feature dimension (2048 = Inception pool3)")
    p.add_argument("--samples", type=int, default=None, help="rows per feature set (default 2 * dim)")
    p.add_argument("--repeats", type=int, default=3, help="timed repetitions of each method (best is reported)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.dim < 2 or args.repeats < 1:
        p.error("--dim must be >= 2 and --repeats >= 1")
    n = args.samples or 2 * args.dim

    import numpy as np

    rng = np.random.default_rng(args.seed)
    mu1, s1 = random_statistics(rng, args.dim, n)
    mu2, s2 = random_statistics(rng, args.dim, n)

    t_ours, v_ours = best_of(lambda: frechet_distance(mu1, s1, mu2, s2), args.repeats)
    t_ref, v_ref = best_of(lambda: scipy_sqrtm_frechet(mu1, s1, mu2, s2), args.repeats)
    print(f"dim={args.dim} samples={n} repeats={args.repeats} (best time of each)")
    print(f"frechet_distance (eigh):   {t_ours:9.3f} s   value {v_ours:.10g}")
    print(f"scipy.linalg.sqrtm form:   {t_ref:9.3f} s   value {v_ref:.10g}")
    print(f"speed-up (sqrtm / eigh):   {t_ref / t_ours:9.2f}x")
    print(f"relative difference:       {abs(v_ours - v_ref) / abs(v_ref):.3e}")


if __name__ == "__main__":
    main()
