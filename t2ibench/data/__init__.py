"""Datasets: the embedded procedural ``shapes`` and loaders for CUB, Oxford-102 and COCO.

Use :func:`load_dataset`::

    ds = load_dataset("shapes", split="test", image_size=64)
    sample = ds[0]          # Sample(image=uint8 [3,64,64], captions=[...], class_id, boxes)
"""
from __future__ import annotations

from t2ibench.data.base import Box, Caption, CaptionedImageDataset, Sample
from t2ibench.registry import Registry

DATASETS = Registry("dataset")


def register_dataset(name: str, factory=None):
    """Register ``factory(split=..., image_size=..., **kwargs) -> CaptionedImageDataset``."""
    return DATASETS.register(name, factory)


def list_datasets() -> list[str]:
    return DATASETS.names()


def load_dataset(name: str, split: str = "test", image_size: int | None = None, **kwargs) -> CaptionedImageDataset:
    """Load dataset ``name`` (``shapes``, ``cub``, ``flowers``, ``coco``) at ``split``.

    ``image_size`` defaults to the dataset's own default (64 for ``shapes``). Real datasets
    need ``root=`` (the folder in their standard layout); see each loader's docstring.
    """
    factory = DATASETS.get(name)
    if image_size is not None:
        kwargs["image_size"] = image_size
    return factory(split=split, **kwargs)


# Importing the loaders registers them.
from t2ibench.data import shapes  # noqa: E402,F401
from t2ibench.data import cub, flowers, coco  # noqa: E402,F401

__all__ = ["Box", "Caption", "CaptionedImageDataset", "Sample", "load_dataset", "list_datasets",
           "register_dataset", "DATASETS"]
