"""KT-GAN's new losses (Tan et al., IEEE TIP 2021): the Semantic Distillation Loss (Sec. III-C, Eq. 3-8)
that trains the guided text encoder against the frozen image encoder of the I2I teacher, and the
teacher's perceptual loss (Appendix A, Eq. 15; Ledig et al. 2017, SRGAN, Eq. 5).

For a batch of M image-caption pairs (image ``a``, caption ``b``; pair ``i`` matches):

- sentence level: ``d(v*_a, s_b)`` the cosine of the global image feature and the sentence feature
  (Eq. 3; the paper says "cosine distance", the similarity it means);
- word level (Eq. 5): ``R = W_0ᵀ V_0*`` (words × regions, dot products), ``R*`` = softmax over the
  words, ``R+`` = softmax of ``R*`` over the regions, ``O_i = Σ_j r+_ij v*_j``,
  ``R_W(v*, s) = log(Σ_i exp(β0 · O_i·w_i))^(1/β0)`` over the caption's words. ``O_i·w_i`` is the dot
  product as the paper prints it (``sdl_word_similarity`` "dot"); "cosine" is AttnGAN's ``R(c_i, e_i)``
  (its Eq. 10 then equals :func:`t2ibench.evaluators.damsm.word_similarities` with γ1 = 1, γ2 = β0,
  ``eq10="paper"``). Unlike AttnGAN's DAMSM there is no γ1 in ``R+`` and no γ3 smoothing — the paper's
  equations have none. The paper also calls the SDL the DAMSM loss with "two main modifications" (the
  image encoder fixed, the focal term), which would keep DAMSM's smoothing of both levels' scores by
  γ3 = 10 (AttnGAN Eq. 11): ``sdl_gamma3`` multiplies ``d`` and ``R_W`` in Eq. 3 and 6 (1: as printed);
- the matching probability (Eq. 3 and 6) with both directions in one denominator,
  ``P_i = 2 exp(S_ii) / (Σ_j exp(S_ji) + Σ_j exp(S_ij))``, and the focal loss (Lin et al. 2017)
  ``L = -Σ_i (1 - P_i)^γ log P_i`` (Eq. 4 and 7; a sum over the batch, as printed; γ 2);
- ``L_SDL = λ1 L_S* + λ2 L_W*`` (Eq. 8; λ1 = λ2 = 50).

Pairs ``(i, j)``, ``j != i``, of one class are left out of the denominators when ``class_ids`` are given
(AttnGAN's DAMSM code masks them; KT-GAN's equations do not mention it — ``sdl_class_mask``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from t2ibench.evaluators.damsm import _class_mask

SIMILARITIES = ("dot", "cosine")


def focal_matching_loss(scores: torch.Tensor, gamma: float, class_ids=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 3-4 / 6-7: ``scores [M, M]`` with ``scores[a, b]`` the score of image ``a`` and caption ``b`` ->
    ``(-Σ_i (1 - P_i)^γ log P_i, P [M])`` with ``P_i = 2 exp(S_ii) / (Σ_j exp(S_ji) + Σ_j exp(S_ij))``."""
    m = scores.shape[0]
    if scores.dim() != 2 or scores.shape[1] != m:
        raise ValueError(f"scores: expected a square [M, M] matrix, got shape {tuple(scores.shape)}")
    mask = _class_mask(class_ids, m, scores.device)
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))
    both = torch.cat([scores.t(), scores], dim=1)                  # row i: S_{j,i} over j, then S_{i,j} over j
    log_p = torch.log(torch.tensor(2.0, dtype=scores.dtype, device=scores.device)) + scores.diagonal() \
        - torch.logsumexp(both, dim=1)
    p = log_p.exp()
    return -((1 - p).pow(gamma) * log_p).sum(), p.detach()


def sentence_scores(image_global: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
    """``d(v*_a, s_b)`` (Eq. 3): the cosine of every image's global feature and every sentence, ``[M, M]``."""
    return F.normalize(image_global, dim=1, eps=1e-8) @ F.normalize(sentence, dim=1, eps=1e-8).t()


def word_scores(regions: torch.Tensor, words: torch.Tensor, lengths: torch.Tensor, beta0: float,
                similarity: str = "dot") -> torch.Tensor:
    """``R_W(v*_a, s_b)`` of Eq. 5 for every image ``a`` and caption ``b``: ``[M_img, M_cap]``.

    ``regions [M, D, h, w]`` (V_0*), ``words [M, D, T]`` (W_0; columns past ``lengths`` ignored).
    """
    if similarity not in SIMILARITIES:
        raise ValueError(f"sdl_word_similarity: expected one of {', '.join(SIMILARITIES)}, got {similarity!r}")
    v = regions.flatten(2)                                                     # [A, D, N]
    lengths = lengths.to(words.device).long()
    t_max = int(lengths.max())
    w = words[:, :, :t_max]                                                    # [B, D, T]
    valid = torch.arange(t_max, device=w.device)[None, :] < lengths[:, None]   # [B, T]
    r = torch.einsum("adn,bdt->abtn", v, w)                                    # R = W_0ᵀ V_0*
    r = r.masked_fill(~valid[None, :, :, None], float("-inf"))
    r_star = torch.softmax(r, dim=2)                                           # over the words
    r_plus = torch.softmax(r_star, dim=3)                                      # over the regions
    o = torch.einsum("abtn,adn->abtd", r_plus, v)                              # O_i
    if similarity == "dot":
        score = torch.einsum("abtd,bdt->abt", o, w)
    else:
        score = torch.einsum("abtd,bdt->abt", F.normalize(o, dim=3, eps=1e-8), F.normalize(w, dim=1, eps=1e-8))
    score = (beta0 * score).masked_fill(~valid[None], float("-inf"))
    return torch.logsumexp(score, dim=2) / beta0                              # log(Σ exp(β0 ·))^(1/β0)


def semantic_distillation_loss(regions, image_global, words, sentence, lengths, *, gamma: float, beta0: float,
                               lambda1: float, lambda2: float, similarity: str = "dot", gamma3: float = 1.0,
                               class_ids=None) -> dict:
    """``L_SDL = λ1 L_S* + λ2 L_W*`` (Eq. 8) of the frozen image features ``(V_0*, v*)`` and the text encoder's
    ``(W_0, s)``, the scores multiplied by ``gamma3`` (1: as printed):
    ``{"loss", "sentence", "words", "p_sentence", "p_words"}`` (the last two: mean P_i)."""
    with torch.autocast(regions.device.type, enabled=False):   # float32: dot products of 256-d features in Eq. 5
        regions, image_global, words, sentence = (x.to(torch.promote_types(x.dtype, torch.float32))
                                                  for x in (regions, image_global, words, sentence))
        l_s, p_s = focal_matching_loss(gamma3 * sentence_scores(image_global, sentence), gamma, class_ids)
        l_w, p_w = focal_matching_loss(gamma3 * word_scores(regions, words, lengths, beta0, similarity), gamma,
                                       class_ids)
    return {"loss": lambda1 * l_s + lambda2 * l_w, "sentence": l_s.detach(), "words": l_w.detach(),
            "p_sentence": p_s.mean(), "p_words": p_w.mean()}


def perceptual_loss(network, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """``L_per = mean (φ(I) - φ(Î))²`` over the feature map of the frozen ``network`` φ (SRGAN's VGG loss,
    Ledig et al. 2017, Eq. 5, which KT-GAN cites for its perceptual loss [4]); images in [-1, 1]."""
    with torch.no_grad():
        target = network(real)
    return F.mse_loss(network(fake), target)
