"""The real-data loaders ``cub``, ``flowers`` and ``coco`` on tiny generated fixtures in each
layout, plus the official-JSON form on the real ``shared/data/coco-mini`` (skipped when
``../shared`` is absent)."""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from t2ibench.data import CaptionedImageDataset, load_dataset
from t2ibench.data.cub import attngan_crop
from t2ibench.data.image_files import image_size_of


def _jpeg(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr.astype(np.uint8), "RGB").save(path, quality=100, subsampling=0)


def _solid(w: int, h: int, colour) -> np.ndarray:
    arr = np.zeros((h, w, 3), np.uint8)
    arr[:] = colour
    return arr


def _gradient(w: int, h: int) -> np.ndarray:
    """R = x, G = y, B = 128: lets a test read back which source pixel landed where."""
    arr = np.zeros((h, w, 3), np.uint8)
    arr[..., 0] = np.arange(w)[None, :]
    arr[..., 1] = np.arange(h)[:, None]
    arr[..., 2] = 128
    return arr


def _pickle(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)


def _captions(path: Path, caps) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(caps) + "\n", encoding="utf-8")


# -- CUB ---------------------------------------------------------------------------------

CUB_BOX = (60, 50, 40, 30)          # x, y, w, h in the 200x160 gradient image
CUB_CROP = (50, 35, 110, 95)        # r = 30, centre (80, 65)


@pytest.fixture
def cub_root(tmp_path) -> Path:
    root = tmp_path / "birds"
    items = [  # (id, class folder, image, bbox, size)
        (1, "001.Black_footed_Albatross", "Black_Footed_Albatross_0046_18", CUB_BOX, (200, 160)),
        (2, "001.Black_footed_Albatross", "Black_Footed_Albatross_0009_34", (0, 0, 100, 40), (120, 90)),
        (3, "002.Laysan_Albatross", "Laysan_Albatross_0002_1027", (10, 20, 30, 40), (100, 100)),
        (4, "003.Sooty_Albatross", "Sooty_Albatross_0031_1066", (5, 5, 50, 50), (90, 70)),
    ]
    cub = root / "CUB_200_2011"
    lines_img, lines_box = [], []
    for iid, cls, img, (x, y, w, h), (W, H) in items:
        lines_img.append(f"{iid} {cls}/{img}.jpg")
        lines_box.append(f"{iid} {x}.0 {y}.0 {w}.0 {h}.0")
        arr = _gradient(W, H) if iid == 1 else _solid(W, H, (40 * iid, 200, 30))
        _jpeg(cub / "images" / cls / f"{img}.jpg", arr)
        _captions(root / "text" / cls / f"{img}.txt",
                  [f"  a bird number {iid} caption {k}  " for k in range(10)] + ["", "   "])
    cub.mkdir(parents=True, exist_ok=True)
    (cub / "images.txt").write_text("\n".join(lines_img) + "\n")
    (cub / "bounding_boxes.txt").write_text("\n".join(lines_box) + "\n")
    _pickle(root / "train" / "filenames.pickle",
            ["001.Black_footed_Albatross/Black_Footed_Albatross_0046_18",
             "002.Laysan_Albatross/Laysan_Albatross_0002_1027",
             "001.Black_footed_Albatross/Black_Footed_Albatross_0009_34"])
    _pickle(root / "test" / "filenames.pickle", ["003.Sooty_Albatross/Sooty_Albatross_0031_1066"])
    return root


def test_cub_contents(cub_root):
    ds = load_dataset("cub", split="train", root=cub_root, image_size=64)
    assert isinstance(ds, CaptionedImageDataset) and len(ds) == 3 and ds.image_size == 64
    assert ds.class_names == ["Black_footed_Albatross", "Laysan_Albatross", "Sooty_Albatross"]
    assert [ds.class_id(i) for i in range(3)] == [0, 1, 0]
    assert ds.key(1) == "002.Laysan_Albatross/Laysan_Albatross_0002_1027"
    caps = ds.captions(0)
    assert len(caps) == 10 and caps[3] == "a bird number 1 caption 3"
    s = ds[2]
    assert s.class_id == 0 and s.index == 2 and s.key.endswith("_0009_34")
    test = load_dataset("cub", split="test", root=cub_root, image_size=64)
    assert len(test) == 1 and test.class_id(0) == 2


