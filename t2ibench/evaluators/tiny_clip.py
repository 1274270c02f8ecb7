"""``tiny-clip-<dataset>``: a small CLIP-style contrastive model that stands in for CLIP.

CLIP ViT-B/32 (what GR-GAN's CMD/ITDis and CLIPScore read) cannot be downloaded here, and
it knows nothing of the ``shapes`` domain anyway. This module trains a model of the same
*kind* on a dataset's train split so that every CLIP metric runs on ``shapes``; results
name it as a stand-in (``stand_in = True`` on its extractor, :mod:`t2ibench.features.clip`).

Model (``config["arch"] == "tiny-clip-v1"``):

- image tower (``config["image_layers"]``, one ``[out, kernel, stride, padding]`` per conv, each
  followed by BatchNorm + ReLU): a 4x4/4 patch stem (3->64), conv3x3 (64->64), conv3x3/2
  (64->128), conv3x3 (128->128), conv3x3/2 (128->128) on 64x64 inputs; the final 4x4 map is
  flattened (no global pooling: captions state positions) and linearly projected to
  ``embed_dim`` (256);
- text tower: word embedding over the dataset's word :class:`~t2ibench.data.tokenizer.Tokenizer`
  (built from the train captions, stored in the config and the manifest) + learned position
  embedding, a pre-LN transformer encoder (2 layers x 4 heads, width 128, feed-forward 256,
  GELU, padding masked), final LayerNorm, mean over the caption's tokens, linear projection
  to ``embed_dim``;
- joint space: both embeddings L2-normalised; cosine similarity times a learnable
  temperature ``exp(logit_scale)``, initialised to 1/0.07 and clipped at 100 (Radford et al.
  2021, "Learning Transferable Visual Models From Natural Language Supervision", Sec. 2.5).

Loss: the symmetric InfoNCE of Radford et al. 2021, Fig. 3 (the numpy-like pseudo-code)::

    logits = np.dot(I_e, T_e.T) * np.exp(t)
    loss_i = cross_entropy_loss(logits, labels, axis=0)
    loss_t = cross_entropy_loss(logits, labels, axis=1)
    loss   = (loss_i + loss_t) / 2

Input protocol: uint8 ``[N, 3, H, W]`` of any size, resized to 64x64 (bilinear, antialiased;
skipped when already 64x64) and rounded back to uint8 levels, scaled to [0, 1], then
normalised with CLIP's per-channel mean/std (``config["mean"]``/``["std"]``). The
``unnormalised`` input of :func:`preprocess` omits that last step, mirroring GR-GAN's released
CMD code, which feeds CLIP [0, 1] images without its normalisation.

Training (:func:`train`): the train split at 64 px, one random caption of each image per step
(drawn from the torch RNG, which :func:`t2ibench.evaluators.training.fit` checkpoints, so a
resumed run draws the same captions), no image augmentation (flips would contradict the
positions in the captions), AdamW through :func:`~t2ibench.evaluators.training.fit`.
Held-out retrieval: the first 1,000 test images with their first caption; image->text and
text->image recall@1 and @5 over those 1,000 pairs (and over the first 500, which the tests
re-measure). The exact command, seed, dataset fingerprints, timings and history go in the
manifest. The shipped checkpoint was made with::

    python -m t2ibench.evaluators.tiny_clip --out t2ibench/evaluators/weights --dataset shapes --seed 0 --epochs 8

(279 s of training with one torch thread on a 2-core machine shared with other jobs, about
35 s per epoch). Held-out recall on the first 1,000 test pairs: image->text R@1 0.425 and
R@5 0.854, text->image R@1 0.414 and R@5 0.823 (first 500 pairs: R@1 0.574 / 0.568). Many
captions fit several test images ("this square is green."), so R@1 over 1,000 pairs has a
ceiling well below 1.
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from t2ibench.imageops import resize_antialiased
from t2ibench.evaluators.checkpoint import WEIGHTS_DIR, load_into, load_state, save_state, write_manifest
from t2ibench.evaluators.training import add_training_args, command_line, run_info

ARCH = "tiny-clip-v1"
INPUT_SIZE = 64
#: CLIP's image normalisation (open_clip ``OPENAI_DATASET_MEAN`` / ``OPENAI_DATASET_STD``).
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
#: image_layers: one [out_channels, kernel, stride, padding] per conv (+ BatchNorm + ReLU)
DEFAULT_ARCH_CONFIG = {"arch": ARCH, "embed_dim": 256, "input_size": INPUT_SIZE,
                       "image_layers": [[64, 4, 4, 0], [64, 3, 1, 1], [128, 3, 2, 1], [128, 3, 1, 1], [128, 3, 2, 1]],
                       "text_width": 128, "text_layers": 2, "text_heads": 4, "text_ff": 256,
                       "mean": list(CLIP_MEAN), "std": list(CLIP_STD)}
DEFAULT_EPOCHS = 8
BATCH_SIZE = 128
LR = 1e-3
WEIGHT_DECAY = 1e-4
GRAD_CLIP = 1.0
MAX_LOGIT_SCALE = math.log(100.0)
#: held-out retrieval: the first N_EVAL test images, each with caption EVAL_CAPTION
N_EVAL, N_EVAL_SMALL, EVAL_CAPTION = 1000, 500, 0


def weights_name(dataset: str) -> str:
    return f"tiny-clip-{dataset}"


def packaged_files(dataset: str = "shapes") -> tuple[Path, Path]:
    """``(weights, manifest)`` paths of the packaged checkpoint for ``dataset``."""
    return WEIGHTS_DIR / f"{weights_name(dataset)}.safetensors", WEIGHTS_DIR / f"{weights_name(dataset)}.json"


def _conv(cin: int, cout: int, k: int, stride: int, padding: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, k, stride=stride, padding=padding, bias=False), nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True)]


def _final_side(layers, input_size: int) -> int:
    side = input_size
    for _, k, s, p in layers:
        side = (side + 2 * p - k) // s + 1
    return side


class ImageTower(nn.Module):
    def __init__(self, layers: list[list[int]], embed_dim: int, input_size: int):
        super().__init__()
        mods, cin = [], 3
        for cout, k, s, p in layers:
            mods += _conv(cin, cout, k, s, p)
            cin = cout
        self.body = nn.Sequential(*mods)
        side = _final_side(layers, input_size)
        self.proj = nn.Linear(cin * side * side, embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.body(x).flatten(1))


class TextTower(nn.Module):
    def __init__(self, vocab_size: int, max_len: int, width: int, layers: int, heads: int, ff: int, embed_dim: int):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab_size, width, padding_idx=0)
        self.positional_embedding = nn.Parameter(torch.randn(max_len, width) * 0.01)
        layer = nn.TransformerEncoderLayer(width, heads, dim_feedforward=ff, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.transformer = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.ln_final = nn.LayerNorm(width)
        self.proj = nn.Linear(width, embed_dim)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        L = ids.shape[1]
        pad = torch.arange(L, device=ids.device)[None, :] >= lengths[:, None]
        x = self.token_embedding(ids) + self.positional_embedding[:L]
        x = self.ln_final(self.transformer(x, src_key_padding_mask=pad))
        keep = (~pad).unsqueeze(-1).to(x.dtype)
        return self.proj((x * keep).sum(1) / keep.sum(1))


class TinyCLIP(nn.Module):
    """``encode_image(x float [N,3,S,S] normalised) -> [N, D]``, ``encode_text(ids, lengths) -> [N, D]``
    (both unnormalised); ``forward`` returns the two L2-normalised embeddings and the temperature."""

    def __init__(self, config: dict):
        super().__init__()
        self.config = dict(config)
        tok = config["tokenizer"]
        self.visual = ImageTower(config["image_layers"], config["embed_dim"], config["input_size"])
        self.text = TextTower(len(tok["words"]), tok["max_len"], config["text_width"], config["text_layers"],
                              config["text_heads"], config["text_ff"], config["embed_dim"])
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        self.embed_dim = config["embed_dim"]

    def encode_image(self, x: torch.Tensor) -> torch.Tensor:
        return self.visual(x)

    def encode_text(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.text(ids, lengths)

    def forward(self, x, ids, lengths):
        img = F.normalize(self.encode_image(x), dim=-1)
        txt = F.normalize(self.encode_text(ids, lengths), dim=-1)
        return img, txt, self.logit_scale.clamp(max=MAX_LOGIT_SCALE).exp()


def clip_loss(img: torch.Tensor, txt: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE (Radford et al. 2021, Fig. 3): mean of the image->text and text->image
    cross-entropies of ``scale * img @ txt.T`` against the diagonal."""
    logits = scale * img @ txt.t()
    labels = torch.arange(len(img), device=img.device)
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2


