"""DAMSM: AttnGAN's Deep Attentional Multimodal Similarity Model (Xu et al. 2018, Sec. 3.3).

The text and image encoders whose joint space R-precision reads (global image feature vs
sentence embedding, cosine). Networks, losses and training follow AttnGAN's released code
(``code/model.py`` ``RNN_ENCODER``/``CNN_ENCODER``, ``code/miscc/losses.py``,
``code/GlobalAttention.py`` ``func_attention``, ``code/pretrain_DAMSM.py``); every
difference is listed below.

Text encoder (``RNN_ENCODER``): word embedding (300-d, uniform(-0.1, 0.1) init), dropout
0.5 on the embeddings, one bidirectional LSTM layer with 128 hidden units per direction.
Word features ``e`` = the LSTM outputs ``[N, 256, T]``, zero-padded to the tokenizer's
``max_len`` (18) so that the shape is fixed; sentence feature ``ē`` = the last hidden
states of both directions ``[N, 256]``. (AttnGAN passes ``dropout=0.5`` to the 1-layer
LSTM, where PyTorch ignores it; it is omitted here.)

Image encoder, two backbones (``config["backbone"]``):

- ``"inception"`` — AttnGAN's ``CNN_ENCODER``: torchvision ``inception_v3`` with ImageNet
  weights read from a user-given file (nothing is downloaded), frozen; input scaled to
  [-1, 1] and resized to 299x299 (bilinear, ``align_corners=False``, no antialias; AttnGAN's
  ``nn.Upsample`` of PyTorch 0.3 aligned corners); regions ``v`` = ``Mixed_6e`` (17x17x768)
  -> 1x1 conv (no bias) -> 256; global ``v̄`` = the 2048-d average pool of ``Mixed_7c`` ->
  linear -> 256; the two new layers initialised uniform(-0.1, 0.1). The frozen backbone is
  kept in eval mode during training (AttnGAN's ``cnn_model.train()`` lets its BatchNorm
  statistics drift although the weights are frozen).
- ``"cnn"`` — a small CNN trained from scratch on the dataset (the ``shapes`` evaluator,
  named as such in manifests and in the extractor's ``describe()``): input 64x64 in [-1, 1]
  (antialiased bilinear resize when another size is given); conv4x4/2 (3->w0), conv4x4/2
  (w0->w1), conv4x4/2 (w1->w2), conv3x3 (w2->w3), each with BatchNorm and LeakyReLU(0.2):
  an 8x8 grid of w3-d features -> 1x1 conv -> regions ``[N, 256, 8, 8]``; then conv3x3/2
  (w3->2·w3) + BN + LeakyReLU, global average pool, linear -> global ``[N, 256]``.

DAMSM loss (Eq. 7-12; ``γ1 = 4, γ2 = 5, γ3 = 10``), for a batch of ``M`` image-caption
pairs; ``v_j`` the regions of image ``Q``, ``e_i`` the ``T`` word features of caption ``D``:

- Eq. 7: ``s_ij = e_iᵀ v_j`` (dot product);
- Eq. 8: ``s̄_ij = exp(s_ij) / Σ_k exp(s_kj)`` — normalised over the caption's words ``k``;
- Eq. 9: ``α_j = exp(γ1 s̄_ij) / Σ_k exp(γ1 s̄_ik)``, ``c_i = Σ_j α_j v_j`` — over regions;
- ``R(c_i, e_i) = c_iᵀ e_i / max(‖c_i‖‖e_i‖, 1e-8)`` (cosine as in AttnGAN's code);
- Eq. 10: ``R(Q, D) = log Σ_i exp(γ2 R(c_i, e_i))`` — AttnGAN's *code* (``eq10="code"``,
  the default; it is what every released DAMSM was trained with). The paper writes
  ``log(Σ_i exp(γ2 R(c_i, e_i)))^(1/γ2)``, i.e. the code's value divided by ``γ2``
  (``eq10="paper"``);
- Eq. 11: ``P(D_i|Q_i) = exp(γ3 R(Q_i, D_i)) / Σ_j exp(γ3 R(Q_i, D_j))``;
- Eq. 12: ``L1^w = -mean_i log P(D_i|Q_i)`` (image -> text) and
  ``L2^w = -mean_i log P(Q_i|D_i)`` (text -> image, normalised over the batch's images).
  The code averages over the batch (``nn.CrossEntropyLoss``); the paper sums.
- Sentence level: the same with ``R(Q, D) = cos(v̄, ē)``: ``L1^s``, ``L2^s``.
- Masking (AttnGAN's code): in row ``i``, the pairs ``(i, j)`` with ``j != i`` whose items
  have the same class get score ``-inf`` (they are neither positives nor negatives). Class
  ``-1`` means "no class" and is never masked.
- ``L_DAMSM = L1^w + L2^w + L1^s + L2^s`` (``pretrain_DAMSM.py``).

The word-level attention is computed for every (image, caption) pair of the batch at once;
``‖c_i‖²`` is obtained as ``αᵀ (VᵀV) α`` (``VᵀV`` the regions' Gram matrix), which equals
``‖Σ_j α_j v_j‖²`` and is cheaper when there are fewer regions than dimensions.

Training (:func:`train`): the dataset's ``train`` split (``shapes``: at its 64 px, no
augmentation — a horizontal flip would contradict the captions' left/right words); the
vocabulary is built from the train captions (:class:`~t2ibench.data.tokenizer.Tokenizer`);
every epoch each image is paired with one of its captions drawn from a generator seeded by
``(seed, epoch)``; Adam (``training.fit``'s AdamW with weight decay 0; AttnGAN uses betas
(0.5, 0.999) and lr decay 0.98 per epoch over 600 epochs, here the default betas and a
constant lr) with the global gradient norm clipped at 5 (AttnGAN clips only the text encoder's
gradients, at 0.25); batches of 48 as AttnGAN's birds config;
checkpoint/resume after every epoch. Held-out quality on the ``test`` split goes into the
manifest (:func:`evaluate_heldout`).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from t2ibench.imageops import resize_antialiased
from t2ibench.evaluators.checkpoint import (WEIGHTS_DIR, load_into, load_state, save_state,
                                            write_manifest)
from t2ibench.safe_load import read_state_dict
from t2ibench.evaluators.training import add_training_args, check_epochs, command_line, load_train_test, run_info

GAMMA1, GAMMA2, GAMMA3 = 4.0, 5.0, 10.0
EPS = 1e-8
ARCH = "damsm-v1"
INCEPTION_SIZE = 299
BACKBONES = ("cnn", "inception")

#: architecture defaults; ``vocab_size`` and ``max_len`` come from the tokenizer; ``rnn_hidden``
#: (units per LSTM direction) is always ``nef // 2`` (AttnGAN: ``nhidden // num_directions``)
BASE_CONFIG = {"arch": ARCH, "nef": 256, "emb_dim": 300, "rnn_hidden": 128, "dropout": 0.5,
               "gamma1": GAMMA1, "gamma2": GAMMA2, "gamma3": GAMMA3, "eq10": "code"}
CNN_CONFIG = {"backbone": "cnn", "input_size": 64, "cnn_widths": [16, 32, 64, 128]}
INCEPTION_CONFIG = {"backbone": "inception", "input_size": INCEPTION_SIZE}

#: training defaults per backbone
TRAIN_DEFAULTS = {"cnn": {"epochs": 6, "batch_size": 48, "lr": 2e-3, "grad_clip": 5.0, "image_size": 64},
                  "inception": {"epochs": 600, "batch_size": 48, "lr": 2e-3, "grad_clip": 5.0, "image_size": 299}}
#: held-out protocol recorded in the manifest
HELDOUT_PAIRS = 1000


def weights_paths(dataset: str, out_dir=WEIGHTS_DIR) -> tuple[Path, Path]:
    """``(<out>/damsm-<dataset>.safetensors, <out>/damsm-<dataset>.json)``."""
    out_dir = Path(out_dir)
    return out_dir / f"damsm-{dataset}.safetensors", out_dir / f"damsm-{dataset}.json"


# ----------------------------------------------------------------------------- losses
def _class_mask(class_ids, n: int, device) -> torch.Tensor | None:
    """bool ``[n, n]``: True where ``(i, j)``, ``j != i``, share a class (class -1 never matches)."""
    if class_ids is None:
        return None
    c = torch.as_tensor(np.asarray(class_ids), dtype=torch.int64, device=device).reshape(-1)
    if c.numel() != n:
        raise ValueError(f"class_ids: expected {n} entries, got {c.numel()}")
    mask = (c[:, None] == c[None, :]) & (c[:, None] >= 0)
    mask.fill_diagonal_(False)
    return mask


def _cross_entropy_both(scores: torch.Tensor, class_ids) -> tuple[torch.Tensor, torch.Tensor]:
    """``(CE over rows, CE over columns)`` of ``scores [n, n]`` with diagonal targets, masked."""
    n = scores.shape[0]
    mask = _class_mask(class_ids, n, scores.device)
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))
    labels = torch.arange(n, device=scores.device)
    return F.cross_entropy(scores, labels), F.cross_entropy(scores.t(), labels)


def _flat_regions(regions: torch.Tensor) -> torch.Tensor:
    if regions.dim() == 4:
        return regions.flatten(2)
    if regions.dim() != 3:
        raise ValueError(f"regions: expected [B, D, H, W] or [B, D, R], got shape {tuple(regions.shape)}")
    return regions


def word_similarities(regions: torch.Tensor, words: torch.Tensor, lengths, gamma1: float = GAMMA1,
                      gamma2: float = GAMMA2, eq10: str = "code") -> torch.Tensor:
    """``R(Q_a, D_b)`` of Eq. 10 for every image ``a`` and caption ``b``: float ``[B_img, B_cap]``.

    regions: ``[B_img, D, H, W]`` or ``[B_img, D, R]``; words: ``[B_cap, D, T]`` (columns past
    each caption's length are ignored); lengths: ``[B_cap]`` number of words (>= 1).
    """
    if eq10 not in ("code", "paper"):
        raise ValueError(f"eq10: expected 'code' or 'paper', got {eq10!r}")
    v = _flat_regions(regions)
    lengths = torch.as_tensor(lengths, device=words.device).long().reshape(-1)
    if words.dim() != 3 or words.shape[1] != v.shape[1] or lengths.numel() != words.shape[0]:
        raise ValueError(f"words {tuple(words.shape)}, regions {tuple(v.shape)}, lengths {tuple(lengths.shape)}: "
                         f"expected words [B, D, T], regions [B', D, R], lengths [B]")
    if (lengths < 1).any() or (lengths > words.shape[2]).any():
        raise ValueError(f"lengths: expected values in [1, {words.shape[2]}], got {lengths.tolist()}")
    t_max = int(lengths.max())
    e = words[:, :, :t_max]
    b_img, d, n_reg = v.shape
    b_cap = e.shape[0]
    valid = torch.arange(t_max, device=e.device)[None, :] < lengths[:, None]           # [Bc, T]
    # layout [image a, region r, caption b, word t]: both softmaxes run over contiguous-ish dims
    s = torch.matmul(v.transpose(1, 2).reshape(b_img * n_reg, d),
                     e.permute(1, 0, 2).reshape(d, b_cap * t_max)).view(b_img, n_reg, b_cap, t_max)  # Eq. 7
    pad = torch.zeros(b_cap, t_max, dtype=s.dtype, device=s.device).masked_fill(~valid, float("-inf"))
    s_bar = torch.softmax(s + pad, dim=3)                                             # Eq. 8 (over words)
    alpha = torch.softmax(gamma1 * s_bar, dim=1)                                      # Eq. 9 (over regions)
    ce = (alpha * s).sum(1)                                                           # c_i . e_i  [Bi, Bc, T]
    gram = torch.bmm(v.transpose(1, 2), v)                                            # [Bi, R, R]
    a_gram = torch.bmm(gram, alpha.reshape(b_img, n_reg, b_cap * t_max)).view_as(alpha)
    c_norm = (a_gram * alpha).sum(1).clamp_min(1e-16).sqrt()                          # |c_i|
    e_norm = e.norm(dim=1)                                                            # [Bc, T]
    r = ce / (c_norm * e_norm[None]).clamp_min(EPS)                                   # R(c_i, e_i)
    r = (gamma2 * r).masked_fill(~valid[None], float("-inf"))
    sim = torch.logsumexp(r, dim=2)                                                   # Eq. 10 (code)
    return sim / gamma2 if eq10 == "paper" else sim


def words_loss(regions: torch.Tensor, words: torch.Tensor, lengths, class_ids=None, gamma1: float = GAMMA1,
               gamma2: float = GAMMA2, gamma3: float = GAMMA3, eq10: str = "code"):
    """Word-level DAMSM loss ``(L1^w image->text, L2^w text->image, scores [B, B])`` (Eq. 7-12).

    Item ``i`` of ``regions`` and of ``words`` form the matching pair; ``scores[a, b] =
    γ3 R(Q_a, D_b)`` before masking. class_ids: ``[B]`` ints or ``None`` (no masking).
    """
    if regions.shape[0] != words.shape[0]:
        raise ValueError(f"regions and words: batch sizes differ ({regions.shape[0]} vs {words.shape[0]})")
    scores = gamma3 * word_similarities(regions, words, lengths, gamma1, gamma2, eq10)
    loss0, loss1 = _cross_entropy_both(scores, class_ids)
    return loss0, loss1, scores


def sentence_loss(image_global: torch.Tensor, sentence: torch.Tensor, class_ids=None, gamma3: float = GAMMA3):
    """Sentence-level DAMSM loss ``(L1^s image->text, L2^s text->image, scores [B, B])``:
    ``scores[a, b] = γ3 cos(v̄_a, ē_b)`` (norm product clamped at 1e-8), masked, cross-entropy."""
    if image_global.dim() != 2 or image_global.shape != sentence.shape:
        raise ValueError(f"image_global {tuple(image_global.shape)} and sentence {tuple(sentence.shape)}: "
                         f"expected two [B, D] tensors of the same shape")
    dots = image_global @ sentence.t()
    norms = image_global.norm(dim=1)[:, None] * sentence.norm(dim=1)[None, :]
    scores = gamma3 * dots / norms.clamp_min(EPS)
    loss0, loss1 = _cross_entropy_both(scores, class_ids)
    return loss0, loss1, scores


def damsm_loss(regions, image_global, words, sentence, lengths, class_ids=None, gamma1: float = GAMMA1,
               gamma2: float = GAMMA2, gamma3: float = GAMMA3, eq10: str = "code") -> dict:
    """``L_DAMSM = L1^w + L2^w + L1^s + L2^s``: ``{"loss", "w_loss0", "w_loss1", "s_loss0", "s_loss1"}``."""
    w0, w1, _ = words_loss(regions, words, lengths, class_ids, gamma1, gamma2, gamma3, eq10)
    s0, s1, _ = sentence_loss(image_global, sentence, class_ids, gamma3)
    return {"loss": w0 + w1 + s0 + s1, "w_loss0": w0.detach(), "w_loss1": w1.detach(),
            "s_loss0": s0.detach(), "s_loss1": s1.detach()}


# ----------------------------------------------------------------------------- networks
class TextEncoder(nn.Module):
    """AttnGAN's ``RNN_ENCODER`` (bidirectional LSTM): ``forward(ids [N, L], lengths [N])`` ->
    ``(words [N, nef, max_len] zero-padded, sentence [N, nef])``."""

    def __init__(self, vocab_size: int, emb_dim: int = 300, nef: int = 256, dropout: float = 0.5, max_len: int = 18):
        super().__init__()
        if nef % 2:
            raise ValueError(f"nef: expected an even number (two LSTM directions), got {nef}")
        self.max_len = max_len
        self.encoder = nn.Embedding(vocab_size, emb_dim)
        self.drop = nn.Dropout(dropout)
        self.rnn = nn.LSTM(emb_dim, nef // 2, 1, batch_first=True, bidirectional=True)
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        emb = self.drop(self.encoder(ids))
        packed = nn.utils.rnn.pack_padded_sequence(emb, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, (h, _) = self.rnn(packed)
        out = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=self.max_len)[0]
        words = out.transpose(1, 2).contiguous()
        sentence = h.transpose(0, 1).reshape(ids.shape[0], -1)
        return words, sentence


def _block(cin: int, cout: int, k: int, stride: int, padding: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, k, stride, padding, bias=False), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, inplace=True)]


class CNNImageEncoder(nn.Module):
    """The small from-scratch CNN backbone (64 px -> 8x8 regions + global), see the module doc."""

    def __init__(self, nef: int = 256, widths=(16, 32, 64, 128)):
        super().__init__()
        w0, w1, w2, w3 = widths
        self.trunk = nn.Sequential(*_block(3, w0, 4, 2, 1), *_block(w0, w1, 4, 2, 1), *_block(w1, w2, 4, 2, 1),
                                   *_block(w2, w3, 3, 1, 1))
        self.emb_features = nn.Conv2d(w3, nef, 1, bias=False)
        self.head = nn.Sequential(*_block(w3, 2 * w3, 3, 2, 1))
        self.emb_cnn_code = nn.Linear(2 * w3, nef)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.trunk(x)
        return self.emb_features(f), self.emb_cnn_code(self.head(f).mean(dim=(2, 3)))


_INCEPTION_LAYERS = ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "Conv2d_3b_1x1", "Conv2d_4a_3x3",
                     "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e",
                     "Mixed_7a", "Mixed_7b", "Mixed_7c")


def load_inception_state(path) -> dict[str, torch.Tensor]:
    """Read torchvision ImageNet ``inception_v3`` weights (``.pth`` via ``torch.load(weights_only=True)``,
    or ``.safetensors``); a clear ``ValueError`` when the file is missing or unreadable."""
    if path is None:
        raise ValueError("the 'inception' DAMSM backbone needs ImageNet Inception-v3 weights, which cannot be "
                         "downloaded here: pass --imagenet-inception-weights PATH (torchvision's "
                         "inception_v3_google-0cc3c7bd.pth or -1a9a5a14.pth, or a safetensors copy)")
    state = read_state_dict(path, "inception weights")
    if "Mixed_6e.branch1x1.conv.weight" not in state:
        raise ValueError(f"inception weights: {path} is not a torchvision inception_v3 state dict "
                         f"(no 'Mixed_6e.branch1x1.conv.weight')")
    return state


class InceptionImageEncoder(nn.Module):
    """AttnGAN's ``CNN_ENCODER``: frozen ImageNet Inception-v3, regions from Mixed_6e (17x17x768 -> 1x1
    conv -> nef), global from the 2048-d pool (-> linear -> nef); input resized to 299."""

    def __init__(self, nef: int = 256, inception_weights=None):
        super().__init__()
        from torchvision.models import inception_v3

        net = inception_v3(weights=None, aux_logits=True, init_weights=False)
        if inception_weights is not None:
            state = load_inception_state(inception_weights)
            try:
                net.load_state_dict(state, strict=True)
            except RuntimeError as e:
                raise ValueError(f"inception weights: {inception_weights} does not fit torchvision's "
                                 f"inception_v3 ({e})") from e
        for name in _INCEPTION_LAYERS:
            setattr(self, name, getattr(net, name))
        for p in self.parameters():
            p.requires_grad_(False)
        self.emb_features = nn.Conv2d(768, nef, 1, bias=False)
        self.emb_cnn_code = nn.Linear(2048, nef)
        nn.init.uniform_(self.emb_features.weight, -0.1, 0.1)
        nn.init.uniform_(self.emb_cnn_code.weight, -0.1, 0.1)

    def train(self, mode: bool = True):
        super().train(mode)
        for name in _INCEPTION_LAYERS:  # the frozen backbone stays in eval mode (see the module doc)
            getattr(self, name).eval()
        return self

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if tuple(x.shape[-2:]) != (INCEPTION_SIZE, INCEPTION_SIZE):
            x = F.interpolate(x, size=(INCEPTION_SIZE, INCEPTION_SIZE), mode="bilinear", align_corners=False)
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for name in _INCEPTION_LAYERS[5:13]:
            x = getattr(self, name)(x)
        features = x
        x = self.Mixed_7c(self.Mixed_7b(self.Mixed_7a(x)))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.emb_features(features), self.emb_cnn_code(x)


class DAMSM(nn.Module):
    """Text encoder + image encoder for ``config`` (see :func:`make_config`)."""

    def __init__(self, config: dict, inception_weights=None):
        super().__init__()
        self.config = dict(config)
        nef = config["nef"]
        self.text_encoder = TextEncoder(config["vocab_size"], config["emb_dim"], nef, config["dropout"],
                                        config["max_len"])
        if config["backbone"] == "cnn":
            self.image_encoder = CNNImageEncoder(nef, config["cnn_widths"])
        else:
            self.image_encoder = InceptionImageEncoder(nef, inception_weights)

    def encode_images(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """float ``[N, 3, H, W]`` in [-1, 1] (see :func:`preprocess`) ->
        ``(regions [N, nef, h, w], global [N, nef])``."""
        return self.image_encoder(x)

    def encode_text(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.text_encoder(ids, lengths)


def make_config(vocab_size: int, max_len: int, backbone: str = "cnn") -> dict:
    if backbone not in BACKBONES:
        raise ValueError(f"backbone: expected one of {', '.join(BACKBONES)}, got {backbone!r}")
    return {**BASE_CONFIG, **(CNN_CONFIG if backbone == "cnn" else INCEPTION_CONFIG),
            "vocab_size": int(vocab_size), "max_len": int(max_len)}


def check_config(config) -> dict:
    if not isinstance(config, dict) or config.get("arch") != ARCH:
        raise ValueError(f"DAMSM config: expected a dict with arch {ARCH!r}, got {config!r:.200}")
    if config.get("backbone") not in BACKBONES:
        raise ValueError(f"DAMSM config: backbone must be one of {BACKBONES}, got {config.get('backbone')!r}")
    missing = {"nef", "emb_dim", "dropout", "vocab_size", "max_len", "input_size"} - set(config)
    if config["backbone"] == "cnn":
        missing |= {"cnn_widths"} - set(config)
    if missing:
        raise ValueError(f"DAMSM config: missing keys {sorted(missing)}")
    if config.get("rnn_hidden", config["nef"] // 2) != config["nef"] // 2:
        raise ValueError(f"DAMSM config: rnn_hidden must be nef // 2 = {config['nef'] // 2}, "
                         f"got {config['rnn_hidden']}")
    return config


def resize_mode(config: dict) -> str:
    if config["backbone"] == "cnn":
        return f"bilinear-antialias-{config['input_size']}"
    return f"bilinear-{INCEPTION_SIZE}-align_corners=False"


def fit_to_backbone(x: torch.Tensor, config: dict, value_range=(0.0, 255.0)) -> torch.Tensor:
    """float ``[N, 3, H, W]`` at the image backbone's input size: ``cnn``, an antialiased bilinear
    resize to ``input_size`` (skipped when already that size); ``inception`` resizes to 299 inside
    the encoder (AttnGAN), so nothing here. ``value_range``: the scale of ``x`` (clamped to it)."""
    return resize_antialiased(x, config["input_size"], value_range=value_range) if config["backbone"] == "cnn" else x


def preprocess(images: torch.Tensor, config: dict) -> torch.Tensor:
    """uint8 ``[N, 3, H, W]`` -> float in [-1, 1] at the backbone's input size (:func:`fit_to_backbone`)."""
    return fit_to_backbone(images.float(), config) / 127.5 - 1.0


