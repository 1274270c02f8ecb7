"""The ``shapes`` domain classifier: a small CNN over the 48 ``(colour, shape)`` classes.

It is the shapes counterpart of Inception-v3 for IS and FID: the 48 logits feed the
Inception Score, the penultimate (global-average-pooled) feature vector feeds FID. The
shipped checkpoint ``weights/shapes-classifier.safetensors`` and its manifest
``weights/shapes-classifier.json`` were made with::

    python -m t2ibench.evaluators.shapes_classifier --out t2ibench/evaluators/weights --seed 0 --epochs 10

Input protocol: uint8 ``[N, 3, H, W]`` of any size, resized to 64x64 with antialiased
bilinear interpolation (skipped when already 64x64), scaled to [-1, 1].

Architecture (``config["widths"] = [w0, w1, w2, w3]``): conv4x4/2 (3->w0), conv4x4/2
(w0->w1), conv3x3 (w1->w2), maxpool 2, conv3x3 (w2->w3), each conv followed by
BatchNorm and ReLU; global average pool -> features (w3-d); linear -> 48 logits.

Training (:func:`train_shapes_classifier`): the ``shapes`` ``train`` split at 64 px
(default pool sizes), random horizontal flips (they keep every class), AdamW with a
one-cycle learning-rate schedule, batch 64, cross-entropy without label smoothing (so
that IS of real images is not damped); the data order and the flips come from a
``torch.Generator`` seeded with ``seed``. Held-out accuracy is measured on the whole
``test`` split.

Shipped checkpoint: 99.8 % held-out accuracy on the 2,000 ``test`` images; 945 s of
training wall time on 2 CPU cores shared with other jobs (epochs on the idle machine take
about 32 s, so about 5.5 min for the 10 epochs).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from t2ibench.imageops import resize_antialiased
from t2ibench.evaluators.checkpoint import WEIGHTS_DIR, load_into, load_state, save_state
from t2ibench.evaluators.training import add_training_args, check_epochs, command_line, load_train_test, run_info

NAME = "shapes-classifier"
WEIGHTS_FILE = WEIGHTS_DIR / f"{NAME}.safetensors"
MANIFEST_FILE = WEIGHTS_DIR / f"{NAME}.json"
INPUT_SIZE = 64
DEFAULT_CONFIG = {"arch": "shapes-cnn-v1", "widths": [32, 64, 128, 256], "num_classes": 48, "input_size": INPUT_SIZE}
DEFAULT_EPOCHS = 10
BATCH_SIZE = 64
LR = 2e-3
WEIGHT_DECAY = 1e-4


def _conv(cin: int, cout: int, k: int, stride: int, padding: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, k, stride=stride, padding=padding, bias=False), nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True)]


class ShapesClassifier(nn.Module):
    """``forward(x)`` with ``x`` float ``[N, 3, 64, 64]`` in [-1, 1] -> ``(features, logits)``."""

    def __init__(self, config: dict):
        super().__init__()
        self.config = dict(config)
        w0, w1, w2, w3 = config["widths"]
        self.body = nn.Sequential(*_conv(3, w0, 4, 2, 1), *_conv(w0, w1, 4, 2, 1), *_conv(w1, w2, 3, 1, 1),
                                  nn.MaxPool2d(2), *_conv(w2, w3, 3, 1, 1))
        self.head = nn.Linear(w3, config["num_classes"])
        self.feature_dim = w3

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x).mean(dim=(2, 3))
        return features, self.head(features)


def build_classifier(config: dict | None = None) -> ShapesClassifier:
    """The network for ``config`` (:data:`DEFAULT_CONFIG` when ``None``), randomly initialised."""
    config = dict(DEFAULT_CONFIG if config is None else config)
    widths = config.get("widths")
    if (not isinstance(widths, (list, tuple)) or len(widths) != 4
            or not all(isinstance(w, int) and w > 0 for w in widths)):
        raise ValueError(f"config['widths']: expected 4 positive ints, got {widths!r}")
    if config.get("arch") != DEFAULT_CONFIG["arch"]:
        raise ValueError(f"config['arch']: expected {DEFAULT_CONFIG['arch']!r}, got {config.get('arch')!r}")
    return ShapesClassifier(config)


def preprocess(images: torch.Tensor, size: int = INPUT_SIZE) -> torch.Tensor:
    """uint8 ``[N, 3, H, W]`` -> float ``[N, 3, size, size]`` in [-1, 1] (antialiased bilinear resize)."""
    return resize_antialiased(images.float(), size) / 127.5 - 1.0


@torch.no_grad()
def predict(model: ShapesClassifier, images: torch.Tensor, batch_size: int = 250) -> tuple[torch.Tensor, torch.Tensor]:
    """``(features, logits)`` of uint8 images, in batches, in eval mode."""
    model.eval()
    device = next(model.parameters()).device
    feats, logits = [], []
    for i in range(0, len(images), batch_size):
        f, l = model(preprocess(images[i:i + batch_size].to(device)))
        feats.append(f.cpu())
        logits.append(l.cpu())
    return torch.cat(feats), torch.cat(logits)


def accuracy(model: ShapesClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    _, logits = predict(model, images)
    return float((logits.argmax(1) == labels).float().mean())


def save_weights(model: ShapesClassifier, path) -> str:
    """Write the state dict (fp32) with safetensors, the config in the file's metadata; returns the sha256."""
    return save_state(model.state_dict(), path, model.config)


