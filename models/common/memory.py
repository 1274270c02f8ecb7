"""DM-GAN's dynamic memory (Zhu et al. 2019, Sec. 3.2, Eq. 3-9).

For image features ``R`` ``[N, C, H, W]`` (regions ``r_j``) and word features ``W``
``[N, D, T]`` (words ``w_i``):

- memory writing gate (Eq. 3): ``g^w_i = σ(A w_i + B · (1/HW) Σ_j r_j)``;
- memory writing (Eq. 4): ``m_i = M_w(w_i) ⊙ g^w_i + M_r((1/HW) Σ_j r_j) ⊙ (1 − g^w_i)``
  (``M_w``, ``M_r``: 1x1 convs into the memory space of ``memory_dim``);
- key addressing (Eq. 5): ``α_{i,j} = exp(φ_K(m_i)ᵀ r_j) / Σ_l exp(φ_K(m_l)ᵀ r_j)`` over
  the caption's real words (padding masked);
- value reading (Eq. 6): ``o_j = Σ_i α_{i,j} φ_V(m_i)``;
- response gate (Eq. 7-8): ``g^r_j = σ(W[o_j, r_j] + b)``,
  ``r^new_j = o_j ⊙ g^r_j + r_j ⊙ (1 − g^r_j)``.

As in DM-GAN's released ``code/model.py`` (``NEXT_STAGE_G``, class ``Memory``): ``A``, ``B``
are linear maps to one gate value per word **without bias**; ``M_w``, ``M_r`` (into the memory of
``memory_dim`` = 2·ngf in the code) and ``φ_K``, ``φ_V`` (back to the image's ``C``) are 1x1
convs each followed by a **ReLU**; the pooled image feature ``(1/HW) Σ_j r_j`` is **detached**
(``self.avg(h_code).detach()``) where it enters the gate and the memory; the response gate is a
1x1 conv + sigmoid over ``[r_j, o_j]`` (the code's concatenation order). Returns ``r^new``
``[N, C, H, W]``; the stage that uses it (:mod:`models.dmgan.networks`) concatenates
``[r^new, r^new]`` before its residual blocks, as the code does.
"""
from __future__ import annotations

import torch
from torch import nn


class DynamicMemory(nn.Module):
    def __init__(self, image_dim: int, word_dim: int, memory_dim: int | None = None):
        super().__init__()
        memory_dim = memory_dim or 2 * image_dim
        self.gate_word = nn.Linear(word_dim, 1, bias=False)      # A
        self.gate_image = nn.Linear(image_dim, 1, bias=False)    # B
        self.write_word = nn.Sequential(nn.Conv1d(word_dim, memory_dim, 1), nn.ReLU())    # M_w
        self.write_image = nn.Sequential(nn.Conv1d(image_dim, memory_dim, 1), nn.ReLU())  # M_r
        self.key = nn.Sequential(nn.Conv1d(memory_dim, image_dim, 1), nn.ReLU())           # φ_K
        self.value = nn.Sequential(nn.Conv1d(memory_dim, image_dim, 1), nn.ReLU())         # φ_V
        self.response = nn.Conv2d(2 * image_dim, 1, 1)   # W, b of the response gate over [r, o]

    def forward(self, r: torch.Tensor, words: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        n, c, h, w = r.shape
        r_mean = r.mean(dim=(2, 3)).detach()                                          # [N, C]
        g_write = torch.sigmoid(self.gate_word(words.transpose(1, 2))
                                + self.gate_image(r_mean)[:, None, :]).transpose(1, 2)  # [N, 1, T]
        memory = (self.write_word(words) * g_write
                  + self.write_image(r_mean[:, :, None]) * (1 - g_write))          # [N, M, T]
        keys = self.key(memory)                                                       # [N, C, T]
        scores = torch.bmm(r.flatten(2).transpose(1, 2), keys)                        # [N, HW, T]
        if mask is not None:
            scores = scores.masked_fill(mask[:, None, :], float("-inf"))
        alpha = torch.softmax(scores, dim=2)
        o = torch.bmm(self.value(memory), alpha.transpose(1, 2)).view(n, c, h, w)    # [N, C, H, W]
        g_response = torch.sigmoid(self.response(torch.cat([r, o], dim=1)))
        return o * g_response + r * (1 - g_response)
