"""One small training loop for the evaluators (DAMSM, VSE++, VS maps, the CLIP stand-in, ...).

:func:`fit` runs seeded epochs of Adam(W) over index batches, shows a tqdm bar, and after
every epoch writes a checkpoint (model + optimizer state, epoch, history, torch RNG state)
atomically with ``torch.save``; it is read back only with ``torch.load(weights_only=True)``.
Re-running the same command after an interruption resumes from the last finished epoch
with the same optimizer state, and reaches the same weights as an uninterrupted run
(epoch order comes from ``seed`` and the epoch number, not from a running RNG).
"""
from __future__ import annotations

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