def test_attngan_crop_formula():
    # r = int(max(40, 30) * .75) = 30, centre (int((120 + 40) / 2), int((100 + 30) / 2)) = (80, 65)
    assert attngan_crop(CUB_BOX, 200, 160) == CUB_CROP
    # clipped at the image border; odd sizes truncate like int() in AttnGAN
    assert attngan_crop((0, 0, 100, 40), 120, 90) == (0, 0, 120, 90)
    assert attngan_crop((10, 20, 31, 41), 100, 100) == (0, 10, 55, 70)  # r 30, centre (25, 40)
    assert attngan_crop((60.9, 50.7, 40.9, 30.2), 200, 160) == CUB_CROP  # floats truncate first


@pytest.mark.parametrize("size", [64, 128])
def test_cub_bbox_crop(cub_root, size):
    ds = load_dataset("cub", split="train", root=cub_root, image_size=size)
    img = ds.image(0)
    assert img.shape == (3, size, size) and img.dtype == torch.uint8
    x1, y1, x2, y2 = CUB_CROP
    r, g = img[0].float(), img[1].float()
    # R encodes the source column, G the source row: the corners are the crop's corners.
    assert abs(r[:, 0].mean() - x1) < 3 and abs(r[:, -1].mean() - (x2 - 1)) < 3
    assert abs(g[0, :].mean() - y1) < 3 and abs(g[-1, :].mean() - (y2 - 1)) < 3
    # boxes: the bird's box in output pixels (crop is 60x60 -> size/60 per pixel)
    (box,) = ds.boxes(0)
    k = size / 60
    assert box.label == "bird"
    assert (box.x0, box.y0, box.x1, box.y1) == pytest.approx((10 * k, 15 * k, 50 * k, 45 * k))
    # without the crop: the whole image, and the box scaled by size/200, size/160
    full = load_dataset("cub", split="train", root=cub_root, image_size=size, crop_bbox=False)
    fimg = full.image(0).float()
    assert abs(fimg[0, :, 0].mean() - 0) < 3 and abs(fimg[0, :, -1].mean() - 199) < 3
    (fbox,) = full.boxes(0)
    assert (fbox.x0, fbox.y0, fbox.x1, fbox.y1) == pytest.approx((60 * size / 200, 50 * size / 160,
                                                                   100 * size / 200, 80 * size / 160))
    assert full.fingerprint != ds.fingerprint


def test_cub_fingerprint(cub_root):
    a = load_dataset("cub", split="train", root=cub_root, image_size=64)
    assert a.fingerprint == load_dataset("cub", split="train", root=cub_root, image_size=64).fingerprint
    assert a.fingerprint != load_dataset("cub", split="train", root=cub_root, image_size=128).fingerprint
    assert a.fingerprint != load_dataset("cub", split="test", root=cub_root, image_size=64).fingerprint
    p = cub_root / "text" / "002.Laysan_Albatross" / "Laysan_Albatross_0002_1027.txt"
    p.write_text(p.read_text().replace("caption 7", "caption seven"))
    b = load_dataset("cub", split="train", root=cub_root, image_size=64)
    assert b.captions(1)[7] == "a bird number 3 caption seven"
    assert b.fingerprint != a.fingerprint


def test_cub_errors(cub_root, tmp_path):
    with pytest.raises(ValueError, match="root="):
        load_dataset("cub", split="train")
    with pytest.raises(ValueError, match=r"does not exist(.|\n)*bounding_boxes.txt"):
        load_dataset("cub", split="train", root=tmp_path / "nowhere")
    with pytest.raises(ValueError, match="unknown split 'val'"):
        load_dataset("cub", split="val", root=cub_root)
    with pytest.raises(TypeError, match="image_size"):
        load_dataset("cub", split="train", root=cub_root, image_size=64.0)
    # missing caption file: named, with the layout
    cap = cub_root / "text" / "003.Sooty_Albatross" / "Sooty_Albatross_0031_1066.txt"
    cap.unlink()
    with pytest.raises(ValueError, match=r"Sooty_Albatross_0031_1066\.txt(.|\n)*filenames\.pickle"):
        load_dataset("cub", split="test", root=cub_root)
    # corrupt image: the dataset builds, reading that item names the file
    bad = cub_root / "CUB_200_2011" / "images" / "002.Laysan_Albatross" / "Laysan_Albatross_0002_1027.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    ds = load_dataset("cub", split="train", root=cub_root, image_size=64)
    assert ds.image(0).shape == (3, 64, 64)
    with pytest.raises(ValueError, match="Laysan_Albatross_0002_1027.jpg"):
        ds[1]
    # missing image file: named when the dataset is built
    bad.unlink()
    with pytest.raises(ValueError, match="Laysan_Albatross_0002_1027.jpg"):
        load_dataset("cub", split="train", root=cub_root)
    # a name the index does not list
    _pickle(cub_root / "train" / "filenames.pickle", ["004.Nobody/Nobody_0001"])
    with pytest.raises(ValueError, match="Nobody_0001"):
        load_dataset("cub", split="train", root=cub_root)


