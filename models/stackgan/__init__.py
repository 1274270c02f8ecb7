"""StackGAN (Zhang, Xu, Li, Zhang, Wang, Huang, Metaxas: "StackGAN: Text to Photo-realistic
Image Synthesis with Stacked Generative Adversarial Networks", ICCV 2017), registered as ``stackgan``.

Networks in :mod:`.networks`, the objective and the two-phase schedule in :mod:`.model`,
configs in :mod:`.configs`.

Tiny config on ``shapes``: shipped as ``models/weights/stackgan-shapes.*``; its training time and
quality check are in the manifest (``python -m models.train --report`` tabulates them).
"""
from models.common.zoo import register_model
from models.stackgan.configs import CONFIGS
from models.stackgan.model import StackGAN

register_model("stackgan", StackGAN, CONFIGS, "Zhang et al., ICCV 2017")
