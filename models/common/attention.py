"""Word-level attention (AttnGAN, Xu et al. 2018, Sec. 3.1, Eq. 2; ``GlobalAttentionGeneral``).

For image features ``h`` ``[N, C, H, W]`` (one column ``h_j`` per sub-region) and word
features ``e`` ``[N, D, T]``: the words are projected into the image's space by
``U`` (a 1x1 conv, ``e' = U e`` ``[N, C, T]``), ``s'_{j,i} = h_jᵀ e'_i``,
``β_{j,i} = exp(s'_{j,i}) / Σ_k exp(s'_{j,k})`` over the caption's real words (padding is
masked to ``-inf``, as in AttnGAN's ``applyMask``), and the word-context of sub-region
``j`` is ``c_j = Σ_i β_{j,i} e'_i``. Returns the context ``[N, C, H, W]`` and the attention
maps ``[N, T, H, W]``.
"""
from __future__ import annotations

import torch
from torch import nn


class WordAttention(nn.Module):
    """``forward(h [N, C, H, W], words [N, D, T], mask [N, T] bool, True = padding)``."""

    def __init__(self, image_dim: int, word_dim: int):
        super().__init__()
        self.project = nn.Conv1d(word_dim, image_dim, 1, bias=False)

    def forward(self, h: torch.Tensor, words: torch.Tensor, mask: torch.Tensor | None = None):
        n, c, height, width = h.shape
        source = self.project(words)                       # [N, C, T]
        target = h.flatten(2).transpose(1, 2)              # [N, HW, C]
        scores = torch.bmm(target, source)                 # [N, HW, T]
        if mask is not None:
            scores = scores.masked_fill(mask[:, None, :], float("-inf"))
        beta = torch.softmax(scores, dim=2)
        context = torch.bmm(source, beta.transpose(1, 2))  # [N, C, HW]
        return context.view(n, c, height, width), beta.transpose(1, 2).reshape(n, -1, height, width)
