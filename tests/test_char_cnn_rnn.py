"""StackGAN's ``char-CNN-RNN-embeddings.pickle`` and ``class_info.pickle`` through the restricted
unpickler: files in the released formats (Python 2 + numpy 1.x, protocol 2, hand-built; and numpy 2
at protocol 2 / 5), the dataset hook-up, the caption lookup, and refusal of hostile pickles."""
from __future__ import annotations

import pickle
import pickletools
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from PIL import Image

import py2_pickle as p2
from t2ibench.data import load_dataset
from t2ibench.data.char_cnn_rnn import (CharCNNRNNLookup, dataset_embeddings, load_class_info,
                                        load_embeddings)
from t2ibench.data.safe_pickle import load_filenames, load_pickle


def _emb(n=3, c=10, d=1024, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, c, d)).astype(np.float32)


def _opcodes(data: bytes) -> list[tuple[str, object]]:
    return [(op.name, arg) for op, arg, _ in pickletools.genops(data)]


def test_python2_embeddings_pickle(tmp_path):
    """A list of [10, 1024] float32 arrays as Python 2 + numpy 1.x pickled it: _reconstruct,
    numpy.dtype, and the raw data as a Python-2 str (BINSTRING, Latin-1 bytes)."""
    emb = _emb()
    data = p2.dumps([p2.numpy_array(a) for a in emb])
    ops = _opcodes(data)
    assert ("PROTO", 2) in ops and ("GLOBAL", "numpy.core.multiarray _reconstruct") in ops
    assert ("GLOBAL", "numpy dtype") in ops and ("SHORT_BINSTRING", "b") in ops
    raw = [arg for name, arg in ops if name == "BINSTRING"]
    assert len(raw) == 3 and all(isinstance(r, str) and len(r) == 10 * 1024 * 4 for r in raw)  # py2 str
    assert not any(name == "SHORT_BINBYTES" or arg == "_codecs encode" for name, arg in ops)
    path = tmp_path / "char-CNN-RNN-embeddings.pickle"
    path.write_bytes(data)
    out = load_embeddings(path, n_images=3)
    assert out.dtype == np.float32 and out.shape == (3, 10, 1024)
    np.testing.assert_array_equal(out, emb)
    # big-endian data and a 2-D [N, 1024] array (one caption per image) read too
    path.write_bytes(p2.dumps(p2.numpy_array(emb[:, 0].astype(">f4"))))
    np.testing.assert_array_equal(load_embeddings(path)[:, 0], emb[:, 0])


@pytest.mark.parametrize("protocol", [2, 5])
def test_numpy2_embeddings_pickle(tmp_path, protocol):
    emb = _emb(n=4, c=10, d=16, seed=1)
    data = pickle.dumps(emb, protocol=protocol)
    ops = _opcodes(data)
    if protocol == 2:  # numpy 2 at protocol 2: numpy._core, raw bytes through _codecs.encode(str, 'latin1')
        assert ("GLOBAL", "numpy._core.multiarray _reconstruct") in ops and ("GLOBAL", "_codecs encode") in ops
    path = tmp_path / "e.pickle"
    path.write_bytes(data)
    np.testing.assert_array_equal(load_embeddings(path, dim=16), emb)
    path.write_bytes(pickle.dumps(np.asfortranarray(emb), protocol=protocol))
    np.testing.assert_array_equal(load_embeddings(path, dim=16), emb)


