"""The released VSE++ models (Faghri et al. 2018, ``fartashf/vsepp``): ``model_best.pth.tar`` + vocabulary.

KT-GAN's Rank-1 uses "the trained retrieval model provided by [5]" (VSE++). The authors' runs
(``runs.tar``: ``runs/<name>/model_best.pth.tar``) and vocabularies (``vocab.tar``:
``vocab/<data_name>_vocab.pkl``) load here into the project's VSE++ modules
(:mod:`t2ibench.evaluators.vse`) without unpickling arbitrary objects.

Released structure (``train.py`` ``save_checkpoint``, ``model.py``, ``vocab.py``):

- checkpoint: ``torch.save({"epoch", "model": [img_enc.state_dict(), txt_enc.state_dict()],
  "best_rsum", "opt": argparse.Namespace(...), "Eiters"})`` (Python 2.7, PyTorch 0.2-0.4: the
  legacy, non-zip format; a re-save by a newer torch is a zip; both load);
- ``opt`` holds the architecture: ``data_name`` (``*_precomp``: precomputed image features,
  else a CNN on images), ``embed_size``, ``word_dim``, ``num_layers``, ``vocab_size``,
  ``img_dim``, ``cnn_type``, ``use_abs``, ``no_imgnorm``, ``measure``; also ``vocab_path``;
- text encoder ``EncoderText``: ``embed.weight [vocab, word_dim]``, GRU ``rnn.weight_ih_l{k}``,
  ``rnn.weight_hh_l{k}``, ``rnn.bias_ih_l{k}``, ``rnn.bias_hh_l{k}`` (hidden = ``embed_size``);
  output at the caption's last token, L2-normalised (then ``abs`` if ``use_abs``) — the same
  keys and forward as :class:`~t2ibench.evaluators.vse.GRUTextEncoder`;
- image encoder ``EncoderImagePrecomp``: ``fc.weight [embed_size, img_dim]``, ``fc.bias``;
  features -> fc -> L2 norm (unless ``no_imgnorm``) -> ``abs`` if ``use_abs``;
  ``EncoderImageFull`` with a ResNet: ``cnn.module.<torchvision resnet keys>`` (the CNN is
  wrapped in ``nn.DataParallel``; ``cnn.module.fc`` is emptied) and ``fc.*``; images -> CNN ->
  L2 norm -> fc -> L2 norm (unless ``no_imgnorm``) -> ``abs`` if ``use_abs`` — the keys and
  forward of :class:`~t2ibench.evaluators.vse.ResNetImageEncoder` once ``cnn.module.`` reads ``cnn.``;
- vocabulary: a pickled ``vocab.Vocabulary`` (``word2idx``, ``idx2word``, ``idx``; ``<pad>`` 0,
  ``<start>`` 1, ``<end>`` 2, ``<unk>`` 3); a caption becomes ``<start>`` + ``nltk.tokenize.
  word_tokenize(caption.lower())`` + ``<end>``, unknown words ``<unk>``.

Loading maps every key: a missing or extra key, or a wrong shape, is a ``ValueError`` naming the
file and the keys. One stated leniency: BatchNorm ``num_batches_tracked`` buffers (added by
PyTorch 0.4.1, so absent from the older released files) may be missing; they do not enter an
eval-mode forward.

How the pickles are read (the choice asked for by the issue):

- the checkpoint with ``torch.load(weights_only=True)``, inside
  ``torch.serialization.safe_globals([argparse.Namespace])``: torch's own restricted unpickler
  reads both container formats (zip and legacy) and its storages, and admits tensors, ordered
  dicts and plain data; the single added global is ``argparse.Namespace``, a plain attribute
  holder rebuilt by ``object.__new__`` and an update of its ``__dict__`` (no code from the file
  runs). It is turned into a dict right away, and only plain values are accepted in it.
  Re-implementing torch's storage layouts in a second unpickler would be a larger parser to
  trust than one scoped extra global;
- the vocabulary (a separate plain pickle) with :func:`t2ibench.data.safe_pickle.load_pickle`
  and its ``"vsepp-vocabulary"`` allowance: ``vocab.Vocabulary`` (or ``__main__.Vocabulary``)
  becomes the dict of its attributes; every other global is refused.

Differences from the released evaluation: captions are tokenised by NLTK's ``word_tokenize`` with
``preserve_line=True`` (no Punkt sentence split, whose model NLTK downloads separately): for a
caption of several sentences a period inside it stays attached to its word; NLTK versions after
2017 changed a few Treebank rules (quotes). Images are resized (shorter side 256, antialiased
bilinear, rounded to uint8 levels) and centre-cropped to 224 with torch, not PIL (VSE++'s test
transform ``Resize(256)``, ``CenterCrop(224)``, ImageNet mean/std). Order-embedding runs
(``measure='order'``) and VGG image encoders are refused with a clear error.
"""
from __future__ import annotations

