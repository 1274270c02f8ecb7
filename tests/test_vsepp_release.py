"""Released VSE++ files (``fartashf/vsepp``): ``model_best.pth.tar`` in each torch format (zip, legacy, and
a Python-2 / PyTorch-0.2 legacy file written opcode by opcode) and ``<data_name>_vocab.pkl`` (a pickled
``vocab.Vocabulary``, Python 2, protocol 2). Key names, shapes and ``opt`` fields as the released
``train.py`` / ``model.py`` / ``vocab.py`` write them, random values; outputs against references built here
from plain torch modules; hostile pickles in each format refused without running code."""
from __future__ import annotations

import argparse
import io
import os
import struct
import zipfile
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
import torchvision

import py2_pickle as p2
from t2ibench.evaluators.vsepp_release import load_checkpoint, load_released_vse, load_vocab

pytest.importorskip("nltk")

WORDS = ["a", "man", "'s", "dog", ",", "running", "on", "the", "grass", ".", "cat", "red"]
VOCAB = ["<pad>", "<start>", "<end>", "<unk>"] + WORDS
EMBED, WORD_DIM, IMG_DIM = 16, 12, 20


def _opt(**kw) -> dict:
    opt = dict(data_path="/w/31/faghri/vsepp_data/", data_name="coco_precomp", vocab_path="./vocab/", margin=0.2,
               num_epochs=30, batch_size=128, word_dim=WORD_DIM, embed_size=EMBED, grad_clip=2.0, crop_size=224,
               num_layers=1, learning_rate=0.0002, lr_update=15, workers=10, log_step=10, val_step=500,
               logger_name="runs/coco_vse++", resume="", max_violation=True, img_dim=IMG_DIM, finetune=False,
               cnn_type="vgg19", use_restval=False, measure="cosine", use_abs=False, no_imgnorm=False,
               vocab_size=len(VOCAB))
    opt.update(kw)
    return opt


def _txt_state(num_layers=1, seed=0) -> OrderedDict:
    g = torch.Generator().manual_seed(seed)
    sd = OrderedDict(**{"embed.weight": torch.rand(len(VOCAB), WORD_DIM, generator=g) * 0.2 - 0.1})
    for k in range(num_layers):
        inp = WORD_DIM if k == 0 else EMBED
        sd[f"rnn.weight_ih_l{k}"] = torch.randn(3 * EMBED, inp, generator=g) * 0.3
        sd[f"rnn.weight_hh_l{k}"] = torch.randn(3 * EMBED, EMBED, generator=g) * 0.3
        sd[f"rnn.bias_ih_l{k}"] = torch.randn(3 * EMBED, generator=g) * 0.1
        sd[f"rnn.bias_hh_l{k}"] = torch.randn(3 * EMBED, generator=g) * 0.1
    return sd


def _precomp_state(seed=1) -> OrderedDict:
    g = torch.Generator().manual_seed(seed)
    return OrderedDict([("fc.weight", torch.randn(EMBED, IMG_DIM, generator=g)),
                        ("fc.bias", torch.randn(EMBED, generator=g))])


def _resnet_state(seed=2, batches_tracked=False) -> OrderedDict:
    """``EncoderImageFull`` over resnet18: ``cnn.module.*`` (DataParallel), fc emptied, ``fc.*``; like the
    PyTorch 0.2 files, without ``num_batches_tracked`` unless asked."""
    torch.manual_seed(seed)
    net = torchvision.models.resnet18(weights=None)
    for m in net.modules():  # non-trivial BatchNorm statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    sd = OrderedDict((f"cnn.module.{k}", v.clone()) for k, v in net.state_dict().items()
                     if not k.startswith("fc.") and (batches_tracked or not k.endswith("num_batches_tracked")))
    sd["fc.weight"] = torch.randn(EMBED, 512) * 0.05
    sd["fc.bias"] = torch.randn(EMBED) * 0.05
    return sd


def _ckpt(img, txt, opt) -> dict:
    return {"epoch": 27, "model": [img, txt], "best_rsum": 412.5, "opt": argparse.Namespace(**opt), "Eiters": 123456}


# -- writing the released formats ----------------------------------------------------------------

