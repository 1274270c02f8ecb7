"""A slow, deterministic test generator for the kill-and-resume tests (``tests.slow_generator:make``).

Image ``j`` of a call with ``seed`` is uniform noise from seed ``seed + j`` (the seed
convention), so resumed and uninterrupted runs must agree exactly. Each call sleeps
``$SLOW_GENERATOR_SECONDS`` (default 0.2) and appends ``seed n`` to the file named by
``$SLOW_GENERATOR_LOG``, so a test can see what was generated, and when.
"""
from __future__ import annotations

import os
import time

import torch

from t2ibench.generators.base import caption_generator


class SlowNoise:
    def __init__(self, image_size: int):
        self.image_size = image_size

    def generate(self, captions, seed=0):
        time.sleep(float(os.environ.get("SLOW_GENERATOR_SECONDS", "0.2")))
        log = os.environ.get("SLOW_GENERATOR_LOG")
        if log:
            with open(log, "a") as f:
                f.write(f"{seed} {len(captions)}\n")
        size = (3, self.image_size, self.image_size)
        return torch.stack([torch.randint(0, 256, size, generator=caption_generator(seed, j), dtype=torch.uint8)
                            for j in range(len(captions))])


def make(dataset=None, device="cpu"):
    return SlowNoise(getattr(dataset, "image_size", 64))
