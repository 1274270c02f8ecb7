"""HDGAN (Zhang, Xie, Yang: "Photographic Text-to-Image Synthesis with a Hierarchically-nested
Adversarial Network", CVPR 2018), registered as ``hdgan``.

Networks in :mod:`.networks`, the objective (pair + local patch losses, least squares) in
:mod:`.model`, configs in :mod:`.configs` (``paper``/``code`` differ in the patch sizes R);
the ablation variants of its Tables 5 and 6 (``hdgan/d-256``, ``hdgan/no-local``, ...) in :data:`.configs.VARIANTS`.

Tiny config on ``shapes``: shipped as ``models/weights/hdgan-shapes.*``; its training time and
quality check are in the manifest (``python -m models.train --report`` tabulates them).
"""
from models.common.zoo import register_model
from models.hdgan import released  # noqa: F401 — registers its released weights format
from models.hdgan.configs import CONFIGS, VARIANTS
from models.hdgan.model import HDGAN

register_model("hdgan", HDGAN, CONFIGS, "Zhang et al., CVPR 2018", variants=VARIANTS)