_STORAGE = {torch.float32: "FloatStorage", torch.int64: "LongStorage"}


def _py2_legacy(ckpt: dict, opt=None) -> bytes:
    """``torch.save`` of PyTorch 0.2 under Python 2: the legacy stream (magic number, protocol version,
    sys info, the object with storages as persistent ids and tensors through ``_rebuild_tensor``, the
    storage keys, then each storage's element count and raw bytes), Python-2 strings throughout."""
    storages = []

    def tensor(t: torch.Tensor):
        key = str(len(storages))
        storages.append((key, t.contiguous()))
        pid = p2.PersId(("storage", p2.Global("torch", _STORAGE[t.dtype]), key, "cuda:0", t.numel(), None))
        return p2.Reduce(p2.Global("torch._utils", "_rebuild_tensor"), (pid, 0, tuple(t.shape), tuple(t.stride())))

    def state(sd):  # Python 2's OrderedDict.__reduce__: (OrderedDict, ([[k, v], ...],))
        return p2.Reduce(p2.Global("collections", "OrderedDict"), ([[k, tensor(v)] for k, v in sd.items()],))

    obj = {"epoch": ckpt["epoch"], "model": [state(s) for s in ckpt["model"]], "best_rsum": ckpt["best_rsum"],
           "opt": opt or p2.NewObj(p2.Global("argparse", "Namespace"), vars(ckpt["opt"])), "Eiters": ckpt["Eiters"]}
    out = bytearray(p2.dumps(0x1950A86A20F9469CFC6C) + p2.dumps(1001)
                    + p2.dumps({"protocol_version": 1001, "little_endian": True,
                                "type_sizes": {"short": 2, "int": 4, "long": 4}}))
    out += p2.dumps(obj) + p2.dumps([k for k, _ in storages])
    for _, t in storages:
        out += struct.pack("<q", t.numel()) + t.numpy().tobytes()
    return bytes(out)


