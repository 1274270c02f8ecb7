"""VSE++ (Faghri, Fleet, Kiros & Fidler, BMVC 2018): the retrieval model behind KT-GAN's Rank-1.

KT-GAN (Sec. IV-A) measures text-image consistency by text-to-image retrieval with "the
trained retrieval model provided by [5]" (VSE++). This module trains such a model on a
dataset's ``train`` split; :mod:`t2ibench.features.vse` serves it as a text-image encoder and
:func:`t2ibench.metrics.retrieval.rank_k` computes Rank-1 / R@5 / R@10 from its embeddings.

Architecture (as the released code ``fartashf/vsepp`` ``model.py``):

- text: word embedding (``word_dim`` 300, initialised U(-0.1, 0.1)) -> GRU (hidden =
  ``embed_dim``, ``num_layers`` 1) -> the hidden output at the caption's last token -> L2
  normalisation (``EncoderText``). Captions are tokenised with :class:`~t2ibench.data.tokenizer.Tokenizer`
  (vocabulary of the training captions, first 18 tokens), stored in the manifest.
- image, ``image_encoder="cnn"`` (the default, and the shipped ``vse-shapes``): a small CNN
  trained from scratch (no pretrained network can be downloaded here): conv4x4/2 (3->w0),
  conv4x4/2 (w0->w1), conv4x4/2 (w1->w2), conv3x3 (w2->w3), adaptive average pool to
  ``grid x grid``, each conv with BatchNorm and ReLU; the ``w3 * grid^2`` map is flattened
  (positions matter to the captions: "in the upper-left part") -> linear (Xavier-uniform,
  zero bias, as ``EncoderImagePrecomp.init_weights``) -> L2 normalisation. Input: uint8 resized
  to ``image_size`` (bilinear, antialias), scaled to [-1, 1].
- image, ``image_encoder="resnet18" | ... | "resnet152"`` (VSE++'s ResNet152 setting): a
  torchvision ResNet whose ImageNet weights the user gives as a local file
  (``backbone_weights=PATH``; ``.pth`` read with ``torch.load(weights_only=True)``, or
  ``.safetensors``), frozen unless ``finetune`` (VSE++ "fc" vs "ft" rows) and kept in eval mode;
  pooled features -> L2 norm -> linear -> L2 norm (``EncoderImageFull.forward``). Input: resized
  to 224, ImageNet mean/std.

Loss: VSE++'s "max of hinges" l_MH (hardest negatives, ``ContrastiveLoss(max_violation=True)``),
margin alpha = 0.2, cosine similarity s, summed over the batch as ``ContrastiveLoss`` does::

    l_MH(i, c) = max_{c'} [alpha + s(i, c') - s(i, c)]_+  +  max_{i'} [alpha + s(i', c) - s(i, c)]_+

The VSE0 form (``max_violation=False``: the paper's "sum of hinges" l_SH, the UVS / Kiros et al.
2014 loss) sums over all negatives instead of taking the hardest one::

    l_SH(i, c) = sum_{c'} [alpha + s(i, c') - s(i, c)]_+  +  sum_{i'} [alpha + s(i', c) - s(i, c)]_+

Training goes through :func:`t2ibench.evaluators.training.fit` (AdamW, constant learning rate;
VSE++ decays it 10x after 15 of 30 epochs: one more stated difference) with grad-norm
clipping 2.0 (VSE++'s ``grad_clip``). An epoch visits every training image once, paired with
one of its captions drawn uniformly at random (torch's global RNG, which the checkpoint
saves, so a resumed run equals an uninterrupted one); VSE++ iterates over every caption
instead. No flips: captions name left and right.

Warm-up (a stated addition): the first ``warmup_epochs`` epochs use the VSE0 sum form, then the
max-violation loss. VSE++ starts its image side from an ImageNet CNN; with a CNN trained from
scratch, the max-violation loss from step 0 collapses every embedding onto one point (loss
stuck at ``2 * batch * margin``; measured on shapes with lr 2e-4 and 1e-3). Later VSE models
(e.g. VSE-infinity, Chen et al. 2021) warm up the same way. The step counter that decides the
switch is saved with the training checkpoint.

Shapes settings (a sweep of 22 ten-epoch runs, seed 0, on 1-thread CPU processes): batch 64
(fewer false negatives per batch: generic captions such as "an orange circle." also fit other
images of the batch, and the hardest negative is then a true match), lr 2e-3, 2 warm-up
epochs, 10 epochs; grad clipping was necessary (without it R@1 fell from 0.27 to 0.13). Held-out
R@1 (1k folds) of the sweep: 0.42 (this setting), 0.31 (VSE0 throughout), 0.27 (batch 128, lr 1e-3).

Held-out quality (manifest ``test_recall``): text-to-image R@1/5/10 (:func:`rank_k`, pessimistic
ties) on the ``test`` split with real images as the gallery: caption slot ``k`` of every test
image forms one query list, cut into consecutive folds (so no gallery holds an image twice;
:func:`~t2ibench.metrics.retrieval.rank_k_slots`), folds of 1,000 captions (KT-GAN's protocol)
and, for quick re-checks on a few hundred images, folds of 250 (``test_recall_fold250``).

Shipped ``weights/vse-shapes.{safetensors,json}`` were made with::

    python -m t2ibench.evaluators.vse --dataset shapes --out t2ibench/evaluators/weights --seed 0

(the manifest records the exact command, timings and recalls).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from t2ibench.imageops import resize_antialiased
from t2ibench.evaluators.checkpoint import (WEIGHTS_DIR, load_into, load_state, save_state,
                                            weights_and_manifest_paths, write_manifest)
from t2ibench.evaluators.training import add_training_args, command_line, run_info
from t2ibench.metrics.retrieval import RANK_K_SLOTS_PROTOCOL

ARCH = "vse-v1"
MARGIN = 0.2
FOLD_SIZES = (1000, 250)
RESNETS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: architecture per dataset (``vocab_size`` and ``max_len`` are filled from the tokenizer)
CONFIGS = {
    "shapes": {"arch": ARCH, "image_encoder": "cnn", "image_size": 64, "cnn_widths": [16, 32, 64, 128],
               "cnn_grid": 4, "embed_dim": 256, "word_dim": 300, "num_layers": 1},
    "default": {"arch": ARCH, "image_encoder": "cnn", "image_size": 128, "cnn_widths": [64, 128, 256, 256],
                "cnn_grid": 4, "embed_dim": 1024, "word_dim": 300, "num_layers": 1},
}
#: training settings per dataset (VSE++: batch 128, lr 2e-4, grad_clip 2, 30 epochs, margin 0.2).
#: shapes: chosen by a sweep (module docstring); from scratch, max violation needs the warm-up
TRAINING = {
    "shapes": {"epochs": 10, "batch_size": 64, "lr": 2e-3, "grad_clip": 2.0, "margin": MARGIN, "max_violation": True,
               "warmup_epochs": 2},
    "default": {"epochs": 30, "batch_size": 128, "lr": 2e-4, "grad_clip": 2.0, "margin": MARGIN, "max_violation": True,
                "warmup_epochs": 1},
}


def weights_name(dataset: str) -> str:
    return f"vse-{dataset}"


# -- losses ------------------------------------------------------------------------------------

def hinge_ranking_loss(scores: torch.Tensor, margin: float = MARGIN, max_violation: bool = True) -> torch.Tensor:
    """The bidirectional hinge loss of a square similarity matrix ``scores[i, j] = s(image i, caption j)``.

    Pair ``(i, i)`` is positive, every other entry a negative. ``max_violation=True``: VSE++'s
    ``l_MH`` (hardest negative caption per image, hardest negative image per caption);
    ``False``: the sum over all negatives (VSE0 / HDGAN's Eq. (5) as its released
    ``PairwiseRankingLoss`` computes it). Summed over the batch, as both released codes do.
    """
    if scores.ndim != 2 or scores.shape[0] != scores.shape[1]:
        raise ValueError(f"scores: expected a square [B, B] matrix, got shape {tuple(scores.shape)}")
    diag = scores.diagonal()
    cost_c = (margin + scores - diag[:, None]).clamp(min=0)  # row i: image i vs negative captions c'
    cost_i = (margin + scores - diag[None, :]).clamp(min=0)  # column j: caption j vs negative images i'
    eye = torch.eye(scores.shape[0], dtype=torch.bool, device=scores.device)
    cost_c = cost_c.masked_fill(eye, 0)
    cost_i = cost_i.masked_fill(eye, 0)
    if max_violation:
        return cost_c.max(dim=1).values.sum() + cost_i.max(dim=0).values.sum()
    return cost_c.sum() + cost_i.sum()


def contrastive_loss(image_emb: torch.Tensor, text_emb: torch.Tensor, margin: float = MARGIN,
                     max_violation: bool = True) -> torch.Tensor:
    """VSE++ ``ContrastiveLoss`` on L2-normalised embeddings (cosine = dot product)."""
    return hinge_ranking_loss(image_emb @ text_emb.t(), margin, max_violation)


# -- networks ---------------------------------------------------------------------------------

def _conv(cin: int, cout: int, k: int, stride: int, padding: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, k, stride=stride, padding=padding, bias=False), nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True)]


def _xavier_fc(fc: nn.Linear) -> nn.Linear:
    r = np.sqrt(6.0) / np.sqrt(fc.in_features + fc.out_features)
    nn.init.uniform_(fc.weight, -r, r)
    nn.init.zeros_(fc.bias)
    return fc


class CNNImageEncoder(nn.Module):
    """From-scratch CNN -> flattened ``grid x grid`` map -> linear -> L2 norm."""

    def __init__(self, widths, grid: int, embed_dim: int):
        super().__init__()
        w0, w1, w2, w3 = widths
        self.body = nn.Sequential(*_conv(3, w0, 4, 2, 1), *_conv(w0, w1, 4, 2, 1), *_conv(w1, w2, 4, 2, 1),
                                  *_conv(w2, w3, 3, 1, 1))
        self.grid = grid
        self.fc = _xavier_fc(nn.Linear(w3 * grid * grid, embed_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x)
        if h.shape[-1] % self.grid == 0 and h.shape[-2] % self.grid == 0:  # avg_pool2d: much faster on CPU
            h = F.avg_pool2d(h, (h.shape[-2] // self.grid, h.shape[-1] // self.grid))
        else:
            h = F.adaptive_avg_pool2d(h, self.grid)
        return F.normalize(self.fc(h.flatten(1)), dim=1)


class ResNetImageEncoder(nn.Module):
    """VSE++ ``EncoderImageFull`` over a torchvision ResNet (fc removed): l2norm -> fc -> l2norm."""

    def __init__(self, arch: str, embed_dim: int, finetune: bool = False):
        super().__init__()
        import torchvision

        self.cnn = getattr(torchvision.models, arch)(weights=None)
        in_features = self.cnn.fc.in_features
        self.cnn.fc = nn.Identity()
        self.finetune = bool(finetune)
        self.cnn.requires_grad_(self.finetune)
        self.fc = _xavier_fc(nn.Linear(in_features, embed_dim))

    def train(self, mode: bool = True):
        super().train(mode)
        if not self.finetune:
            self.cnn.eval()  # a frozen backbone keeps its ImageNet BatchNorm statistics
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.fc(F.normalize(self.cnn(x), dim=1)), dim=1)


class GRUTextEncoder(nn.Module):
    """VSE++ ``EncoderText``: embedding -> GRU -> output at the last token -> L2 norm."""

    def __init__(self, vocab_size: int, word_dim: int, embed_dim: int, num_layers: int = 1):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, word_dim)
        nn.init.uniform_(self.embed.weight, -0.1, 0.1)
        self.rnn = nn.GRU(word_dim, embed_dim, num_layers, batch_first=True)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        # a unidirectional GRU's output at position length-1 does not see the padding after it
        out, _ = self.rnn(self.embed(ids))
        last = out[torch.arange(ids.shape[0], device=ids.device), lengths.to(ids.device) - 1]
        return F.normalize(last, dim=1)


class VSE(nn.Module):
    """Image and text encoders into one L2-normalised joint space of ``config["embed_dim"]`` dims."""

    def __init__(self, config: dict):
        super().__init__()
        self.config = dict(config)
        if config["image_encoder"] == "cnn":
            self.image_encoder = CNNImageEncoder(config["cnn_widths"], config["cnn_grid"], config["embed_dim"])
        else:
            self.image_encoder = ResNetImageEncoder(config["image_encoder"], config["embed_dim"],
                                                    config.get("finetune", False))
        self.text_encoder = GRUTextEncoder(config["vocab_size"], config["word_dim"], config["embed_dim"],
                                           config["num_layers"])

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 ``[N, 3, H, W]`` -> the image encoder's float input (resize, scale)."""
        size = self.config["image_size"]
        x = resize_antialiased(images.float(), size)
        if self.config["image_encoder"] == "cnn":
            return x / 127.5 - 1.0
        mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1)
        return (x / 255.0 - mean) / std

    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        return self.image_encoder(self.preprocess(images))

    def encode_ids(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.text_encoder(ids, lengths)


def check_config(config: dict) -> dict:
    if not isinstance(config, dict) or config.get("arch") != ARCH:
        raise ValueError(f"VSE config: expected a dict with arch {ARCH!r}, got {config!r:.200}")
    enc = config.get("image_encoder")
    if enc != "cnn" and enc not in RESNETS:
        raise ValueError(f"VSE config['image_encoder']: expected 'cnn' or one of {RESNETS}, got {enc!r}")
    for key in ("image_size", "embed_dim", "word_dim", "num_layers", "vocab_size"):
        v = config.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"VSE config[{key!r}]: expected a positive int, got {v!r}")
    if enc == "cnn":
        w = config.get("cnn_widths")
        if not isinstance(w, (list, tuple)) or len(w) != 4 or not all(isinstance(x, int) and x > 0 for x in w):
            raise ValueError(f"VSE config['cnn_widths']: expected 4 positive ints, got {w!r}")
    return config


