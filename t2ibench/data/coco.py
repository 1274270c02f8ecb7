"""MS-COCO captions: ``load_dataset("coco", split, image_size, root=..., year=None, layout=None)``.

Two layouts, chosen by what is in ``root`` (or forced with ``layout="json"|"attngan"``):
the official caption JSON when ``root/annotations/captions_*.json`` exists, otherwise
AttnGAN's coco layout.

(b) ``layout="json"`` -- the official COCO files::

    root/
    ├── annotations/
    │   ├── captions_train2017.json     (and/or captions_train2014.json)
    │   ├── captions_val2017.json       (and/or captions_val2014.json)
    │   ├── instances_train2017.json    optional: object boxes and classes
    │   └── instances_val2017.json      optional
    ├── train2017/<file_name>.jpg       (train2014/ for year 2014)
    └── val2017/<file_name>.jpg         (val2014/ for year 2014)

    split "train" -> the train JSON and folder, split "test" -> the val JSON and folder.
    year: 2014 or 2017; None picks the year whose captions file exists (2017 preferred).
    Items: every image of the captions JSON that has at least one caption (an image
    without caption is left out, with a warning), sorted by image id; captions sorted by
    annotation id; key = the file name without extension.
    When ``instances_<split><year>.json`` exists: boxes = the non-crowd instances
    (label = category name; crowd regions are left out), scaled to output pixels;
    class_id = index (in ``class_names``, the categories sorted by id) of the category
    of the instance with the largest box area, -1 for an image without instance.
    Without it: class_id = -1, ``class_names = []``, no boxes. Image sizes are taken
    from the JSON; an image file whose size disagrees raises ValueError when read.

(a) ``layout="attngan"`` -- AttnGAN's ``data/coco``::

    root/
    ├── images/<name>.jpg               train2014 and val2014 images together
    ├── text/<name>.txt                 one caption per line (5 per image)
    ├── train/filenames.pickle          list of names, e.g. "COCO_train2014_000000000009"
    └── test/filenames.pickle           e.g. "COCO_val2014_000000000042"

    class_id = -1, ``class_names = []``, no boxes (AttnGAN's coco has no class labels).

Resizing, both layouts: a plain resize of the whole image to ``image_size x image_size``
(PIL bicubic), aspect ratio not kept, no crop — what the evaluation reads as the real
images. Training reads ``source_image`` instead and keeps the aspect ratio
(:mod:`models.common.data`: shorter side resized, random square crop, AttnGAN's transform). Images are decoded lazily (a corrupt
file raises ValueError naming it when that item is read); caption files / JSON and the
existence of every image file are checked when the dataset is built. The fingerprint
covers names, captions, class ids, boxes and options, not the image bytes.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

from PIL import Image

from t2ibench.data import register_dataset
from t2ibench.data.base import Box
from t2ibench.data.image_files import (literal_block, FileListDataset, check_image_size, check_root, check_split,
                                       read_caption_file, require_dir, require_file, scale_box)
from t2ibench.data.safe_pickle import load_filenames
from t2ibench.io import path_inside

JSON_LAYOUT = literal_block(__doc__, 0)

ATTNGAN_LAYOUT = literal_block(__doc__, 1)

LAYOUTS = ("json", "attngan")
YEARS = (2017, 2014)
_BOTH = f"either the official COCO files:\n{JSON_LAYOUT}or AttnGAN's coco layout:\n{ATTNGAN_LAYOUT}"


def _read_json(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            obj = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"coco: cannot read the JSON file {path}: {e}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("images"), list) \
            or not isinstance(obj.get("annotations"), list):
        raise ValueError(f"coco: {path} is not a COCO annotation file (expected a JSON object with "
                         "'images' and 'annotations' lists)")
    return obj


def _field(record, key, path: Path, what: str):
    try:
        return record[key]
    except (KeyError, TypeError):
        raise ValueError(f"coco: {path}: an entry of '{what}' lacks the field {key!r}: {str(record)[:200]}") from None


class COCODataset(FileListDataset):
    """COCO captions in the official JSON layout or AttnGAN's layout (see the module docstring).

    ``matching_classes`` is False: the largest box's category does not make two images' captions
    interchangeable, so training losses with in-batch negatives mask only the pair itself (AttnGAN's
    ``class_id = np.arange(N)`` on COCO)."""

    matching_classes = False

    def __init__(self, root, split: str = "train", image_size: int = 256, year: int | None = None,
                 layout: str | None = None):
        split = check_split(split, "coco")
        image_size = check_image_size(image_size, "coco")
        root = check_root(root, "coco", _BOTH)
        if layout is None:
            has_json = (root / "annotations").is_dir() and any((root / "annotations").glob("captions_*.json"))
            has_attngan = (root / "text").is_dir() or (root / split / "filenames.pickle").is_file()
            if has_json:
                layout = "json"
            elif has_attngan:
                layout = "attngan"
            else:
                raise ValueError(f"coco: {root} holds neither annotations/captions_*.json nor AttnGAN's "
                                 f"text/ and {split}/filenames.pickle; expected {_BOTH}")
        if layout not in LAYOUTS:
            raise ValueError(f"coco: unknown layout {layout!r}; known: {', '.join(LAYOUTS)}")
        self.layout = layout
        self._image_wh: list[tuple[int, int]] | None = None
        self._instances: list[list[tuple[str, float, float, float, float]]] | None = None
        if layout == "attngan":
            if year is not None:
                raise ValueError("coco: year= applies to the official JSON layout only, not to AttnGAN's layout")
            self.year = None
            self.image_ids = None
            files, keys, captions, class_ids, class_names = self._load_attngan(root, split)
        else:
            files, keys, captions, class_ids, class_names = self._load_json(root, split, year)
        super().__init__(name="coco", split=split, image_size=image_size, root=root, files=files, keys=keys,
                         captions=captions, class_ids=class_ids, class_names=class_names,
                         options={"layout": layout, "year": self.year})

    # -- AttnGAN layout -------------------------------------------------------------------
    def _load_attngan(self, root: Path, split: str):
        require_dir(root / "images", "coco", ATTNGAN_LAYOUT)
        require_dir(root / "text", "coco", ATTNGAN_LAYOUT)
        names = load_filenames(require_file(root / split / "filenames.pickle", "coco", ATTNGAN_LAYOUT))
        files, captions, missing = [], [], []
        for name in names:
            rel = f"images/{name}.jpg"
            if not (root / rel).is_file():
                missing.append(root / rel)
            files.append(rel)
            captions.append(read_caption_file(require_file(root / "text" / f"{name}.txt", "coco", ATTNGAN_LAYOUT)))
        if missing:
            raise ValueError(f"coco: {len(missing)} image file(s) of the {split} split are missing, e.g. "
                             f"{', '.join(map(str, missing[:3]))}; expected layout:\n{ATTNGAN_LAYOUT}")
        return files, list(names), captions, [-1] * len(names), []

    # -- official JSON layout -------------------------------------------------------------
    def _load_json(self, root: Path, split: str, year):
        part = "train" if split == "train" else "val"
        ann_dir = require_dir(root / "annotations", "coco", JSON_LAYOUT)
        if year is None:
            found = [y for y in YEARS if (ann_dir / f"captions_{part}{y}.json").is_file()]
            if not found:
                raise ValueError(f"coco: expected {ann_dir}/captions_{part}2017.json or captions_{part}2014.json "
                                 f"for split {split!r}; the data root must be laid out as:\n{JSON_LAYOUT}")
            year = found[0]
        if isinstance(year, bool) or year not in YEARS:
            raise ValueError(f"coco: year must be 2014 or 2017 (or None for whichever exists), got {year!r}")
        self.year = int(year)
        cap_path = require_file(ann_dir / f"captions_{part}{year}.json", "coco", JSON_LAYOUT)
        img_dir = require_dir(root / f"{part}{year}", "coco", JSON_LAYOUT)
        cap = _read_json(cap_path)

        images = {}
        for im in cap["images"]:
            iid = _field(im, "id", cap_path, "images")
            images[iid] = (str(_field(im, "file_name", cap_path, "images")), int(_field(im, "width", cap_path, "images")),
                           int(_field(im, "height", cap_path, "images")))
        caps_of: dict = {}
        for a in sorted(cap["annotations"], key=lambda a: _field(a, "id", cap_path, "annotations")):
            iid = _field(a, "image_id", cap_path, "annotations")
            text = _field(a, "caption", cap_path, "annotations")
            if iid not in images:
                raise ValueError(f"coco: {cap_path}: caption {a.get('id')} refers to image id {iid}, which "
                                 "the file's 'images' list does not hold")
            if not isinstance(text, str):
                raise ValueError(f"coco: {cap_path}: caption {a.get('id')} is not a string: {text!r}")
            text = text.strip()
            if text:
                caps_of.setdefault(iid, []).append(text)
        ids = sorted(iid for iid in images if iid in caps_of)
        if len(ids) < len(images):
            warnings.warn(f"coco: {len(images) - len(ids)} image(s) of {cap_path} have no caption and are left out",
                          UserWarning, stacklevel=4)
        files, keys, captions, wh, missing = [], [], [], [], []
        for iid in ids:
            fname, w, h = images[iid]
            rel = str(path_inside(img_dir, fname, what=f"coco: {cap_path}: file_name", follow_symlinks=True)
                      .relative_to(root))
            if not (root / rel).is_file():
                missing.append(root / rel)
            files.append(rel)
            keys.append(fname.rsplit(".", 1)[0])
            captions.append(caps_of[iid])
            wh.append((w, h))
        if missing:
            raise ValueError(f"coco: {len(missing)} image file(s) listed in {cap_path} are missing from {img_dir}, "
                             f"e.g. {', '.join(map(str, missing[:3]))}; expected layout:\n{JSON_LAYOUT}")
        self._image_wh = wh
        self.image_ids = ids

        inst_path = ann_dir / f"instances_{part}{year}.json"
        class_ids, class_names = [-1] * len(ids), []
        if inst_path.is_file():
            inst = _read_json(inst_path)
            cats = inst.get("categories")
            if not isinstance(cats, list) or not cats:
                raise ValueError(f"coco: {inst_path} has no 'categories' list")
            cat_name = {_field(c, "id", inst_path, "categories"): str(_field(c, "name", inst_path, "categories"))
                        for c in cats}
            cat_ids = sorted(cat_name)
            cat_index = {c: k for k, c in enumerate(cat_ids)}
            class_names = [cat_name[c] for c in cat_ids]
            per_image: dict = {}
            for a in sorted(inst["annotations"], key=lambda a: _field(a, "id", inst_path, "annotations")):
                if a.get("iscrowd", 0):
                    continue
                iid = _field(a, "image_id", inst_path, "annotations")
                cid = _field(a, "category_id", inst_path, "annotations")
                bbox = _field(a, "bbox", inst_path, "annotations")
                if cid not in cat_name:
                    raise ValueError(f"coco: {inst_path}: annotation {a.get('id')} has category {cid}, which "
                                     "'categories' does not list")
                try:
                    x, y, w, h = (float(v) for v in bbox)
                except (TypeError, ValueError):
                    raise ValueError(f"coco: {inst_path}: annotation {a.get('id')} has a malformed bbox {bbox!r}") from None
                if w > 0 and h > 0:
                    per_image.setdefault(iid, []).append((cid, x, y, w, h))
            self._instances = []
            for k, iid in enumerate(ids):
                objs = per_image.get(iid, [])
                self._instances.append([(cat_name[c], x, y, x + w, y + h) for c, x, y, w, h in objs])
                if objs:
                    largest = max(range(len(objs)), key=lambda j: (objs[j][3] * objs[j][4], -j))
                    class_ids[k] = cat_index[objs[largest][0]]
        return files, keys, captions, class_ids, class_names

    def _check_source(self, index: int, img: Image.Image) -> None:
        if self._image_wh is not None and tuple(img.size) != tuple(self._image_wh[index]):
            w, h = self._image_wh[index]
            raise ValueError(f"coco: the image file {self.path(index)} is {img.size[0]}x{img.size[1]}, but the "
                             f"annotation file says {w}x{h}; its boxes would not match")

    def boxes(self, index: int) -> list[Box]:
        """Non-crowd instance boxes in pixels of the returned image (empty without instances file)."""
        if self._instances is None:
            return []
        w, h = self._image_wh[index]
        s = self.image_size
        out = []
        for label, x0, y0, x1, y1 in self._instances[index]:
            b = scale_box(label, x0, y0, x1, y1, scale=(s / w, s / h), size=s)
            if b is not None:
                out.append(b)
        return out

    def _fingerprint_extra(self) -> dict:
        return {"instances": self._instances, "image_sizes": self._image_wh}


def load_coco(split: str = "train", image_size: int = 256, root=None, year: int | None = None,
              layout: str | None = None) -> COCODataset:
    """COCO captions (official JSON or AttnGAN layout); see :mod:`t2ibench.data.coco`."""
    return COCODataset(root, split=split, image_size=image_size, year=year, layout=layout)


register_dataset("coco", load_coco)
