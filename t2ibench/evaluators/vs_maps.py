"""HDGAN's VS maps (Zhang, Xie & Yang 2018, Sec. 5 "Visual-semantic similarity"): f_v and f_t.

HDGAN scores text-image alignment with two linear maps onto a joint space, ``f_v`` over CNN
image features ``v = f_cnn(x)`` and ``f_t`` over sentence embeddings ``t``, trained on real
(image, caption) pairs with the bidirectional ranking loss of its Eq. (5), margin delta = 0.2,
``s`` the cosine. The equation as printed lost its positive term; the loss the paper cites
(Kiros et al. 2014, [21]) and the released code (``HDGan/neuralDist/trainNeuralDist.py``,
``PairwiseRankingLoss``) is::

    L_vs = sum_v sum_{t-} max(0, delta - s(f_v(v), f_t(t)) + s(f_v(v), f_t(t-)))
         + sum_t sum_{v-} max(0, delta - s(f_t(t), f_v(v)) + s(f_t(t), f_v(v-)))

over the batch, every other caption (image) of the batch a negative, summed
(:func:`t2ibench.evaluators.vse.hinge_ranking_loss` with ``max_violation=False``). The maps are
``ImgSenRanking`` of ``HDGan/neuralDist/neuralDistModel.py``: ``Linear`` (with bias) then L2
normalisation; weights initialised ``normal(0, sqrt(6 / (fan_in + fan_out)))`` (the code's
``xavier_weight``), biases 0; joint dimension 512 (``hid_dim``).

What f_cnn and t are here (stored in the manifest, generic over both):

- ``shapes``: ``v`` = the 256-d ``features`` output of the ``shapes-classifier`` extractor (the
  shapes counterpart of HDGAN's ImageNet Inception(-ResNet-v2) pool features); ``t`` = the
  ``sentence`` output of the DAMSM text encoder ``damsm-shapes`` (HDGAN used the char-CNN-RNN
  embeddings its generator was conditioned on).
- other datasets: the dataset's default image extractor (``defaults.DEFAULT_EXTRACTORS`` /
  ``FALLBACK_EXTRACTORS["image"]``, its ``embedding`` output) and the DAMSM trained by
  ``train-evaluators`` on that dataset (``OUT/damsm-<dataset>.safetensors``), unless given.

Both feature sets are fixed, so they are computed once (train images, all train captions)
and training touches only the two linear maps: :func:`t2ibench.evaluators.training.fit`,
batch 64, lr 2e-4 (the code's Adam lr; here AdamW with default betas and no weight decay,
where the code uses betas (0.5, 0.999)), an epoch visiting every train image once with one
of its captions drawn at random. Stated differences from the released code: it trains on
train *and test* pairs (``prob_use_train``), here only on train; 600 epochs with lr halved
every 100 there, a constant lr and :data:`TRAINING` epochs here.

Held-out quality in the manifest (real ``test`` pairs): ``test_vs_similarity`` (HDGAN's
"Ground Truth" row: mean ± std cosine of matching pairs), ``test_vs_similarity_mismatched``
(each caption with the image of another class, a floor), and text-to-image recall
(``test_recall``, 1k folds; ``test_recall_fold250``) as for VSE++.

Shipped ``weights/vs-shapes.{safetensors,json}``: ``python -m t2ibench.evaluators.vs_maps
--dataset shapes --out t2ibench/evaluators/weights --seed 0`` (the manifest records the exact
command and timings).
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

from t2ibench.evaluators.checkpoint import (WEIGHTS_DIR, load_into, load_state, save_state,
                                            weights_and_manifest_paths, write_manifest)
from t2ibench.evaluators.training import add_training_args, command_line, run_info
from t2ibench.evaluators.vse import hinge_ranking_loss
from t2ibench.metrics.retrieval import RANK_K_SLOTS_PROTOCOL

ARCH = "vs-maps-v1"
MARGIN = 0.2
HID_DIM = 512
TRAINING = {"epochs": 60, "batch_size": 64, "lr": 2e-4, "margin": MARGIN}


def weights_name(dataset: str) -> str:
    return f"vs-{dataset}"


def vs_ranking_loss(image_emb: torch.Tensor, text_emb: torch.Tensor, margin: float = MARGIN) -> torch.Tensor:
    """HDGAN Eq. (5) / ``PairwiseRankingLoss`` on L2-normalised embeddings (sum over all negatives)."""
    return hinge_ranking_loss(image_emb @ text_emb.t(), margin, max_violation=False)


def _hdgan_init(fc: nn.Linear) -> nn.Linear:
    r = float(np.sqrt(6.0) / np.sqrt(fc.weight.shape[0] + fc.weight.shape[1]))
    nn.init.normal_(fc.weight, 0.0, r)
    nn.init.zeros_(fc.bias)
    return fc


class VSMaps(nn.Module):
    """``f_v`` (image features -> joint) and ``f_t`` (sentence embeddings -> joint), L2-normalised."""

    def __init__(self, config: dict):
        super().__init__()
        self.config = dict(check_config(config))
        self.f_v = _hdgan_init(nn.Linear(config["image_dim"], config["hid_dim"]))
        self.f_t = _hdgan_init(nn.Linear(config["text_dim"], config["hid_dim"]))

    def map_images(self, v: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.f_v(v.float()), dim=1)

    def map_text(self, t: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.f_t(t.float()), dim=1)


def check_config(config) -> dict:
    if not isinstance(config, dict) or config.get("arch") != ARCH:
        raise ValueError(f"VS maps config: expected a dict with arch {ARCH!r}, got {config!r:.200}")
    for key in ("image_dim", "text_dim", "hid_dim"):
        v = config.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"VS maps config[{key!r}]: expected a positive int, got {v!r}")
    return config


def load_vs_maps(weights=None, manifest=None, dataset: str = "shapes"):
    """``(VSMaps in eval mode on the CPU, sha256, manifest dict)``; packaged ``vs-<dataset>`` when ``weights=None``.

    A user path needs its manifest (``manifest=`` or ``<stem>.json`` next to it): it names the
    image extractor and text encoder the maps were trained over.
    """
    path, manifest = weights_and_manifest_paths(
        weights, manifest, WEIGHTS_DIR / f"{weights_name(dataset)}.safetensors", "VS maps weights",
        packaged_missing=f"the packaged VS maps for {dataset} are missing",
        train_hint=f"train them with: python -m t2ibench.evaluators.vs_maps --dataset {dataset} --out {WEIGHTS_DIR}",
        manifest_holds="it names the feature extractors")
    state, config, digest, man = load_state(path, manifest, what="VS maps weights")
    for key in ("image_extractor", "text_encoder"):
        if not isinstance(man.get(key), dict) or "name" not in man[key]:
            raise ValueError(f"VS maps weights {path}: the manifest has no {key!r} entry")
    model = load_into(VSMaps(config), state, path, what="VS maps weights")
    man = dict(man, _dir=str(path.parent))
    return model.eval(), digest, man


# -- the fixed features --------------------------------------------------------------------------

def default_extractors(dataset: str, out_dir=None) -> tuple[dict, dict]:
    """``(image_extractor spec, text_encoder spec)`` for ``dataset``: ``{"name", "weights", "output"}``."""
    from t2ibench import defaults

    names = defaults.DEFAULT_EXTRACTORS.get(dataset, {})
    image = {"name": names.get("image", defaults.FALLBACK_EXTRACTORS["image"]), "weights": None, "output": None}
    if "damsm" in names:
        text = {"name": names["damsm"], "weights": None, "output": "sentence"}
    else:
        where = Path(out_dir) if out_dir is not None else WEIGHTS_DIR
        text = {"name": defaults.FALLBACK_EXTRACTORS["damsm"], "weights": str(where / f"damsm-{dataset}.safetensors"),
                "output": "sentence"}
    return image, text


def resolve_weights(weights, base_dir) -> str | None:
    """A weights path from a manifest: relative paths are relative to the manifest's folder."""
    if weights is None:
        return None
    p = Path(weights).expanduser()
    return str(p if p.is_absolute() else Path(base_dir) / p)