def build_model(config: dict) -> VSE:
    return VSE(check_config(config))


def load_backbone_weights(model: VSE, path) -> str:
    """Load user-given torchvision ImageNet weights into the ResNet backbone; returns their sha256.

    Read with :func:`~t2ibench.safe_load.read_state_dict` (safetensors, or
    ``torch.load(weights_only=True)``); the ImageNet classifier (``fc.*``) is dropped.
    """
    from t2ibench.safe_load import read_state_dict
    from t2ibench.io import sha256_file

    state = read_state_dict(path, "backbone weights")
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    try:
        model.image_encoder.cnn.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise ValueError(f"backbone weights: {path} does not fit torchvision's "
                         f"{model.config['image_encoder']} ({e})") from e
    return sha256_file(Path(path).expanduser())


# -- loading ----------------------------------------------------------------------------------

def load_vse(weights=None, manifest=None, device: str = "cpu", dataset: str = "shapes"):
    """Load a VSE++ model: ``(model in eval mode, tokenizer, sha256, manifest dict)``.

    ``weights=None`` loads the packaged ``weights/vse-<dataset>.safetensors`` checked against its
    packaged manifest. A user path needs its manifest (``manifest=`` or ``<stem>.json`` next to it):
    the tokenizer lives there. Never unpickles anything.
    """
    from t2ibench.data.tokenizer import Tokenizer

    path, manifest = weights_and_manifest_paths(
        weights, manifest, WEIGHTS_DIR / f"{weights_name(dataset)}.safetensors", "VSE++ weights",
        packaged_missing=f"the packaged VSE++ model for {dataset} is missing",
        train_hint=f"train it with: python -m t2ibench.evaluators.vse --dataset {dataset} --out {WEIGHTS_DIR}",
        manifest_holds="it holds the tokenizer")
    state, config, digest, man = load_state(path, manifest, what="VSE++ weights")
    if "tokenizer" not in man:
        raise ValueError(f"VSE++ weights {path}: the manifest has no 'tokenizer' entry")
    tokenizer = Tokenizer.from_dict(man["tokenizer"])
    model = load_into(build_model(config), state, path, what="VSE++ weights")
    return model.to(device).eval(), tokenizer, digest, man


