"""Oxford-102 flowers in StackGAN's layout: ``load_dataset("flowers", split, image_size, root=...)``.

Expected layout (StackGAN ``Data/flowers``)::

    root/
    ├── jpg/image_XXXXX.jpg                      the 8,189 Oxford-102 images
    ├── text_c10/class_CCCCC/image_XXXXX.txt     one caption per line (10 per image)
    ├── train/filenames.pickle                   list of "jpg/image_XXXXX" (StackGAN) or "image_XXXXX"
    ├── train/class_info.pickle                  optional: list of class numbers 1..102, one per name
    ├── train/char-CNN-RNN-embeddings.pickle     optional: StackGAN's [N, 10, 1024] text embeddings
    ├── test/filenames.pickle
    ├── test/class_info.pickle                   optional
    └── test/char-CNN-RNN-embeddings.pickle      optional

Each item: ``jpg/<name>.jpg`` resized straight to ``image_size x image_size`` (PIL
bicubic, aspect ratio not kept; no crop); the captions of
``text_c10/class_CCCCC/<name>.txt``; ``class_id`` = CCCCC - 1 (0..101; ``class_names``
are the folder names ``class_00001`` ... ``class_00102``); no boxes; ``key`` = ``image_XXXXX``.

Choice: the class of an image is the ``text_c10/class_CCCCC`` folder that holds its
caption file (that is where StackGAN's ``readCaptions`` looks, using ``class_info``). When
``class_info.pickle`` is present (Python ints or numpy integer scalars, read by
:func:`t2ibench.data.char_cnn_rnn.load_class_info`) it must agree with the folders
(ValueError otherwise). StackGAN's ``char-CNN-RNN-embeddings.pickle`` in the split folder is
read on request (:mod:`t2ibench.data.char_cnn_rnn`), not when the dataset is built.

``filenames.pickle`` is loaded with :mod:`t2ibench.data.safe_pickle` (stray trailing
``\\r`` repaired with a warning). Caption files and image existence are checked when the
dataset is built; images are decoded lazily (a corrupt image raises ValueError naming the
file when read). The fingerprint covers names, captions and class ids, not image bytes.
"""
from __future__ import annotations

import os
import re

from t2ibench.data import register_dataset
from t2ibench.data.image_files import (literal_block, FileListDataset, check_image_size, check_root, check_split,
                                       read_caption_file, require_dir, require_file)
from t2ibench.data.char_cnn_rnn import CLASS_INFO_FILE, check_class_info
from t2ibench.data.safe_pickle import load_filenames

LAYOUT = literal_block(__doc__, 0)

NUM_CLASSES = 102
_CLASS_DIR = re.compile(r"^class_(\d{5})$")


def _caption_index(text_dir) -> dict[str, int]:
    """``image_XXXXX`` -> class number (1-based) from the ``text_c10/class_CCCCC`` folders."""
    index: dict[str, int] = {}
    for entry in sorted(os.scandir(text_dir), key=lambda e: e.name):
        m = _CLASS_DIR.match(entry.name)
        if not (m and entry.is_dir()):
            continue
        num = int(m.group(1))
        for f in os.scandir(entry.path):
            if f.name.endswith(".txt"):
                stem = f.name[:-4]
                if stem in index and index[stem] != num:
                    raise ValueError(f"flowers: {stem}.txt is in two class folders of {text_dir}: "
                                     f"class_{index[stem]:05d} and class_{num:05d}")
                index[stem] = num
    return index


class FlowersDataset(FileListDataset):
    """Oxford-102 in StackGAN's layout (see the module docstring)."""

    def __init__(self, root, split: str = "train", image_size: int = 256):
        split = check_split(split, "flowers")
        image_size = check_image_size(image_size, "flowers")
        root = check_root(root, "flowers", LAYOUT)
        require_dir(root / "jpg", "flowers", LAYOUT)
        text_dir = require_dir(root / "text_c10", "flowers", LAYOUT)
        names_path = require_file(root / split / "filenames.pickle", "flowers", LAYOUT)
        names = load_filenames(names_path)

        keys = []
        for name in names:
            key = name[4:] if name.startswith("jpg/") else name
            if "/" in key or "\\" in key:
                raise ValueError(f"flowers: {names_path} holds {name!r}; expected 'jpg/image_XXXXX' or 'image_XXXXX'")
            keys.append(key)

        cap_index = _caption_index(text_dir)
        class_nums = []
        for key in keys:
            if key not in cap_index:
                raise ValueError(f"flowers: no caption file for {key}: expected {text_dir}/class_CCCCC/{key}.txt "
                                 f"in one of the class folders; the data root must be laid out as:\n{LAYOUT}")
            num = cap_index[key]
            if not 1 <= num <= NUM_CLASSES:
                raise ValueError(f"flowers: {text_dir}/class_{num:05d} is outside class_00001..class_{NUM_CLASSES:05d}")
            class_nums.append(num)

        info_path = root / split / CLASS_INFO_FILE
        if info_path.is_file():
            check_class_info(info_path, class_nums, keys)

        files, captions, missing = [], [], []
        for key, num in zip(keys, class_nums):
            rel = f"jpg/{key}.jpg"
            if not (root / rel).is_file():
                missing.append(root / rel)
            files.append(rel)
            captions.append(read_caption_file(text_dir / f"class_{num:05d}" / f"{key}.txt"))
        if missing:
            raise ValueError(f"flowers: {len(missing)} image file(s) of the {split} split are missing, e.g. "
                             f"{', '.join(map(str, missing[:3]))}; expected layout:\n{LAYOUT}")
        super().__init__(name="flowers", split=split, image_size=image_size, root=root, files=files, keys=keys,
                         captions=captions, class_ids=[n - 1 for n in class_nums],
                         class_names=[f"class_{k:05d}" for k in range(1, NUM_CLASSES + 1)])


def load_flowers(split: str = "train", image_size: int = 256, root=None) -> FlowersDataset:
    """Oxford-102 in StackGAN's layout; see :mod:`t2ibench.data.flowers`."""
    return FlowersDataset(root, split=split, image_size=image_size)


register_dataset("flowers", load_flowers)
