"""Shared helpers of the real-data loaders (``cub``, ``flowers``, ``coco``).

* :func:`open_rgb` / :func:`image_size_of`: read an image file (decoded with PIL,
  converted to RGB, EXIF orientation *not* applied: boxes in the annotation files refer
  to the stored pixel grid) with a ValueError naming the file when it is missing,
  unreadable or corrupt;
* :func:`resize_square` + :func:`to_uint8_tensor`: every loader resizes its (possibly
  cropped) image straight to ``image_size x image_size`` with PIL's bicubic filter
  (antialiased when downscaling), without keeping the aspect ratio;
* :func:`read_caption_file`: one caption per line, stripped, empty lines dropped;
* :class:`FileListDataset`: the common dataset class (one image file + captions per
  item, lazy decoding, fingerprint over names and captions).
"""
from __future__ import annotations

import re

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from t2ibench.data.base import Box, CaptionedImageDataset
from t2ibench.io import sha256_json

__all__ = ["open_rgb", "image_size_of", "resize_square", "to_uint8_tensor", "read_caption_file",
           "require_dir", "require_file", "check_split", "check_image_size", "check_root",
           "scale_box", "FileListDataset", "RESAMPLE", "SPLITS"]

#: Resampling filter of every real-data loader (PIL bicubic, antialiased when downscaling).
RESAMPLE = Image.BICUBIC
SPLITS = ("train", "test")


# -- argument checks ---------------------------------------------------------------------

def check_split(split, dataset: str) -> str:
    if not isinstance(split, str) or split not in SPLITS:
        raise ValueError(f"{dataset}: unknown split {split!r}; known: {', '.join(SPLITS)}")
    return split


def check_image_size(image_size, dataset: str) -> int:
    if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)):
        raise TypeError(f"{dataset}: image_size must be an int (pixels), got {type(image_size).__name__}")
    if image_size < 1:
        raise ValueError(f"{dataset}: image_size must be >= 1, got {image_size}")
    return int(image_size)


def check_root(root, dataset: str, layout: str) -> Path:
    """``root`` must be given and be a folder; the error shows the expected ``layout``."""
    if root is None:
        raise ValueError(f"{dataset}: no data folder given; pass root=PATH (the CLI's --data-root) "
                         f"pointing at a folder laid out as:\n{layout}")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise ValueError(f"{dataset}: data root {root} does not exist or is not a folder; "
                         f"expected a folder laid out as:\n{layout}")
    return root


def require_dir(path: Path, dataset: str, layout: str) -> Path:
    if not Path(path).is_dir():
        raise ValueError(f"{dataset}: expected the folder {path}, which does not exist; "
                         f"the data root must be laid out as:\n{layout}")
    return Path(path)


def require_file(path: Path, dataset: str, layout: str) -> Path:
    if not Path(path).is_file():
        raise ValueError(f"{dataset}: expected the file {path}, which does not exist; "
                         f"the data root must be laid out as:\n{layout}")
    return Path(path)


# -- images ------------------------------------------------------------------------------

_PIL_ERRORS = (OSError, SyntaxError, ValueError, Image.DecompressionBombError, EOFError, IndexError)


def open_rgb(path) -> Image.Image:
    """Decode the image file at ``path`` into an RGB PIL image (fully loaded).

    Raises ValueError naming the file when it is missing, not an image, truncated or
    otherwise undecodable.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"image file not found: {path}")
    try:
        with Image.open(path) as im:
            im.load()
            return im.convert("RGB")
    except _PIL_ERRORS as e:
        raise ValueError(f"cannot read the image file {path}: {type(e).__name__}: {e}") from None


def image_size_of(path) -> tuple[int, int]:
    """``(width, height)`` of the image at ``path`` from its header (no decoding)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"image file not found: {path}")
    try:
        with Image.open(path) as im:
            return im.size
    except _PIL_ERRORS as e:
        raise ValueError(f"cannot read the image file {path}: {type(e).__name__}: {e}") from None


def resize_square(img: Image.Image, size: int) -> Image.Image:
    """Resize to ``size x size`` (aspect ratio not kept) with :data:`RESAMPLE`."""
    if img.size == (size, size):
        return img
    return img.resize((size, size), RESAMPLE)


def to_uint8_tensor(img: Image.Image) -> torch.Tensor:
    """RGB PIL image -> uint8 tensor ``[3, H, W]``."""
    arr = np.asarray(img.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))


def scale_box(label: str, x0: float, y0: float, x1: float, y1: float, *, origin=(0.0, 0.0),
              scale=(1.0, 1.0), size: int) -> Box | None:
    """Map a box from source pixels to output pixels: ``(x - origin_x) * scale_x``, clipped to
    ``[0, size]``; None when nothing of it is left."""
    ox, oy = origin
    sx, sy = scale
    bx0 = min(max((x0 - ox) * sx, 0.0), float(size))
    bx1 = min(max((x1 - ox) * sx, 0.0), float(size))
    by0 = min(max((y0 - oy) * sy, 0.0), float(size))
    by1 = min(max((y1 - oy) * sy, 0.0), float(size))
    if not (bx0 < bx1 and by0 < by1):
        return None
    return Box(label, bx0, by0, bx1, by1)


# -- captions ----------------------------------------------------------------------------

