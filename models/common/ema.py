"""Exponential moving average of a generator's weights (the "G EMA" of DESIGN §5).

``shadow = decay * shadow + (1 - decay) * weights`` after every optimiser step (Karras et
al. 2018, ProGAN Sec. A.1; DF-GAN/AttnGAN-era code calls it ``avg_param_G`` with decay
0.999). Buffers (e.g. batch-norm statistics) are copied, not averaged. Sampling and
checkpoints use the shadow copy.
"""
from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """Holds an averaged copy of ``model``; call :meth:`update` after each optimiser step."""

    def __init__(self, model: nn.Module, decay: float = 0.999):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay: expected a number in [0, 1), got {decay!r}")
        self.decay = decay
        self.shadow = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        for s, p in zip(self.shadow.parameters(), model.parameters()):
            s.mul_(self.decay).add_(p.detach(), alpha=1.0 - self.decay)
        for s, b in zip(self.shadow.buffers(), model.buffers()):
            s.copy_(b)

    def state_dict(self) -> dict:
        return self.shadow.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.shadow.load_state_dict(state)
