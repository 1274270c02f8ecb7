"""Generators: the contract (:mod:`.base`) and the reference rows (:mod:`.reference`).

The GAN zoo lives in the top-level ``models/`` package and registers itself the same way.
"""
from t2ibench.generators.base import Generator, caption_generator, generate_checked, per_caption_noise, run_aligned
from t2ibench.generators.reference import REFERENCE_GENERATORS

__all__ = ["Generator", "caption_generator", "generate_checked", "per_caption_noise", "run_aligned",
           "REFERENCE_GENERATORS"]