def test_cub_crlf_names_are_repaired(cub_root):
    _pickle(cub_root / "test" / "filenames.pickle", ["003.Sooty_Albatross/Sooty_Albatross_0031_1066\r"])
    with pytest.warns(UserWarning, match=r"repaired 1 of 1"):
        ds = load_dataset("cub", split="test", root=cub_root, image_size=32)
    assert ds.key(0) == "003.Sooty_Albatross/Sooty_Albatross_0031_1066"


def test_cub_shared_meta_without_images(shared_dir):
    """The real AttnGAN birds index files (CRLF-damaged pickles, images.txt, bounding_boxes.txt)
    load; then the absent images folder is named."""
    for split, n in (("train", 8855), ("test", 2933)):
        with pytest.warns(UserWarning, match=f"repaired {n} of {n}"):
            with pytest.raises(ValueError, match=r"expected the folder .*CUB_200_2011/images"):
                load_dataset("cub", split=split, root=shared_dir / "data" / "cub-meta")


# -- flowers -----------------------------------------------------------------------------

@pytest.fixture
def flowers_root(tmp_path) -> Path:
    root = tmp_path / "flowers"
    items = {1: 1, 2: 1, 3: 77, 4: 102}  # image number -> class number
    for n, c in items.items():
        _jpeg(root / "jpg" / f"image_{n:05d}.jpg", _solid(50 + 10 * n, 40, (20 * n, 100, 200)))
        _captions(root / "text_c10" / f"class_{c:05d}" / f"image_{n:05d}.txt",
                  [f"flower {n} caption {k}" for k in range(10)])
    _pickle(root / "train" / "filenames.pickle", ["jpg/image_00003", "jpg/image_00001", "jpg/image_00004"])
    _pickle(root / "train" / "class_info.pickle", [77, 1, 102])
    _pickle(root / "test" / "filenames.pickle", ["image_00002"])  # no class_info: classes from folders
    return root


@pytest.mark.parametrize("size", [64, 256])
def test_flowers(flowers_root, size):
    ds = load_dataset("flowers", split="train", root=flowers_root, image_size=size)
    assert len(ds) == 3 and ds.num_classes == 102
    assert [ds.class_id(i) for i in range(3)] == [76, 0, 101]
    assert [ds.key(i) for i in range(3)] == ["image_00003", "image_00001", "image_00004"]
    assert ds.captions(0)[:2] == ["flower 3 caption 0", "flower 3 caption 1"]
    img = ds.image(2)
    assert img.shape == (3, size, size) and img.dtype == torch.uint8
    assert abs(img[0].float().mean() - 80) < 4 and abs(img[2].float().mean() - 200) < 4
    assert ds.boxes(0) == []
    test = load_dataset("flowers", split="test", root=flowers_root, image_size=size)
    assert len(test) == 1 and test.class_id(0) == 0


