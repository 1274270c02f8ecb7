"""Pieces shared by the generator zoo (DESIGN §5): conditioning augmentation, GAN losses, EMA.

Each GAN package in ``models/`` builds on these instead of keeping its own copy.
"""
from models.common.conditioning import ConditioningAugmentation, kl_loss
from models.common.ema import EMA
from models.common.gan_losses import LOSSES, discriminator_loss, generator_loss

__all__ = ["ConditioningAugmentation", "kl_loss", "EMA", "LOSSES", "discriminator_loss", "generator_loss"]
