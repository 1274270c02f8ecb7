"""The metric sanity suite: how each metric responds to controlled changes of real data.

Rows (each evaluated with the same plan of test captions and the same seed):

========================  ==================================================================
``real``                  the caption's own test image (the reference)
``blur``                  that image blurred (Gaussian, sigma = 1.5 px at 64 px, scaled with size)
``pixel-noise``           that image plus Gaussian pixel noise (sigma = 25 grey levels)
``colour-swap``           that image with its RGB channels rotated (R->G->B->R): right shapes,
                          wrong colours
``captions-shuffled``     the image of a random *other* test image: pairs broken, images real
``attribute-word``        the caption's own image, but the caption's first colour word is
                          replaced by another colour (one attribute wrong, the rest right)
``uniform-noise``         uniform random pixels (the floor)
========================  ==================================================================

For the table and the heat map each metric is normalised as
``(value - value[real]) / (value[uniform-noise] - value[real])``: 0 means the metric does not
see the change, 1 means it rates the change as badly as pure noise (values can exceed 1 or
go negative). Raw values are kept beside it in ``sanity.csv``.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from t2ibench.data.base import CaptionedImageDataset
from t2ibench.generators.base import caption_generator
from t2ibench.generators.reference import RealImages, UniformNoise

#: Colour words recognised by the ``attribute-word`` edit (shapes' synonyms and common colours).
COLOUR_WORDS = ("red", "crimson", "scarlet", "orange", "tangerine", "yellow", "golden", "lemon", "green",
                "emerald", "blue", "cobalt", "sapphire", "purple", "violet", "pink", "rose", "white", "snowy",
                "black", "brown", "grey", "gray")
_CANONICAL = ("red", "orange", "yellow", "green", "blue", "purple", "pink", "white")
_COLOUR_RE = re.compile(r"\b(" + "|".join(COLOUR_WORDS) + r")\b")


def change_colour_word(caption: str, seed: int) -> str:
    """Replace the first colour word of ``caption`` by a different canonical colour (seeded).

    Captions without a colour word are returned unchanged."""
    m = _COLOUR_RE.search(caption)
    if not m:
        return caption
    word = m.group(1)
    choices = [c for c in _CANONICAL if c != word and not (word in ("crimson", "scarlet") and c == "red")]
    new = choices[int(np.random.default_rng(seed).integers(len(choices)))]
    return caption[:m.start()] + new + caption[m.end():]


class CaptionEdited(CaptionedImageDataset):
    """A view of ``base`` whose captions are edited by ``edit(caption, seed) -> caption``."""

    def __init__(self, base: CaptionedImageDataset, edit: Callable[[str, int], str], tag: str):
        self.base, self.edit, self.tag = base, edit, tag
        self.name, self.split, self.image_size, self.class_names = base.name, base.split, base.image_size, base.class_names

    def __len__(self):
        return len(self.base)

    def image(self, i):
        return self.base.image(i)

    def images(self, indices):
        return self.base.images(indices)

    def captions(self, i):
        return [self.edit(c, i * 100 + k) for k, c in enumerate(self.base.captions(i))]

    def class_id(self, i):
        return self.base.class_id(i)

    def class_ids(self):
        return self.base.class_ids()

    @property
    def fingerprint(self):
        # the images (and so the cached real features) are the base's
        return self.base.fingerprint

    @property
    def caption_fingerprint(self):
        from t2ibench.io import sha256_json

        return sha256_json({"base": self.base.caption_fingerprint, "edit": self.tag})


class DegradedReal(RealImages):
    """The caption's real image passed through ``degrade(images uint8, seed) -> uint8``."""

    def __init__(self, dataset, degrade: Callable[[torch.Tensor, int], torch.Tensor]):
        super().__init__(dataset)
        self.degrade = degrade

    def generate(self, captions: Sequence[str], seed: int = 0) -> torch.Tensor:
        return self.degrade(super().generate(captions, seed), seed)