def read_caption_file(path) -> list[str]:
    """Captions of one image: one per line, stripped, empty lines dropped.

    Lines end at ``"\\n"``, ``"\\r\\n"`` or ``"\\r"`` only (as in Python's text files): other
    Unicode line boundaries (form feed, U+0085, U+2028...) stay inside their caption and
    never split it in two (U+0085 is what a cp1252 ellipsis, byte 0x85, becomes through
    ``iconv -f latin1``).

    The file must be UTF-8 (a byte-order mark is dropped); the ``"\\ufffd\\ufffd"`` pairs of
    the CUB text files (valid UTF-8: two replacement characters) are replaced by a space, as
    AttnGAN does. Raises ValueError naming the file when it is missing, unreadable, not
    UTF-8 (with the line and byte) or holds no caption.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"caption file not found: {path}")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ValueError(f"cannot read the caption file {path}: {e}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise ValueError(f"caption file {path} is not valid UTF-8: byte {e.start} (line {line}) is "
                         f"{data[e.start:e.start + 1]!r} ({e.reason}); expected UTF-8 text, one caption per "
                         f"line — convert the file, e.g. iconv -f latin1 -t utf-8") from None
    text = text.replace("\ufeff", "").replace("\ufffd\ufffd", " ")
    caps = [line.strip() for line in re.split(r"\r\n|\r|\n", text)]
    caps = [c for c in caps if c]
    if not caps:
        raise ValueError(f"caption file {path} holds no caption (expected one caption per line)")
    return caps


# -- dataset -----------------------------------------------------------------------------

class FileListDataset(CaptionedImageDataset):
    """One image file plus captions per item; images decoded lazily in :meth:`image`.

    Subclasses may override :meth:`_crop` (a crop rectangle in source pixels, applied
    before the resize) and :meth:`boxes`.

    ``fingerprint``: sha256 of the canonical JSON of the dataset name, split,
    image_size, the loader's options, the ordered list of file names (relative to the
    root), the caption texts, the class ids and the boxes' source values. The image
    *bytes* are not hashed (for speed): replacing an image file by another one with the
    same name does not change the fingerprint.
    """

    def __init__(self, *, name: str, split: str, image_size: int, root: Path, files: Sequence[str],
                 keys: Sequence[str], captions: Sequence[list[str]], class_ids: Sequence[int],
                 class_names: Sequence[str], options: dict | None = None):
        if not (len(files) == len(keys) == len(captions) == len(class_ids)):
            raise ValueError(f"{name}: internal length mismatch between files, keys, captions and class ids")
        if len(files) == 0:
            raise ValueError(f"{name}[{split}]: the split holds no image")
        self.name, self.split, self.image_size = name, split, int(image_size)
        self.root = Path(root)
        self.files = list(files)
        self._keys = list(keys)
        self._captions = [list(c) for c in captions]
        self._class_ids = [int(c) for c in class_ids]
        self.class_names = list(class_names)
        self.options = dict(options or {})
        self._fingerprint: str | None = None

    def __len__(self) -> int:
        return len(self.files)

    def path(self, index: int) -> Path:
        return self.root / self.files[index]

    def _crop(self, index: int, width: int, height: int):
        """Crop rectangle ``(x0, y0, x1, y1)`` in source pixels, or None for the whole image."""
        return None

    def _check_source(self, index: int, img: Image.Image) -> None:
        """Hook: raise ValueError when the decoded image disagrees with the annotations."""

    def source_image(self, index: int) -> Image.Image:
        """The decoded file after the loader's crop (CUB's box crop), before any resize: what training
        augmentation resizes with the aspect ratio kept (:mod:`models.common.data`)."""
        path = self.path(index)
        img = open_rgb(path)
        self._check_source(index, img)
        crop = self._crop(index, *img.size)
        if crop is not None:
            x0, y0, x1, y1 = crop
            if not (x0 < x1 and y0 < y1):
                raise ValueError(f"{self.name}: the crop {crop} of {path} ({img.size[0]}x{img.size[1]}) is empty")
            img = img.crop(crop)
        return img

    def image(self, index: int) -> torch.Tensor:
        return to_uint8_tensor(resize_square(self.source_image(index), self.image_size))

    def captions(self, index: int) -> list[str]:
        return list(self._captions[index])

    def class_id(self, index: int) -> int:
        return self._class_ids[index]

    def class_ids(self) -> torch.Tensor:
        return torch.tensor(self._class_ids, dtype=torch.int64)

    def key(self, index: int) -> str:
        return self._keys[index]

    def _fingerprint_extra(self) -> dict:
        return {}

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = sha256_json({
                "dataset": self.name, "split": self.split, "image_size": self.image_size,
                "options": self.options, "files": self.files, "captions": self._captions,
                "class_ids": self._class_ids, "class_names": self.class_names,
                **self._fingerprint_extra()})
        return self._fingerprint


def literal_block(doc: str | None, index: int = 0) -> str:
    """The ``index``-th reST literal block of a docstring (the 4-space-indented lines after a
    line ending in ``::``): a loader's folder tree is written once, in its module docstring,
    and its error messages quote it from there. Under ``python -OO`` (no docstrings) the
    messages point to the documentation instead."""
    if doc is None:
        return "    (the folder tree is in this loader's module documentation)\n"
    blocks = re.findall(r"::\n\n((?:    .*\n)+)", doc)
    if index >= len(blocks):
        raise RuntimeError(f"docstring has {len(blocks)} literal blocks, block {index} was asked for")
    return blocks[index]