# ----------------------------------------------------------------------------- loading
def load_damsm(weights, manifest=None, device: str = "cpu", what: str = "DAMSM weights"):
    """Load DAMSM weights (safetensors, never pickle) and the tokenizer from the manifest beside them.

    Returns ``(model in eval mode, tokenizer, sha256, manifest dict)``. ``manifest``: a path,
    or ``None`` for ``<stem>.json`` next to the weights (it is required: it holds the
    tokenizer). Any problem is a ``ValueError`` naming the file.
    """
    from t2ibench.data.tokenizer import Tokenizer

    path = Path(weights)
    man_path = Path(manifest) if manifest else path.with_suffix(".json")
    if not path.is_file():
        raise ValueError(f"{what}: no such file {path}")
    if not man_path.is_file():
        raise ValueError(f"{what}: {path} needs its manifest {man_path} (sha256, config and the tokenizer "
                         f"the text encoder was trained with); train one with: python -m t2ibench.evaluators.damsm")
    state, config, digest, man = load_state(path, man_path, what=what)
    if "tokenizer" not in man:
        raise ValueError(f"{what}: manifest {man_path} has no 'tokenizer' entry")
    tokenizer = Tokenizer.from_dict(man["tokenizer"])
    model = load_into(DAMSM(check_config(config)), state, path, what=what)
    if tokenizer.vocab_size != model.config["vocab_size"]:
        raise ValueError(f"{what}: the tokenizer in {man_path} has {tokenizer.vocab_size} words, the weights "
                         f"{model.config['vocab_size']}")
    return model.to(device).eval(), tokenizer, digest, man


