"""StackGAN's released text embeddings and class lists of the birds / flowers layouts.

GAN-INT-CLS (Reed et al. 2016), StackGAN, StackGAN++ and HDGAN condition on Reed et al.'s
char-CNN-RNN sentence embeddings (1024-d). StackGAN released them precomputed, one file per
split next to ``filenames.pickle``::

    root/<split>/char-CNN-RNN-embeddings.pickle   the embeddings of every image's captions
    root/<split>/class_info.pickle                 the class number (1-based) of every image

Facts of the released files (StackGAN ``misc/datasets.py``: ``np.array(pickle.load(f))``, then
``embeddings[i, k, :]`` is caption ``k`` of image ``i``, in the order of ``filenames.pickle``;
captions are the lines of the image's caption file, caption ``k`` = line ``k``):

- the embeddings pickle was written by Python 2: numpy arrays (``numpy.core.multiarray.
  _reconstruct`` with the raw float32 data as a Python-2 str), either one ``[N, 10, 1024]``
  array or a list of ``N`` arrays ``[10, 1024]``; a 2-D ``[N, 1024]`` array (one caption per
  image, which StackGAN's ``sample_embeddings`` also accepts) reads as ``[N, 1, 1024]``;
- ``class_info.pickle`` is a list of class numbers, Python ints or numpy ``int64`` scalars
  (AttnGAN's birds ``train/class_info.pickle`` is a protocol-0 list of numpy scalars).

Both are read with :func:`t2ibench.data.safe_pickle.load_pickle` and its ``"numpy"``
allowance: arrays are rebuilt from shape, dtype and raw bytes, nothing from the file runs.

:class:`CharCNNRNNLookup` is the text side of these embeddings at generation time: the
embeddings are precomputed per (image, caption), so the "encoder" is a lookup from the
caption's text to its embedding; a caption that the file does not hold is refused.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from t2ibench.data.safe_pickle import load_pickle

EMBEDDINGS_FILE = "char-CNN-RNN-embeddings.pickle"
CLASS_INFO_FILE = "class_info.pickle"
#: Width of Reed et al.'s char-CNN-RNN sentence embedding.
EMBEDDING_DIM = 1024


def load_embeddings(path, n_images: int | None = None, dim: int | None = EMBEDDING_DIM) -> np.ndarray:
    """float32 ``[N, C, dim]``: the char-CNN-RNN embeddings of ``C`` captions of each of ``N`` images.

    ``n_images``: the number of names of the split's ``filenames.pickle`` (``N`` must equal it);
    ``dim``: the expected width (``None``: any). ValueError naming the file when the pickle is
    refused (a global other than numpy's arrays), is not an array / list of equal-shaped
    arrays, has the wrong size, or holds a non-finite value.
    """
    path = Path(path)
    obj = load_pickle(path, allow=("numpy",))
    if isinstance(obj, (list, tuple)):
        if not obj or not all(isinstance(a, np.ndarray) for a in obj):
            raise ValueError(f"{path}: expected a numpy array [N, C, {dim or 'D'}] or a non-empty list of arrays "
                             f"[C, {dim or 'D'}], got a list of {sorted({type(a).__name__ for a in obj})}")
        shapes = sorted({a.shape for a in obj})
        if len(shapes) != 1:
            raise ValueError(f"{path}: the per-image arrays differ in shape ({shapes[:3]}); expected one shape "
                             f"[C, {dim or 'D'}] for every image")
        obj = np.stack(obj)
    if not isinstance(obj, np.ndarray):
        raise ValueError(f"{path}: expected a numpy array [N, C, {dim or 'D'}], got a {type(obj).__name__}")
    if obj.ndim == 2:
        obj = obj[:, None, :]
    if obj.ndim != 3 or obj.dtype.kind != "f":
        raise ValueError(f"{path}: expected a float array [N, C, {dim or 'D'}], got {obj.dtype} {obj.shape}")
    if dim is not None and obj.shape[2] != dim:
        raise ValueError(f"{path}: embeddings are {obj.shape[2]}-d; expected {dim}-d char-CNN-RNN embeddings "
                         f"(shape {obj.shape})")
    if n_images is not None and obj.shape[0] != n_images:
        raise ValueError(f"{path}: holds the embeddings of {obj.shape[0]} images; the split's filenames.pickle "
                         f"names {n_images}")
    out = obj.astype(np.float32)
    if not np.isfinite(out).all():
        raise ValueError(f"{path}: holds non-finite values")
    return out


def load_class_info(path, n_images: int | None = None) -> list[int]:
    """The class numbers (1-based ints) of ``class_info.pickle``: a list of Python ints or numpy
    integer scalars, or a 1-D integer array. ValueError naming the file otherwise, or when the
    length is not ``n_images``."""
    path = Path(path)
    obj = load_pickle(path, allow=("numpy",))
    if isinstance(obj, np.ndarray) and obj.ndim == 1:
        obj = list(obj)
    if not isinstance(obj, (list, tuple)):
        raise ValueError(f"{path}: expected a list of class numbers, got a {type(obj).__name__}")
    out = []
    for i, c in enumerate(obj):
        if isinstance(c, (bool, np.bool_)) or not isinstance(c, (int, np.integer)) or int(c) < 1:
            raise ValueError(f"{path}: entry {i} is {c!r}; expected a class number (an int >= 1)")
        out.append(int(c))
    if n_images is not None and len(out) != n_images:
        raise ValueError(f"{path}: holds {len(out)} class numbers; the split's filenames.pickle names {n_images}")
    return out


def check_class_info(path, class_numbers, keys) -> None:
    """ValueError unless ``class_info.pickle`` at ``path`` lists exactly ``class_numbers`` (1-based,
    one per name ``keys[i]`` of the split, as the dataset's folders give them)."""
    info = load_class_info(path, len(class_numbers))
    for i, (c, num) in enumerate(zip(info, class_numbers)):
        if c != num:
            raise ValueError(f"{path}: entry {i} ({keys[i]}) is class {c}, but the dataset's folders put it in "
                             f"class {num}")


def dataset_embeddings(dataset) -> np.ndarray:
    """float32 ``[len(dataset), C, 1024]``: ``<root>/<split>/char-CNN-RNN-embeddings.pickle`` of a
    ``cub`` or ``flowers`` dataset, aligned with its items (the split's ``filenames.pickle`` order)."""
    root, split = getattr(dataset, "root", None), getattr(dataset, "split", None)
    if root is None or split is None:
        raise ValueError(f"{dataset!r}: char-CNN-RNN embeddings exist only for the birds / flowers layouts "
                         f"(<root>/<split>/{EMBEDDINGS_FILE})")
    path = Path(root) / split / EMBEDDINGS_FILE
    if not path.is_file():
        raise ValueError(f"{dataset.name}: no char-CNN-RNN embeddings at {path}; StackGAN's release has "
                         f"{EMBEDDINGS_FILE} in each split folder next to filenames.pickle")
    return load_embeddings(path, n_images=len(dataset))


class CharCNNRNNLookup:
    """Caption text -> its released char-CNN-RNN embedding, for the captions of one dataset split.

    Caption ``k`` of image ``i`` (``dataset.captions(i)[k]``) gets ``embeddings[i, k]``; an image
    with fewer captions than the file has embeddings for is an error (the file and the caption
    files do not belong together); captions past the file's ``C`` have no embedding. The same
    text under two images (the char-CNN-RNN is a function of the text) keeps its first embedding.

    ``rows``: ``{caption: row of table}``; ``table``: float32 ``[N * C, dim]`` (row ``i * C + k``).
    """

    def __init__(self, dataset, embeddings: np.ndarray | None = None):
        emb = dataset_embeddings(dataset) if embeddings is None else np.asarray(embeddings, dtype=np.float32)
        if emb.ndim != 3 or emb.shape[0] != len(dataset):
            raise ValueError(f"char-CNN-RNN embeddings: expected [{len(dataset)}, C, D] for {dataset!r}, "
                             f"got {tuple(emb.shape)}")
        self.dim = emb.shape[2]
        self.rows: dict[str, int] = {}
        per_image = emb.shape[1]
        for i in range(len(dataset)):
            caps = dataset.captions(i)
            if len(caps) < per_image:
                raise ValueError(f"{dataset.name}: image {i} ({dataset.key(i)}) has {len(caps)} captions but the "
                                 f"char-CNN-RNN file has {per_image} embeddings for it; the caption files and the "
                                 f"embeddings file do not belong together")
            for k in range(per_image):
                self.rows.setdefault(str(caps[k]), i * per_image + k)
        self.table = torch.from_numpy(emb.reshape(-1, self.dim))
        self.dataset_name, self.per_image = dataset.name, per_image

    def __contains__(self, caption) -> bool:
        return str(caption) in self.rows

    def __call__(self, captions) -> torch.Tensor:
        """float32 ``[len(captions), dim]``; ValueError naming the first caption the file does not hold."""
        rows = []
        for c in captions:
            r = self.rows.get(str(c))
            if r is None:
                raise ValueError(f"char-CNN-RNN embeddings of {self.dataset_name}: no embedding for the caption "
                                 f"{str(c)[:80]!r}; the released embeddings exist only for the first {self.per_image} "
                                 f"captions of each image of the split, not for new text")
            rows.append(r)
        return self.table[torch.tensor(rows, dtype=torch.long)].clone()