class ShuffledReal(RealImages):
    """For each caption, the real image of a random other test image (row j: seed + j)."""

    def generate(self, captions: Sequence[str], seed: int = 0) -> torch.Tensor:
        n = len(self.dataset)
        picks = []
        for j, c in enumerate(captions):
            own = self.lookup.index_of(c)
            other = int(torch.randint(n - 1, (1,), generator=caption_generator(seed, j)))
            picks.append(other + (other >= own))
        return self.dataset.images(picks)


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of uint8 ``[N, 3, H, W]`` (reflect padding), back to uint8."""
    radius = max(1, int(round(3 * sigma)))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-x ** 2 / (2 * sigma ** 2))
    k = (k / k.sum()).view(1, 1, -1)
    n, c, h, w = images.shape
    y = images.float().reshape(n * c, 1, h, w)
    y = F.conv2d(F.pad(y, (radius, radius, 0, 0), mode="reflect"), k.view(1, 1, 1, -1))
    y = F.conv2d(F.pad(y, (0, 0, radius, radius), mode="reflect"), k.view(1, 1, -1, 1))
    return y.reshape(n, c, h, w).round().clamp(0, 255).to(torch.uint8)


def add_gaussian_noise(images: torch.Tensor, seed: int, sigma: float = 25.0) -> torch.Tensor:
    """uint8 images plus N(0, sigma²) grey-level noise, row j from seed + j."""
    noise = torch.stack([torch.randn(images.shape[1:], generator=caption_generator(seed, j))
                         for j in range(len(images))])
    return (images.float() + sigma * noise).round().clamp(0, 255).to(torch.uint8)


def sanity_rows(dataset: CaptionedImageDataset) -> dict[str, tuple[CaptionedImageDataset, object]]:
    """``{row: (dataset view, generator)}`` for the suite, in table order."""
    sigma = 1.5 * dataset.image_size / 64
    edited = CaptionEdited(dataset, change_colour_word, "attribute-word")
    return {
        "real": (dataset, RealImages(dataset)),
        "blur": (dataset, DegradedReal(dataset, lambda x, s: gaussian_blur(x, sigma))),
        "pixel-noise": (dataset, DegradedReal(dataset, add_gaussian_noise)),
        "colour-swap": (dataset, DegradedReal(dataset, lambda x, s: x[:, [2, 0, 1]])),
        "captions-shuffled": (dataset, ShuffledReal(dataset)),
        "attribute-word": (edited, RealImages(edited)),
        "uniform-noise": (dataset, UniformNoise(dataset.image_size)),
    }


def run_sanity(dataset: CaptionedImageDataset, metrics: Sequence[str], n_images: int, seed: int = 0,
               device: str = "cpu", progress: bool = True, extractor_weights: dict | None = None) -> pd.DataFrame:
    """Evaluate every row; returns raw values: index = rows, columns = metrics."""
    from t2ibench.engine import evaluate

    values = {}
    for row, (view, gen) in sanity_rows(dataset).items():
        r = evaluate(gen, view, metrics=list(metrics), n_images=n_images, seed=seed, device=device,
                     progress=progress, generator_name=f"sanity:{row}", extractor_weights=extractor_weights)
        values[row] = {m: r.metrics[m]["value"] for m in metrics}
    return pd.DataFrame(values).T


def normalise(raw: pd.DataFrame) -> pd.DataFrame:
    """``(v - v[real]) / (v[uniform-noise] - v[real])`` per metric (NaN where the two are equal)."""
    span = raw.loc["uniform-noise"] - raw.loc["real"]
    return (raw - raw.loc["real"]) / span.where(span.abs() > 1e-12) + 0.0  # + 0.0: no "-0.00"


def write_sanity(raw: pd.DataFrame, out_dir, title: str) -> pd.DataFrame:
    """Write ``sanity.csv`` (raw), ``sanity.md`` (normalised) and ``sanity.png`` (heat map)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from t2ibench.io import write_text
    from t2ibench.plots import save_figure

    out_dir = Path(out_dir)
    norm = normalise(raw)
    write_text(out_dir / "sanity.csv", raw.to_csv(index_label="row"))
    head = "| row | " + " | ".join(norm.columns) + " |\n|---|" + "---:|" * len(norm.columns) + "\n"
    body = "".join("| " + row + " | " + " | ".join("–" if pd.isna(v) else f"{v:.2f}" for v in norm.loc[row]) + " |\n"
                   for row in norm.index)
    write_text(out_dir / "sanity.md", f"# {title}\n\n0 = the metric does not see the change; 1 = as bad as uniform "
                                      f"noise (raw values in sanity.csv).\n\n" + head + body)
    fig, ax = plt.subplots(figsize=(1.0 + 0.9 * len(norm.columns), 0.6 + 0.5 * len(norm.index)))
    im = ax.imshow(norm.to_numpy(dtype=float), cmap="magma", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(norm.columns)), norm.columns, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(norm.index)), norm.index, fontsize=8)
    for (i, j), v in np.ndenumerate(norm.to_numpy(dtype=float)):
        ax.text(j, i, "–" if np.isnan(v) else f"{v:.2f}", ha="center", va="center", fontsize=7,
                color="white" if np.isnan(v) or v < 0.6 else "black")
    fig.colorbar(im, ax=ax, fraction=0.03)
    ax.set_title(title, fontsize=9)
    save_figure(fig, out_dir / "sanity.png")
    return norm
