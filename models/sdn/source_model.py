"""SDN's source model D: the real ImageNet VGG19 when the user has it, else a stand-in trained here.

SDN (Yuan & Peng, ACM MM 2018, Sec. 3.2, 3.5) distils from the 16 conv layers of VGG19 pre-trained on
ImageNet, frozen. ImageNet weights cannot be downloaded here, so:

- **Real weights** (``config["source_weights"]``): torchvision's ``vgg19`` ImageNet state dict
  (e.g. ``vgg19-dcbb9e9d.pth`` from ``torchvision.models.VGG19_Weights.IMAGENET1K_V1``), read with
  ``torch.load(weights_only=True)`` (no arbitrary unpickling) into the ``torchvision.models.vgg19``
  architecture (strict: every key and shape), whose ``features`` (the 16 conv layers) become D. The
  config's ``source_widths``/``source_fc`` must then be VGG19's (64…512, 4096).
- **Stand-in** (otherwise): a VGG19-shaped classifier — the same 16 conv + 3 fc ladder
  (:class:`~models.sdn.networks.VGG19`, torchvision's layout) with the config's scaled widths — trained
  from scratch on the dataset's class labels by this module's command and shipped as
  ``models/weights/sdn-vgg19-<dataset>.safetensors`` + ``.json`` (sha256, command, seed, training
  time, held-out class accuracy). Every generator trained with it names it as a stand-in in its
  manifest (``"pretrained"``, from :func:`load_source`).

Training the stand-in (:func:`train_source`)::

    python -m models.sdn.source_model --dataset shapes --out models/weights --seed 3

On ``shapes`` it trains on the ``zs-train`` split (the 36 *seen* classes of the zero-shot split;
the 48-way output layer never gets an unseen class as target), so that the source model has seen
no label of the unseen classes of ``tiny-zs`` — as the paper keeps its D away from the test
classes ("the semantic labels are not used for fine-tuning D ... zero-shot setting"). On another
dataset it trains on its ``train`` split (CUB's 150 training classes). ``HELDOUT_FRACTION`` of the
training images (a seeded draw) are held out for the class accuracy in the manifest. Settings:
SGD with Nesterov momentum (lr ``LR``, momentum ``MOMENTUM``, weight decay ``WEIGHT_DECAY``, one-cycle
schedule), batch ``BATCH_SIZE``, ``DEFAULT_EPOCHS`` epochs, random horizontal flips (they keep every
class), torchvision's VGG initialisation, no dropout while training (VGG19's fc6/fc7 dropout slowed the
short training down; SDN never uses the classifier head). Measured on shapes (held-out accuracy on
1000 zs-train images, 36 classes, chance 0.028): AdamW at lr 2e-3 reached 0.39 after 840 steps, this
SGD 0.43 after 560. The shipped stand-in (5 epochs, 700 steps): held-out accuracy 0.611, 388 s of CPU
time of its one thread (581 s wall on the shared, loaded machine). A plain 19-layer VGG did not leave chance level in short runs from scratch (Adam at
lr 3e-4 and 1e-3, 170 steps), so the stand-in trains with BatchNorm after
every conv (``vgg19_bn``'s layout) and is shipped with the BatchNorm folded into the convs
(:func:`~models.sdn.networks.fold_batch_norm`): the shipped network is a plain VGG19 computing exactly
what the trained one computes in eval mode; seed 3 (the evaluators use seed 0, the zoo's
DAMSM seed 1). The architecture (widths, fc, image size) comes from an SDN config (``--config``,
default ``tiny``). This network is SDN's teacher only: it is not, and is not trained against, any
network a metric scores with.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from models.common.text_encoder import ZOO_WEIGHTS_DIR
from models.sdn.networks import VGG19, VGG19_FC, VGG19_WIDTHS, VGG19Features, check_widths, fold_batch_norm

NAME = "sdn-vgg19"
LR = 0.1
MOMENTUM = 0.9
WEIGHT_DECAY = 5e-4
BATCH_SIZE = 64
DEFAULT_EPOCHS = 5
HELDOUT_FRACTION = 0.1
#: the split each dataset's stand-in trains on (shapes: the seen classes of the zero-shot split)
TRAIN_SPLIT = {"shapes": "zs-train"}


def standin_path(dataset: str, folder=ZOO_WEIGHTS_DIR) -> Path:
    return Path(folder) / f"{NAME}-{dataset}.safetensors"


def architecture(config: dict) -> dict:
    """The source model's shape an SDN ``config`` asks for: ``{"widths", "fc", "image_size"}``."""
    widths, fc = check_widths(config["source_widths"], config["source_fc"], config["image_size"])
    return {"widths": list(widths), "fc": fc, "image_size": int(config["image_size"])}


