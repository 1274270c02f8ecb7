"""Run by tests/test_distributed_eval.py, one process or under ``torchrun --nproc_per_node 2``:
``t2ibench eval`` with the arguments given, with fewer MS-SSIM pairs than the protocol's (its 400
per class cost minutes on 2 cores; the sharding logic needs few), as ``tests/test_engine.py`` does."""
from __future__ import annotations

import sys

from t2ibench import defaults
from t2ibench.cli import main

#: MS-SSIM pairs per class and overall (the test's one-process run uses the same)
MS_SSIM_PAIRS = (5, 100)

if __name__ == "__main__":
    defaults.MS_SSIM_PAIRS_PER_CLASS, defaults.MS_SSIM_PAIRS_OVERALL = MS_SSIM_PAIRS
    sys.exit(main(sys.argv[1:]))
