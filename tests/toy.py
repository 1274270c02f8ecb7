"""A tiny in-memory dataset and feature extractor for engine tests (no shapes, no weights)."""
from __future__ import annotations

import hashlib

import torch

from t2ibench.data.base import CaptionedImageDataset
from t2ibench.features import register_extractor, EXTRACTORS
from t2ibench.features.base import FeatureExtractor


class ToyDataset(CaptionedImageDataset):
    """``n`` 32x32 images in 3 classes: smooth colour blobs, deterministic from the index.

    Every image has a unique caption and also the shared caption ``"a picture"``.
    """

    name, split, image_size = "toy", "test", 32

    def __init__(self, n: int = 60):
        self.n = n
        self.class_names = ["red", "green", "blue"]
        g = torch.Generator().manual_seed(0)
        base = torch.rand(n, 3, 4, 4, generator=g)
        for i in range(n):
            base[i, i % 3] += 1.5  # the class colour dominates
        self._images = (torch.nn.functional.interpolate(base, size=32, mode="bilinear", align_corners=False)
                        .clamp(0, 2.5) / 2.5 * 255).round().to(torch.uint8)

    def __len__(self):
        return self.n

    def image(self, i):
        return self._images[i]

    def captions(self, i):
        return ["a picture", f"image number {i}, mostly {self.class_names[i % 3]}"]

    def class_id(self, i):
        return i % 3

    @property
    def fingerprint(self):
        return hashlib.sha256(f"toy-{self.n}".encode()).hexdigest()


class ToyExtractor(FeatureExtractor):
    """Per-channel mean and std (6-d embedding) and 3 'logits' (the channel means)."""

    name, outputs, weights_id, resize_mode = "toy", ("embedding", "logits"), "toy-v1", "none"
    roles = {"embedding": "embedding", "logits": "logits"}
    calls = 0  # images seen, summed over instances

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def extract(self, images):
        ToyExtractor.calls += len(images)
        x = images.float() / 255
        mean, std = x.mean(dim=(2, 3)), x.std(dim=(2, 3))
        return {"embedding": torch.cat([mean, std], 1), "logits": 8 * mean}


class PoolOnlyToyExtractor(ToyExtractor):
    name, outputs, roles = "toy-pool-only", ("embedding",), {"embedding": "embedding"}


for _cls in (ToyExtractor, PoolOnlyToyExtractor):
    if _cls.name not in EXTRACTORS:
        register_extractor(_cls.name, lambda device="cpu", weights=None, _c=_cls: _c())
