"""What every dataset of t2ibench looks like: samples, boxes, and the dataset base class.

A dataset is a sequence of :class:`Sample` (one image with all its captions). Images are
uint8 tensors ``[3, H, W]`` (RGB), already at the dataset's ``image_size``. Boxes are in
pixels of that image, ``(x0, y0, x1, y1)`` with x to the right and y down.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass(frozen=True)
class Box:
    """An object box in pixels of the (resized) image: ``label`` and ``x0 < x1``, ``y0 < y1``."""

    label: str
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class Sample:
    """One dataset item.

    image: uint8 ``[3, H, W]``; captions: every caption of this image;
    class_id: integer class (``-1`` where the dataset has no classes);
    boxes: object boxes (empty where the dataset has none); key: the image's id/file name.
    """

    image: torch.Tensor
    captions: list[str]
    class_id: int
    boxes: list[Box] = field(default_factory=list)
    key: str = ""
    index: int = -1


class Caption(str):
    """A caption that also remembers which dataset image it was taken from.

    The engine hands generators ``Caption`` objects; they are plain ``str`` for every
    generator, and the reference rows (``real``, ``real-mismatched``) read
    ``image_index`` so that ``real`` returns exactly the image the caption came from
    even when two images share a caption text.
    """

    image_index: int

    def __new__(cls, text: str, image_index: int = -1):
        obj = super().__new__(cls, text)
        obj.image_index = int(image_index)
        return obj

    def __reduce__(self):
        return (Caption, (str(self), self.image_index))


class CaptionedImageDataset(torch.utils.data.Dataset):
    """Base class of every dataset: subclasses implement the five methods marked below.

    Attributes: ``name`` (registry name), ``split``, ``image_size`` (pixels, square),
    ``class_names`` (list; empty when the dataset has no classes).
    """

    name: str = ""
    split: str = ""
    image_size: int = 0
    class_names: list[str] = []
    #: whether two images of one class have interchangeable captions, so that training losses with
    #: in-batch negatives (DAMSM) mask same-class pairs (CUB species, shapes classes: yes; COCO's
    #: largest-box category: no, AttnGAN uses the image index there)
    matching_classes: bool = True

    # -- to implement -------------------------------------------------------
    def __len__(self) -> int:
        raise NotImplementedError

    def image(self, index: int) -> torch.Tensor:
        """uint8 ``[3, image_size, image_size]``."""
        raise NotImplementedError

    def captions(self, index: int) -> list[str]:
        raise NotImplementedError

    def class_id(self, index: int) -> int:
        raise NotImplementedError

    @property
    def fingerprint(self) -> str:
        """A hex digest that changes whenever the images, captions or labels would change."""
        raise NotImplementedError

    # -- provided -------------------------------------------------------------
    @property
    def caption_fingerprint(self) -> str:
        """Changes whenever the captions would change; views that edit captions override it."""
        return self.fingerprint

    def boxes(self, index: int) -> list[Box]:
        return []

    def key(self, index: int) -> str:
        return str(index)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __getitem__(self, index: int) -> Sample:
        if not -len(self) <= index < len(self):
            raise IndexError(f"{self.name}[{self.split}]: index {index} out of range for {len(self)} images")
        index = index % len(self)
        return Sample(image=self.image(index), captions=self.captions(index), class_id=self.class_id(index),
                      boxes=self.boxes(index), key=self.key(index), index=index)

    def images(self, indices) -> torch.Tensor:
        """uint8 ``[len(indices), 3, H, W]``."""
        return torch.stack([self.image(int(i)) for i in indices])

    def class_ids(self) -> torch.Tensor:
        """int64 ``[len(self)]``: the class of every image."""
        return torch.tensor([self.class_id(i) for i in range(len(self))], dtype=torch.int64)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(name={self.name!r}, split={self.split!r}, n={len(self)}, "
                f"image_size={self.image_size}, classes={self.num_classes})")
