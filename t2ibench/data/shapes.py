"""``shapes``: the embedded default dataset, generated procedurally from a seed (no download).

::

    ds = load_dataset("shapes", split="test", image_size=64)   # or ShapesDataset(...)
    ds[0]            # Sample(image uint8 [3,64,64], captions=[10 str], class_id, boxes, key, index)
    ds.objects(0)    # [{"shape", "colour", "size", "position", "box"}, ...]  (primary first)

Scenes hold 1-3 objects: 6 shapes (circle, square, triangle, star, cross, diamond) in
8 colours (red, orange, yellow, green, blue, purple, pink, white), 2 sizes (small,
large), at 5 positions (top-left, top-right, bottom-left, bottom-right, center; no two
objects of a scene share one), on 8 backgrounds (black, dark gray, gray, navy,
gradient, stripes, noise, checkerboard), rendered with 4x supersampling and a box
filter (see :mod:`t2ibench.data.shapes_render`). Each image has 10 distinct captions
(:mod:`t2ibench.data.shapes_captions`).

Labels: the class of an image is ``(colour, shape)`` of its *primary* object, 8 x 6 = 48
classes named like ``"red circle"`` (id = colour index * 6 + shape index). The primary
is mentioned first in every caption and, in scenes of several objects, it is the only
large object, so the class can be read off the image. Primary classes are balanced:
every block of 48 consecutive pool indices (of the allowed classes, for the zero-shot
pool) holds each class once. Boxes (:class:`~t2ibench.data.base.Box`) are in pixels of
the returned image, labelled ``"<colour> <shape>"``.

Splits. ``train`` and ``test`` come from one pool of ``n_train + n_test`` images: image
``i`` of the pool is drawn from ``np.random.SeedSequence([seed, 0, i])`` alone (so the
result does not depend on the number of workers); ``train`` is pool indices
``[0, n_train)`` and ``test`` is ``[n_train, n_train + n_test)``.
The zero-shot (class-disjoint) split follows SDN/HDGAN's CUB protocol (seen classes for
training, unseen ones for testing) and is built compositionally, so that every colour
and every shape is still seen in training. The exact rule:

- ``pc = rng.permutation(8)`` (colours), ``ps = rng.permutation(6)`` (shapes) with
  ``rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))``;
- unseen classes = ``{(pc[(2k + j) % 8], ps[k]) : k = 0..5, j = 0..1}``: 12 classes, two
  colours per shape; the other 36 are the seen classes (:meth:`ShapesDataset.zero_shot_classes`);
- ``zs-train`` (``n_train`` images) and ``zs-test`` (``n_test`` images) are a second pool,
  image ``i`` drawn from ``SeedSequence([seed, 1, i])``; in ``zs-train`` every object is of a
  seen class; in ``zs-test`` the primary object is of an unseen class and the other objects
  of seen classes. So no class labels images of both, and no unseen class appears at all
  in ``zs-train``.

Cache: each split is generated once (multiprocessing, 2 workers, tqdm bar) and stored
under ``defaults.CACHE_DIR / "datasets" / f"shapes-{fingerprint[:16]}"`` as
``images.npy`` (uint8 ``[N, 3, H, W]``, opened with mmap) and ``meta.json`` (captions,
classes, objects, backgrounds), both written atomically; ``meta.json`` is written last
and its presence marks a complete cache. Later loads only read.

Measured (64 px, 2 workers, 2-core machine): the 10,000 + 2,000 images of ``train`` +
``test`` generate in 16.8 s on an idle machine (14.3 s + 2.5 s) and in 37.5 s while other
jobs load it; loading both from the cache takes about 0.9 s.
"""
from __future__ import annotations

import copy
import json
import multiprocessing
import os
from pathlib import Path

import numpy as np
import torch

from t2ibench import defaults
from t2ibench.data import register_dataset
from t2ibench.data.base import Box, CaptionedImageDataset
from t2ibench.data.shapes_captions import N_CAPTIONS, make_captions
from t2ibench.data.shapes_render import (CLASS_NAMES, COLOURS, NUM_CLASSES, SHAPES, balanced_class,
                                         render_scene, sample_scene, scene_rng)
from t2ibench.io import atomic_write, sha256_json, write_json

#: bump whenever rendering, scene sampling or captions change (it is part of the fingerprint)
VERSION = 1
SPLITS = ("train", "test", "zs-train", "zs-test")
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 32, 256
N_UNSEEN = 12
WORKERS = 2
#: below this many images a split is generated in-process (a pool costs more than it saves)
_POOL_MIN_IMAGES = 400


