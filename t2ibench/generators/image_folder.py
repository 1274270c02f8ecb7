"""Score a folder of images generated elsewhere (``t2ibench eval --images DIR --captions FILE``).

The captions file says which image was made for which caption, one row per image:

* CSV with a header row ``file,caption[,image_key]``, or
* JSONL, one object per line: ``{"file": ..., "caption": ..., "image_key": ...}``.

``file`` is a path relative to the image folder (PNG; JPEG accepted with a warning);
``caption`` the text the image was generated for; ``image_key`` the key of the dataset
image the caption was written for (``CaptionedImageDataset.key``: e.g. CUB's
``001.Black_footed_Albatross/Black_Footed_Albatross_0046_18``, COCO's image id, shapes'
``test-000123``). With keys, every metric runs exactly as for a generator: paired metrics
compare each image with its caption's dataset image and per-class metrics use that image's
class. Without an ``image_key`` column, only the metrics that need no dataset image run
(``MetricProtocol.needs_image_keys``), and the result says which were left out. Either every
row has a key or none.

Checked before any number is computed, each as one error listing the first few offenders:
files listed but missing, image files in the folder that no row lists, files that do not
decode, images of different sizes, keys the dataset does not have, a malformed captions
file. The result records the sha256 of every file (``provenance.images.files``), so a
number can be traced to the exact folder it came from.
"""
from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from t2ibench.data.base import Caption, CaptionedImageDataset
from t2ibench.data.image_files import open_rgb, to_uint8_tensor
from t2ibench.io import path_inside, sha256_json
from t2ibench.validation import check_captions

#: Image file suffixes looked for in the folder (lower case); JPEG ones warn.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
JPEG_SUFFIXES = (".jpg", ".jpeg")
#: Offending files or rows named in one error message.
SHOWN = 5

JPEG_WARNING = ("the folder holds JPEG images: JPEG compression moves FID by several points (Parmar et al. 2022, "
                "clean-fid) and paired metrics too; save PNG for numbers comparable with other runs")


@dataclass(frozen=True)
class CaptionRow:
    file: str
    caption: str
    image_key: str | None


def _listing(items: Sequence, total: int | None = None) -> str:
    total = len(items) if total is None else total
    shown = ", ".join(repr(str(x)) for x in items[:SHOWN])
    return shown + (f" and {total - SHOWN} more" if total > SHOWN else "")