def test_embeddings_bad_input(tmp_path):
    path = tmp_path / "e.pickle"
    path.write_bytes(p2.dumps([p2.numpy_array(a) for a in _emb(d=8)]))
    with pytest.raises(ValueError, match=r"embeddings are 8-d; expected 1024-d"):
        load_embeddings(path)
    with pytest.raises(ValueError, match=r"holds the embeddings of 3 images; the split's filenames.pickle names 5"):
        load_embeddings(path, n_images=5, dim=8)
    path.write_bytes(p2.dumps([p2.numpy_array(_emb(1, 10, 8)[0]), p2.numpy_array(_emb(1, 9, 8)[0])]))
    with pytest.raises(ValueError, match="differ in shape"):
        load_embeddings(path, dim=8)
    path.write_bytes(pickle.dumps(np.array([1.0, np.nan] * 4, np.float32).reshape(1, 1, 8), protocol=2))
    with pytest.raises(ValueError, match="non-finite"):
        load_embeddings(path, dim=8)
    # truncated raw data: the array's size does not match its shape
    a = p2.numpy_array(_emb(1, 2, 8)[0])
    a.state = a.state[:4] + (a.state[4][:-4],)
    path.write_bytes(p2.dumps(a))
    with pytest.raises(ValueError, match=r"needs 64 bytes of data, the pickle holds 60"):
        load_embeddings(path, dim=8)
    # object and structured dtypes are refused by the dtype builder
    path.write_bytes(pickle.dumps(np.array([["a"]], dtype=object), protocol=2))
    with pytest.raises(ValueError, match=r"refused|not a plain numeric dtype"):
        load_embeddings(path)
    path.write_bytes(pickle.dumps(np.zeros(2, dtype=[("x", "f4")]), protocol=2))
    with pytest.raises(ValueError, match=r"not a plain numeric dtype|not that of a plain numeric dtype"):
        load_embeddings(path)


def _hostile(tmp_path, marker: Path) -> list[bytes]:
    """Pickles whose loading would create ``marker`` if any global were resolved for real."""
    cmd = f"touch {marker}"
    system = p2.Reduce(p2.Global("posix", "system"), (cmd,))
    return [
        p2.dumps(system),                                                       # a plain reduce
        p2.dumps([p2.numpy_array(_emb(1, 2, 4)[0]), system]),                   # beside a valid array
        p2.dumps(p2.Reduce(p2.Global("numpy.core.multiarray", "_reconstruct"),  # system as the subtype
                           (p2.Global("posix", "system"), (0,), "b"))),
        p2.dumps(p2.Reduce(p2.Global("_codecs", "encode"), (cmd, "rot13"))),   # an allowed global misused
        p2.dumps(p2.Reduce(p2.Global("builtins", "eval"), (f"__import__('os').system({cmd!r})",))),
        pickle.dumps(np.array([1.0]), protocol=2).replace(b"numpy\ndtype", b"posix\nsystem"),
    ]


def test_hostile_embeddings_and_class_info_refused(tmp_path):
    marker = tmp_path / "pwned"
    for data in _hostile(tmp_path, marker):
        path = tmp_path / "char-CNN-RNN-embeddings.pickle"
        path.write_bytes(data)
        with pytest.raises(ValueError, match=r"refers to the global|refused"):
            load_embeddings(path)
        with pytest.raises(ValueError, match=r"refers to the global|refused"):
            load_class_info(path)
        assert not marker.exists()


def test_class_info(tmp_path):
    path = tmp_path / "class_info.pickle"
    path.write_bytes(p2.dumps([1, 1, 200, 7]))
    assert load_class_info(path, 4) == [1, 1, 200, 7]
    path.write_bytes(pickle.dumps([np.int64(3), np.int64(1)], protocol=2))
    out = load_class_info(path)
    assert out == [3, 1] and all(type(c) is int for c in out)
    path.write_bytes(pickle.dumps(np.array([5, 6], np.int32), protocol=2))
    assert load_class_info(path) == [5, 6]
    for bad, msg in [([1, 0], "entry 1 is 0"), ([1, True], "entry 1 is True"), ([1.0], "entry 0 is 1.0"),
                     ({"a": 1}, "expected a list of class numbers")]:
        path.write_bytes(pickle.dumps(bad, protocol=2))
        with pytest.raises(ValueError, match=msg):
            load_class_info(path)
    with pytest.raises(ValueError, match="holds 1 class numbers; the split's filenames.pickle names 2"):
        path.write_bytes(pickle.dumps([1], protocol=2))
        load_class_info(path, 2)


def test_shared_attngan_birds_train_class_info(shared_dir, tmp_path):
    """AttnGAN's birds ``train/class_info.pickle`` (shared/): a protocol-0 list of numpy int64
    scalars. Its shared copy had its line endings converted to CRLF; undone here, it loads and
    lists the class folder number of every name of ``train/filenames.pickle``."""
    meta = shared_dir / "data" / "cub-meta" / "train"
    path = tmp_path / "class_info.pickle"
    path.write_bytes((meta / "class_info.pickle").read_bytes().replace(b"\r\n", b"\n"))
    assert path.read_bytes().startswith(b"(lp0\ncnumpy.core.multiarray\nscalar\n")  # protocol 0, GLOBAL
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        names = load_filenames(meta / "filenames.pickle")
    assert load_class_info(path, len(names)) == [int(n.split(".", 1)[0]) for n in names]
    with pytest.raises(ValueError, match=r"'numpy\.core\.multiarray'\.'scalar'.*every global is refused"):
        load_pickle(path)  # the strict default still refuses it


