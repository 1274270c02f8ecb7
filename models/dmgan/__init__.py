"""DM-GAN (Zhu, Pan, Chen, Yang: "DM-GAN: Dynamic Memory Generative Adversarial Networks for
Text-to-Image Synthesis", CVPR 2019), registered as ``dmgan``.

Networks in :mod:`.networks`, the objective in :mod:`.model`, configs in :mod:`.configs`.

Tiny config on ``shapes``: shipped as ``models/weights/dmgan-shapes.*``; its training time and
quality check are in the manifest (``python -m models.train --report`` tabulates them).
"""
from models.common.zoo import register_model
from models.dmgan import released  # noqa: F401 — registers its released weights format
from models.dmgan.configs import CONFIGS
from models.dmgan.model import DMGAN

register_model("dmgan", DMGAN, CONFIGS, "Zhu et al., CVPR 2019")
