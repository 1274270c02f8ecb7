"""The generator zoo: one package per GAN, each registering itself when imported here.

Importing ``models`` is how :func:`t2ibench.registry.list_generators` finds the zoo. Shared
parts live in :mod:`models.common` (text encoder, CA, attention, dynamic memory, multi-scale
discriminators, GAN losses, EMA, the trainer); :mod:`models.train` trains and exports.
Shipped weights (fp16 safetensors + manifests) are in ``models/weights/``.
"""
from models import attngan, cpgan, dmgan, gan_int_cls, grgan, hdgan, ktgan, sdn, stackgan, stackgan_pp  # noqa: F401

__all__ = ["attngan", "cpgan", "dmgan", "gan_int_cls", "grgan", "hdgan", "ktgan", "sdn", "stackgan", "stackgan_pp"]
