"""What a zoo model declares to the one trainer: its phases, each phase's updates, optimisers and schedule.

A model trains in one or more :class:`Phase` s, in order (StackGAN: Stage-I then Stage-II;
SDN: Stage-I then Stage-II losses; KT-GAN: teacher, text encoder, student). Each phase lasts
``epochs`` epochs; each training step of a phase runs the generator once (unless the phase
says ``generate=False``; a phase may name another ``forward`` of the model that makes its output
from the whole batch, e.g. KT-GAN's image-to-image teacher) and then every :class:`Update` of the
phase in order: the model's
loss method named by ``loss`` (called ``loss(batch, out)``; ``out`` detached when
``detach``) is minimised by one optimiser step over the trainable parameters of the model's
attribute ``module`` (``"discriminators"``, ``"generator"``, or any other network the model
holds). A phase may train on batches of its own ``batch_size`` (KT-GAN's text-encoder phase:
M = 50 pairs); ``None``: ``config["train"]["batch_size"]``.

Optimisers and learning rates come from ``config["train"]`` (defaults in
:data:`TRAIN_DEFAULTS`): ``optimizer`` "adam" or "adamax" (GR-GAN) with ``betas``; the
update's learning rate is ``config["train"][update.lr]``, multiplied by
``lr_decay_factor`` every ``lr_decay_every`` epochs of the phase (the step decay of
StackGAN's, StackGAN++'s, HDGAN's and GAN-INT-CLS's released trainers: halved every 100
(StackGAN, HDGAN) epochs; ``None``: constant, as AttnGAN and DM-GAN). A new phase starts
with fresh optimisers (StackGAN's code trains Stage-II in a new run with new optimisers).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

#: every key a model's ``config["train"]`` may set, with its default (``epochs`` and ``batch_size``
#: have none: every config states them)
TRAIN_DEFAULTS = {
    "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999], "optimizer": "adam",
    "lr_decay_every": None, "lr_decay_factor": 0.5,
    "ema": None,                 # G EMA decay (None: sample from the raw weights)
    "init_from": None,           # {network attribute: source} (see models.common.init_from)
    "load_scale": 1.0,           # real images loaded at load_scale x the size, randomly cropped (AttnGAN 76/64)
    "flip": False,               # random horizontal flips (AttnGAN: True; shapes captions say left/right)
    "workers": 0,                # DataLoader workers decoding real images (0: in the training process)
}
OPTIMIZERS = {"adam": torch.optim.Adam, "adamax": torch.optim.Adamax}


@dataclass(frozen=True)
class Update:
    """One optimiser step per training step: minimise ``model.<loss>(batch, out)["loss"]`` over
    ``model.<module>``'s trainable parameters at learning rate ``config["train"][lr]``."""

    name: str
    module: str
    loss: str
    lr: str
    detach: bool = False


@dataclass(frozen=True)
class Phase:
    """``epochs`` epochs of ``updates``; ``generate``: run the generator once per step first —
    ``model.generator(batch.text, noise)``, or ``model.<forward>(batch, noise)`` when ``forward`` names a
    method; ``batch_size``: this phase's batches (``None``: the config's)."""

    name: str
    epochs: int
    updates: tuple[Update, ...]
    generate: bool = True
    forward: str | None = None
    batch_size: int | None = None


D_UPDATE = Update("d", "discriminators", "discriminator_loss", "lr_d", detach=True)
G_UPDATE = Update("g", "generator", "generator_loss", "lr_g")


def gan_phase(epochs: int, has_discriminator: bool = True, name: str = "gan") -> Phase:
    """The alternating phase of every GAN here: one D step on the detached output, then one G step."""
    return Phase(name, int(epochs), (D_UPDATE, G_UPDATE) if has_discriminator else (G_UPDATE,))


def phase_at(phases: list[Phase], epoch: int) -> tuple[int, int]:
    """``(phase index, epoch within that phase)`` of global ``epoch`` (0-based)."""
    start = 0
    for i, phase in enumerate(phases):
        if epoch < start + phase.epochs:
            return i, epoch - start
        start += phase.epochs
    raise ValueError(f"epoch {epoch} is past the last phase (the phases last {start} epochs)")


def total_epochs(phases: list[Phase]) -> int:
    return sum(p.epochs for p in phases)


def learning_rate(train: dict, key: str, epoch_in_phase: int) -> float:
    """``train[key]`` after the step decay of :data:`TRAIN_DEFAULTS` at ``epoch_in_phase``."""
    lr, every = float(train[key]), train.get("lr_decay_every")
    if every:
        lr *= float(train.get("lr_decay_factor", 0.5)) ** (int(epoch_in_phase) // int(every))
    return lr


def make_optimizer(params, train: dict, key: str) -> torch.optim.Optimizer:
    """``train["optimizer"]`` over ``params`` at ``train[key]`` with ``train["betas"]``."""
    kind = train.get("optimizer", "adam")
    if kind not in OPTIMIZERS:
        raise ValueError(f"train.optimizer: expected one of {', '.join(OPTIMIZERS)}, got {kind!r}")
    params = list(params)
    if not params:
        raise ValueError(f"an update at {key} has no trainable parameters")
    return OPTIMIZERS[kind](params, lr=float(train[key]), betas=tuple(train.get("betas", (0.5, 0.999))))


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