def read_captions_file(path) -> list[CaptionRow]:
    """The rows of a CSV (``file,caption[,image_key]`` header) or JSONL captions file."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"--captions {path}: no such file (expected a CSV or JSONL file of file, caption, image_key)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"--captions {path}: cannot be read as UTF-8 text ({e})") from None
    if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        records = []
        for line_no, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"--captions {path}, line {line_no}: not a JSON object ({e.msg})") from None
            if not isinstance(obj, dict):
                raise ValueError(f"--captions {path}, line {line_no}: expected a JSON object, got "
                                 f"{type(obj).__name__}")
            records.append((line_no, obj))
    else:
        reader = csv.DictReader(text.splitlines())
        if reader.fieldnames is None:
            raise ValueError(f"--captions {path}: the file is empty; expected a header row 'file,caption,image_key'")
        missing = {"file", "caption"} - set(reader.fieldnames)
        if missing:
            raise ValueError(f"--captions {path}: the header row {reader.fieldnames} lacks {sorted(missing)}; "
                             f"expected 'file,caption' and optionally 'image_key'")
        records = [(k + 2, row) for k, row in enumerate(reader)]
    rows = []
    for line_no, rec in records:
        file, caption, key = rec.get("file"), rec.get("caption"), rec.get("image_key")
        if not isinstance(file, str) or not file.strip() or not isinstance(caption, str):
            raise ValueError(f"--captions {path}, line {line_no}: expected a non-empty 'file' and a 'caption' "
                             f"string, got file={file!r}, caption={caption!r}")
        key = None if key is None or (isinstance(key, str) and not key.strip()) else str(key).strip()
        rows.append(CaptionRow(file.strip(), caption, key))
    if not rows:
        raise ValueError(f"--captions {path}: no rows; expected one row per image")
    keyed = sum(r.image_key is not None for r in rows)
    if 0 < keyed < len(rows):
        unkeyed = [r.file for r in rows if r.image_key is None]
        raise ValueError(f"--captions {path}: {len(unkeyed)} of {len(rows)} rows have no image_key "
                         f"({_listing(unkeyed)}); give every row its key, or none")
    dup = sorted(f for f, n in Counter(r.file for r in rows).items() if n > 1)
    if dup:
        raise ValueError(f"--captions {path}: files listed more than once: {_listing(dup)}; one row per image")
    try:
        check_captions([r.caption for r in rows], name=f"--captions {path}: caption")
    except TypeError as e:
        raise ValueError(str(e)) from None
    return rows


class ImageFolderImages:
    """The images of a folder, served through the generator contract in the captions file's order.

    ``generate(captions, seed)`` returns the images of rows ``seed - base_seed`` onwards (the
    engine calls ``generate(plan[k:k+b], seed=run_seed + k)``, DESIGN §2), after checking that
    the captions are those rows' captions. Build it with :func:`load_image_folder`.
    """

    def __init__(self, root: Path, rows: Sequence[CaptionRow], files: Sequence[Path], base_seed: int):
        self.root, self.rows, self.files, self.base_seed = root, list(rows), list(files), int(base_seed)

    def generate(self, captions: Sequence[str], seed: int = 0) -> torch.Tensor:
        start = int(seed) - self.base_seed
        rows = self.rows[start:start + len(captions)]
        if start < 0 or [r.caption for r in rows] != [str(c) for c in captions]:
            raise ValueError(f"image folder {self.root}: asked for captions that are not rows {start}.. of the "
                             f"captions file (its images are served in the file's order, with the run seed "
                             f"{self.base_seed})")
        return torch.stack([to_uint8_tensor(open_rgb(f)) for f in self.files[start:start + len(captions)]])


def load_image_folder(images, captions_file, dataset: CaptionedImageDataset, seed: int
                      ) -> tuple[ImageFolderImages, list[Caption], dict, list[str]]:
    """Check a folder against its captions file and return ``(generator, plan, provenance, warnings)``.

    plan: one :class:`Caption` per row, with the index of the dataset image its key names
    (``-1`` without keys); provenance: the folder, the captions file's sha256, the image size
    and every file's sha256; warnings: sentences for the result (JPEG input).
    """
    root = Path(images)
    if not root.is_dir():
        raise ValueError(f"--images {root}: no such folder")
    rows = read_captions_file(captions_file)
    files, outside = [], []
    for r in rows:
        try:
            files.append(path_inside(root, r.file, what=f"--captions: file", follow_symlinks=True))
        except ValueError:
            outside.append(r.file)
    if outside:
        raise ValueError(f"--captions {captions_file}: {len(outside)} file(s) lie outside --images {root}: "
                         f"{_listing(outside)}; give paths relative to the image folder")
    missing = [r.file for r, f in zip(rows, files) if not f.is_file()]
    if missing:
        raise ValueError(f"--images {root}: {len(missing)} of the {len(rows)} files the captions file lists are "
                         f"missing: {_listing(missing)}")
    listed = {f.resolve() for f in files}
    extra = sorted(str(p.relative_to(root)) for p in root.rglob("*")
                   if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and p.resolve() not in listed)
    if extra:
        raise ValueError(f"--images {root}: {len(extra)} image file(s) are in the folder but not in the captions "
                         f"file: {_listing(extra)}; list every image (one row per image) or move them away")
    sizes, unreadable, digests = {}, [], []
    from PIL import Image

    for r, f in zip(rows, files):
        data = f.read_bytes()
        digests.append(hashlib.sha256(data).hexdigest())
        try:
            with Image.open(f) as im:
                im.verify()
            with Image.open(f) as im:
                sizes.setdefault(im.size, []).append(r.file)
        except Exception as e:  # noqa: BLE001 — PIL raises many types for a broken file
            unreadable.append(f"{r.file} ({type(e).__name__})")
    if unreadable:
        raise ValueError(f"--images {root}: {len(unreadable)} file(s) are not readable images: {_listing(unreadable)}")
    if len(sizes) > 1:
        common = max(sizes, key=lambda s: len(sizes[s]))
        odd = [f"{name} ({w}x{h})" for (w, h), names in sizes.items() if (w, h) != common for name in names]
        raise ValueError(f"--images {root}: the images have different sizes; most are {common[0]}x{common[1]}, "
                         f"{len(odd)} are not: {_listing(odd)}; one size for the whole folder")
    (width, height), = sizes
    plan = _plan(rows, dataset, captions_file)
    notes = [JPEG_WARNING] if any(f.suffix.lower() in JPEG_SUFFIXES for f in files) else []
    manifest = [[r.file, d] for r, d in zip(rows, digests)]
    provenance = {"dir": str(root), "captions_file": str(captions_file),
                  "captions_sha256": hashlib.sha256(Path(captions_file).read_bytes()).hexdigest(),
                  "image_keys": rows[0].image_key is not None, "size": [height, width],
                  "manifest_sha256": sha256_json(manifest), "files": manifest}
    return ImageFolderImages(root, rows, files, seed), plan, provenance, notes


def _plan(rows: Sequence[CaptionRow], dataset: CaptionedImageDataset, captions_file) -> list[Caption]:
    if rows[0].image_key is None:
        return [Caption(r.caption, -1) for r in rows]
    index = {dataset.key(i): i for i in range(len(dataset))}
    unknown = [r.image_key for r in rows if r.image_key not in index]
    if unknown:
        examples = ", ".join(repr(dataset.key(i)) for i in range(min(3, len(dataset))))
        raise ValueError(f"--captions {captions_file}: {len(unknown)} image_key(s) are not images of "
                         f"{dataset.name}[{dataset.split}]: {_listing(unknown)}; its keys look like {examples}")
    return [Caption(r.caption, index[r.image_key]) for r in rows]


def evaluate_image_folder(images, captions_file, dataset: CaptionedImageDataset, metrics=None,
                          seed: int | None = None, **kwargs):
    """:func:`t2ibench.engine.evaluate` over a folder of images (see the module docstring).

    ``kwargs`` go to ``evaluate`` (device, batch_size, extractor_weights, progress,
    allow_small_n); the result's generator is ``folder:<DIR>`` and
    ``provenance["images"]`` the folder's sha256 manifest.
    """
    import warnings

    from t2ibench import defaults
    from t2ibench.engine import evaluate

    seed = defaults.SEED if seed is None else seed
    generator, plan, provenance, notes = load_image_folder(images, captions_file, dataset, seed)
    result = evaluate(generator, dataset, metrics=metrics, seed=seed, plan=plan,
                      generator_name=f"folder:{Path(images)}", **kwargs)
    for note in notes:
        warnings.warn(note, UserWarning, stacklevel=2)
    result.warnings.extend(notes)
    result.provenance["images"] = provenance
    return result
