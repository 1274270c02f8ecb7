"""Metric functions: pure computations on features, class probabilities or pixels.

Each function validates its inputs (errors name the argument), cites its paper and equation,
and states the convention it follows where libraries disagree. The evaluation protocols in
:mod:`t2ibench.protocols` decide what is fed to them.
"""
from t2ibench.metrics.frechet import frechet_distance, gaussian_statistics
from t2ibench.metrics.fsim import fsim
from t2ibench.metrics.inception_score import TORCH_FIDELITY_RNG_SEED, inception_score, inception_score_stackgan
from t2ibench.metrics.kid import kid
from t2ibench.metrics.ms_ssim import ms_ssim, ms_ssim_diversity, ms_ssim_hdgan_code, ms_ssim_scales
from t2ibench.metrics.ssim import ssim
from t2ibench.metrics.cmd import cmd, cmd_from_statistics
from t2ibench.metrics.clip_score import clip_score
from t2ibench.metrics.r_precision import r_precision, r_precision_cpgan
from t2ibench.metrics.retrieval import rank_k, rank_k_slots
from t2ibench.metrics.vs_similarity import vs_similarity

__all__ = [
    "frechet_distance", "gaussian_statistics", "inception_score", "inception_score_stackgan", "kid",
    "ssim", "ms_ssim", "ms_ssim_scales", "ms_ssim_diversity", "ms_ssim_hdgan_code", "fsim", "TORCH_FIDELITY_RNG_SEED",
    "cmd", "cmd_from_statistics", "clip_score", "r_precision", "r_precision_cpgan", "rank_k", "rank_k_slots",
    "vs_similarity",
]