@pytest.fixture
def flowers_root(tmp_path) -> Path:
    root = tmp_path / "flowers"
    for n, c in {1: 1, 2: 1, 3: 77}.items():
        (root / "jpg").mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((40, 50, 3), 20 * n, np.uint8)).save(root / "jpg" / f"image_{n:05d}.jpg")
        cap = root / "text_c10" / f"class_{c:05d}" / f"image_{n:05d}.txt"
        cap.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"flower {n} caption {k}" for k in range(10)] + (["a shared caption"] if n < 3 else [])
        cap.write_text("\n".join(lines[:9] + lines[10:] + lines[9:10]) + "\n")
    (root / "train").mkdir()
    (root / "train" / "filenames.pickle").write_bytes(p2.dumps(["jpg/image_00003", "jpg/image_00001"]))
    (root / "train" / "class_info.pickle").write_bytes(p2.dumps([77, 1]))
    (root / "train" / "char-CNN-RNN-embeddings.pickle").write_bytes(
        p2.dumps([p2.numpy_array(a) for a in _emb(2, 10, 1024, seed=3)]))
    return root


def test_dataset_embeddings_and_lookup(flowers_root):
    ds = load_dataset("flowers", split="train", root=flowers_root, image_size=32)
    emb = dataset_embeddings(ds)
    ref = _emb(2, 10, 1024, seed=3)
    np.testing.assert_array_equal(emb, ref)
    lookup = CharCNNRNNLookup(ds)
    caps = [ds.captions(1)[4], ds.captions(0)[0], ds.captions(0)[9]]
    out = lookup(caps)
    assert out.dtype == torch.float32 and out.shape == (3, 1024)
    np.testing.assert_array_equal(out.numpy(), np.stack([ref[1, 4], ref[0, 0], ref[0, 9]]))
    # caption 9 of image_00001 is "a shared caption" (line 10 of its file); image_00003's 10th line differs
    assert ds.captions(1)[9] == "a shared caption" and ds.captions(1)[9] in lookup
    with pytest.raises(ValueError, match=r"no embedding for the caption 'a new caption'"):
        lookup(["flower 3 caption 0", "a new caption"])
    ds1 = load_dataset("flowers", split="train", root=flowers_root, image_size=32)
    with pytest.raises(ValueError, match=r"has 10 captions but the char-CNN-RNN file has 11"):
        CharCNNRNNLookup(ds1, np.zeros((2, 11, 4), np.float32))


def test_dataset_class_info_and_embeddings_errors(flowers_root):
    (flowers_root / "train" / "class_info.pickle").write_bytes(pickle.dumps([np.int64(77), np.int64(2)], protocol=2))
    with pytest.raises(ValueError, match=r"class_info.pickle: entry 1 \(image_00001\) is class 2"):
        load_dataset("flowers", split="train", root=flowers_root)
    (flowers_root / "train" / "class_info.pickle").write_bytes(pickle.dumps([np.int64(77), np.int64(1)], protocol=2))
    ds = load_dataset("flowers", split="train", root=flowers_root)
    (flowers_root / "train" / "char-CNN-RNN-embeddings.pickle").write_bytes(p2.dumps([p2.numpy_array(_emb(1)[0])]))
    with pytest.raises(ValueError, match=r"embeddings of 1 images; the split's filenames.pickle names 2"):
        dataset_embeddings(ds)
    (flowers_root / "train" / "char-CNN-RNN-embeddings.pickle").unlink()
    with pytest.raises(ValueError, match=r"no char-CNN-RNN embeddings at .*char-CNN-RNN-embeddings.pickle"):
        CharCNNRNNLookup(ds)


