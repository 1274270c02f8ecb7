"""The PNG folders both sides of a comparison read: generated images with their captions file,
and real images of the dataset, written once per run.

Layout under ``root``::

    fake/000000.png ...     generated image k of the evaluation plan (lossless PNG)
    captions.csv            file,caption,image_key — the ``t2ibench eval --images`` captions file
    real/<image_key>.png    the dataset images (every one of the split, or the first n_real)

The generated images are those of :func:`t2ibench.engine.evaluation_plan` with per-caption seeds
``seed + k`` (what ``t2ibench eval`` would generate), so ``t2ibench eval --images fake --captions
captions.csv`` pairs and scores them exactly as a single pass over the generator would.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import torch

from t2ibench import defaults
from t2ibench.data import Caption, CaptionedImageDataset
from t2ibench.engine import evaluation_plan, generated_batches
from t2ibench.image_store import encode_png
from t2ibench.registry import load_generator


@dataclass(frozen=True)
class ImageFolders:
    """Paths of a written folder set and the plan its generated images follow."""

    fake: Path
    real: Path
    captions_file: Path
    plan: list[Caption]
    real_keys: list[str]

    def fake_files(self) -> list[Path]:
        return [self.fake / f"{k:06d}.png" for k in range(len(self.plan))]

    def real_file(self, key: str) -> Path:
        return self.real / f"{key}.png"


def save_png(image: torch.Tensor, path: Path) -> None:
    """Write one uint8 ``[3, H, W]`` image as PNG (the image folders' own encoder)."""
    Path(path).write_bytes(encode_png(image))


def write_folders(root, generator: str, dataset: CaptionedImageDataset, n_images: int, seed: int,
                  n_real: int | None = None, device: str = "cpu", progress=lambda msg: None) -> ImageFolders:
    """Generate ``n_images`` images of ``generator`` for ``dataset``'s evaluation plan into ``root/fake``
    with ``root/captions.csv``, and write the first ``n_real`` (default: every) dataset image to
    ``root/real``. Returns the :class:`ImageFolders`."""
    root = Path(root)
    fake, real = root / "fake", root / "real"
    fake.mkdir(parents=True, exist_ok=True)
    real.mkdir(parents=True, exist_ok=True)
    plan = evaluation_plan(dataset, n_images, seed)
    gen = load_generator(generator, dataset=dataset, device=device)
    progress(f"writing {n_images} images of {generator} to {fake}")
    # the engine's own generation schedule (batches, per-caption seeds, output checks)
    for start, _, images in generated_batches(gen, generator, plan, seed, defaults.BATCH_SIZE, progress=False):
        for k, image in enumerate(images, start):
            save_png(image, fake / f"{k:06d}.png")
    captions_file = root / "captions.csv"
    with open(captions_file, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["file", "caption", "image_key"])
        for k, c in enumerate(plan):
            w.writerow([f"{k:06d}.png", str(c), dataset.key(c.image_index)])
    n_real = len(dataset) if n_real is None else min(int(n_real), len(dataset))
    keys = [dataset.key(i) for i in range(n_real)]
    progress(f"writing {n_real} real images of {dataset.name}[{dataset.split}] to {real}")
    for start in range(0, n_real, defaults.BATCH_SIZE):
        stop = min(start + defaults.BATCH_SIZE, n_real)
        for i, image in zip(range(start, stop), dataset.images(range(start, stop))):
            save_png(image, real / f"{keys[i]}.png")
    return ImageFolders(fake, real, captions_file, plan, keys)