def test_flowers_errors_and_fingerprint(flowers_root, tmp_path):
    a = load_dataset("flowers", split="train", root=flowers_root, image_size=64)
    p = flowers_root / "text_c10" / "class_00001" / "image_00001.txt"
    p.write_text("a changed caption\n")
    assert load_dataset("flowers", split="train", root=flowers_root, image_size=64).fingerprint != a.fingerprint
    with pytest.raises(ValueError, match=r"text_c10(.|\n)*jpg/image_XXXXX"):
        load_dataset("flowers", split="train", root=tmp_path / "missing")
    with pytest.raises(ValueError, match="unknown split"):
        load_dataset("flowers", split="validation", root=flowers_root)
    _pickle(flowers_root / "train" / "class_info.pickle", [77, 2, 102])
    with pytest.raises(ValueError, match=r"class_info.pickle: entry 1"):
        load_dataset("flowers", split="train", root=flowers_root)
    (flowers_root / "train" / "class_info.pickle").unlink()
    (flowers_root / "text_c10" / "class_00077" / "image_00003.txt").unlink()
    with pytest.raises(ValueError, match=r"no caption file for image_00003"):
        load_dataset("flowers", split="train", root=flowers_root)
    (flowers_root / "jpg" / "image_00002.jpg").write_bytes(b"GIF89a broken")
    ds = load_dataset("flowers", split="test", root=flowers_root)
    with pytest.raises(ValueError, match="image_00002.jpg"):
        ds.image(0)


# -- coco: AttnGAN layout ----------------------------------------------------------------

@pytest.fixture
def coco_attngan_root(tmp_path) -> Path:
    root = tmp_path / "coco"
    names = ["COCO_train2014_000000000009", "COCO_train2014_000000000025", "COCO_val2014_000000000042"]
    for k, n in enumerate(names):
        _jpeg(root / "images" / f"{n}.jpg", _solid(64 + 16 * k, 48, (10, 60 * k, 90)))
        _captions(root / "text" / f"{n}.txt", [f"scene {k} caption {j}" for j in range(5)])
    _pickle(root / "train" / "filenames.pickle", names[:2])
    _pickle(root / "test" / "filenames.pickle", names[2:])
    return root


def test_coco_attngan_layout(coco_attngan_root):
    ds = load_dataset("coco", split="train", root=coco_attngan_root, image_size=32)
    assert ds.layout == "attngan" and len(ds) == 2 and ds.class_names == []
    assert ds.class_id(1) == -1 and ds.boxes(1) == [] and ds.key(1) == "COCO_train2014_000000000025"
    assert ds.captions(1) == [f"scene 1 caption {j}" for j in range(5)]
    assert ds.image(1).shape == (3, 32, 32)
    test = load_dataset("coco", split="test", root=coco_attngan_root, image_size=48)
    assert len(test) == 1 and test.image(0).shape == (3, 48, 48)
    with pytest.raises(ValueError, match="year="):
        load_dataset("coco", split="test", root=coco_attngan_root, year=2014)
    (coco_attngan_root / "text" / "COCO_val2014_000000000042.txt").unlink()
    with pytest.raises(ValueError, match=r"COCO_val2014_000000000042\.txt"):
        load_dataset("coco", split="test", root=coco_attngan_root)


# -- coco: official JSON on a generated fixture ------------------------------------------

@pytest.fixture
def coco_json_root(tmp_path) -> Path:
    root = tmp_path / "cocojson"
    imgs = [{"id": 7, "file_name": "000000000007.jpg", "width": 80, "height": 40},
            {"id": 3, "file_name": "000000000003.jpg", "width": 50, "height": 50}]
    for im in imgs:
        _jpeg(root / "val2014" / im["file_name"], _solid(im["width"], im["height"], (200, 10, 10)))
    caps = [{"id": 11, "image_id": 7, "caption": " A red thing.\n"},
            {"id": 10, "image_id": 7, "caption": "Red."},
            {"id": 12, "image_id": 3, "caption": "A square red picture."}]
    (root / "annotations").mkdir(parents=True)
    (root / "annotations" / "captions_val2014.json").write_text(json.dumps({"images": imgs, "annotations": caps}))
    inst = {"images": imgs, "categories": [{"id": 18, "name": "dog"}, {"id": 1, "name": "person"}],
            "annotations": [
                {"id": 1, "image_id": 7, "category_id": 1, "bbox": [0, 0, 10, 10], "iscrowd": 0},
                {"id": 2, "image_id": 7, "category_id": 18, "bbox": [40, 20, 40, 20], "iscrowd": 0},
                {"id": 3, "image_id": 7, "category_id": 1, "bbox": [0, 0, 80, 40], "iscrowd": 1}]}
    (root / "annotations" / "instances_val2014.json").write_text(json.dumps(inst))
    return root


