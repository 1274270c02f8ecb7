"""StackGAN++ (Zhang, Xu, Li, Zhang, Wang, Huang, Metaxas: "StackGAN++: Realistic Image
Synthesis with Stacked Generative Adversarial Networks", TPAMI 2018), registered as ``stackgan++``.

Networks in :mod:`.networks`, the objective (with the colour-consistency term) in
:mod:`.model`, configs in :mod:`.configs`.

Tiny config on ``shapes``: shipped as ``models/weights/stackgan++-shapes.*``; its training time and
quality check are in the manifest (``python -m models.train --report`` tabulates them).
"""
from models.common.zoo import register_model
from models.stackgan_pp import released  # noqa: F401 — registers its released weights format
from models.stackgan_pp.configs import CONFIGS
from models.stackgan_pp.model import StackGANpp

register_model("stackgan++", StackGANpp, CONFIGS, "Zhang et al., TPAMI 2018")
