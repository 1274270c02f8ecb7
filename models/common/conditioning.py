"""Conditioning augmentation (StackGAN, Zhang et al. 2017, Sec. 3.1) and its KL regulariser.

The sentence embedding φ_t is mapped to the mean μ(φ_t) and a diagonal log-variance
log σ²(φ_t) of a Gaussian; the conditioning code is sampled as ĉ = μ + σ ⊙ ε, ε ~ N(0, I).
As in StackGAN-v2 / AttnGAN's released ``CA_NET``, one linear layer produces 4·c_dim
values, a GLU halves them, and the halves are μ and log σ².

The regulariser is D_KL(N(μ, Σ) ‖ N(0, I)) (StackGAN Eq. 3), computed as in the released code
(``KL_loss``): ``-0.5 * mean(1 + logvar - mu² - exp(logvar))`` — a mean over batch *and*
dimensions, not the per-sample sum; the papers' λ (1 for StackGAN/AttnGAN) multiplies it.
"""
from __future__ import annotations

import torch
from torch import nn


class ConditioningAugmentation(nn.Module):
    """``text_dim`` -> conditioning code ``[N, c_dim]``; returns ``(code, mu, logvar)``.

    ``sample=False`` (or eval mode with ``sample_in_eval=False``) returns ``mu`` as the code.
    ``generator``: optional ``torch.Generator`` for ε, so codes can follow per-caption seeds.
    """

    def __init__(self, text_dim: int, c_dim: int):
        super().__init__()
        self.c_dim = c_dim
        self.fc = nn.Linear(text_dim, 4 * c_dim)
        self.glu = nn.GLU(dim=1)

    def encode(self, text: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.glu(self.fc(text))
        return h[:, : self.c_dim], h[:, self.c_dim:]

    def forward(self, text: torch.Tensor, sample: bool = True,
                noise: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(text)
        if not sample:
            return mu, mu, logvar
        eps = torch.randn_like(mu) if noise is None else noise
        if eps.shape != mu.shape:
            raise ValueError(f"noise: expected shape {tuple(mu.shape)}, got {tuple(eps.shape)}")
        return mu + eps * torch.exp(0.5 * logvar), mu, logvar


def kl_loss(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """StackGAN's KL term (Eq. 3, as its code computes it): ``-0.5 * mean(1 + logvar - mu² - exp(logvar))``."""
    return -0.5 * torch.mean(1 + logvar - mu.pow(2) - logvar.exp())