def load_classifier(weights=None, manifest=None, device: str = "cpu") -> tuple[ShapesClassifier, str]:
    """Load a classifier from safetensors (never pickle); returns ``(model in eval mode, sha256)``.

    ``weights=None`` loads the packaged checkpoint and checks its sha256 against the packaged
    manifest. A user path is checked against ``manifest`` when given, else against a
    manifest next to it (same stem, ``.json``) if one exists. A hash mismatch, a file that
    is not valid safetensors, or tensors that do not fit the architecture raise ``ValueError``
    naming the file.
    """
    if weights is None:
        path, manifest = WEIGHTS_FILE, MANIFEST_FILE if manifest is None else Path(manifest)
        if not path.is_file() or not manifest.is_file():
            raise ValueError(f"the packaged shapes classifier is missing ({path} / {manifest}); "
                             f"train it with: python -m t2ibench.evaluators.shapes_classifier --out {WEIGHTS_DIR}")
    else:
        path = Path(weights)
    state, config, digest, _ = load_state(path, manifest, what="shapes classifier weights")
    model = load_into(build_classifier(config or DEFAULT_CONFIG), state, path, what="shapes classifier weights")
    return model.to(device).eval(), digest


def train_shapes_classifier(out_dir, seed: int = 0, epochs: int = DEFAULT_EPOCHS, device: str = "cpu",
                            config: dict | None = None, command: str | None = None, progress: bool = True,
                            n_train: int | None = None, n_test: int | None = None) -> dict:
    """Train on ``shapes`` ``train`` (64 px), measure accuracy on ``test``, write weights + manifest.

    Writes ``out_dir/shapes-classifier.safetensors`` and ``out_dir/shapes-classifier.json``;
    returns the manifest. ``n_train`` / ``n_test`` (default: ``defaults.SHAPES_TRAIN`` /
    ``SHAPES_TEST``) size the dataset pool; smaller values are for tests.
    """
    from tqdm.auto import tqdm

    from t2ibench.io import write_json

    check_epochs(epochs)
    out_dir = Path(out_dir)
    t0 = time.time()
    train, test = load_train_test("shapes", INPUT_SIZE, progress=progress, n_train=n_train, n_test=n_test)
    x_train, y_train = train.images(range(len(train))), train.class_ids()
    x_test, y_test = test.images(range(len(test))), test.class_ids()

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = build_classifier(config).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    steps_per_epoch = (len(x_train) + BATCH_SIZE - 1) // BATCH_SIZE
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=epochs * steps_per_epoch, pct_start=0.2)
    t_train = time.time()
    history = []
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x_train), generator=gen)
        flips = torch.rand(len(x_train), generator=gen) < 0.5
        correct, seen, total_loss = 0, 0, 0.0
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{epochs}", unit="batch", disable=not progress)
        for b in bar:
            idx = order[b * BATCH_SIZE:(b + 1) * BATCH_SIZE]
            x = x_train[idx]
            flip = flips[idx]
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
            x, y = preprocess(x.to(device)), y_train[idx].to(device)
            _, logits = model(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            correct += int((logits.argmax(1) == y).sum())
            seen += len(y)
            total_loss += float(loss.detach()) * len(y)
            bar.set_postfix(loss=f"{total_loss / seen:.3f}", acc=f"{correct / seen:.3f}")
        bar.close()
        history.append({"epoch": epoch + 1, "train_loss": round(total_loss / seen, 5), "train_accuracy": round(correct / seen, 5)})
    train_time = time.time() - t_train
    model = model.cpu().eval()
    weights_path = out_dir / f"{NAME}.safetensors"
    save_weights(model, weights_path)
    # measure the accuracy of exactly what was saved (no manifest yet: the file is read unverified)
    saved, digest = load_classifier(weights_path, manifest=False)
    test_acc = accuracy(saved, x_test, y_test)
    if command is None:
        command = (f"python -m t2ibench.evaluators.shapes_classifier --out {out_dir} --seed {seed} "
                   f"--epochs {epochs} --device {device}")
    manifest = {
        "name": NAME,
        "weights_file": weights_path.name,
        "sha256": digest,
        "dtype": "float32",
        "config": model.config,
        "command": command,
        "seed": seed,
        "epochs": epochs,
        "device": device,
        "batch_size": BATCH_SIZE,
        "optimizer": {"name": "AdamW", "lr": LR, "weight_decay": WEIGHT_DECAY, "schedule": "OneCycleLR(pct_start=0.2)"},
        "augmentation": "random horizontal flip (p=0.5)",
        "input": "uint8 RGB, resized to 64x64 (bilinear, antialias), scaled to [-1, 1]",
        "dataset": {"name": "shapes", "train_split": "train", "test_split": "test", "image_size": INPUT_SIZE,
                    "n_train": len(train), "n_test": len(test), "seed": train.seed,
                    "train_fingerprint": train.fingerprint, "test_fingerprint": test.fingerprint},
        "test_accuracy": round(test_acc, 5),
        "n_test_images": len(test),
        **run_info(t0, history, train_time_s=train_time),
    }
    write_json(out_dir / f"{NAME}.json", manifest)
    return manifest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m t2ibench.evaluators.shapes_classifier",
        description="Train the shapes domain classifier (48 colour-shape classes; features for FID, logits "
                    "for IS) on the shapes train split at 64 px, measure its accuracy on the test split, and "
                    "write shapes-classifier.safetensors + shapes-classifier.json (sha256, config, command, "
                    "seed, dataset fingerprint, accuracy, timings) into --out. The shipped checkpoint was "
                    "made with --out t2ibench/evaluators/weights --seed 0 --epochs %d." % DEFAULT_EPOCHS)
    add_training_args(parser, epochs_default=DEFAULT_EPOCHS, epochs_help=f"training epochs (default {DEFAULT_EPOCHS})",
                      seed_help="seed of initialisation, data order and flips (default 0)",
                      dataset=False, checkpoint=False)
    args = parser.parse_args(argv)
    manifest = train_shapes_classifier(args.out, seed=args.seed, epochs=args.epochs, device=args.device,
                                       command=command_line(parser.prog, argv), progress=not args.no_progress)
    print(json.dumps({k: manifest[k] for k in ("sha256", "test_accuracy", "n_test_images", "train_time_s")}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