# ----------------------------------------------------------------------------- encoding helpers
@torch.no_grad()
def encode_images(model: DAMSM, images, batch_size: int = 200, dataset=None,
                  with_regions: bool = True) -> tuple[torch.Tensor | None, torch.Tensor]:
    """``(regions, global)`` of uint8 images in batches, eval mode, on the CPU.

    ``images``: a uint8 tensor ``[N, 3, H, W]``, or (with ``dataset``) a sequence of indices
    into ``dataset`` whose images are loaded batch by batch. ``with_regions=False`` returns
    ``None`` for the regions (they are large)."""
    model.eval()
    device = next(model.parameters()).device
    regions, glob = [], []
    for i in range(0, len(images), batch_size):
        x = images[i:i + batch_size]
        x = dataset.images([int(j) for j in x]) if dataset is not None else x
        r, g = model.encode_images(preprocess(x.to(device), model.config))
        if with_regions:
            regions.append(r.cpu())
        glob.append(g.cpu())
    return (torch.cat(regions) if with_regions else None), torch.cat(glob)


@torch.no_grad()
def encode_captions(model: DAMSM, tokenizer, captions, batch_size: int = 500,
                    with_words: bool = True) -> tuple[torch.Tensor | None, torch.Tensor]:
    """``(words [N, nef, max_len], sentence [N, nef])`` of captions, eval mode, on the CPU
    (``with_words=False``: ``None`` for the words)."""
    model.eval()
    device = next(model.parameters()).device
    words, sent = [], []
    for i in range(0, len(captions), batch_size):
        ids, lengths = tokenizer.batch(captions[i:i + batch_size])
        w, s = model.encode_text(ids.to(device), lengths)
        if with_words:
            words.append(w.cpu())
        sent.append(s.cpu())
    return (torch.cat(words) if with_words else None), torch.cat(sent)