def check_config(config: dict) -> dict:
    if not isinstance(config, dict) or config.get("arch") != ARCH:
        got = config.get("arch") if isinstance(config, dict) else config
        raise ValueError(f"tiny-clip config: expected arch {ARCH!r}, got {got!r}")
    layers = config.get("image_layers")
    if (not isinstance(layers, (list, tuple)) or not layers
            or not all(isinstance(l, (list, tuple)) and len(l) == 4 and all(isinstance(v, int) and v >= 0 for v in l)
                       and l[0] > 0 and l[1] > 0 and l[2] > 0 for l in layers)):
        raise ValueError(f"tiny-clip config['image_layers']: expected a list of [out_channels, kernel, stride, "
                         f"padding] ints, got {layers!r}")
    for key in ("embed_dim", "input_size", "text_width", "text_layers", "text_heads", "text_ff"):
        if isinstance(config.get(key), bool) or not isinstance(config.get(key), int) or config[key] < 1:
            raise ValueError(f"tiny-clip config[{key!r}]: expected a positive int, got {config.get(key)!r}")
    if _final_side(layers, config["input_size"]) < 1:
        raise ValueError(f"tiny-clip config: image_layers reduce a {config['input_size']} px input to nothing")
    if config["text_width"] % config["text_heads"]:
        raise ValueError("tiny-clip config: text_width must be a multiple of text_heads")
    if not isinstance(config.get("tokenizer"), dict):
        raise ValueError("tiny-clip config['tokenizer']: missing (the word vocabulary of the text tower)")
    for key in ("mean", "std"):
        if not (isinstance(config.get(key), (list, tuple)) and len(config[key]) == 3):
            raise ValueError(f"tiny-clip config[{key!r}]: expected 3 floats")
    return config


