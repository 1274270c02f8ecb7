"""The embedded ``shapes`` dataset: determinism, fingerprints, captions, splits, boxes, cache, errors."""
from __future__ import annotations

import hashlib
import re

import numpy as np
import pytest
import torch

from t2ibench import defaults
from t2ibench.data import Box, Sample, load_dataset
from t2ibench.data import shapes as shapes_mod
from t2ibench.data.shapes import ShapesDataset, fingerprint_of, zero_shot_classes
from t2ibench.data.shapes_captions import (BACKGROUND_PHRASES, COLOUR_WORDS, POSITION_PHRASES, SIZE_WORDS,
                                          mentions)
from t2ibench.data.shapes_render import (BACKGROUNDS, CLASS_NAMES, COLOURS, PLAIN_BACKGROUNDS, POSITIONS,
                                         SHAPES, class_index)

SMALL = dict(n_train=200, n_test=100, progress=False)


@pytest.fixture(scope="module")
def test_ds():
    return load_dataset("shapes", split="test", image_size=64, **SMALL)


@pytest.fixture(scope="module")
def train_ds():
    return load_dataset("shapes", split="train", image_size=64, **SMALL)


def _fresh(tmp_path, monkeypatch, **kw):
    """A dataset generated into an empty cache (so nothing is reused)."""
    monkeypatch.setattr(defaults, "CACHE_DIR", tmp_path)
    return ShapesDataset(**{**SMALL, **kw})


def test_items_have_the_contracted_types(test_ds):
    assert isinstance(test_ds, ShapesDataset) and len(test_ds) == 100
    assert test_ds.num_classes == 48 and test_ds.class_names == CLASS_NAMES
    assert test_ds.class_names[class_index("red", "circle")] == "red circle"
    s = test_ds[3]
    assert isinstance(s, Sample) and s.index == 3 and isinstance(s.key, str) and s.key
    assert s.image.dtype == torch.uint8 and tuple(s.image.shape) == (3, 64, 64)
    assert isinstance(s.class_id, int) and 0 <= s.class_id < 48
    assert all(isinstance(b, Box) for b in s.boxes) and 1 <= len(s.boxes) <= 3
    assert test_ds[-1].index == 99
    with pytest.raises(IndexError):
        test_ds[100]
    # vectorised accessors agree with the per-item ones
    idx = [5, 0, 99, 5]
    assert torch.equal(test_ds.images(idx), torch.stack([test_ds.image(i) for i in idx]))
    ids = test_ds.class_ids()
    assert ids.dtype == torch.int64 and ids.tolist() == [test_ds.class_id(i) for i in range(len(test_ds))]


def test_registered_and_defaults():
    ds = load_dataset("shapes", split="test", n_train=50, n_test=20, progress=False)
    assert ds.image_size == defaults.IMAGE_SIZE and ds.seed == defaults.SEED


def test_objects_metadata(test_ds):
    for i in range(len(test_ds)):
        objs = test_ds.objects(i)
        assert 1 <= len(objs) <= 3
        p = objs[0]
        assert test_ds.class_id(i) == class_index(p["colour"], p["shape"])
        assert len({o["position"] for o in objs}) == len(objs)  # never placed identically
        for o in objs:
            assert o["shape"] in SHAPES and o["colour"] in COLOURS and o["position"] in POSITIONS
            assert o["size"] in ("small", "large")
        if len(objs) > 1:  # the primary is the only large object
            assert p["size"] == "large" and all(o["size"] == "small" for o in objs[1:])
        assert test_ds.background(i) in BACKGROUNDS
        assert [b.label for b in test_ds.boxes(i)] == [f"{o['colour']} {o['shape']}" for o in objs]
    objs = test_ds.objects(0)
    objs[0]["colour"] = "changed"  # a copy: the dataset is not mutated
    assert test_ds.objects(0)[0]["colour"] != "changed"


def test_same_seed_same_data_and_worker_count_does_not_matter(tmp_path, monkeypatch, test_ds):
    monkeypatch.setattr(shapes_mod, "_POOL_MIN_IMAGES", 0)  # force the 2-worker pool
    again = _fresh(tmp_path, monkeypatch, split="test")
    assert torch.equal(again.images(range(100)), test_ds.images(range(100)))
    assert [again.captions(i) for i in range(100)] == [test_ds.captions(i) for i in range(100)]
    assert again.fingerprint == test_ds.fingerprint