def _recall_at_1(sim: np.ndarray) -> float:
    """Fraction of rows whose diagonal entry is strictly the largest (ties count as misses)."""
    own = np.diag(sim)[:, None]
    others = np.where(np.eye(len(sim), dtype=bool), -np.inf, sim)
    return float((own[:, 0] > others.max(axis=1)).mean())


def evaluate_heldout(model: DAMSM, tokenizer, dataset, n_pairs: int = HELDOUT_PAIRS, seed: int = 0) -> dict:
    """Held-out retrieval quality of ``model`` on ``dataset`` (the test split).

    - retrieval: ``n_pairs`` images drawn without replacement (``np.random.default_rng([seed, 7])``),
      one caption each (drawn from the same generator); cosine of global image feature and
      sentence embedding; image->text R@1 (the own caption ranks first among the ``n_pairs``
      captions) and text->image R@1; ties count as misses;
    - R-precision of the real test images (DM-GAN protocol,
      :func:`t2ibench.metrics.r_precision.r_precision`): every test image with one caption
      (``np.random.default_rng([seed, 8])``), 100 candidates from the captions of the whole
      split of other classes, 10 chunks, seed ``seed``.
    """
    from t2ibench import defaults
    from t2ibench.metrics.r_precision import r_precision

    n = len(dataset)
    n_pairs = min(int(n_pairs), n)
    rng = np.random.default_rng([seed, 7])
    idx = np.sort(rng.choice(n, size=n_pairs, replace=False))
    caps = [dataset.captions(int(i)) for i in idx]
    chosen = [c[int(rng.integers(len(c)))] for c in caps]
    _, g = encode_images(model, idx, dataset=dataset, with_regions=False)
    _, s = encode_captions(model, tokenizer, chosen, with_words=False)
    gn = F.normalize(g.double(), dim=1)
    sn = F.normalize(s.double(), dim=1)
    sim = (gn @ sn.t()).numpy()
    out = {"heldout_recall_i2t_r1": round(_recall_at_1(sim), 5), "heldout_recall_t2i_r1": round(_recall_at_1(sim.T), 5),
           "heldout_n_pairs": n_pairs}

    _, g_all = encode_images(model, range(n), dataset=dataset, with_regions=False)
    rng2 = np.random.default_rng([seed, 8])
    all_caps = [dataset.captions(i) for i in range(n)]
    own = [c[int(rng2.integers(len(c)))] for c in all_caps]
    pool_texts = [t for c in all_caps for t in c]
    pool_classes = np.asarray([dataset.class_id(i) for i, c in enumerate(all_caps) for _ in c], dtype=np.int64)
    _, s_own = encode_captions(model, tokenizer, own, with_words=False)
    _, s_pool = encode_captions(model, tokenizer, pool_texts, with_words=False)
    classes = np.asarray([dataset.class_id(i) for i in range(n)], dtype=np.int64)
    rp = r_precision(g_all, s_own, s_pool, pool_classes, classes, n_candidates=defaults.R_PRECISION_CANDIDATES,
                     n_chunks=defaults.R_PRECISION_CHUNKS, candidates="other-classes", seed=seed)
    out.update({"heldout_r_precision": round(rp["value"], 5), "heldout_r_precision_std": round(rp["std"], 5),
                "heldout_r_precision_n": rp["n"], "heldout_r_precision_protocol": rp["protocol"]})
    return out