def test_coco_json_fixture(coco_json_root):
    ds = load_dataset("coco", split="test", root=coco_json_root, image_size=20)
    assert ds.layout == "json" and ds.year == 2014 and len(ds) == 2
    assert [ds.key(i) for i in range(2)] == ["000000000003", "000000000007"]  # sorted by image id
    assert ds.captions(1) == ["Red.", "A red thing."]  # by annotation id, stripped
    assert ds.class_names == ["person", "dog"]
    assert ds.class_id(0) == -1 and ds.boxes(0) == []
    assert ds.class_id(1) == 1  # the dog's box is the largest non-crowd instance
    person, dog = ds.boxes(1)  # the crowd region is left out
    assert (dog.label, dog.x0, dog.y0, dog.x1, dog.y1) == ("dog", 10.0, 10.0, 20.0, 20.0)
    assert (person.x1, person.y1) == (2.5, 5.0)
    assert ds.image(1).shape == (3, 20, 20)
    with pytest.raises(ValueError, match=r"captions_train2017\.json or captions_train2014\.json"):
        load_dataset("coco", split="train", root=coco_json_root)
    with pytest.raises(ValueError, match="year must be 2014 or 2017"):
        load_dataset("coco", split="test", root=coco_json_root, year=2015)
    # an image file whose size disagrees with the JSON is refused when read
    _jpeg(coco_json_root / "val2014" / "000000000003.jpg", _solid(30, 30, (0, 0, 0)))
    with pytest.raises(ValueError, match="000000000003.jpg is 30x30"):
        ds.image(0)
    (coco_json_root / "val2014" / "000000000007.jpg").unlink()
    with pytest.raises(ValueError, match="000000000007.jpg"):
        load_dataset("coco", split="test", root=coco_json_root)


def test_coco_missing_root(tmp_path):
    with pytest.raises(ValueError, match=r"captions_train2017\.json(.|\n)*filenames\.pickle"):
        load_dataset("coco", split="train", root=tmp_path)


# -- coco: the real coco-mini ------------------------------------------------------------

def test_coco_mini_real(shared_dir):
    root = shared_dir / "data" / "coco-mini"
    ann = root / "annotations"
    for split, part, n in (("train", "train", 80), ("test", "val", 79)):
        ds = load_dataset("coco", split=split, root=root, image_size=64)
        assert ds.layout == "json" and ds.year == 2017 and len(ds) == n == ds.class_ids().numel()
        assert len(ds.class_names) == 80 and ds.class_names[0] == "person"
        caps = json.loads((ann / f"captions_{part}2017.json").read_text())
        inst = json.loads((ann / f"instances_{part}2017.json").read_text())
        # every image's captions (5 each), class = category of its largest non-crowd box
        by_file = {im["file_name"]: im for im in caps["images"]}
        cat_ids = sorted(c["id"] for c in inst["categories"])
        for i in range(len(ds)):
            im = by_file[ds.key(i) + ".jpg"]
            want = [a["caption"].strip() for a in sorted(caps["annotations"], key=lambda a: a["id"])
                    if a["image_id"] == im["id"]]
            assert ds.captions(i) == want and len(want) == 5
            objs = [a for a in inst["annotations"] if a["image_id"] == im["id"] and not a["iscrowd"]]
            big = max(objs, key=lambda a: a["bbox"][2] * a["bbox"][3])
            assert ds.class_id(i) == cat_ids.index(big["category_id"])
            assert len(ds.boxes(i)) == len(objs)
            assert image_size_of(ds.path(i)) == (im["width"], im["height"])
        for i in (0, n - 1):
            s = ds[i]
            assert s.image.shape == (3, 64, 64) and s.image.dtype == torch.uint8
            assert s.image.float().std() > 5  # a real photograph, not a blank
            for b in s.boxes:
                assert 0 <= b.x0 < b.x1 <= 64 and 0 <= b.y0 < b.y1 <= 64 and b.label in ds.class_names
    assert load_dataset("coco", split="test", root=root, image_size=32).image(3).shape == (3, 32, 32)
    with pytest.raises(ValueError, match="captions_val2014.json"):
        load_dataset("coco", split="test", root=root, year=2014)