@torch.no_grad()
def embed_images(model: VSE, images: torch.Tensor, batch_size: int = 250) -> torch.Tensor:
    """Joint-space embeddings of uint8 images (eval mode, batches), float32 on the CPU."""
    model.eval()
    device = next(model.parameters()).device
    return torch.cat([model.encode_images(images[i:i + batch_size].to(device)).float().cpu()
                      for i in range(0, len(images), batch_size)])


@torch.no_grad()
def embed_captions(model: VSE, tokenizer, captions, batch_size: int = 500) -> torch.Tensor:
    model.eval()
    device = next(model.parameters()).device
    out = []
    for i in range(0, len(captions), batch_size):
        ids, lengths = tokenizer.batch(captions[i:i + batch_size])
        out.append(model.encode_ids(ids.to(device), lengths.to(device)).float().cpu())
    return torch.cat(out)


def held_out_recall(embed_images_fn, embed_captions_fn, dataset, fold_sizes=FOLD_SIZES, n: int | None = None,
                    ks=None) -> dict:
    """Text-to-image recall with real images as the gallery (protocol in the module docstring).

    ``embed_images_fn(uint8 images) -> [N, D]``, ``embed_captions_fn(list[str]) -> [N, D]``;
    uses the first ``n`` items of ``dataset`` (all by default) and every caption slot that all
    of them have, each slot its own query list (:func:`~t2ibench.metrics.retrieval.rank_k_slots`).
    Returns ``{str(fold_size): result dict}``.
    """
    from t2ibench.metrics.retrieval import rank_k_slots

    n = len(dataset) if n is None else min(n, len(dataset))
    caps = [dataset.captions(i) for i in range(n)]
    slots = min(len(c) for c in caps)
    img = torch.cat([embed_images_fn(dataset.images(range(i, min(i + 500, n)))) for i in range(0, n, 500)])
    text = embed_captions_fn([caps[i][k] for k in range(slots) for i in range(n)])
    text_slots = [text[k * n:(k + 1) * n] for k in range(slots)]
    out = {}
    for fs in fold_sizes:
        r = rank_k_slots(text_slots, img, fold_size=fs, ks=ks)
        r["n_images"] = n
        out[str(fs)] = r
    return out


