"""A slow, logging wrapper of the ``noise`` reference generator for the kill-and-resume tests
(``slow_generator:make``).

Each call sleeps ``$SLOW_GENERATOR_SECONDS`` (default 0.2) and appends ``seed n`` to the file
named by ``$SLOW_GENERATOR_LOG``, so a test can see what was generated, and when; the images
are :class:`t2ibench.generators.reference.UniformNoise`'s (row ``j`` from seed ``seed + j``),
so resumed and uninterrupted runs must agree exactly.
"""
from __future__ import annotations

import os
import time

from t2ibench.generators.reference import UniformNoise


class SlowNoise(UniformNoise):
    def generate(self, captions, seed=0):
        time.sleep(float(os.environ.get("SLOW_GENERATOR_SECONDS", "0.2")))
        log = os.environ.get("SLOW_GENERATOR_LOG")
        if log:
            with open(log, "a") as f:
                f.write(f"{seed} {len(captions)}\n")
        return super().generate(captions, seed)


def make(dataset=None, device="cpu"):
    return SlowNoise(getattr(dataset, "image_size", 64))