def load_encoders(image_spec: dict, text_spec: dict, device: str = "cpu", base_dir=None):
    """Load ``(image extractor, text encoder, image output, text output)`` named by the specs."""
    import importlib

    from t2ibench.features import EXTRACTORS, load_extractor

    for spec in (image_spec, text_spec):  # extractor modules that register on import, if not imported yet
        for module in ("damsm", "vse", "clip"):
            if spec["name"] not in EXTRACTORS:
                try:
                    importlib.import_module(f"t2ibench.features.{module}")
                except ImportError:
                    pass

    image = load_extractor(image_spec["name"], device=device,
                           weights=resolve_weights(image_spec.get("weights"), base_dir))
    text = load_extractor(text_spec["name"], device=device,
                          weights=resolve_weights(text_spec.get("weights"), base_dir))
    if not callable(getattr(text, "encode_text", None)):
        raise ValueError(f"text encoder {text_spec['name']!r} is not a text-image encoder (it has no encode_text)")
    image_out = image_spec.get("output") or image.roles.get("embedding")
    text_out = text_spec.get("output") or text.roles.get("text")
    if image_out not in image.outputs:
        raise ValueError(f"image extractor {image.name!r} has no output {image_out!r}; it has {list(image.outputs)}")
    if text_out not in text.text_outputs:
        raise ValueError(f"text encoder {text.name!r} has no text output {text_out!r}; "
                         f"it has {list(text.text_outputs)}")
    return image, text, image_out, text_out


