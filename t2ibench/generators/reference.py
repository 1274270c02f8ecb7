"""Reference rows every leaderboard carries (DESIGN §2): ``real``, ``real-mismatched``, ``noise``.

- ``real``: the test image that the caption describes — the ceiling of every metric.
- ``real-mismatched``: a real test image of *another class* than the caption's image —
  realistic images that do not match the text: the floor for text alignment and a check
  that paired metrics (SSIM, FSIM) see the mismatch.
- ``noise``: uniform random pixels — the floor for image quality.

Captions are matched to images through :class:`t2ibench.data.Caption` (the engine passes
them); a plain ``str`` is looked up by its text (the first test image with that caption).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from t2ibench.data.base import CaptionedImageDataset
from t2ibench.generators.base import caption_generator
from t2ibench.registry import register_generator


class _DatasetLookup:
    """Caption -> dataset image index, through ``Caption.image_index`` or the caption text."""

    def __init__(self, dataset: CaptionedImageDataset, name: str):
        self.dataset, self.name = dataset, name
        self._by_text: dict[str, int] | None = None

    def index_of(self, caption: str) -> int:
        index = getattr(caption, "image_index", -1)
        if 0 <= index < len(self.dataset):
            return index
        if self._by_text is None:
            self._by_text = {}
            for i in range(len(self.dataset)):
                for text in self.dataset.captions(i):
                    self._by_text.setdefault(text, i)
        if caption not in self._by_text:
            raise ValueError(f"generator {self.name!r}: caption {caption[:80]!r} is not a caption of "
                             f"{self.dataset.name}[{self.dataset.split}]; it returns real images only for "
                             f"that dataset's captions")
        return self._by_text[caption]


class RealImages:
    """``real``: returns the dataset image each caption was taken from."""

    def __init__(self, dataset: CaptionedImageDataset):
        self.lookup = _DatasetLookup(dataset, "real")
        self.dataset = dataset

    def generate(self, captions: Sequence[str], seed: int = 0) -> torch.Tensor:
        return self.dataset.images([self.lookup.index_of(c) for c in captions])


class RealMismatchedImages:
    """``real-mismatched``: for a caption of image i (class c), a test image of a class != c.

    The image is drawn uniformly from the other classes' images with the per-caption seed
    (``seed + j`` for row j). Datasets without classes (class -1) draw any other image.
    """

    def __init__(self, dataset: CaptionedImageDataset):
        self.lookup = _DatasetLookup(dataset, "real-mismatched")
        self.dataset = dataset
        self.classes = dataset.class_ids().numpy()
        if len(dataset) < 2 or (self.classes >= 0).all() and len(np.unique(self.classes)) < 2:
            raise ValueError(f"real-mismatched needs at least two classes in {dataset.name}[{dataset.split}]")

    def _other(self, index: int, seed: int) -> int:
        c = self.classes[index]
        candidates = np.flatnonzero(self.classes != c) if c >= 0 else np.delete(np.arange(len(self.classes)), index)
        pick = torch.randint(len(candidates), (1,), generator=caption_generator(seed, 0)).item()
        return int(candidates[pick])

    def generate(self, captions: Sequence[str], seed: int = 0) -> torch.Tensor:
        picks = [self._other(self.lookup.index_of(c), seed + j) for j, c in enumerate(captions)]
        return self.dataset.images(picks)


class UniformNoise:
    """``noise``: i.i.d. uniform uint8 pixels, ``image_size`` square, row j from seed ``seed + j``."""

    def __init__(self, image_size: int):
        self.image_size = int(image_size)

    def generate(self, captions: Sequence[str], seed: int = 0) -> torch.Tensor:
        s = self.image_size
        return torch.stack([torch.randint(0, 256, (3, s, s), generator=caption_generator(seed, j), dtype=torch.uint8)
                            for j in range(len(captions))])


@register_generator("real")
def real(dataset: CaptionedImageDataset, device: str = "cpu") -> RealImages:
    return RealImages(dataset)


@register_generator("real-mismatched")
def real_mismatched(dataset: CaptionedImageDataset, device: str = "cpu") -> RealMismatchedImages:
    return RealMismatchedImages(dataset)


@register_generator("noise")
def noise(dataset: CaptionedImageDataset, device: str = "cpu") -> UniformNoise:
    return UniformNoise(dataset.image_size)


#: The reference rows, in the order leaderboards list them.
REFERENCE_GENERATORS = ("real", "real-mismatched", "noise")