def test_zoo_char_cnn_rnn_text_encoder(flowers_root, tmp_path):
    """The zoo's ``char-cnn-rnn`` text encoder: a lookup over the train and test splits' captions,
    through the training pipeline's tokenizer."""
    import models  # noqa: F401  (registers the zoo)
    from models.common.text_encoder import text_encoder_for
    from t2ibench.data.training_pairs import CaptionedTrainSet

    (flowers_root / "test").mkdir()
    (flowers_root / "test" / "filenames.pickle").write_bytes(p2.dumps(["image_00002"]))
    (flowers_root / "test" / "char-CNN-RNN-embeddings.pickle").write_bytes(
        p2.dumps([p2.numpy_array(_emb(1, 10, 1024, seed=4)[0])]))
    with pytest.raises(ValueError, match=r"give the flowers data root"):
        text_encoder_for({"text_encoder": "char-cnn-rnn"}, "flowers")
    enc = text_encoder_for({"text_encoder": "char-cnn-rnn"}, "flowers", weights=flowers_root)
    train, test = _emb(2, 10, 1024, seed=3), _emb(1, 10, 1024, seed=4)
    out = enc.encode(["flower 3 caption 2", "flower 2 caption 5", "flower 1 caption 0"])
    np.testing.assert_array_equal(out.sentence.numpy(), np.stack([train[0, 2], test[0, 5], train[1, 0]]))
    assert out.words.shape == (3, 1024, 1) and enc.dim == 1024 and len(enc.sha256) == 64
    assert torch.equal(enc.encode_each(["flower 2 caption 5"]).sentence, out.sentence[1:2])
    with pytest.raises(ValueError, match=r"no released embedding for the caption 'a new caption'"):
        enc.encode(["a new caption"])
    ds = load_dataset("flowers", split="train", root=flowers_root)
    # image_00001's caption file has an 11th line, which has no released embedding: training on it is refused
    with pytest.raises(ValueError, match=r"no released embedding for the caption 'flower 1 caption 9'"):
        CaptionedTrainSet(ds, enc.tokenizer, seed=0)
    cap = flowers_root / "text_c10" / "class_00001" / "image_00001.txt"
    cap.write_text("\n".join(cap.read_text().splitlines()[:10]) + "\n")
    ds = load_dataset("flowers", split="train", root=flowers_root)
    pairs = CaptionedTrainSet(ds, enc.tokenizer, seed=0)
    ids, lengths, _ = pairs.captions(torch.tensor([0, 1]), 0)
    got = enc.encode_ids(ids, lengths).sentence.numpy()
    assert any(np.array_equal(got[0], train[0, k]) for k in range(10))
    assert any(np.array_equal(got[1], train[1, k]) for k in range(10))


@pytest.mark.parametrize("name", ["gan-int-cls", "stackgan", "stackgan++", "hdgan"])
def test_char_cnn_rnn_trains_the_four_models(flowers_root, tmp_path, name):
    """GAN-INT-CLS, StackGAN, StackGAN++ and HDGAN ('tiny' widths) take a real step in every phase on
    1024-d char-CNN-RNN embeddings: their configs' text-encoder choice."""
    from models.common.text_encoder import text_encoder_for
    from models.train import train_model

    (flowers_root / "test").mkdir()
    (flowers_root / "test" / "filenames.pickle").write_bytes(p2.dumps(["image_00002"]))
    (flowers_root / "test" / "char-CNN-RNN-embeddings.pickle").write_bytes(
        p2.dumps([p2.numpy_array(_emb(1, 10, 1024, seed=4)[0])]))
    cap = flowers_root / "text_c10" / "class_00001" / "image_00001.txt"
    cap.write_text("\n".join(cap.read_text().splitlines()[:10]) + "\n")
    train = {"batch_size": 2, "workers": 0, **({"stage1_epochs": 1, "epochs": 2} if name == "stackgan" else {"epochs": 1})}
    manifest = train_model(name, "tiny", out_dir=tmp_path / "run", dataset="flowers", data_root=flowers_root,
                           text_encoder_weights=flowers_root, steps_per_epoch=1, quality_n=0, probe_n=0,
                           progress=False, amp=False,
                           overrides={"text_encoder": "char-cnn-rnn", "text_dim": 1024, "train": train})
    assert manifest["text_encoder"]["dim"] == 1024 and manifest["config"]["text_encoder"] == "char-cnn-rnn"
    enc = text_encoder_for({"text_encoder": "char-cnn-rnn"}, "flowers", weights=flowers_root)
    assert manifest["text_encoder_sha256"] == enc.sha256


