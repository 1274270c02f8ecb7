"""One small training loop for the evaluators (DAMSM, VSE++, VS maps, the CLIP stand-in, ...).

:func:`fit` runs seeded epochs of Adam(W) over index batches, shows a tqdm bar, and after
every epoch writes a checkpoint (model + optimizer state, epoch, history, torch RNG state)
atomically with ``torch.save``; it is read back only with ``torch.load(weights_only=True)``.
Re-running the same command after an interruption resumes from the last finished epoch
with the same optimizer state, and reaches the same weights as an uninterrupted run
(epoch order comes from ``seed`` and the epoch number, not from a running RNG).

:func:`add_training_args`, :func:`command_line` and :func:`run_info` are the command-line
arguments, recorded command and manifest tail that every evaluator's training script shares.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from t2ibench.io import atomic_write


@dataclass
class TrainConfig:
    """epochs; batch_size (batches are full: the last partial batch of an epoch is dropped; a
    training set smaller than one batch is trained as one batch, with a warning);
    lr, weight_decay (AdamW); grad_clip (max global norm, ``None`` for none); seed."""

    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float | None = None
    seed: int = 0


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The permutation of ``range(n)`` used in ``epoch`` (depends only on seed and epoch)."""
    g = torch.Generator().manual_seed(int(seed) * 100_003 + int(epoch))
    return torch.randperm(n, generator=g)


def _load_checkpoint(path: Path) -> dict:
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 — any unreadable checkpoint is reported the same way
        # torch's own message suggests weights_only=False: advice we never follow, so it is not repeated
        raise ValueError(f"training checkpoint {path} is unreadable or corrupt ({type(e).__name__}); "
                         f"delete it to train from scratch") from e
    if not isinstance(ckpt, dict) or not {"model", "optimizer", "epoch", "history"} <= set(ckpt):
        raise ValueError(f"training checkpoint {path} is not a t2ibench evaluator checkpoint; delete it to "
                         f"train from scratch")
    return ckpt


def fit(model: torch.nn.Module, loss_fn: Callable[[torch.Tensor], torch.Tensor | dict], n_items: int,
        config: TrainConfig, checkpoint: str | Path | None = None, progress: bool = True,
        desc: str = "train") -> list[dict]:
    """Train ``model`` in place and return the per-epoch history.

    loss_fn: called with an int64 tensor of item indices (one batch); returns the loss
    tensor, or a dict whose ``"loss"`` entry is optimised and whose other scalar entries
    are averaged into the history. n_items: size of the training set.
    checkpoint: file to resume from and write after every epoch (``None``: no checkpoint).
    """
    batch_size = config.batch_size
    if n_items < 2:
        raise ValueError(f"{desc}: needs at least 2 training items, got {n_items}")
    if n_items < batch_size:
        warnings.warn(f"{desc}: {n_items} training items are fewer than one batch of {batch_size}; "
                      f"training on one batch of {n_items}", stacklevel=2)
        batch_size = n_items
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    start, history = 0, []
    checkpoint = Path(checkpoint) if checkpoint else None
    if checkpoint and checkpoint.exists():
        ckpt = _load_checkpoint(checkpoint)
        if ckpt.get("config") != asdict(config):
            raise ValueError(f"training checkpoint {checkpoint} was written with another configuration "
                             f"({ckpt.get('config')}); delete it or train with the same settings")
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        torch.set_rng_state(ckpt["rng"])
        start, history = int(ckpt["epoch"]), list(ckpt["history"])
    steps = n_items // batch_size
    for epoch in range(start, config.epochs):
        model.train()
        t0, sums = time.time(), {}
        order = epoch_order(n_items, config.seed, epoch)
        bar = tqdm(range(steps), desc=f"{desc} epoch {epoch + 1}/{config.epochs}", disable=not progress, leave=False)
        for step in bar:
            out = loss_fn(order[step * batch_size:(step + 1) * batch_size])
            out = out if isinstance(out, dict) else {"loss": out}
            optimizer.zero_grad(set_to_none=True)
            out["loss"].backward()
            if config.grad_clip:
                torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
            optimizer.step()
            for k, v in out.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach() if torch.is_tensor(v) else v)
            bar.set_postfix(loss=f"{out['loss'].item():.4f}")
        history.append({"epoch": epoch + 1, **{k: round(v / steps, 6) for k, v in sums.items()},
                        "seconds": round(time.time() - t0, 1)})
        if checkpoint:
            with atomic_write(checkpoint) as f:
                torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch + 1,
                            "history": history, "rng": torch.get_rng_state(), "config": asdict(config)}, f)
    model.eval()
    return history