import argparse
import re
import warnings
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from t2ibench.evaluators.vse import IMAGENET_MEAN, IMAGENET_STD, RESNETS, GRUTextEncoder, ResNetImageEncoder

SPECIALS = ("<pad>", "<start>", "<end>", "<unk>")
#: the top-level entries of a released checkpoint (``train.py`` ``save_checkpoint``)
CHECKPOINT_KEYS = ("epoch", "model", "best_rsum", "opt", "Eiters")
#: ``opt`` fields the architecture is built from
OPT_FIELDS = ("data_name", "embed_size", "word_dim", "num_layers", "vocab_size")
RESIZE, CROP = 256, 224


# -- reading the files ---------------------------------------------------------------------------

def _plain(value) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, (str, bytes, int, float, bool))


def load_checkpoint(path) -> dict:
    """A released ``model_best.pth.tar`` as ``{"model": [img_state, txt_state], "opt": dict, ...}``.

    Read with ``torch.load(weights_only=True)`` plus ``argparse.Namespace`` (module docstring);
    ``opt`` is returned as a dict of plain values. ValueError naming the file when it is not a
    torch file, needs any other global, or does not have the released structure.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ValueError(f"VSE++ checkpoint: no such file {path}")

    def read(**encoding):
        with torch.serialization.safe_globals([argparse.Namespace]), warnings.catch_warnings():
            warnings.filterwarnings("ignore", "pickle_load_args only works")  # it does: encoding is honoured
            return torch.load(path, map_location="cpu", weights_only=True, **encoding)

    try:
        try:
            ckpt = read()
        except UnicodeDecodeError:  # a Python-2 str that is not UTF-8 (torch's default): Latin-1 maps every byte
            ckpt = read(encoding="latin1")
    except Exception as e:  # noqa: BLE001 — torch's text suggests weights_only=False: not passed on
        found = re.search(r"GLOBAL ([\w.]+)", str(e))
        why = (f"it refers to the global {found.group(1)}; a released VSE++ checkpoint needs only tensors, plain "
               f"data and argparse.Namespace, so anything else is refused (nothing from the file was run)"
               if found else f"{type(e).__name__}")
        raise ValueError(f"VSE++ checkpoint {path}: not readable with torch.load(weights_only=True) "
                         f"({why})") from None
    if not isinstance(ckpt, dict) or "model" not in ckpt or "opt" not in ckpt:
        keys = sorted(ckpt) if isinstance(ckpt, dict) else type(ckpt).__name__
        raise ValueError(f"VSE++ checkpoint {path}: expected VSE++'s train.py checkpoint, a dict with keys "
                         f"{list(CHECKPOINT_KEYS)}; got {keys}")
    extra = sorted(set(ckpt) - set(CHECKPOINT_KEYS))
    if extra:
        raise ValueError(f"VSE++ checkpoint {path}: unexpected top-level keys {extra}; "
                         f"expected {list(CHECKPOINT_KEYS)}")
    opt = ckpt["opt"]
    opt = vars(opt) if isinstance(opt, argparse.Namespace) else opt
    if not isinstance(opt, dict) or not all(isinstance(k, str) and _plain(v) for k, v in opt.items()):
        raise ValueError(f"VSE++ checkpoint {path}: 'opt' is not an argparse.Namespace of plain values")
    model = ckpt["model"]
    if not (isinstance(model, (list, tuple)) and len(model) == 2 and all(
            isinstance(s, dict) and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in s.items())
            for s in model)):
        raise ValueError(f"VSE++ checkpoint {path}: 'model' must be [image encoder state dict, text encoder state "
                         f"dict] (VSE.state_dict()), got {type(model).__name__}")
    return {**{k: ckpt[k] for k in CHECKPOINT_KEYS if k in ckpt}, "opt": dict(opt), "model": [dict(s) for s in model]}


def load_vocab(path) -> dict[str, int]:
    """``word2idx`` of a released ``<data_name>_vocab.pkl`` (a pickled ``Vocabulary``), checked:
    ``idx2word`` is its inverse, ``idx`` its size, and the four special tokens are present."""
    from t2ibench.data.safe_pickle import load_pickle

    path = Path(path).expanduser()
    obj = load_pickle(path, allow=("vsepp-vocabulary",))
    if not isinstance(obj, dict) or set(obj) != {"word2idx", "idx2word", "idx"}:
        raise ValueError(f"VSE++ vocabulary {path}: expected a pickled vocab.Vocabulary with the attributes "
                         f"word2idx, idx2word and idx; got {type(obj).__name__}"
                         + (f" with {sorted(obj)}" if isinstance(obj, dict) else ""))
    w2i, i2w, n = obj["word2idx"], obj["idx2word"], obj["idx"]
    if not (isinstance(w2i, dict) and isinstance(i2w, dict) and type(n) is int
            and all(isinstance(w, str) and type(i) is int for w, i in w2i.items())):
        raise ValueError(f"VSE++ vocabulary {path}: word2idx must map str to int, idx2word int to str, idx be an int")
    if sorted(w2i.values()) != list(range(n)) or len(i2w) != n or any(i2w.get(i) != w for w, i in w2i.items()):
        raise ValueError(f"VSE++ vocabulary {path}: word2idx and idx2word are not inverse bijections onto "
                         f"0..idx-1 (idx {n}, {len(w2i)} words)")
    missing = [s for s in SPECIALS if s not in w2i]
    if missing:
        raise ValueError(f"VSE++ vocabulary {path}: the special tokens {missing} are missing")
    return dict(w2i)


def find_vocab(checkpoint, data_name: str) -> Path:
    """``<data_name>_vocab.pkl`` next to the checkpoint, in ``vocab/`` beside it, or in the ``vocab/``
    of the release folder two levels up (``runs/<run>/model_best.pth.tar`` + ``vocab/``)."""
    ckpt_dir = Path(checkpoint).expanduser().resolve().parent
    name = f"{data_name}_vocab.pkl"
    places = [ckpt_dir / name, ckpt_dir / "vocab" / name, ckpt_dir.parent / "vocab" / name,
              ckpt_dir.parent.parent / "vocab" / name]
    for p in places:
        if p.is_file():
            return p
    raise ValueError(f"VSE++ checkpoint {checkpoint}: its vocabulary {name} (from VSE++'s vocab.tar) was not found; "
                     f"looked in {', '.join(str(p.parent) for p in places)}")


# -- tokenizer -----------------------------------------------------------------------------------

class VocabTokenizer:
    """VSE++'s caption ids: ``<start>`` + NLTK word tokens of the lower-cased caption + ``<end>``."""

    def __init__(self, word2idx: dict[str, int]):
        try:
            import nltk
            from nltk.tokenize import word_tokenize
        except ImportError:
            raise ValueError("the released VSE++ vocabulary tokenises with NLTK: pip install nltk "
                             "(or pip install 't2ibench[vsepp]')") from None
        self.word2idx = word2idx
        self._tokenize = word_tokenize
        self.description = f"nltk {nltk.__version__} word_tokenize(caption.lower(), preserve_line=True)"
        self.vocab_size = len(word2idx)

    def tokens(self, caption: str) -> list[str]:
        return ["<start>"] + self._tokenize(str(caption).lower(), preserve_line=True) + ["<end>"]

    def encode(self, caption: str) -> list[int]:
        unk = self.word2idx["<unk>"]
        return [self.word2idx.get(t, unk) for t in self.tokens(caption)]

    def batch(self, captions) -> tuple[torch.Tensor, torch.Tensor]:
        """``(ids int64 [N, L], lengths int64 [N])``, padded with ``<pad>`` (0) to the longest."""
        from t2ibench.validation import check_captions

        encoded = [self.encode(c) for c in check_captions(captions)]
        lengths = torch.tensor([len(e) for e in encoded], dtype=torch.int64)
        ids = torch.full((len(encoded), int(lengths.max())), self.word2idx["<pad>"], dtype=torch.int64)
        for i, e in enumerate(encoded):
            ids[i, :len(e)] = torch.tensor(e)
        return ids, lengths


