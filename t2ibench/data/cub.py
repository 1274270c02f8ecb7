"""CUB-200-2011 birds in AttnGAN's "birds" layout: ``load_dataset("cub", split, image_size, root=...)``.

Expected layout (AttnGAN ``data/birds``)::

    root/
    ├── CUB_200_2011/
    │   ├── images.txt             "<id> <class>/<img>.jpg" per line
    │   ├── bounding_boxes.txt     "<id> <x> <y> <width> <height>" per line
    │   └── images/<class>/<img>.jpg     e.g. images/001.Black_footed_Albatross/Black_Footed_Albatross_0046_18.jpg
    ├── text/<class>/<img>.txt     one caption per line (10 per image)
    ├── train/filenames.pickle     list of "<class>/<img>" names without extension
    ├── train/class_info.pickle    optional: the class number (1..200) of each name
    ├── train/char-CNN-RNN-embeddings.pickle   optional: StackGAN's [N, 10, 1024] text embeddings
    └── test/...                   the same files for the test split

Each item: the image cropped around the bird exactly as AttnGAN's ``get_imgs`` does
(``crop_bbox=True``, the default; see :func:`attngan_crop`), then resized straight to
``image_size x image_size`` (PIL bicubic); the captions of ``text/<class>/<img>.txt``;
``class_id`` = the class folder's number minus one (``001.Black_footed_Albatross`` -> 0;
``class_names[k]`` is the folder name without its number, e.g. ``Black_footed_Albatross``);
``boxes`` = the bird's box (label ``"bird"``) in pixels of the returned image; ``key`` =
the name from ``filenames.pickle`` (``"<class>/<img>"``).

``class_info.pickle``, when present (Python ints or numpy integer scalars), must agree with
the class folders of the names (ValueError otherwise); StackGAN's
``char-CNN-RNN-embeddings.pickle`` is read on request (:mod:`t2ibench.data.char_cnn_rnn`).

``filenames.pickle`` is loaded with the restricted unpickler of
:mod:`t2ibench.data.safe_pickle` (names with a stray trailing ``\\r`` are repaired with a
warning). Caption files and the existence of every image are checked when the dataset is
built; images are decoded lazily, and an unreadable image raises ValueError naming the
file when that item is read. The fingerprint covers names, captions, class ids, boxes and
options, not the image bytes (see :class:`~t2ibench.data.image_files.FileListDataset`).
"""
from __future__ import annotations

import re
from pathlib import Path

from t2ibench.data import register_dataset
from t2ibench.data.base import Box
from t2ibench.data.image_files import (literal_block, FileListDataset, check_image_size, check_root, check_split,
                                       image_size_of, read_caption_file, require_dir, require_file,
                                       scale_box)
from t2ibench.data.char_cnn_rnn import CLASS_INFO_FILE, check_class_info
from t2ibench.data.safe_pickle import load_filenames

LAYOUT = literal_block(__doc__, 0)

_CLASS_DIR = re.compile(r"^(\d+)\.(.+)$")


def attngan_crop(bbox, width: int, height: int) -> tuple[int, int, int, int]:
    """AttnGAN's ``get_imgs`` crop: ``bbox = (x, y, w, h)`` (ints, as AttnGAN reads them with
    ``astype(int)``) -> ``(x1, y1, x2, y2)`` for ``PIL.Image.crop``.

    ``r = int(max(w, h) * 0.75)``, centre ``(int((2x + w) / 2), int((2y + h) / 2))``, the
    square of half-side ``r`` around it, clipped to the image.
    """
    x, y, w, h = (int(v) for v in bbox)
    r = int(max(w, h) * 0.75)
    cx = int((2 * x + w) / 2)
    cy = int((2 * y + h) / 2)
    y1 = max(0, cy - r)
    y2 = min(height, cy + r)
    x1 = max(0, cx - r)
    x2 = min(width, cx + r)
    return x1, y1, x2, y2