def zero_shot_classes(seed: int = defaults.SEED) -> tuple[list[int], list[int]]:
    """``(seen, unseen)`` class ids (sorted) of the zero-shot split for ``seed`` (rule in the module doc)."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 2]))
    pc, ps = rng.permutation(len(COLOURS)), rng.permutation(len(SHAPES))
    unseen = sorted({int(pc[(2 * k + j) % len(COLOURS)]) * len(SHAPES) + int(ps[k])
                     for k in range(len(SHAPES)) for j in range(2)})
    seen = [c for c in range(NUM_CLASSES) if c not in set(unseen)]
    return seen, unseen


def fingerprint_of(split: str = "test", image_size: int = defaults.IMAGE_SIZE, seed: int = defaults.SEED,
                   n_train: int = defaults.SHAPES_TRAIN, n_test: int = defaults.SHAPES_TEST) -> str:
    """The fingerprint a :class:`ShapesDataset` with these parameters has, without generating it."""
    return sha256_json(_params(split, image_size, seed, n_train, n_test))


def _params(split, image_size, seed, n_train, n_test) -> dict:
    if not isinstance(split, str) or split not in SPLITS:
        raise ValueError(f"split: unknown split {split!r} for shapes; allowed: {', '.join(SPLITS)}")
    return {"dataset": "shapes", "version": VERSION, "split": split,
            "image_size": _check_int(image_size, "image_size", MIN_IMAGE_SIZE, MAX_IMAGE_SIZE),
            "seed": _check_int(seed, "seed", 0), "n_train": _check_int(n_train, "n_train", 1),
            "n_test": _check_int(n_test, "n_test", 1), "n_captions": N_CAPTIONS, "n_unseen": N_UNSEEN}


def _split_plan(split: str, seed: int, n_train: int, n_test: int):
    """(stream, first pool index, count, allowed primary classes, allowed secondary classes)."""
    everything = list(range(NUM_CLASSES))
    if split in ("train", "test"):
        start, count = (0, n_train) if split == "train" else (n_train, n_test)
        return 0, start, count, everything, everything
    seen, unseen = zero_shot_classes(seed)
    if split == "zs-train":
        return 1, 0, n_train, seen, seen
    return 1, n_train, n_test, unseen, seen


def _make_item(args) -> tuple[np.ndarray, dict]:
    """Scene, image and captions of pool image ``index`` (a pure function of its arguments)."""
    seed, stream, index, local, allowed, secondary, image_size = args
    rng = scene_rng(seed, stream, index)
    scene = sample_scene(rng, balanced_class(seed, stream, local, allowed), secondary)
    image = render_scene(scene, image_size)
    captions = make_captions(scene, rng, N_CAPTIONS)
    return image, {"scene": scene, "captions": captions}


def _check_int(value, name: str, lo: int, hi: int | None = None) -> int:
    allowed = f"an int in [{lo}, {hi}]" if hi is not None else f"an int >= {lo}"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name}: expected {allowed}, got {value!r} ({type(value).__name__})")
    if value < lo or (hi is not None and value > hi):
        raise ValueError(f"{name}: expected {allowed}, got {value}")
    return int(value)


class ShapesDataset(CaptionedImageDataset):
    """The procedural shapes dataset at one split (see the module docstring for every rule).

    Parameters: ``split`` (``train``, ``test``, ``zs-train``, ``zs-test``), ``image_size``
    (int in [32, 256]), ``seed``, ``n_train``, ``n_test`` (pool sizes; the zero-shot pool uses
    the same sizes), ``progress`` (tqdm bar while generating).
    """

    name = "shapes"

    def __init__(self, split: str = "test", image_size: int = defaults.IMAGE_SIZE, seed: int = defaults.SEED,
                 n_train: int = defaults.SHAPES_TRAIN, n_test: int = defaults.SHAPES_TEST, progress: bool = True):
        self.params = _params(split, image_size, seed, n_train, n_test)
        self.split = split
        self.image_size, self.seed = self.params["image_size"], self.params["seed"]
        self.n_train, self.n_test = self.params["n_train"], self.params["n_test"]
        self.class_names = list(CLASS_NAMES)
        self._fingerprint = sha256_json(self.params)
        self.cache_dir = Path(defaults.CACHE_DIR) / "datasets" / f"shapes-{self._fingerprint[:16]}"
        if not self._cache_complete():
            self._generate(progress)
        self._load()

    # -- cache ------------------------------------------------------------------
    def _cache_complete(self) -> bool:
        meta = self.cache_dir / "meta.json"
        if not (meta.is_file() and (self.cache_dir / "images.npy").is_file()):
            return False
        try:
            with open(meta) as f:
                return json.load(f).get("fingerprint") == self._fingerprint
        except (OSError, ValueError):
            return False

    def _generate(self, progress: bool) -> None:
        from tqdm.auto import tqdm

        stream, start, count, allowed, secondary = _split_plan(self.split, self.seed, self.n_train, self.n_test)
        # block-balanced primary classes are indexed within the split for the zero-shot pool
        # (its two halves draw from different class lists) and within the pool otherwise
        local0 = 0 if stream == 1 else start
        jobs = [(self.seed, stream, start + k, local0 + k, allowed, secondary, self.image_size) for k in range(count)]
        size = self.image_size
        shape = (count, 3, size, size)
        items: list[dict] = []
        bar = tqdm(total=count, desc=f"shapes {self.split} @{size}px", unit="img", disable=not progress)
        with atomic_write(self.cache_dir / "images.npy", "wb") as f:
            np.lib.format.write_array_header_1_0(f, {"descr": np.lib.format.dtype_to_descr(np.dtype(np.uint8)),
                                                     "fortran_order": False, "shape": shape})
            if count < _POOL_MIN_IMAGES or WORKERS < 2:
                results = map(_make_item, jobs)
                pool = None
            else:
                pool = multiprocessing.get_context("fork" if os.name == "posix" else "spawn").Pool(WORKERS)
                results = pool.imap(_make_item, jobs, chunksize=64)
            try:
                for image, item in results:
                    f.write(image.tobytes())
                    items.append(item)
                    bar.update(1)
            finally:
                if pool is not None:
                    pool.terminate()
                    pool.join()
                bar.close()
        meta = {"fingerprint": self._fingerprint, "params": self.params, "class_names": self.class_names,
                "items": [{"key": f"shapes-{self.split}-{start + k:06d}", "class_id": _item_class(it["scene"]),
                           "captions": it["captions"], "background": it["scene"]["background"]["name"],
                           "objects": it["scene"]["objects"]} for k, it in enumerate(items)]}
        write_json(self.cache_dir / "meta.json", meta, indent=None)

    def _load(self) -> None:
        with open(self.cache_dir / "meta.json") as f:
            meta = json.load(f)
        self._items = meta["items"]
        self._images = np.load(self.cache_dir / "images.npy", mmap_mode="r")
        n = self.n_train if self.split in ("train", "zs-train") else self.n_test
        expected = (n, 3, self.image_size, self.image_size)
        if self._images.shape != expected or len(self._items) != n:
            raise ValueError(f"shapes cache {self.cache_dir}: images.npy has shape {self._images.shape} and "
                             f"{len(self._items)} items, expected {expected}; delete the folder to regenerate")
        self._class_ids = np.asarray([it["class_id"] for it in self._items], dtype=np.int64)

    # -- the dataset contract ---------------------------------------------------------
    def __len__(self) -> int:
        return len(self._items)

    def _index(self, index) -> int:
        i = int(index)
        if not -len(self) <= i < len(self):
            raise IndexError(f"shapes[{self.split}]: index {index} out of range for {len(self)} images")
        return i % len(self)

    def image(self, index: int) -> torch.Tensor:
        return torch.from_numpy(np.array(self._images[self._index(index)]))

    def images(self, indices) -> torch.Tensor:
        if isinstance(indices, torch.Tensor):
            indices = indices.cpu().numpy()
        idx = np.asarray(indices if not isinstance(indices, range) else np.arange(indices.start, indices.stop,
                                                                               indices.step), dtype=np.int64).reshape(-1)
        n = len(self)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            bad = idx[(idx < -n) | (idx >= n)][0]
            raise IndexError(f"shapes[{self.split}]: index {bad} out of range for {n} images")
        idx = idx % n
        if idx.size and (np.diff(idx) == 1).all():  # a contiguous run: one slice of the mmap
            return torch.from_numpy(np.array(self._images[idx[0]:idx[-1] + 1]))
        return torch.from_numpy(np.ascontiguousarray(self._images[idx]))

    def captions(self, index: int) -> list[str]:
        return list(self._items[self._index(index)]["captions"])

    def class_id(self, index: int) -> int:
        return int(self._class_ids[self._index(index)])

    def class_ids(self) -> torch.Tensor:
        return torch.from_numpy(self._class_ids.copy())

    def boxes(self, index: int) -> list[Box]:
        s = self.image_size
        return [Box(f"{o['colour']} {o['shape']}", o["box"][0] * s, o["box"][1] * s, o["box"][2] * s, o["box"][3] * s)
                for o in self._items[self._index(index)]["objects"]]

    def key(self, index: int) -> str:
        return self._items[self._index(index)]["key"]

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    # -- attribute metadata ----------------------------------------------------------
    def objects(self, index: int) -> list[dict]:
        """The objects of image ``index``, primary first: ``shape``, ``colour``, ``size``,
        ``position`` (names as in :mod:`~t2ibench.data.shapes_render`), ``box`` (pixels,
        ``[x0, y0, x1, y1]``), ``center`` and ``half`` (extent; fractions of the side), ``rgb``."""
        s = self.image_size
        objs = copy.deepcopy(self._items[self._index(index)]["objects"])
        for o in objs:
            o["box"] = [v * s for v in o["box"]]
        return objs

    def background(self, index: int) -> str:
        """Name of the background of image ``index`` (e.g. ``"stripes"``)."""
        return self._items[self._index(index)]["background"]

    def zero_shot_classes(self) -> tuple[list[int], list[int]]:
        """``(seen, unseen)`` class ids of this seed's zero-shot split."""
        return zero_shot_classes(self.seed)


def _item_class(scene: dict) -> int:
    p = scene["objects"][0]
    return COLOURS.index(p["colour"]) * len(SHAPES) + SHAPES.index(p["shape"])


def _factory(split: str = "test", image_size: int = defaults.IMAGE_SIZE, **kwargs) -> ShapesDataset:
    return ShapesDataset(split=split, image_size=image_size, **kwargs)


register_dataset("shapes", _factory)