def test_cub_class_info_and_embeddings(tmp_path):
    """The birds layout: ``class_info.pickle`` (numpy int64 scalars, as AttnGAN's train split has it) must
    agree with the class folders; the embeddings line up with ``filenames.pickle``."""
    root = tmp_path / "birds"
    names = ["001.Black_footed_Albatross/A_0001", "002.Laysan_Albatross/B_0002"]
    (root / "CUB_200_2011").mkdir(parents=True)
    (root / "CUB_200_2011" / "images.txt").write_text("".join(f"{i + 1} {n}.jpg\n" for i, n in enumerate(names)))
    (root / "CUB_200_2011" / "bounding_boxes.txt").write_text("1 0 0 10 10\n2 0 0 10 10\n")
    for n in names:
        (root / "CUB_200_2011" / "images" / n).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(root / "CUB_200_2011" / "images" / f"{n}.jpg")
        (root / "text" / n).parent.mkdir(parents=True, exist_ok=True)
        (root / "text" / f"{n}.txt").write_text("".join(f"{n} caption {k}\n" for k in range(10)))
    (root / "train").mkdir()
    (root / "train" / "filenames.pickle").write_bytes(p2.dumps(names))
    (root / "train" / "class_info.pickle").write_bytes(pickle.dumps([np.int64(1), np.int64(2)], protocol=0))
    (root / "train" / "char-CNN-RNN-embeddings.pickle").write_bytes(
        p2.dumps(p2.numpy_array(_emb(2, 10, 1024, seed=7))))
    ds = load_dataset("cub", split="train", root=root, image_size=32)
    np.testing.assert_array_equal(dataset_embeddings(ds), _emb(2, 10, 1024, seed=7))
    np.testing.assert_array_equal(CharCNNRNNLookup(ds)([f"{names[1]} caption 3"]).numpy()[0],
                                  _emb(2, 10, 1024, seed=7)[1, 3])
    (root / "train" / "class_info.pickle").write_bytes(pickle.dumps([np.int64(1), np.int64(3)], protocol=0))
    with pytest.raises(ValueError, match=r"class_info.pickle: entry 1 \(002.Laysan_Albatross/B_0002\) is class 3"):
        load_dataset("cub", split="train", root=root, image_size=32)


def _numpy_pickles() -> list[bytes]:
    a = _emb(2, 3, 4, seed=9)
    voc = p2.NewObj(p2.Global("vocab", "Vocabulary"), {"word2idx": {"<pad>": 0}, "idx2word": {0: "<pad>"}, "idx": 1})
    return [p2.dumps([p2.numpy_array(x) for x in a]), pickle.dumps(a, protocol=0), pickle.dumps(a, protocol=2),
            pickle.dumps(a, protocol=5), pickle.dumps([np.int64(3), np.float32(2.5)], protocol=2), p2.dumps(voc)]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_mangled_numpy_and_vocabulary_pickles(tmp_path_factory, data):
    """Truncated or byte-flipped numpy / Vocabulary pickles, loaded with both allowances: a ValueError
    naming the file, or only plain data, numpy arrays/scalars/dtypes; no module is imported."""
    import sys

    blob = bytearray(data.draw(st.sampled_from(_numpy_pickles())))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(blob) - 1))
        blob[i] = data.draw(st.integers(0, 255))
    blob = blob[:data.draw(st.integers(1, len(blob)))]
    path = tmp_path_factory.mktemp("fuzz") / "x.pickle"
    path.write_bytes(bytes(blob))
    modules = set(sys.modules)
    try:
        obj = load_pickle(path, allow=("numpy", "vsepp-vocabulary"))
    except ValueError as e:
        assert str(path) in str(e)
        return
    finally:
        assert set(sys.modules) == modules
    plain = (str, bytes, list, tuple, dict, int, float, bool, type(None), np.ndarray, np.generic, np.dtype)
    stack, seen = [obj], set()
    while stack:
        item = stack.pop()
        assert isinstance(item, plain), type(item)
        if isinstance(item, (list, tuple, dict)) and id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