def build_model(config: dict) -> TinyCLIP:
    """A randomly initialised :class:`TinyCLIP` for ``config`` (with its ``tokenizer`` entry)."""
    return TinyCLIP(check_config(dict(config)))


def preprocess(images: torch.Tensor, config: dict, normalise: bool = True) -> torch.Tensor:
    """uint8 ``[N, 3, H, W]`` -> float ``[N, 3, S, S]``: bilinear antialiased resize to S (skipped at S),
    rounded to uint8 levels, scaled to [0, 1], then (``normalise``) CLIP mean/std normalised."""
    size = config["input_size"]
    x = resize_antialiased(images.float(), size, round_levels=True) / 255.0
    if normalise:
        mean = torch.tensor(config["mean"], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(config["std"], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        x = (x - mean) / std
    return x


def tokenizer_of(model: TinyCLIP):
    from t2ibench.data.tokenizer import Tokenizer

    return Tokenizer.from_dict(model.config["tokenizer"])


@torch.no_grad()
def embed_images(model: TinyCLIP, images: torch.Tensor, batch_size: int = 250,
                 normalise_input: bool = True) -> torch.Tensor:
    """Unnormalised image embeddings ``[N, D]`` (float32, on the CPU) of uint8 images."""
    model.eval()
    device = next(model.parameters()).device
    out = [model.encode_image(preprocess(images[i:i + batch_size].to(device), model.config, normalise_input)).cpu()
           for i in range(0, len(images), batch_size)]
    return torch.cat(out)


@torch.no_grad()
def embed_texts(model: TinyCLIP, captions, tokenizer=None, batch_size: int = 500) -> torch.Tensor:
    """Unnormalised text embeddings ``[N, D]`` (float32, on the CPU) of captions."""
    model.eval()
    tokenizer = tokenizer or tokenizer_of(model)
    device = next(model.parameters()).device
    out = []
    for i in range(0, len(captions), batch_size):
        ids, lengths = tokenizer.batch(list(captions[i:i + batch_size]))
        out.append(model.encode_text(ids.to(device), lengths.to(device)).cpu())
    return torch.cat(out)


def retrieval_recall(image_emb: torch.Tensor, text_emb: torch.Tensor, ks=(1, 5)) -> dict:
    """Recall@k of paired embeddings (row i of each is a pair), cosine similarity, both directions.

    ``i2t_r{k}``: fraction of images whose own caption is among the k most similar of all N
    captions; ``t2i_r{k}``: the converse. Ties count against the query (strictly-greater rank).
    """
    a = F.normalize(image_emb.double(), dim=-1)
    b = F.normalize(text_emb.double(), dim=-1)
    sim = a @ b.t()
    own = sim.diagonal()
    rank_i2t = (sim > own[:, None]).sum(1)   # captions beating the own caption, per image
    rank_t2i = (sim > own[None, :]).sum(0)   # images beating the own image, per caption
    out = {"n_pairs": int(len(own))}
    for k in ks:
        out[f"i2t_r{k}"] = round(float((rank_i2t < k).double().mean()), 5)
        out[f"t2i_r{k}"] = round(float((rank_t2i < k).double().mean()), 5)
    return out


def held_out_pairs(test, n: int) -> tuple[torch.Tensor, list[str]]:
    """The first ``n`` test images and their caption :data:`EVAL_CAPTION`."""
    n = min(n, len(test))
    return test.images(range(n)), [str(test.captions(i)[EVAL_CAPTION]) for i in range(n)]


def measure_recall(model: TinyCLIP, images: torch.Tensor, captions: list[str]) -> dict:
    return retrieval_recall(embed_images(model, images), embed_texts(model, captions))


def save_weights(model: TinyCLIP, path) -> str:
    return save_state(model.state_dict(), path, model.config)


def load_tiny_clip(weights=None, manifest=None, device: str = "cpu",
                   dataset: str = "shapes") -> tuple[TinyCLIP, str, dict]:
    """Load a tiny CLIP from safetensors (never pickle); returns ``(model in eval mode, sha256, manifest)``.

    ``weights=None`` loads the packaged ``tiny-clip-<dataset>`` and checks its sha256 against
    the packaged manifest. A user path is checked against ``manifest`` when given, else
    against ``<stem>.json`` next to it when present (``manifest=False``: not checked). The
    architecture and the tokenizer come from the manifest's config, else from the file's
    metadata. Any problem raises ``ValueError`` naming the file.
    """
    what = "tiny-clip weights"
    if weights is None:
        path, packaged_manifest = packaged_files(dataset)
        manifest = packaged_manifest if manifest is None else manifest
        if not path.is_file() or not Path(manifest).is_file():
            raise ValueError(f"the packaged {weights_name(dataset)} is missing ({path} / {manifest}); train it with: "
                             f"python -m t2ibench.evaluators.tiny_clip --out {WEIGHTS_DIR} --dataset {dataset}")
    else:
        path = Path(weights)
    state, config, digest, man = load_state(path, manifest, what=what)
    if config is None:
        raise ValueError(f"{what}: {path} carries no config (neither a manifest nor file metadata)")
    try:
        model = build_model(config)
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{what}: the config of {path} is not a tiny-clip config ({e})") from e
    model = load_into(model, state, path, what=what)
    return model.to(device).eval(), digest, man


def train(out_dir, dataset: str = "shapes", seed: int = 0, device: str = "cpu", epochs: int | None = None,
          data_root=None, progress: bool = True, checkpoint=None, command: str | None = None,
          n_train: int | None = None, n_test: int | None = None, arch: dict | None = None,
          batch_size: int = BATCH_SIZE) -> dict:
    """Train on ``dataset``'s train split, measure held-out retrieval, write weights + manifest.

    Writes ``out_dir/tiny-clip-<dataset>.safetensors`` and ``.json``; returns the manifest.
    ``checkpoint``: a file for :func:`~t2ibench.evaluators.training.fit` to resume from.
    ``n_train``/``n_test`` (shapes pool sizes), ``arch`` (overrides of
    :data:`DEFAULT_ARCH_CONFIG`) and ``batch_size`` are for tests and experiments.
    """
    from t2ibench.data.tokenizer import Tokenizer
    from t2ibench.evaluators.training import TrainConfig, check_epochs, fit, load_train_test

    epochs = check_epochs(epochs, DEFAULT_EPOCHS)
    out_dir = Path(out_dir)
    t0 = time.time()
    train_ds, test_ds = load_train_test(dataset, INPUT_SIZE, data_root=data_root, progress=progress,
                                        n_train=n_train, n_test=n_test)
    images = train_ds.images(range(len(train_ds)))
    captions = [[str(c) for c in train_ds.captions(i)] for i in range(len(train_ds))]
    tokenizer = Tokenizer.build(c for caps in captions for c in caps)
    # every caption of every image, tokenised once: ids [N, C, L], lengths [N, C]
    n_caps = min(len(c) for c in captions)
    flat = [c for caps in captions for c in caps[:n_caps]]
    ids, lengths = tokenizer.batch(flat)
    ids, lengths = ids.view(len(captions), n_caps, -1), lengths.view(len(captions), n_caps)

    config = {**DEFAULT_ARCH_CONFIG, **(arch or {}), "tokenizer": tokenizer.to_dict()}
    torch.manual_seed(seed)
    model = build_model(config).to(device)
    train_cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=LR, weight_decay=WEIGHT_DECAY,
                            grad_clip=GRAD_CLIP, seed=seed)

    def loss_fn(idx: torch.Tensor) -> dict:
        which = torch.randint(0, n_caps, (len(idx),))       # torch RNG: checkpointed by fit
        b_ids, b_len = ids[idx, which], lengths[idx, which]
        b_ids = b_ids[:, : int(b_len.max())]
        x = preprocess(images[idx].to(device), model.config)
        img, txt, scale = model(x, b_ids.to(device), b_len.to(device))
        loss = clip_loss(img, txt, scale)
        with torch.no_grad():
            acc = (img @ txt.t()).argmax(1).eq(torch.arange(len(idx), device=img.device)).float().mean()
        return {"loss": loss, "batch_i2t_acc": acc, "temperature": scale.detach()}

    t_train = time.time()
    history = fit(model, loss_fn, len(images), train_cfg, checkpoint=checkpoint, progress=progress,
                  desc=f"tiny-clip-{dataset}")
    train_time = time.time() - t_train
    model = model.cpu().eval()
    name = weights_name(dataset)
    weights_path = out_dir / f"{name}.safetensors"
    save_weights(model, weights_path)
    # measure exactly what was saved (no manifest yet: read unverified)
    saved, digest, _ = load_tiny_clip(weights_path, manifest=False)
    ev_images, ev_caps = held_out_pairs(test_ds, N_EVAL)
    img_emb, txt_emb = embed_images(saved, ev_images), embed_texts(saved, ev_caps)
    recall = retrieval_recall(img_emb, txt_emb)
    n_small = min(N_EVAL_SMALL, len(ev_caps))
    recall_small = retrieval_recall(img_emb[:n_small], txt_emb[:n_small])
    if command is None:
        command = (f"python -m t2ibench.evaluators.tiny_clip --out {out_dir} --dataset {dataset} --seed {seed} "
                   f"--epochs {epochs} --device {device}")
    manifest = {
        "name": name,
        "weights_file": weights_path.name,
        "sha256": digest,
        "dtype": "float32",
        "stands_in_for": "CLIP ViT-B/32 (Radford et al. 2021; open_clip 'ViT-B-32', 'openai')",
        "config": model.config,
        "tokenizer": tokenizer.to_dict(),
        "command": command,
        "seed": seed,
        "epochs": epochs,
        "device": str(device),
        "batch_size": batch_size,
        "optimizer": {"name": "AdamW", "lr": LR, "weight_decay": WEIGHT_DECAY, "grad_clip": GRAD_CLIP,
                      "schedule": "constant"},
        "loss": "symmetric InfoNCE with learnable temperature (Radford et al. 2021, Fig. 3), logit scale <= 100",
        "augmentation": "none; one random caption of each image per step",
        "input": "uint8 RGB, resized to 64x64 (bilinear, antialias, rounded), /255, CLIP mean/std",
        "dataset": {"name": dataset, "train_split": "train", "test_split": "test", "image_size": INPUT_SIZE,
                    "n_train": len(train_ds), "n_test": len(test_ds), "captions_per_image": n_caps,
                    "seed": getattr(train_ds, "seed", None),
                    "train_fingerprint": train_ds.fingerprint, "test_fingerprint": test_ds.fingerprint},
        "held_out_recall": {**recall, "pairs": f"first {recall['n_pairs']} test images, caption {EVAL_CAPTION}"},
        "held_out_recall_500": {**recall_small, "pairs": f"first {recall_small['n_pairs']} test images, "
                                                          f"caption {EVAL_CAPTION}"},
        "final_temperature": round(float(model.logit_scale.detach().clamp(max=MAX_LOGIT_SCALE).exp()), 4),
        **run_info(t0, history, train_time_s=train_time),
    }
    write_manifest(out_dir / f"{name}.json", manifest)
    return manifest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m t2ibench.evaluators.tiny_clip",
        description="Train the tiny CLIP-style stand-in (CNN image tower, transformer text tower, symmetric "
                    "InfoNCE, Radford et al. 2021) on a dataset's train split at 64 px, measure held-out "
                    "image<->text recall, and write tiny-clip-<dataset>.safetensors + .json into --out. The "
                    "shipped checkpoint was made with --out t2ibench/evaluators/weights --dataset shapes --seed 0.")
    add_training_args(parser, epochs_default=DEFAULT_EPOCHS, epochs_help=f"training epochs (default {DEFAULT_EPOCHS})",
                      seed_help="seed of initialisation, data order and captions (default 0)")
    args = parser.parse_args(argv)
    command = command_line(parser.prog, argv)
    manifest = train(args.out, dataset=args.dataset, seed=args.seed, device=args.device, epochs=args.epochs,
                     data_root=args.data_root, progress=not args.no_progress, checkpoint=args.checkpoint,
                     command=command)
    print(json.dumps({k: manifest[k] for k in ("sha256", "held_out_recall", "train_time_s")}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
