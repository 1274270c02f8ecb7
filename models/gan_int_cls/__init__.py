"""GAN-INT-CLS (Reed, Akata, Yan, Logeswaran, Schiele, Lee: "Generative Adversarial Text to
Image Synthesis", ICML 2016), registered as ``gan-int-cls``.

Networks in :mod:`.networks`, the CLS and INT losses in :mod:`.model`, configs in :mod:`.configs`.

Tiny config on ``shapes``: shipped as ``models/weights/gan-int-cls-shapes.*``; its training time and
quality check are in the manifest (``python -m models.train --report`` tabulates them).
"""
from models.common.zoo import register_model
from models.gan_int_cls.configs import CONFIGS
from models.gan_int_cls.model import GANINTCLS

register_model("gan-int-cls", GANINTCLS, CONFIGS, "Reed et al., ICML 2016")