def test_different_seed_different_data(tmp_path, monkeypatch, test_ds):
    other = _fresh(tmp_path, monkeypatch, split="test", seed=1)
    assert other.fingerprint != test_ds.fingerprint
    assert not torch.equal(other.images(range(100)), test_ds.images(range(100)))
    assert [other.captions(i) for i in range(100)] != [test_ds.captions(i) for i in range(100)]


def test_fingerprint_changes_with_every_parameter(test_ds):
    base = dict(split="test", image_size=64, seed=0, n_train=200, n_test=100)
    assert fingerprint_of(**base) == test_ds.fingerprint
    changes = dict(split="train", image_size=96, seed=3, n_train=201, n_test=101)
    prints = {fingerprint_of(**base)}
    for k, v in changes.items():
        prints.add(fingerprint_of(**{**base, k: v}))
    assert len(prints) == 1 + len(changes)
    assert test_ds.cache_dir.name == f"shapes-{test_ds.fingerprint[:16]}"


def test_captions(test_ds, train_ds):
    vocab = set()
    for ds in (test_ds, train_ds):
        for i in range(len(ds)):
            caps = ds.captions(i)
            assert len(caps) >= 10 and len(set(caps)) == len(caps)
            p = ds.objects(i)[0]
            for c in caps:
                assert c == c.lower() and c.endswith(".") and c.strip() == c
                assert mentions(c, p["colour"], p["shape"]), (c, p)
                vocab.update(re.findall(r"[a-z]+(?:-[a-z]+)*", c))
    assert len(vocab) >= 80
    # synonyms are used but every colour/shape keeps its canonical word in the vocabulary
    assert {w for words in COLOUR_WORDS.values() for w in words[:1]} <= vocab
    assert {"disc", "rhombus", "crimson"} & vocab


def test_captions_mention_the_images_own_other_attributes(test_ds):
    """Most captions state the primary object's own size and position and the image's own background."""
    n_with = {"size": 0, "position": 0, "background": 0}
    total = 0
    for i in range(len(test_ds)):
        primary, background = test_ds.objects(i)[0], test_ds.background(i)
        for c in test_ds.captions(i):
            total += 1
            n_with["size"] += any(w in c.split() for w in SIZE_WORDS[primary["size"]])
            n_with["position"] += any(ph in c for ph in POSITION_PHRASES[primary["position"]])
            n_with["background"] += any(ph in c for ph in BACKGROUND_PHRASES[background])
    assert all(v > 0.3 * total for v in n_with.values()), n_with


def _digests(ds):
    return {hashlib.sha256(ds.image(i).numpy().tobytes()).hexdigest() for i in range(len(ds))}


def test_train_test_disjoint_and_classes_balanced(train_ds, test_ds):
    assert not {train_ds.key(i) for i in range(len(train_ds))} & {test_ds.key(i) for i in range(len(test_ds))}
    assert not _digests(train_ds) & _digests(test_ds)
    counts = np.bincount(train_ds.class_ids().numpy()[:192], minlength=48)
    assert (counts == 4).all()  # each block of 48 pool images holds every class once