def _write_ckpt(path: Path, ckpt: dict, fmt: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "py2":
        path.write_bytes(_py2_legacy(ckpt))
    else:
        torch.save(ckpt, path, _use_new_zipfile_serialization=(fmt == "zip"))
    return path


def _vocab_bytes(words=VOCAB, module="vocab") -> bytes:
    """``pickle.dump(vocab, f, pickle.HIGHEST_PROTOCOL)`` under Python 2: NEWOBJ of ``vocab.Vocabulary``,
    its ``__dict__`` as state; special tokens are ``str``, NLTK's tokens ``unicode``."""
    tok = [w if w.startswith("<") else p2.Unicode(w) for w in words]
    return p2.dumps(p2.NewObj(p2.Global(module, "Vocabulary"),
                              {"word2idx": {w: i for i, w in enumerate(tok)}, "idx2word": dict(enumerate(tok)),
                               "idx": len(tok)}))


# -- independent references ----------------------------------------------------------------------

def _ref_text(txt: dict, ids: list[list[int]], num_layers=1) -> torch.Tensor:
    emb = torch.nn.Embedding(len(VOCAB), WORD_DIM)
    gru = torch.nn.GRU(WORD_DIM, EMBED, num_layers, batch_first=True)
    emb.weight.data.copy_(txt["embed.weight"])
    gru.load_state_dict({k[4:]: v for k, v in txt.items() if k.startswith("rnn.")})
    out = []
    for seq in ids:  # one caption at a time: no padding at all
        h, _ = gru(emb(torch.tensor([seq])))
        out.append(h[0, -1])
    out = torch.stack(out)
    return out / out.pow(2).sum(1, keepdim=True).sqrt()


def _l2(x):
    return x / x.pow(2).sum(1, keepdim=True).sqrt()


CAPTIONS = ["A man's dog, running on the grass.", "The RED cat", "a zebra on the grass"]
IDS = [[1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 2], [1, 11, 15, 14, 2], [1, 4, 3, 10, 11, 12, 2]]


@pytest.mark.parametrize("fmt", ["zip", "legacy", "py2"])
def test_precomp_run_equals_reference(tmp_path, fmt):
    txt, img = _txt_state(), _precomp_state()
    opt = _opt(data_path=b"/data/caf\xe9/") if fmt == "py2" else _opt()  # a Python-2 str that is not UTF-8
    ckpt = _write_ckpt(tmp_path / "runs" / "coco_vse++" / "model_best.pth.tar", _ckpt(img, txt, opt), fmt)
    (tmp_path / "vocab").mkdir()
    (tmp_path / "vocab" / "coco_precomp_vocab.pkl").write_bytes(_vocab_bytes())
    model, tok, info = load_released_vse(ckpt)  # the vocabulary found in the release layout
    assert info["vocab"].endswith("vocab/coco_precomp_vocab.pkl") and info["epoch"] == 27
    assert info["opt"]["data_name"] == "coco_precomp" and info["opt"]["max_violation"] is True
    if fmt == "py2":
        assert info["opt"]["data_path"] == "/data/café/"  # read again as Latin-1
    assert [tok.encode(c) for c in CAPTIONS] == IDS  # <start> nltk tokens <end>, <unk> for zebra
    ids, lengths = tok.batch(CAPTIONS)
    with torch.no_grad():
        got = model.encode_ids(ids, lengths)
        torch.testing.assert_close(got, _ref_text(txt, IDS), rtol=1e-5, atol=1e-6)
        feats = torch.randn(5, IMG_DIM)
        torch.testing.assert_close(model.encode_features(feats), _l2(feats @ img["fc.weight"].t() + img["fc.bias"]))


def test_two_layer_gru_and_use_abs(tmp_path):
    txt = _txt_state(num_layers=2, seed=5)
    ckpt = _write_ckpt(tmp_path / "m.pth.tar", _ckpt(_precomp_state(), txt, _opt(num_layers=2, use_abs=True)), "zip")
    (tmp_path / "coco_precomp_vocab.pkl").write_bytes(_vocab_bytes(module="__main__"))  # vocab.py run as a script
    model, tok, _ = load_released_vse(ckpt)
    ids, lengths = tok.batch(CAPTIONS)
    with torch.no_grad():
        torch.testing.assert_close(model.encode_ids(ids, lengths), _ref_text(txt, IDS, 2).abs(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fmt", ["zip", "py2"])
def test_full_resnet_run_equals_reference(tmp_path, fmt):
    img, txt = _resnet_state(), _txt_state()
    opt = _opt(data_name="coco", cnn_type="resnet18", finetune=True, img_dim=4096)
    ckpt = _write_ckpt(tmp_path / "m.pth.tar", _ckpt(img, txt, opt), fmt)
    (tmp_path / "coco_vocab.pkl").write_bytes(_vocab_bytes())
    model, _, _ = load_released_vse(ckpt)
    ref = torchvision.models.resnet18(weights=None)
    ref.fc = torch.nn.Identity()
    missing, unexpected = ref.load_state_dict({k[len("cnn.module."):]: v for k, v in img.items()
                                               if k.startswith("cnn.module.")}, strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing)
    ref.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        want = _l2(_l2(ref(x)) @ img["fc.weight"].t() + img["fc.bias"])
        torch.testing.assert_close(model.encode_pixels(x), want, rtol=1e-4, atol=1e-5)
        # images: VSE++'s test transform; a 256 x 256 image is only centre-cropped to 224 and normalised
        u8 = torch.randint(0, 256, (2, 3, 256, 256), dtype=torch.uint8)
        mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        crop = (u8[..., 16:240, 16:240].float() / 255 - mean) / std
        torch.testing.assert_close(model.preprocess(u8), crop)
        torch.testing.assert_close(model.encode_images(u8), _l2(_l2(ref(crop)) @ img["fc.weight"].t() + img["fc.bias"]),
                                   rtol=1e-4, atol=1e-5)
        assert model.preprocess(torch.zeros(1, 3, 64, 80, dtype=torch.uint8)).shape == (1, 3, 224, 224)


def test_extractor_vse_with_released_checkpoint(tmp_path):
    from t2ibench.features import load_extractor

    img, txt = _resnet_state(), _txt_state()
    run = tmp_path / "runs" / "coco_vse++_resnet_restval_finetune"
    ckpt = _write_ckpt(run / "model_best.pth.tar", _ckpt(img, txt, _opt(data_name="coco", cnn_type="resnet18")), "py2")
    (tmp_path / "vocab").mkdir()
    (tmp_path / "vocab" / "coco_vocab.pkl").write_bytes(_vocab_bytes())
    ex = load_extractor("vse", weights=str(ckpt))
    d = ex.describe()
    assert d["stand_in"] is False and d["trained_on"] == "coco" and d["image_encoder"] == "resnet18"
    assert ex.weights_id.startswith("vsepp:") and "preserve_line=True" in d["tokenizer"]
    t = ex.encode_text(CAPTIONS)["sentence"]
    torch.testing.assert_close(t, _ref_text(txt, IDS), rtol=1e-5, atol=1e-6)
    e = ex(torch.randint(0, 256, (3, 3, 64, 64), dtype=torch.uint8))["embedding"]
    assert e.shape == (3, EMBED) and torch.allclose(e.norm(dim=1), torch.ones(3), atol=1e-5)
    # a precomputed-feature run cannot score images: refused with the reason
    ckpt2 = _write_ckpt(tmp_path / "p" / "model_best.pth.tar", _ckpt(_precomp_state(), txt, _opt()), "zip")
    (tmp_path / "p" / "coco_precomp_vocab.pkl").write_bytes(_vocab_bytes())
    with pytest.raises(ValueError, match=r"precomputed .*cannot score generated images"):
        load_extractor("vse", weights=str(ckpt2))


# -- bad input -----------------------------------------------------------------------------------

def _setup(tmp_path, img=None, txt=None, opt=None, fmt="zip", vocab=VOCAB):
    ckpt = _write_ckpt(tmp_path / "model_best.pth.tar",
                       _ckpt(_precomp_state() if img is None else img, _txt_state() if txt is None else txt,
                             opt or _opt()), fmt)
    (tmp_path / "coco_precomp_vocab.pkl").write_bytes(_vocab_bytes(vocab))
    return ckpt


def test_keys_and_shapes_checked(tmp_path):
    txt = _txt_state()
    del txt["rnn.bias_hh_l0"]
    with pytest.raises(ValueError, match=r"model_best.pth.tar: the state dicts do not match .*"
                                         r"missing \['rnn.bias_hh_l0'\]"):
        load_released_vse(_setup(tmp_path, txt=txt))
    img = _precomp_state()
    img["fc.extra"] = torch.zeros(1)
    with pytest.raises(ValueError, match=r"unexpected \['fc.extra'\]"):
        load_released_vse(_setup(tmp_path, img=img))
    with pytest.raises(ValueError, match=r"fc.weight has shape \(16, 20\), the run's opt gives \(16, 30\)"):
        load_released_vse(_setup(tmp_path, opt=_opt(img_dim=30)))
    img = _resnet_state()
    img["cnn.module.layer1.0.conv1.weight"] = torch.zeros(64, 64, 1, 1)
    with pytest.raises(ValueError, match=r"layer1.0.conv1.weight has shape \(64, 64, 1, 1\)"):
        load_released_vse(_setup(tmp_path, img=img, opt=_opt(data_name="coco", cnn_type="resnet18")))
    (tmp_path / "coco_vocab.pkl").write_bytes(_vocab_bytes())
    img = _resnet_state()
    del img["cnn.module.bn1.running_var"]
    with pytest.raises(ValueError, match=r"missing \['cnn.module.bn1.running_var'\]"):
        load_released_vse(_setup(tmp_path, img=img, opt=_opt(data_name="coco", cnn_type="resnet18")))


def test_opt_and_vocab_errors(tmp_path):
    with pytest.raises(ValueError, match=r"12 words, but checkpoint .* vocab_size 16"):
        load_released_vse(_setup(tmp_path, vocab=VOCAB[:12]))
    with pytest.raises(ValueError, match=r"order embeddings\) is not supported"):
        load_released_vse(_setup(tmp_path, opt=_opt(measure="order")))
    with pytest.raises(ValueError, match=r"cnn_type 'vgg19' is not supported"):
        load_released_vse(_setup(tmp_path, opt=_opt(data_name="coco")))
    opt = _opt()
    del opt["embed_size"]
    with pytest.raises(ValueError, match=r"opt lacks \['embed_size'\]"):
        load_released_vse(_setup(tmp_path, opt=opt))
    ckpt = _setup(tmp_path)
    (tmp_path / "coco_precomp_vocab.pkl").unlink()
    with pytest.raises(ValueError, match=r"its vocabulary coco_precomp_vocab.pkl .* was not found; looked in"):
        load_released_vse(ckpt)
    torch.save({"model": [{}, {}], "opt": argparse.Namespace(**_opt()), "optimizer": {}}, ckpt)
    with pytest.raises(ValueError, match=r"unexpected top-level keys \['optimizer'\]"):
        load_checkpoint(ckpt)
    torch.save({"state_dict": {}}, ckpt)
    with pytest.raises(ValueError, match=r"expected VSE\+\+'s train.py checkpoint"):
        load_checkpoint(ckpt)
    v = tmp_path / "v.pkl"
    v.write_bytes(p2.dumps(p2.NewObj(p2.Global("vocab", "Vocabulary"),
                                     {"word2idx": {"<pad>": 0}, "idx2word": {0: "x"}, "idx": 1})))
    with pytest.raises(ValueError, match="not inverse bijections"):
        load_vocab(v)
    v.write_bytes(p2.dumps(p2.NewObj(p2.Global("vocab", "Vocabulary"),
                                     {"word2idx": {"<pad>": 0}, "idx2word": {0: "<pad>"}, "idx": 1})))
    with pytest.raises(ValueError, match=r"special tokens \['<start>', '<end>', '<unk>'\] are missing"):
        load_vocab(v)
    v.write_bytes(p2.dumps(p2.NewObj(p2.Global("other", "Vocabulary"), {})))
    with pytest.raises(ValueError, match=r"global 'other'.'Vocabulary'"):
        load_vocab(v)


class _Boom:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_hostile_pickles_refused(tmp_path):
    marker = tmp_path / "pwned"
    cmd = f"touch {marker}"
    system = p2.Reduce(p2.Global("posix", "system"), (cmd,))
    ckpt = tmp_path / "model_best.pth.tar"
    # the zip's data.pkl and the legacy stream, as torch.save writes them
    for zip_format in (True, False):
        torch.save({"model": [{}, {}], "opt": _Boom(marker)}, ckpt, _use_new_zipfile_serialization=zip_format)
        with pytest.raises(ValueError, match=r"not readable with torch.load\(weights_only=True\) \(it refers to "
                                             r"the global posix.system; .*nothing from the file was run"):
            load_checkpoint(ckpt)
        assert not marker.exists()
    # Python-2 legacy streams: a reduce in place of the Namespace, and one inside the Namespace's state
    good = _ckpt(_precomp_state(), _txt_state(), _opt())
    for opt in (system, p2.NewObj(p2.Global("argparse", "Namespace"), {"data_name": system})):
        ckpt.write_bytes(_py2_legacy(good, opt=opt))
        with pytest.raises(ValueError, match=r"not readable with torch.load\(weights_only=True\)"):
            load_checkpoint(ckpt)
        assert not marker.exists()
    # data.pkl edited inside a genuine zip checkpoint
    torch.save(good, ckpt)
    with zipfile.ZipFile(ckpt) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    name = next(n for n in entries if n.endswith("data.pkl"))
    entries[name] = p2.dumps({"model": [{}, {}], "opt": system})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, b in entries.items():
            z.writestr(n, b)
    ckpt.write_bytes(buf.getvalue())
    with pytest.raises(ValueError, match=r"not readable with torch.load\(weights_only=True\)"):
        load_checkpoint(ckpt)
    assert not marker.exists()
    # vocabularies: a plain reduce, a reduce inside the Vocabulary's state, an allowed name misused
    v = tmp_path / "coco_vocab.pkl"
    for data in (p2.dumps(system),
                 p2.dumps(p2.NewObj(p2.Global("vocab", "Vocabulary"), {"word2idx": system, "idx2word": {}, "idx": 0})),
                 p2.dumps(p2.Reduce(p2.Global("vocab", "Vocabulary"), (cmd,)))):
        v.write_bytes(data)
        with pytest.raises(ValueError, match=r"refers to the global 'posix'.'system'|refused"):
            load_vocab(v)
        assert not marker.exists()