def _read_index(path: Path, ncols: int) -> dict[int, list[str]]:
    rows: dict[int, list[str]] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"cub: cannot read {path}: {e}") from None
    for ln, line in enumerate(lines, 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != ncols:
            raise ValueError(f"cub: {path}, line {ln}: expected {ncols} fields, got {len(parts)}: {line!r}")
        try:
            rows[int(parts[0])] = parts[1:]
        except ValueError:
            raise ValueError(f"cub: {path}, line {ln}: the first field must be an integer image id: {line!r}") from None
    return rows


def _class_number(name: str, where) -> tuple[int, str]:
    folder = name.split("/", 1)[0]
    m = _CLASS_DIR.match(folder)
    if m is None or "/" not in name:
        raise ValueError(f"cub: {where}: name {name!r} does not start with a class folder "
                         "'NNN.Class_name/' (e.g. '001.Black_footed_Albatross/...')")
    return int(m.group(1)), m.group(2)


class CUBDataset(FileListDataset):
    """CUB-200-2011 in AttnGAN's birds layout (see the module docstring for the layout)."""

    def __init__(self, root, split: str = "train", image_size: int = 256, crop_bbox: bool = True):
        split = check_split(split, "cub")
        image_size = check_image_size(image_size, "cub")
        root = check_root(root, "cub", LAYOUT)
        cub_dir = require_dir(root / "CUB_200_2011", "cub", LAYOUT)
        images_txt = require_file(cub_dir / "images.txt", "cub", LAYOUT)
        bbox_txt = require_file(cub_dir / "bounding_boxes.txt", "cub", LAYOUT)
        names = load_filenames(require_file(root / split / "filenames.pickle", "cub", LAYOUT))

        id_to_file = _read_index(images_txt, 2)
        id_to_box = _read_index(bbox_txt, 5)
        bbox_of: dict[str, tuple[float, float, float, float]] = {}
        classes: dict[int, str] = {}
        for img_id, (fname,) in id_to_file.items():
            key = fname[:-4] if fname.lower().endswith(".jpg") else fname
            if img_id not in id_to_box:
                raise ValueError(f"cub: image id {img_id} ({fname}) of {images_txt} has no line in {bbox_txt}")
            try:
                bbox_of[key] = tuple(float(v) for v in id_to_box[img_id])
            except ValueError:
                raise ValueError(f"cub: {bbox_txt}: the box of image id {img_id} is not numeric: "
                                 f"{id_to_box[img_id]}") from None
            num, cname = _class_number(key, images_txt)
            classes[num] = cname
        if not classes:
            raise ValueError(f"cub: {images_txt} lists no image")
        n_classes = max(classes)
        class_names = [classes.get(k, f"class_{k:03d}") for k in range(1, n_classes + 1)]

        for name in names:
            if name not in bbox_of:
                raise ValueError(f"cub: {root / split / 'filenames.pickle'} names {name!r}, which "
                                 f"{images_txt} does not list")
        require_dir(cub_dir / "images", "cub", LAYOUT)
        require_dir(root / "text", "cub", LAYOUT)

        files, captions, class_ids, boxes = [], [], [], []
        missing = []
        for name in names:
            num, _ = _class_number(name, root / split / "filenames.pickle")
            rel = f"CUB_200_2011/images/{name}.jpg"
            if not (root / rel).is_file():
                missing.append(root / rel)
            files.append(rel)
            captions.append(read_caption_file(require_file(root / "text" / f"{name}.txt", "cub", LAYOUT)))
            class_ids.append(num - 1)
            boxes.append(bbox_of[name])
        info_path = root / split / CLASS_INFO_FILE
        if info_path.is_file():
            check_class_info(info_path, [c + 1 for c in class_ids], names)
        if missing:
            raise ValueError(f"cub: {len(missing)} image file(s) of the {split} split are missing, e.g. "
                             f"{', '.join(map(str, missing[:3]))}; expected layout:\n{LAYOUT}")
        self._bboxes = boxes
        self.crop_bbox = bool(crop_bbox)
        super().__init__(name="cub", split=split, image_size=image_size, root=root, files=files,
                         keys=names, captions=captions, class_ids=class_ids, class_names=class_names,
                         options={"crop_bbox": self.crop_bbox})

    def bbox(self, index: int) -> tuple[float, float, float, float]:
        """The bird's box ``(x, y, width, height)`` in pixels of the original image."""
        return self._bboxes[index]

    def _crop(self, index: int, width: int, height: int):
        if not self.crop_bbox:
            return None
        return attngan_crop(self._bboxes[index], width, height)

    def boxes(self, index: int) -> list[Box]:
        """The bird's box in pixels of the returned image (reads the image header for its size)."""
        width, height = image_size_of(self.path(index))
        x, y, w, h = self._bboxes[index]
        crop = self._crop(index, width, height) or (0, 0, width, height)
        x1, y1, x2, y2 = crop
        if not (x1 < x2 and y1 < y2):
            return []
        s = self.image_size
        box = scale_box("bird", x, y, x + w, y + h, origin=(x1, y1), scale=(s / (x2 - x1), s / (y2 - y1)), size=s)
        return [box] if box is not None else []

    def _fingerprint_extra(self) -> dict:
        return {"bboxes": self._bboxes}


def load_cub(split: str = "train", image_size: int = 256, root=None, crop_bbox: bool = True) -> CUBDataset:
    """CUB-200-2011 in AttnGAN's birds layout; see :mod:`t2ibench.data.cub`."""
    return CUBDataset(root, split=split, image_size=image_size, crop_bbox=crop_bbox)


register_dataset("cub", load_cub)