@torch.no_grad()
def image_features(extractor, output: str, dataset, n: int | None = None, batch_size: int = 250,
                   progress: bool = False) -> torch.Tensor:
    from tqdm.auto import tqdm

    n = len(dataset) if n is None else min(n, len(dataset))
    out = []
    for i in tqdm(range(0, n, batch_size), desc="image features", disable=not progress, leave=False):
        out.append(extractor(dataset.images(range(i, min(i + batch_size, n))))[output].float().cpu())
    return torch.cat(out)


@torch.no_grad()
def text_features(encoder, output: str, captions, batch_size: int = 500, progress: bool = False) -> torch.Tensor:
    from tqdm.auto import tqdm

    out = []
    for i in tqdm(range(0, len(captions), batch_size), desc="text features", disable=not progress, leave=False):
        out.append(encoder.encode_text(captions[i:i + batch_size], batch_size=batch_size)[output].float().cpu())
    return torch.cat(out)


# -- held-out quality ------------------------------------------------------------------------------

def mismatched_order(class_ids: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """For each item, an item of another class (a seeded random choice), for the mismatched floor."""
    g = np.random.default_rng(seed)
    cls = class_ids.numpy()
    out = np.empty(len(cls), dtype=np.int64)
    for i, c in enumerate(cls):
        others = np.flatnonzero(cls != c)
        out[i] = others[g.integers(len(others))] if len(others) else i
    return torch.from_numpy(out)


def evaluate_held_out(model: VSMaps, img_feats: torch.Tensor, cap_feats: torch.Tensor, start: torch.Tensor,
                      count: torch.Tensor, class_ids: torch.Tensor | None, fold_sizes=(1000, 250)) -> dict:
    """VS-similarity (matching and mismatched) and text-to-image recall on precomputed test features."""
    from t2ibench.metrics.retrieval import rank_k_slots
    from t2ibench.metrics.vs_similarity import vs_similarity

    model.eval()
    with torch.no_grad():
        v = model.map_images(img_feats)
        t = model.map_text(cap_feats)
    n = len(v)
    slots = int(count.min())
    # every caption with its own image (HDGAN's ground-truth row)
    own = torch.repeat_interleave(torch.arange(n), count)
    out = {"test_vs_similarity": vs_similarity(v[own], t)}
    if class_ids is not None and len(torch.unique(class_ids)) > 1:
        other = mismatched_order(class_ids)
        out["test_vs_similarity_mismatched"] = vs_similarity(v[other[own]], t)
    # recall: one query list per caption slot, as t2ibench.evaluators.vse.held_out_recall
    text_slots = [t[start + k] for k in range(slots)]
    for fs in fold_sizes:
        r = rank_k_slots(text_slots, v, fold_size=fs)
        r["n_images"] = n
        out["test_recall" if fs == 1000 else f"test_recall_fold{fs}"] = r
    return out


# -- training -----------------------------------------------------------------------------------

def _captions(ds) -> tuple[list[str], torch.Tensor, torch.Tensor]:
    flat, start, count = [], [], []
    for i in range(len(ds)):
        caps = ds.captions(i)
        start.append(len(flat))
        count.append(len(caps))
        flat.extend(caps)
    return flat, torch.tensor(start), torch.tensor(count)


def train(out_dir, dataset: str = "shapes", seed: int = 0, device: str = "cpu", epochs: int | None = None,
          data_root=None, progress: bool = True, checkpoint=None, *, image_extractor: str | None = None,
          image_weights=None, image_output: str | None = None, text_encoder: str | None = None,
          text_weights=None, text_output: str | None = None, n_train: int | None = None,
          n_test: int | None = None, training_overrides: dict | None = None, hid_dim: int = HID_DIM,
          command: str | None = None) -> dict:
    """Train f_v, f_t on ``dataset``'s train pairs; write ``vs-<dataset>.safetensors`` + ``.json`` into ``out_dir``.

    image_extractor / text_encoder (+ ``*_weights``, ``*_output``): the fixed feature networks
    (registered extractor names); by default the dataset's (module docstring). Returns the manifest.
    """
    from t2ibench.evaluators.training import TrainConfig, fit, load_train_test, training_settings

    t_start = time.time()
    out_dir = Path(out_dir)
    settings = training_settings(TRAINING, training_overrides, epochs)
    image_spec, text_spec = default_extractors(dataset, out_dir)
    if image_extractor is not None:
        image_spec = {"name": image_extractor, "weights": None, "output": None}
    if text_encoder is not None:
        text_spec = {"name": text_encoder, "weights": None, "output": "sentence"}
    if image_weights is not None:
        image_spec["weights"] = str(Path(image_weights).expanduser().resolve())
    if text_weights is not None:
        text_spec["weights"] = str(Path(text_weights).expanduser().resolve())
    if image_output is not None:
        image_spec["output"] = image_output
    if text_output is not None:
        text_spec["output"] = text_output
    image_ext, text_enc, image_out, text_out = load_encoders(image_spec, text_spec, device=device)
    image_spec.update(output=image_out, weights_id=image_ext.weights_id, stand_in=bool(image_ext.stand_in))
    text_spec.update(output=text_out, weights_id=text_enc.weights_id, stand_in=bool(text_enc.stand_in))
    for spec in (image_spec, text_spec):  # store weights next to the output folder as relative paths
        if spec["weights"] is not None:
            p = Path(spec["weights"]).resolve()
            if p.parent == out_dir.resolve():
                spec["weights"] = p.name

    train_ds, test_ds = load_train_test(dataset, data_root=data_root, progress=progress, n_train=n_train, n_test=n_test)

    t_feat = time.time()
    train_caps, start, count = _captions(train_ds)
    test_caps, test_start, test_count = _captions(test_ds)
    v_train = image_features(image_ext, image_out, train_ds, progress=progress)
    t_train = text_features(text_enc, text_out, train_caps, progress=progress)
    v_test = image_features(image_ext, image_out, test_ds, progress=progress)
    t_test = text_features(text_enc, text_out, test_caps, progress=progress)
    feature_time = time.time() - t_feat

    config = {"arch": ARCH, "image_dim": int(v_train.shape[1]), "text_dim": int(t_train.shape[1]), "hid_dim": hid_dim}
    torch.manual_seed(seed)
    model = VSMaps(config).to(device)
    v_dev, t_dev = v_train.to(device), t_train.to(device)
    margin = settings["margin"]

    def loss_fn(idx: torch.Tensor) -> dict:
        pick = start[idx] + (torch.rand(len(idx)) * count[idx]).long().clamp(max=count[idx] - 1)
        im = model.map_images(v_dev[idx.to(device)])
        s = model.map_text(t_dev[pick.to(device)])
        scores = im @ s.t()
        loss = hinge_ranking_loss(scores, margin, max_violation=False)
        with torch.no_grad():
            r1 = (scores.argmax(dim=0) == torch.arange(len(idx), device=scores.device)).float().mean()
        return {"loss": loss, "batch_t2i_r@1": r1}

    tc = TrainConfig(epochs=settings["epochs"], batch_size=settings["batch_size"], lr=settings["lr"],
                     weight_decay=0.0, grad_clip=None, seed=seed)
    t0 = time.time()
    history = fit(model, loss_fn, len(train_ds), tc, checkpoint=checkpoint, progress=progress, desc=f"vs-{dataset}")
    train_time = time.time() - t0

    name = weights_name(dataset)
    weights_path = out_dir / f"{name}.safetensors"
    model = model.cpu().eval()
    save_state(model.state_dict(), weights_path, model.config)
    state, _, digest, _ = load_state(weights_path, manifest=False, what="VS maps weights")
    saved = load_into(VSMaps(model.config), state, weights_path, what="VS maps weights").eval()
    class_ids = test_ds.class_ids() if test_ds.num_classes else None
    held_out = evaluate_held_out(saved, v_test, t_test, test_start, test_count, class_ids)
    if command is None:
        command = (f"python -m t2ibench.evaluators.vs_maps --dataset {dataset} --out {out_dir} --seed {seed} "
                   f"--epochs {settings['epochs']} --device {device}"
                   + (f" --data-root {data_root}" if data_root is not None else ""))
    manifest = {
        "name": name,
        "weights_file": weights_path.name,
        "sha256": digest,
        "dtype": "float32",
        "config": model.config,
        "image_extractor": image_spec,
        "text_encoder": text_spec,
        "command": command,
        "seed": seed,
        "device": device,
        "loss": {"name": "HDGAN Eq. (5) bidirectional ranking loss (sum over all negatives, both directions)",
                 "margin": margin, "reduction": "sum over the batch"},
        "training": {**settings, "optimizer": "AdamW (constant lr, default betas, weight_decay 0)",
                     "pairs": "every training image once per epoch with one of its captions drawn uniformly",
                     "init": "HDGAN xavier_weight: normal(0, sqrt(6/(fan_in+fan_out))), bias 0"},
        "dataset": {"name": dataset, "train_split": "train", "test_split": "test",
                    "n_train": len(train_ds), "n_test": len(test_ds), "n_train_captions": len(train_caps),
                    "image_size": train_ds.image_size,
                    "train_fingerprint": train_ds.fingerprint, "test_fingerprint": test_ds.fingerprint},
        **held_out,
        "recall_protocol": (RANK_K_SLOTS_PROTOCOL + "; VS-similarity over every test caption with its own image "
                                                    "(mismatched: with an image of another class)"),
        **run_info(t_start, history, feature_time_s=feature_time, train_time_s=train_time),
    }
    write_manifest(out_dir / f"{name}.json", manifest)
    return manifest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m t2ibench.evaluators.vs_maps",
        description="Train HDGAN's VS maps f_v, f_t (two linear maps onto a joint space, bidirectional ranking "
                    "loss with margin 0.2) on a dataset's real train pairs over fixed CNN image features and "
                    "sentence embeddings; measure held-out VS-similarity and text-to-image recall on the test "
                    "split and write vs-<dataset>.safetensors + vs-<dataset>.json into --out. On shapes the "
                    "features are shapes-classifier 'features' and damsm-shapes 'sentence'.")
    add_training_args(parser, out_default=str(WEIGHTS_DIR), epochs_default=None,
                      epochs_help=f"epochs (default {TRAINING['epochs']})")
    parser.add_argument("--image-extractor", default=None, help="registered image feature extractor (f_cnn)")
    parser.add_argument("--image-weights", default=None, help="weights file of --image-extractor")
    parser.add_argument("--image-output", default=None, help="its output to use (default: its 'embedding' role)")
    parser.add_argument("--text-encoder", default=None, help="registered text-image encoder giving sentence embeddings")
    parser.add_argument("--text-weights", default=None, help="weights file of --text-encoder")
    parser.add_argument("--text-output", default=None, help="its text output to use (default 'sentence')")
    args = parser.parse_args(argv)
    command = command_line(parser.prog, argv)
    manifest = train(args.out, dataset=args.dataset, seed=args.seed, device=args.device, epochs=args.epochs,
                     data_root=args.data_root, progress=not args.no_progress, checkpoint=args.checkpoint,
                     image_extractor=args.image_extractor, image_weights=args.image_weights,
                     image_output=args.image_output, text_encoder=args.text_encoder, text_weights=args.text_weights,
                     text_output=args.text_output, command=command)
    print(json.dumps({k: manifest[k] for k in ("sha256", "test_vs_similarity", "test_vs_similarity_mismatched",
                                               "test_recall", "train_time_s") if k in manifest}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