def _train_command(dataset: str, config_name: str = "tiny") -> str:
    return (f"python -m models.sdn.source_model --dataset {dataset} --config {config_name} --out models/weights "
            f"--seed 3" + ("" if dataset == "shapes" else " --data-root DATA"))


def load_torchvision_vgg19(features: VGG19Features, path) -> str:
    """Load torchvision's ``vgg19`` state dict from ``path`` (``torch.load(weights_only=True)``) into the
    ``torchvision.models.vgg19`` architecture, strictly, and copy its ``features`` into ``features``;
    returns the file's sha256. A file that is not a VGG19 state dict is a ``ValueError`` naming it."""
    import torchvision

    from t2ibench.io import sha256_file

    path = Path(path).expanduser()
    if not path.is_file():
        raise ValueError(f"source_weights: no such file {path} (expected torchvision's ImageNet vgg19 state dict)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file: say which and what was expected
        raise ValueError(f"source_weights: {path} is not a torch state dict readable with weights_only=True ({e})") \
            from e
    if not isinstance(state, dict):
        raise ValueError(f"source_weights: {path} holds a {type(state).__name__}, expected torchvision's vgg19 "
                         f"state dict")
    with torch.device("meta"):  # the architecture only: assign=True puts the file's tensors in place
        vgg = torchvision.models.vgg19()
    try:
        vgg.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as e:
        raise ValueError(f"source_weights: {path} is not torchvision's vgg19 state dict ({e})") from e
    features.features.load_state_dict(vgg.features.state_dict())
    return sha256_file(path)


def load_source(features: VGG19Features, config: dict, dataset: str) -> dict:
    """Load SDN's source model D into ``features`` for ``config`` and ``dataset``: the user's torchvision
    VGG19 file ``config["source_weights"]`` if given, else the shipped stand-in; returns the
    ``{"role", "weights", "sha256", "description"}`` record a generator's manifest keeps."""
    from t2ibench.evaluators.checkpoint import load_into, load_state

    role = "source model D (frozen VGG19 conv layers, SDN Sec. 3.2)"
    arch = architecture(config)
    if config.get("source_weights"):
        if (tuple(arch["widths"]), arch["fc"]) != (VGG19_WIDTHS, VGG19_FC):
            raise ValueError(f"source_weights: a torchvision VGG19 needs source_widths {list(VGG19_WIDTHS)} and "
                             f"source_fc {VGG19_FC}; the config has {arch['widths']} and {arch['fc']}")
        digest = load_torchvision_vgg19(features, config["source_weights"])
        return {"role": role, "weights": Path(config["source_weights"]).name, "sha256": digest,
                "description": "VGG19 pre-trained on ImageNet (torchvision vgg19 state dict given by the user), "
                               "as in the paper"}
    path = standin_path(dataset)
    if not path.is_file() or not path.with_suffix(".json").is_file():
        raise ValueError(f"sdn: no source model for {dataset!r}: give the ImageNet VGG19 (torchvision's vgg19 state "
                         f"dict) as config source_weights, or train the stand-in ({path} and its manifest) with: "
                         f"{_train_command(dataset)}")
    state, saved, digest, manifest = load_state(path, what="SDN source model stand-in")
    if {k: saved.get(k) for k in arch} != arch:
        raise ValueError(f"SDN source model stand-in {path} has widths {saved.get('widths')}, fc {saved.get('fc')} at "
                         f"{saved.get('image_size')} px; the config asks for {arch['widths']}, {arch['fc']} at "
                         f"{arch['image_size']} px: pass source_weights or train a stand-in for this config")
    load_into(features, {k: v for k, v in state.items() if k.startswith("features.")}, path,
              what="SDN source model stand-in")
    return {"role": role, "weights": path.name, "sha256": digest,
            "description": (f"STAND-IN for the paper's ImageNet VGG19: a VGG19-shaped classifier (widths "
                            f"{arch['widths']}, fc {arch['fc']}, {arch['image_size']} px) trained on the "
                            f"{manifest['dataset']['train_split']} class labels of {dataset} by "
                            f"`{manifest['command']}`; held-out class accuracy {manifest['heldout_accuracy']}")}


@torch.no_grad()
def _accuracy(model: VGG19, images: torch.Tensor, labels: torch.Tensor, device, batch: int = 250) -> float:
    model.eval()
    correct = sum(int((model(images[i:i + batch].to(device).float() / 127.5 - 1).argmax(1).cpu()
                       == labels[i:i + batch]).sum()) for i in range(0, len(images), batch))
    return correct / max(len(images), 1)


def train_source(out_dir=ZOO_WEIGHTS_DIR, dataset: str = "shapes", config_name: str = "tiny", seed: int = 3,
                 epochs: int = DEFAULT_EPOCHS, device: str = "cpu", data_root=None, progress: bool = True,
                 command: str | None = None, n_train: int | None = None) -> dict:
    """Train the stand-in source model (module docstring) and write ``OUT/sdn-vgg19-<dataset>.safetensors`` +
    ``.json``; returns the manifest. ``n_train`` shrinks the shapes pool (tests)."""
    from tqdm.auto import tqdm

    import models.sdn  # noqa: F401  (registers sdn)
    from models.common.zoo import MODELS
    from t2ibench.data import load_dataset
    from t2ibench.evaluators.checkpoint import load_into, load_state, save_state, write_manifest
    from t2ibench.evaluators.training import check_epochs, run_info

    check_epochs(epochs)
    t0 = time.time()
    arch = architecture(MODELS.get("sdn").config(config_name))
    split = TRAIN_SPLIT.get(dataset, "train")
    kwargs = {"image_size": arch["image_size"]}
    if dataset == "shapes":
        kwargs.update(progress=progress, **({"n_train": n_train, "n_test": 64} if n_train else {}))
    else:
        if data_root is None:
            raise ValueError(f"dataset {dataset!r}: pass --data-root (the folder of your copy)")
        kwargs["root"] = data_root
    ds = load_dataset(dataset, split=split, **kwargs)
    images, labels = ds.images(range(len(ds))), ds.class_ids()
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(ds), generator=gen)
    n_held = max(1, round(HELDOUT_FRACTION * len(ds)))
    held, train = order[:n_held], order[n_held:]

    torch.manual_seed(seed)
    model = VGG19(arch["widths"], arch["fc"], ds.num_classes, arch["image_size"] // 32, dropout=0.0,
                  batch_norm=True).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, nesterov=True, weight_decay=WEIGHT_DECAY)
    steps = len(train) // BATCH_SIZE
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=epochs * steps, pct_start=0.2)
    history, t_train, cpu_train = [], time.time(), time.process_time()
    for epoch in range(epochs):
        model.train()
        perm = train[torch.randperm(len(train), generator=gen)]
        flips = torch.rand(len(perm), generator=gen) < 0.5
        total, correct, seen = 0.0, 0, 0
        bar = tqdm(range(steps), desc=f"sdn source model, epoch {epoch + 1}/{epochs}", unit="batch",
                   disable=not progress)
        for b in bar:
            idx = perm[b * BATCH_SIZE:(b + 1) * BATCH_SIZE]
            x = images[idx]
            x = torch.where(flips[b * BATCH_SIZE:(b + 1) * BATCH_SIZE, None, None, None], x.flip(-1), x)
            x, y = x.to(device).float() / 127.5 - 1, labels[idx].to(device)
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(y)
            correct += int((logits.argmax(1) == y).sum())
            seen += len(y)
            bar.set_postfix(loss=f"{total / seen:.3f}", acc=f"{correct / seen:.3f}")
        bar.close()
        history.append({"epoch": epoch + 1, "train_loss": round(total / seen, 5),
                        "train_accuracy": round(correct / seen, 5)})
    train_time, cpu_time = time.time() - t_train, time.process_time() - cpu_train
    out_dir = Path(out_dir)
    path = standin_path(dataset, out_dir)
    config = {**arch, "classes": ds.num_classes}
    save_state(fold_batch_norm(model.cpu()).state_dict(), path, config)
    # measure exactly what was saved (no manifest yet: read back unverified)
    state, _, digest, _ = load_state(path, manifest=False, what="SDN source model stand-in")
    saved = load_into(VGG19(arch["widths"], arch["fc"], ds.num_classes, arch["image_size"] // 32), state, path)
    heldout = _accuracy(saved, images[held], labels[held], "cpu")
    manifest = {
        "name": f"{NAME}-{dataset}", "weights_file": path.name, "sha256": digest, "dtype": "float32",
        "config": config, "role": "stand-in for the ImageNet VGG19 source model of SDN (models.sdn)",
        "command": command or f"python -m models.sdn.source_model --dataset {dataset} --config {config_name} "
                              f"--out {out_dir} --seed {seed} --epochs {epochs}",
        "seed": seed, "epochs": epochs, "device": str(device), "batch_size": BATCH_SIZE,
        "optimizer": {"name": "SGD", "nesterov": True, "momentum": MOMENTUM, "lr": LR, "weight_decay": WEIGHT_DECAY,
                      "schedule": "OneCycleLR(pct_start=0.2)"},
        "dropout": "none while training (VGG19's dropout 0.5 in fc6/fc7 slowed the short training; the classifier "
                   "head is not used by SDN)",
        "batch_norm": "trained with BatchNorm after every conv, shipped folded into the convs (a plain VGG19)",
        "augmentation": "random horizontal flip (p=0.5)",
        "input": "uint8 RGB at image_size, scaled to [-1, 1], then ImageNet mean/std (VGG19Features.normalise)",
        "dataset": {"name": dataset, "train_split": split, "image_size": arch["image_size"], "n_images": len(ds),
                    "n_heldout": n_held, "classes_seen": sorted(set(labels[train].tolist())),
                    "fingerprint": ds.fingerprint},
        "heldout_accuracy": round(heldout, 5),
        **run_info(t0, history, train_time_s=train_time, train_cpu_time_s=cpu_time),
    }
    write_manifest(path.with_suffix(".json"), manifest)
    return manifest


def main(argv=None) -> int:
    from t2ibench.evaluators.training import add_training_args, command_line

    parser = argparse.ArgumentParser(
        prog="python -m models.sdn.source_model", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train the stand-in for SDN's ImageNet VGG19 source model: a VGG19-shaped classifier (the widths "
                    "of an SDN config) on the dataset's class labels; writes OUT/sdn-vgg19-DATASET.safetensors + "
                    ".json (sha256, command, seed, training time, held-out class accuracy).\n\n" + __doc__)
    add_training_args(parser, epochs_default=DEFAULT_EPOCHS, epochs_help=f"epochs (default {DEFAULT_EPOCHS})",
                      out_default=str(ZOO_WEIGHTS_DIR), checkpoint=False,
                      seed_help="seed of initialisation, held-out draw and data order (default 3)")
    parser.set_defaults(seed=3)
    parser.add_argument("--config", default="tiny", help="the SDN config whose source widths, fc width and image size "
                                                         "the stand-in takes (default tiny)")
    args = parser.parse_args(argv)
    try:
        manifest = train_source(args.out, dataset=args.dataset, config_name=args.config, seed=args.seed,
                                epochs=args.epochs, device=args.device, data_root=args.data_root,
                                progress=not args.no_progress, command=command_line(parser.prog, argv))
    except ValueError as e:
        parser.error(str(e))
    print(json.dumps({k: manifest[k] for k in ("weights_file", "sha256", "heldout_accuracy", "train_time_s")},
                     indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