def add_training_args(parser: argparse.ArgumentParser, *, epochs_default: int | None, epochs_help: str,
                      out_default: str | None = None, dataset: bool = True, checkpoint: bool = True,
                      seed_help: str = "seed of initialisation and data order (default 0)") -> None:
    """Declare the arguments every evaluator training script shares on ``parser``.

    ``--out`` is required when ``out_default`` is ``None``. ``dataset``/``checkpoint``: whether
    to declare ``--dataset`` and ``--data-root`` / ``--checkpoint`` (a script that trains on
    shapes only, without resuming, leaves them out). Module-specific arguments are added after.
    """
    if dataset:
        parser.add_argument("--dataset", default="shapes",
                            help="dataset to train on: shapes (default), cub, flowers, coco")
        parser.add_argument("--data-root", default=None,
                            help="folder of your copy of a real dataset (cub, flowers, coco; not needed for shapes)")
    if out_default is None:
        parser.add_argument("--out", required=True, help="output folder for the weights and the manifest")
    else:
        parser.add_argument("--out", default=out_default, help="output folder for the weights and the manifest "
                                                                "(default: the packaged weights folder)")
    parser.add_argument("--seed", type=int, default=0, help=seed_help)
    parser.add_argument("--epochs", type=int, default=epochs_default, help=epochs_help)
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    if checkpoint:
        parser.add_argument("--checkpoint", default=None,
                            help="training checkpoint file, written after every epoch and resumed from when it exists")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")


def command_line(prog: str, argv=None) -> str:
    """The command recorded in a manifest: ``prog`` and its arguments (``sys.argv[1:]`` when ``argv`` is None)."""
    argv_list = sys.argv[1:] if argv is None else list(argv)
    return (prog + " " + " ".join(argv_list)).strip()


def run_info(t_start: float, history: list[dict], **timings: float) -> dict:
    """The tail of an evaluator manifest: each ``<name>_time_s`` of ``timings`` (seconds, rounded to
    0.1), ``total_time_s`` since ``t_start``, the torch version and thread count, and the history."""
    return {**{k: round(v, 1) for k, v in timings.items()},
            "total_time_s": round(time.time() - t_start, 1),
            "torch_version": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "history": history}


def check_epochs(epochs, default: int | None = None) -> int:
    """``epochs`` (``default`` when None) checked to be an int >= 1, else a ``ValueError`` saying so."""
    epochs = default if epochs is None else epochs
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs: expected an int >= 1, got {epochs!r}")
    return epochs


def load_train_test(dataset: str, image_size: int | None = None, *, data_root=None, progress: bool = True,
                    n_train: int | None = None, n_test: int | None = None) -> tuple:
    """The ``(train, test)`` splits of ``dataset`` at ``image_size`` px (None: the dataset's default) for a
    script that trains an evaluator or a stand-in: ``shapes`` is generated here (``n_train`` / ``n_test``,
    when given, replace its default sizes; ``progress`` shows its rendering), a real dataset is read from
    ``data_root`` — a ``ValueError`` that says to pass ``--data-root`` when it is missing."""
    from t2ibench.data import load_dataset

    if dataset == "shapes":
        kwargs = {"progress": progress, **{k: v for k, v in (("n_train", n_train), ("n_test", n_test)) if v is not None}}
    elif data_root is None:
        raise ValueError(f"dataset {dataset!r}: pass --data-root (the folder of your copy of the dataset)")
    else:
        kwargs = {"root": data_root}
    return tuple(load_dataset(dataset, split=split, image_size=image_size, **kwargs) for split in ("train", "test"))


def training_settings(defaults: dict, overrides: dict | None = None, epochs: int | None = None) -> dict:
    """A copy of ``defaults`` updated with ``overrides`` (known keys only, else a ``ValueError``) and, when
    given, ``epochs`` (an int >= 1)."""
    settings = dict(defaults)
    unknown = set(overrides or {}) - set(settings)
    if unknown:
        raise ValueError(f"training_overrides: unknown keys {sorted(unknown)}; known: {sorted(settings)}")
    settings.update(overrides or {})
    if epochs is not None:
        settings["epochs"] = check_epochs(epochs)
    return settings