# -- training ---------------------------------------------------------------------------------

class _Trainee(nn.Module):
    """The model plus a step counter that the training checkpoint saves (for the warm-up switch)."""

    def __init__(self, model: VSE):
        super().__init__()
        self.model = model
        self.register_buffer("steps", torch.zeros((), dtype=torch.int64))


def tokenize_dataset(ds, tokenizer) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """All captions of ``ds``: ``(ids [C, max_len], lengths [C], start [N], count [N])``."""
    start, count, flat = [], [], []
    for i in range(len(ds)):
        caps = ds.captions(i)
        if not caps:
            raise ValueError(f"{ds!r}: image {i} has no captions")
        start.append(len(flat))
        count.append(len(caps))
        flat.extend(caps)
    ids = torch.zeros(len(flat), tokenizer.max_len, dtype=torch.int64)
    lengths = torch.zeros(len(flat), dtype=torch.int64)
    for j, c in enumerate(flat):
        e = tokenizer.encode(c)
        ids[j, :len(e)] = torch.tensor(e)
        lengths[j] = len(e)
    return ids, lengths, torch.tensor(start), torch.tensor(count)


def train(out_dir, dataset: str = "shapes", seed: int = 0, device: str = "cpu", epochs: int | None = None,
          data_root=None, progress: bool = True, checkpoint=None, *, backbone: str | None = None,
          backbone_weights=None, finetune: bool = False, max_violation: bool | None = None,
          n_train: int | None = None, n_test: int | None = None, batch_size: int | None = None,
          config_overrides: dict | None = None, training_overrides: dict | None = None,
          command: str | None = None) -> dict:
    """Train VSE++ on ``dataset``'s train split; write ``vse-<dataset>.safetensors`` + ``.json`` into ``out_dir``.

    Returns the manifest: sha256, config, tokenizer, command, seed, dataset fingerprints,
    held-out text-to-image recall on the test split (``test_recall``: 1k-caption folds;
    ``test_recall_fold250``), training time, per-epoch history.

    backbone / backbone_weights / finetune: a torchvision ResNet (``"resnet152"``, VSE++'s choice)
    with ImageNet weights from a local file, instead of the from-scratch CNN. ``max_violation``:
    ``False`` trains VSE0 (sum over negatives). ``n_train`` / ``n_test`` / ``batch_size``: smaller
    runs (``shapes`` pool sizes) for tests. ``config_overrides`` / ``training_overrides``: entries
    replacing those of :data:`CONFIGS` / :data:`TRAINING` (recorded in the manifest).
    """
    from t2ibench.data.tokenizer import Tokenizer
    from t2ibench.evaluators.training import TrainConfig, fit, load_train_test, training_settings

    t_start = time.time()
    key = "shapes" if dataset == "shapes" else "default"
    config = dict(CONFIGS[key])
    config.update(config_overrides or {})
    settings = training_settings(TRAINING[key], training_overrides, epochs)
    if batch_size is not None:
        settings["batch_size"] = int(batch_size)
    if max_violation is not None:
        settings["max_violation"] = bool(max_violation)
    if backbone is not None:
        if backbone not in RESNETS:
            raise ValueError(f"backbone: expected one of {RESNETS}, got {backbone!r}")
        if backbone_weights is None:
            raise ValueError(f"backbone {backbone}: its ImageNet weights cannot be downloaded here; give the local "
                             f"torchvision checkpoint with --backbone-weights PATH")
        config.update(image_encoder=backbone, image_size=224, finetune=bool(finetune))
        config.pop("cnn_widths", None)
        config.pop("cnn_grid", None)
    train_ds, test_ds = load_train_test(dataset, None if dataset == "shapes" else config["image_size"],
                                        data_root=data_root, progress=progress, n_train=n_train, n_test=n_test)
    tokenizer = Tokenizer.build(c for i in range(len(train_ds)) for c in train_ds.captions(i))
    config.update(vocab_size=tokenizer.vocab_size, max_len=tokenizer.max_len)

    torch.manual_seed(seed)
    model = build_model(config).to(device)
    backbone_sha = load_backbone_weights(model, backbone_weights) if backbone is not None else None
    ids, lengths, start, count = tokenize_dataset(train_ds, tokenizer)
    margin, mv = settings["margin"], settings["max_violation"]
    tc = TrainConfig(epochs=settings["epochs"], batch_size=settings["batch_size"], lr=settings["lr"],
                     weight_decay=0.0, grad_clip=settings["grad_clip"], seed=seed)
    trainee = _Trainee(model)
    warmup_steps = settings["warmup_epochs"] * (len(train_ds) // tc.batch_size)

    def loss_fn(idx: torch.Tensor) -> dict:
        pick = start[idx] + (torch.rand(len(idx)) * count[idx]).long().clamp(max=count[idx] - 1)
        lens = lengths[pick]
        cap = ids[pick, :int(lens.max())]
        im = model.encode_images(train_ds.images(idx).to(device))
        s = model.encode_ids(cap.to(device), lens.to(device))
        scores = im @ s.t()
        hardest = mv and int(trainee.steps) >= warmup_steps
        loss = hinge_ranking_loss(scores, margin, hardest)
        trainee.steps += 1
        with torch.no_grad():
            target = torch.arange(len(idx), device=scores.device)
            r1 = (scores.argmax(dim=0) == target).float().mean()  # caption -> image, in-batch
        return {"loss": loss, "batch_t2i_r@1": r1, "max_violation": float(hardest)}

    t_train = time.time()
    history = fit(trainee, loss_fn, len(train_ds), tc, checkpoint=checkpoint, progress=progress,
                  desc=f"vse-{dataset}")
    train_time = time.time() - t_train

    out_dir = Path(out_dir)
    name = weights_name(dataset)
    weights_path = out_dir / f"{name}.safetensors"
    model = model.cpu().eval()
    save_state(model.state_dict(), weights_path, model.config)
    # measure exactly what was saved (read back unverified: its manifest is written below)
    state, _, digest, _ = load_state(weights_path, manifest=False, what="VSE++ weights")
    saved = load_into(build_model(model.config), state, weights_path, what="VSE++ weights").eval()
    t_eval = time.time()
    recall = held_out_recall(lambda x: embed_images(saved, x), lambda c: embed_captions(saved, tokenizer, c), test_ds)
    eval_time = time.time() - t_eval
    if command is None:
        command = (f"python -m t2ibench.evaluators.vse --dataset {dataset} --out {out_dir} --seed {seed} "
                   f"--epochs {settings['epochs']} --device {device}"
                   + (f" --data-root {data_root}" if data_root is not None else "")
                   + (f" --backbone {backbone} --backbone-weights {backbone_weights}" if backbone else "")
                   + (" --finetune" if finetune else "") + ("" if mv else " --vse0"))
    manifest = {
        "name": name,
        "weights_file": weights_path.name,
        "sha256": digest,
        "dtype": "float32",
        "config": model.config,
        "tokenizer": tokenizer.to_dict(),
        "command": command,
        "seed": seed,
        "device": device,
        "loss": {"name": "VSE++ max-violation hinge (l_MH)" if mv else "VSE0 sum-of-violations hinge (l_SH)",
                 "margin": margin, "max_violation": mv, "reduction": "sum over the batch"},
        "training": {**settings, "optimizer": "AdamW (constant lr, weight_decay 0)",
                     "pairs": "every training image once per epoch with one of its captions drawn uniformly"},
        "backbone_weights_sha256": backbone_sha,
        "dataset": {"name": dataset, "train_split": "train", "test_split": "test",
                    "n_train": len(train_ds), "n_test": len(test_ds), "image_size": train_ds.image_size,
                    "train_fingerprint": train_ds.fingerprint, "test_fingerprint": test_ds.fingerprint},
        "test_recall": recall["1000"],
        "test_recall_fold250": recall["250"],
        "recall_protocol": RANK_K_SLOTS_PROTOCOL,
        **run_info(t_start, history, train_time_s=train_time, eval_time_s=eval_time),
    }
    write_manifest(out_dir / f"{name}.json", manifest)
    return manifest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m t2ibench.evaluators.vse",
        description="Train VSE++ (Faghri et al. 2018; max-violation hinge, margin 0.2) on a dataset's train split "
                    "for KT-GAN's Rank-1 retrieval metric; measure held-out text-to-image R@1/5/10 on the test "
                    "split (1k-caption folds) and write vse-<dataset>.safetensors + vse-<dataset>.json (sha256, "
                    "config, tokenizer, command, seed, dataset fingerprints, recall, timings) into --out. "
                    "Re-running an interrupted command with --checkpoint resumes it.")
    add_training_args(parser, out_default=str(WEIGHTS_DIR), epochs_default=None,
                      epochs_help="epochs (default: 12 on shapes, 30 otherwise)")
    parser.add_argument("--backbone", default=None, choices=RESNETS,
                        help="use a torchvision ResNet image encoder (VSE++: resnet152) instead of the small CNN")
    parser.add_argument("--backbone-weights", default=None, help="local ImageNet weights file of --backbone")
    parser.add_argument("--finetune", action="store_true", help="also train the backbone (VSE++ 'ft')")
    parser.add_argument("--vse0", action="store_true", help="sum over negatives (VSE0) instead of the hardest one")
    args = parser.parse_args(argv)
    command = command_line(parser.prog, argv)
    manifest = train(args.out, dataset=args.dataset, seed=args.seed, device=args.device, epochs=args.epochs,
                     data_root=args.data_root, progress=not args.no_progress, checkpoint=args.checkpoint,
                     backbone=args.backbone, backbone_weights=args.backbone_weights, finetune=args.finetune,
                     max_violation=not args.vse0, command=command)
    print(json.dumps({"sha256": manifest["sha256"], "test_recall": manifest["test_recall"],
                      "train_time_s": manifest["train_time_s"]}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