# ----------------------------------------------------------------------------- training
def _checkpoint_epoch(path) -> int:
    """Finished epochs recorded in a training checkpoint (0 when absent or unreadable: ``fit`` reports that)."""
    if not path or not Path(path).is_file():
        return 0
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        return int(ckpt.get("epoch", 0))
    except Exception:  # noqa: BLE001 — fit() raises the proper error for a corrupt checkpoint
        return 0


def train(out_dir, dataset: str = "shapes", seed: int = 0, device: str = "cpu", epochs: int | None = None,
          data_root=None, progress: bool = True, checkpoint=None, backbone: str | None = None,
          inception_weights=None, command: str | None = None, n_train: int | None = None,
          n_test: int | None = None, batch_size: int | None = None, heldout_pairs: int = HELDOUT_PAIRS,
          config_overrides: dict | None = None) -> dict:
    """Train a DAMSM on ``dataset``'s train split, measure it on the test split, write weights + manifest.

    Writes ``<out_dir>/damsm-<dataset>.safetensors`` and ``<out_dir>/damsm-<dataset>.json``
    and returns the manifest. backbone: ``"cnn"`` (default on ``shapes``) or ``"inception"``
    (default elsewhere; needs ``inception_weights``). checkpoint: a file written after every
    epoch; re-running the same call resumes from it. ``n_train``/``n_test`` (shapes only),
    ``batch_size``, ``heldout_pairs`` and ``config_overrides`` (e.g. smaller ``cnn_widths``,
    ``nef``, ``emb_dim``) shrink the run for tests.
    """
    import random

    from t2ibench.data.tokenizer import Tokenizer
    from t2ibench.data.training_pairs import CaptionedTrainSet
    from t2ibench.evaluators.training import TrainConfig, fit

    t0 = time.time()
    backbone = backbone or ("cnn" if dataset == "shapes" else "inception")
    if backbone not in BACKBONES:
        raise ValueError(f"backbone: expected one of {', '.join(BACKBONES)}, got {backbone!r}")
    td = TRAIN_DEFAULTS[backbone]
    epochs = check_epochs(epochs, td["epochs"])
    if backbone == "inception":
        load_inception_state(inception_weights)  # fail before loading any data
    # cnn: 64 px; inception: AttnGAN's 299 px (shapes stops at 256: its 64 px, upsampled by the encoder)
    train_ds, test_ds = load_train_test(dataset, 64 if backbone == "cnn" or dataset == "shapes" else td["image_size"],
                                        data_root=data_root, progress=progress, n_train=n_train, n_test=n_test)
    tokenizer = Tokenizer.build(t for i in range(len(train_ds)) for t in train_ds.captions(i))

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    config = check_config({**make_config(tokenizer.vocab_size, tokenizer.max_len, backbone),
                           **(config_overrides or {})})
    model = DAMSM(config, inception_weights).to(device)
    data = CaptionedTrainSet(train_ds, tokenizer, seed)
    tc = TrainConfig(epochs=epochs, batch_size=batch_size or td["batch_size"], lr=td["lr"], weight_decay=0.0,
                     grad_clip=td["grad_clip"], seed=seed)
    steps_per_epoch = len(train_ds) // tc.batch_size
    counter = {"step": _checkpoint_epoch(checkpoint) * steps_per_epoch}

    def loss_fn(idx: torch.Tensor) -> dict:
        epoch = counter["step"] // max(steps_per_epoch, 1)
        counter["step"] += 1
        images, ids, lengths, classes = data.batch(idx, epoch)
        regions, glob = model.encode_images(preprocess(images.to(device), config))
        words, sent = model.encode_text(ids.to(device), lengths)
        return damsm_loss(regions, glob, words, sent, lengths.to(device), classes, config["gamma1"],
                          config["gamma2"], config["gamma3"], config["eq10"])

    t_train = time.time()
    history = fit(model, loss_fn, len(train_ds), tc, checkpoint=checkpoint, progress=progress,
                  desc=f"damsm-{dataset}")
    train_time = time.time() - t_train
    model = model.cpu().eval()

    out_dir = Path(out_dir)
    weights_path, manifest_path = weights_paths(dataset, out_dir)
    save_state(model.state_dict(), weights_path, config)
    # measure exactly what was saved (read back unverified: the manifest does not exist yet)
    state, _, digest, _ = load_state(weights_path, False, what="DAMSM weights")
    saved = load_into(DAMSM(config), state, weights_path, what="DAMSM weights").eval()
    heldout = evaluate_heldout(saved, tokenizer, test_ds, n_pairs=heldout_pairs, seed=seed)
    if command is None:
        command = f"python -m t2ibench.evaluators.damsm --dataset {dataset} --out {out_dir} --seed {seed}"
        if data_root is not None:
            command += f" --data-root {data_root}"
        if epochs != td["epochs"]:
            command += f" --epochs {epochs}"
        if backbone != ("cnn" if dataset == "shapes" else "inception"):
            command += f" --backbone {backbone}"
        if inception_weights is not None:
            command += f" --imagenet-inception-weights {inception_weights}"
    described = ("cnn (small CNN trained from scratch on %s, 64 px)" % dataset if backbone == "cnn"
                 else "inception (frozen ImageNet Inception-v3, AttnGAN's CNN_ENCODER)")
    manifest = {
        "name": f"damsm-{dataset}",
        "weights_file": weights_path.name,
        "sha256": digest,
        "dtype": "float32",
        "backbone": backbone,
        "backbone_description": described,
        "config": config,
        "tokenizer": tokenizer.to_dict(),
        "command": command,
        "seed": seed,
        "epochs": epochs,
        "device": str(device),
        "train_config": {"batch_size": tc.batch_size, "lr": tc.lr, "weight_decay": tc.weight_decay,
                         "grad_clip": tc.grad_clip, "optimizer": "AdamW (weight decay 0 = Adam), betas (0.9, 0.999)",
                         "caption_per_image": "one per epoch, drawn with seed (seed, epoch)",
                         "augmentation": "none"},
        "input": f"uint8 RGB -> [-1, 1]; {resize_mode(config)}",
        "dataset": {"name": dataset, "train_split": "train", "test_split": "test",
                    "image_size": getattr(train_ds, "image_size", None), "n_train": len(train_ds),
                    "n_test": len(test_ds), "train_fingerprint": train_ds.fingerprint,
                    "test_fingerprint": test_ds.fingerprint},
        **heldout,
        "heldout_protocol": ("test split; retrieval: %d seeded image-caption pairs (one caption per image), "
                             "cosine of global image feature and sentence embedding, R@1 with ties as misses; "
                             "R-precision: DM-GAN protocol over all test images (one seeded caption each), "
                             "100 candidates of other classes from all test captions, 10 chunks"
                             % heldout["heldout_n_pairs"]),
        **run_info(t0, history, train_time_s=train_time),
    }
    write_manifest(manifest_path, manifest)
    return manifest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m t2ibench.evaluators.damsm",
        description="Train AttnGAN's DAMSM (bidirectional-LSTM text encoder + image encoder, word- and "
                    "sentence-level attention-matching losses) on a dataset's train split, measure held-out "
                    "retrieval recall and the R-precision of the real test images on its test split, and write "
                    "OUT/damsm-DATASET.safetensors + OUT/damsm-DATASET.json (sha256, config, tokenizer, command, "
                    "seed, dataset fingerprints, held-out quality, timings). Backbones: 'cnn' (a small CNN trained "
                    "from scratch; the default on shapes) and 'inception' (AttnGAN's frozen ImageNet "
                    "Inception-v3; the default elsewhere; needs --imagenet-inception-weights, nothing is downloaded). "
                    "Re-running an interrupted command with --checkpoint resumes from the last finished epoch. "
                    "The shipped shapes weights were made with: python -m t2ibench.evaluators.damsm --dataset "
                    "shapes --out t2ibench/evaluators/weights --seed 0")
    add_training_args(parser, epochs_default=None,
                      epochs_help="training epochs (default: %d for the cnn backbone, %d for inception as AttnGAN)"
                                  % (TRAIN_DEFAULTS["cnn"]["epochs"], TRAIN_DEFAULTS["inception"]["epochs"]),
                      seed_help="seed of initialisation, data order and captions (default 0)")
    parser.add_argument("--backbone", choices=BACKBONES, default=None,
                        help="image encoder backbone (default: cnn on shapes, inception elsewhere)")
    parser.add_argument("--imagenet-inception-weights", default=None,
                        help="torchvision ImageNet inception_v3 weights (.pth or .safetensors) for "
                             "--backbone inception")
    args = parser.parse_args(argv)
    command = command_line(parser.prog, argv)
    try:
        manifest = train(args.out, dataset=args.dataset, seed=args.seed, device=args.device, epochs=args.epochs,
                         data_root=args.data_root, progress=not args.no_progress, checkpoint=args.checkpoint,
                         backbone=args.backbone, inception_weights=args.imagenet_inception_weights, command=command)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    keys = ("sha256", "backbone", "heldout_recall_i2t_r1", "heldout_recall_t2i_r1", "heldout_r_precision",
            "heldout_r_precision_std", "train_time_s")
    print(json.dumps({k: manifest[k] for k in keys}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
