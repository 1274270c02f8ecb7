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

from t2ibench import defaults
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

    The image is ``partner[i]``, one fixed permutation of the test split in which no image is
    its own partner and (with classes) no partner shares its image's class: the test images
    are grouped by class (classes and the images within them in an order drawn from
    ``defaults.SEED``) and each is paired with the image ``M`` places further on, cyclically,
    ``M`` being the largest class size. Because the evaluation plan visits every test image
    once before any twice, a run uses every test image once, as ``real`` does: the images
    keep the real distribution exactly (FID and IS equal ``real``'s) and only the pairing with
    the captions is broken. This needs ``N >= 2·M``; a split where one class holds more than
    half the images falls back to a uniform draw among the other classes' images per caption
    (seed ``seed + j``), where images repeat, and the engine's result then warns of it.
    Datasets without classes (class -1) pair each image with the next one of a shuffled order.
    """

    def __init__(self, dataset: CaptionedImageDataset):
        self.lookup = _DatasetLookup(dataset, "real-mismatched")
        self.dataset = dataset
        self.classes = dataset.class_ids().numpy()
        if len(dataset) < 2 or (self.classes >= 0).all() and len(np.unique(self.classes)) < 2:
            raise ValueError(f"real-mismatched needs at least two classes in {dataset.name}[{dataset.split}]")
        self.partner = _mismatched_partners(self.classes, np.random.default_rng(defaults.SEED))

    def _other(self, index: int, seed: int) -> int:
        if self.partner is not None:
            return int(self.partner[index])
        c = self.classes[index]
        candidates = np.flatnonzero(self.classes != c) if c >= 0 else np.delete(np.arange(len(self.classes)), index)
        pick = torch.randint(len(candidates), (1,), generator=caption_generator(seed, 0)).item()
        return int(candidates[pick])

    def generate(self, captions: Sequence[str], seed: int = 0) -> torch.Tensor:
        picks = [self._other(self.lookup.index_of(c), seed + j) for j, c in enumerate(captions)]
        return self.dataset.images(picks)


def _mismatched_partners(classes: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """A permutation ``partner`` of ``0..N-1`` with ``classes[partner[i]] != classes[i]`` for every
    image of a class (and ``partner[i] != i`` for all), or ``None`` when one class holds more
    than half the images (see :class:`RealMismatchedImages`)."""
    n = len(classes)
    labels = np.where(classes >= 0, classes, -1 - np.arange(n))  # no class: each image its own group
    groups = [rng.permutation(np.flatnonzero(labels == c)) for c in rng.permutation(np.unique(labels))]
    shift = max(len(g) for g in groups)
    if n < 2 * shift:
        return None
    order = np.concatenate(groups)
    partner = np.empty(n, dtype=np.int64)
    partner[order] = np.roll(order, -shift)
    return partner


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
