"""A user's generator in one file: the plug-in example of t2ibench's README ("Plug in your generator").

t2ibench needs two things from a generator (``t2ibench/generators/base.py``):

- a **factory** ``make(dataset, device)`` that returns the generator for a loaded dataset (the
  benchmark calls it once per dataset, with keyword arguments);
- a method ``generate(captions, seed=0)`` returning uint8 images ``[N, 3, H, W]``, one per caption,
  the same images for the same captions and seed. Caption ``j`` of a call gets the per-caption seed
  ``seed + j``, so that an image depends on its caption and the run's seed only, not on the batch.

Plug it in by its path and factory name, no installation needed::

    python benchmark.py --generators real,noise,examples/my_generator.py:make ...
    t2ibench eval --generator examples/my_generator.py:make --n-images 300

or, from an installed package, by an entry point of the group ``t2ibench.generators`` in its
``pyproject.toml`` (then ``--generators my-shapes`` works)::

    [project.entry-points."t2ibench.generators"]
    my-shapes = "my_package.my_generator:make"

What this one does: it *reads* the caption — the first colour word and shape word it finds, and
the size, position and background words where the caption has them — and draws that one object
with the ``shapes`` dataset's own renderer. Whatever the caption leaves open (a size, a place, a
background) and the exact size and tint are drawn from the per-caption seed. It draws no
secondary objects and never looks at a dataset image: an honest keyword baseline, neither a
trained GAN nor a copy of the real image (that is the ``real`` row). It works for ``shapes``
captions only.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import torch

from t2ibench.data.shapes_captions import BACKGROUND_PHRASES, COLOUR_WORDS, POSITION_PHRASES, SHAPE_WORDS, SIZE_WORDS
from t2ibench.data.shapes_render import (COLOUR_RGB, PLAIN_BACKGROUNDS, POSITION_XY, SIZE_RANGE, outline_box,
                                         render_scene, shape_outline)


def _first(caption: str, phrases: dict[str, list[str]]) -> str | None:
    """The key whose phrase occurs first in ``caption`` (whole words), None when none does."""
    found = []
    for key, words in phrases.items():
        for word in words:
            m = re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", caption)
            if m:
                found.append((m.start(), -len(word), key))
    return min(found)[2] if found else None


def _background(name: str, rng: np.random.Generator) -> dict:
    """A background the renderer draws: the named kind with settings drawn from ``rng``."""
    if name in PLAIN_BACKGROUNDS:
        return {"name": name, "rgb": list(PLAIN_BACKGROUNDS[name])}
    lo, hi = float(rng.uniform(25, 45)), float(rng.uniform(90, 120))
    if name == "gradient":
        return {"name": name, "angle": float(rng.uniform(0, 2 * np.pi)), "lo": lo, "hi": hi}
    if name in ("stripes", "checkerboard"):
        return {"name": name, "lo": lo, "hi": hi, "period": float(rng.uniform(0.08, 0.16)),
                "phase": float(rng.uniform(0, 1)), "angle": float(rng.choice([0.0, np.pi / 4, np.pi / 2]))}
    return {"name": "noise", "mean": float(rng.uniform(55, 90)), "coarse": rng.normal(0, 22, (6, 6)).tolist(),
            "fine": rng.normal(0, 12, (20, 20)).tolist()}


class KeywordShapes:
    """Draws the object a ``shapes`` caption names (see the module docstring)."""

    def __init__(self, image_size: int = 64):
        self.image_size = int(image_size)

    def scene(self, caption: str, rng: np.random.Generator) -> dict:
        text = caption.lower()

        def pick(phrases: dict):
            return _first(text, phrases) or list(phrases)[int(rng.integers(len(phrases)))]

        colour, shape, size = pick(COLOUR_WORDS), pick(SHAPE_WORDS), pick(SIZE_WORDS)
        position, background = pick(POSITION_PHRASES), pick(BACKGROUND_PHRASES)
        cx, cy = (v + rng.uniform(-0.01, 0.01) for v in POSITION_XY[position])
        half = float(rng.uniform(*SIZE_RANGE[size]))
        rgb = [int(np.clip(c + t, 0, 255)) for c, t in zip(COLOUR_RGB[colour], rng.integers(-10, 11, 3))]
        obj = {"shape": shape, "colour": colour, "size": size, "position": position, "center": [cx, cy],
               "half": half, "box": list(outline_box(*shape_outline(shape, cx, cy, half))), "rgb": rgb}
        return {"background": _background(background, rng), "objects": [obj]}

    def generate(self, captions: Sequence[str], seed: int = 0) -> torch.Tensor:
        images = [render_scene(self.scene(str(c), np.random.default_rng(seed + j)), self.image_size)
                  for j, c in enumerate(captions)]
        if not images:
            return torch.zeros(0, 3, self.image_size, self.image_size, dtype=torch.uint8)
        return torch.from_numpy(np.stack(images))


def make(dataset, device: str = "cpu") -> KeywordShapes:
    """The factory t2ibench calls: ``make(dataset=<loaded dataset>, device=...)``."""
    if getattr(dataset, "name", None) != "shapes":
        raise ValueError(f"examples/my_generator.py draws shapes captions only, not {getattr(dataset, 'name', dataset)!r}")
    return KeywordShapes(dataset.image_size)