# -- the model -----------------------------------------------------------------------------------

def _opt_int(opt: dict, key: str, path) -> int:
    v = opt.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"VSE++ checkpoint {path}: opt.{key} must be a positive int, got {v!r}")
    return v


class ReleasedVSE(nn.Module):
    """VSE++'s ``img_enc`` and ``txt_enc`` as the released ``opt`` describes them (module docstring)."""

    def __init__(self, opt: dict, path="checkpoint"):
        super().__init__()
        missing = [k for k in OPT_FIELDS if k not in opt]
        if missing:
            raise ValueError(f"VSE++ checkpoint {path}: opt lacks {missing}")
        if opt.get("measure", "cosine") != "cosine":
            raise ValueError(f"VSE++ checkpoint {path}: measure {opt.get('measure')!r} (order embeddings) is not "
                             f"supported: Rank-1 ranks by cosine similarity")
        self.opt = dict(opt)
        embed = _opt_int(opt, "embed_size", path)
        self.precomp = str(opt["data_name"]).endswith("_precomp")
        self.use_abs, self.no_imgnorm = bool(opt.get("use_abs", False)), bool(opt.get("no_imgnorm", False))
        if self.precomp:
            self.img_enc = nn.Module()  # EncoderImagePrecomp: its one layer, named fc
            self.img_enc.fc = nn.Linear(_opt_int(opt, "img_dim", path), embed)
        else:
            cnn = opt.get("cnn_type", "vgg19")
            if cnn not in RESNETS:
                raise ValueError(f"VSE++ checkpoint {path}: image encoder cnn_type {cnn!r} is not supported; "
                                 f"supported: precomputed features (data_name '*_precomp') or {RESNETS}")
            self.img_enc = ResNetImageEncoder(cnn, embed)
        self.txt_enc = GRUTextEncoder(_opt_int(opt, "vocab_size", path), _opt_int(opt, "word_dim", path), embed,
                                      _opt_int(opt, "num_layers", path))

    def _finish(self, x: torch.Tensor, normalise: bool) -> torch.Tensor:
        x = F.normalize(x, dim=1) if normalise else x
        return x.abs() if self.use_abs else x

    def encode_features(self, features: torch.Tensor) -> torch.Tensor:
        """``EncoderImagePrecomp``: precomputed features ``[N, img_dim]`` -> ``[N, embed_size]``."""
        if not self.precomp:
            raise ValueError("encode_features: this VSE++ run encodes images (EncoderImageFull), not features")
        return self._finish(self.img_enc.fc(features), not self.no_imgnorm)

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 ``[N, 3, H, W]`` -> VSE++'s test input: shorter side 256, centre 224, ImageNet mean/std."""
        from t2ibench.imageops import resize_antialiased

        h, w = images.shape[-2:]
        s = RESIZE / min(h, w)
        x = resize_antialiased(images.float(), (max(CROP, round(h * s)), max(CROP, round(w * s))), round_levels=True)
        top, left = (x.shape[-2] - CROP) // 2, (x.shape[-1] - CROP) // 2
        x = x[..., top:top + CROP, left:left + CROP] / 255.0
        mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1)
        return (x - mean) / std

    def encode_pixels(self, x: torch.Tensor) -> torch.Tensor:
        """``EncoderImageFull`` on preprocessed images ``[N, 3, h, w]``."""
        if self.precomp:
            raise ValueError(f"VSE++ run {self.opt['data_name']!r} reads precomputed image features, not images")
        return self._finish(self.img_enc.fc(F.normalize(self.img_enc.cnn(x), dim=1)), not self.no_imgnorm)

    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        return self.encode_pixels(self.preprocess(images))

    def encode_ids(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``EncoderText``: ids ``[N, L]``, lengths ``[N]`` -> ``[N, embed_size]``."""
        return self._finish(self.txt_enc(ids, lengths), False)


def map_state(model: ReleasedVSE, img_state: dict, txt_state: dict, path) -> dict[str, torch.Tensor]:
    """The released ``[img_state, txt_state]`` under ``model``'s names (``cnn.module.`` -> ``cnn.``),
    checked key by key and shape by shape against ``model``; ValueError naming the file otherwise."""
    mapped: dict[str, torch.Tensor] = {}
    for k, v in img_state.items():
        if not model.precomp and k.startswith("cnn.module."):
            k = "cnn." + k[len("cnn.module."):]
        mapped[f"img_enc.{k}"] = v
    mapped.update({f"txt_enc.{k}": v for k, v in txt_state.items()})
    expected = model.state_dict()
    missing = [k for k in expected if k not in mapped and not k.endswith(".num_batches_tracked")]
    extra = [k for k in mapped if k not in expected]
    if missing or extra:
        def released(k):
            k = k.split(".", 1)[1]
            return "cnn.module." + k[4:] if not model.precomp and k.startswith("cnn.") else k
        raise ValueError(f"VSE++ checkpoint {path}: the state dicts do not match the run's opt "
                         f"({model.opt['data_name']}, {model.opt.get('cnn_type')}): "
                         + (f"missing {[released(k) for k in missing[:8]]}{' ...' if len(missing) > 8 else ''} "
                            if missing else "")
                         + (f"unexpected {[released(k) for k in extra[:8]]}{' ...' if len(extra) > 8 else ''}"
                            if extra else ""))
    wrong = [(k, tuple(mapped[k].shape), tuple(v.shape)) for k, v in expected.items()
             if k in mapped and mapped[k].shape != v.shape]
    if wrong:
        k, got, want = wrong[0]
        raise ValueError(f"VSE++ checkpoint {path}: {k.split('.', 1)[1]} has shape {got}, the run's opt gives "
                         f"{want}" + (f" ({len(wrong)} tensors of wrong shape)" if len(wrong) > 1 else ""))
    for k, v in expected.items():
        if k not in mapped:  # num_batches_tracked of a pre-0.4.1 file
            mapped[k] = torch.zeros_like(v)
    return {k: v.float() if v.is_floating_point() else v for k, v in mapped.items()}


def load_released_vse(checkpoint, vocab=None, device: str = "cpu"):
    """``(model in eval mode, VocabTokenizer, info)`` from a released ``model_best.pth.tar`` and its
    vocabulary (``vocab``: the ``<data_name>_vocab.pkl``; ``None`` looks where :func:`find_vocab` does).

    ``info``: ``checkpoint`` / ``vocab`` paths and sha256s, ``opt``, ``epoch``, ``best_rsum``,
    ``Eiters``. The vocabulary size must equal ``opt.vocab_size`` and the embedding's rows.
    """
    from t2ibench.io import sha256_file

    path = Path(checkpoint).expanduser()
    ckpt = load_checkpoint(path)
    opt = ckpt["opt"]
    model = ReleasedVSE(opt, path)
    state = map_state(model, *ckpt["model"], path)
    vocab_path = Path(vocab).expanduser() if vocab is not None else find_vocab(path, str(opt["data_name"]))
    word2idx = load_vocab(vocab_path)
    if len(word2idx) != opt["vocab_size"]:
        raise ValueError(f"VSE++ vocabulary {vocab_path}: {len(word2idx)} words, but checkpoint {path} was trained "
                         f"with vocab_size {opt['vocab_size']}; they do not belong together")
    model.load_state_dict(state, strict=True)
    info = {"checkpoint": str(path), "checkpoint_sha256": sha256_file(path), "vocab": str(vocab_path),
            "vocab_sha256": sha256_file(vocab_path), "opt": opt,
            **{k: ckpt.get(k) for k in ("epoch", "best_rsum", "Eiters")}}
    return model.to(device).eval(), VocabTokenizer(word2idx), info