def test_zero_shot_split_is_class_disjoint():
    seen, unseen = zero_shot_classes(0)
    assert len(seen) == 36 and len(unseen) == 12 and not set(seen) & set(unseen)
    assert {c // 6 for c in seen} == set(range(8)) and {c % 6 for c in seen} == set(range(6))
    assert zero_shot_classes(0) == zero_shot_classes(0) and zero_shot_classes(1) != zero_shot_classes(0)
    zs_train = load_dataset("shapes", split="zs-train", n_train=150, n_test=60, progress=False)
    zs_test = load_dataset("shapes", split="zs-test", n_train=150, n_test=60, progress=False)
    assert (len(zs_train), len(zs_test)) == (150, 60)
    train_classes, test_classes = set(zs_train.class_ids().tolist()), set(zs_test.class_ids().tolist())
    assert train_classes <= set(seen) and test_classes <= set(unseen) and not train_classes & test_classes
    assert test_classes == set(unseen)
    for i in range(len(zs_train)):  # no unseen class anywhere in zs-train, not even as a secondary object
        assert all(class_index(o["colour"], o["shape"]) in seen for o in zs_train.objects(i))
    assert zs_test.zero_shot_classes() == (seen, unseen)


def test_boxes_inside_and_around_the_objects(test_ds):
    checked = 0
    for i in range(len(test_ds)):
        img = test_ds.image(i).numpy().astype(np.int32)
        s = test_ds.image_size
        for b in test_ds.boxes(i):
            assert 0 <= b.x0 < b.x1 <= s and 0 <= b.y0 < b.y1 <= s
        bg = test_ds.background(i)
        if bg not in PLAIN_BACKGROUNDS:
            continue
        corner = img[:, 0, 0]  # plain backgrounds are one colour; corners are never covered
        fg = np.abs(img - corner[:, None, None]).max(axis=0) > 24
        inside = np.zeros_like(fg)
        for b in test_ds.boxes(i):
            x0, y0 = max(int(np.floor(b.x0)) - 1, 0), max(int(np.floor(b.y0)) - 1, 0)
            x1, y1 = int(np.ceil(b.x1)) + 1, int(np.ceil(b.y1)) + 1
            inside[y0:y1, x0:x1] = True
            assert fg[int(b.y0):int(np.ceil(b.y1)), int(b.x0):int(np.ceil(b.x1))].sum() >= 4
        assert not (fg & ~inside).any(), f"image {i}: foreground pixels outside every box"
        checked += 1
    assert checked >= 20


@pytest.mark.parametrize("size", [32, 64, 128])
def test_image_sizes_render_the_same_scene(size, test_ds):
    # test image i is pool image n_train + i: a shorter test split starts with the same images
    ds = load_dataset("shapes", split="test", image_size=size, n_train=200, n_test=20, progress=False)
    assert tuple(ds.images([0, 1]).shape) == (2, 3, size, size) and ds.images([0]).dtype == torch.uint8
    assert [ds.captions(i) for i in range(20)] == [test_ds.captions(i) for i in range(20)]
    assert ds.class_ids().tolist() == test_ds.class_ids().tolist()[:20]
    scale = size / 64
    for b, ref in zip(ds.boxes(0), test_ds.boxes(0)):
        assert b.label == ref.label and b.x0 == pytest.approx(ref.x0 * scale) and b.y1 == pytest.approx(ref.y1 * scale)
    if size != 64:  # resampled to 64 px the images agree with the 64 px rendering
        x = torch.nn.functional.interpolate(ds.images(range(20)).float(), size=(64, 64), mode="bilinear",
                                            antialias=True, align_corners=False)
        assert (x - test_ds.images(range(20)).float()).abs().mean() < 8


def test_second_load_reads_the_cache(tmp_path, monkeypatch):
    first = _fresh(tmp_path, monkeypatch, split="train", n_train=60, n_test=30)
    files = sorted(p.name for p in first.cache_dir.iterdir())
    assert files == ["images.npy", "meta.json"]  # no temp files left behind
    assert first.cache_dir.parent == tmp_path / "datasets"

    def boom(self, progress):
        raise AssertionError("regenerated although the cache exists")

    monkeypatch.setattr(ShapesDataset, "_generate", boom)
    second = ShapesDataset(split="train", n_train=60, n_test=30, progress=False)
    assert torch.equal(second.images(range(60)), first.images(range(60)))
    assert isinstance(second._images, np.memmap)


@pytest.mark.parametrize("kwargs, argname", [
    (dict(split="val"), "split"),
    (dict(split=None), "split"),
    (dict(image_size=16), "image_size"),
    (dict(image_size=512), "image_size"),
    (dict(image_size=64.0), "image_size"),
    (dict(image_size="64"), "image_size"),
    (dict(image_size=True), "image_size"),
    (dict(seed=-1), "seed"),
    (dict(n_train=0), "n_train"),
    (dict(n_test=1.5), "n_test"),
])
def test_bad_arguments_raise_value_error(kwargs, argname):
    with pytest.raises(ValueError, match=argname) as e:
        load_dataset("shapes", **{"split": "test", **kwargs})
    msg = str(e.value)
    assert ("allowed" in msg) or ("expected" in msg)
