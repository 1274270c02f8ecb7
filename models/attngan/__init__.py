"""AttnGAN (Xu, Zhang, Huang, Zhang, Gan, Huang, He: "AttnGAN: Fine-Grained Text to Image
Generation with Attentional Generative Adversarial Networks", CVPR 2018), registered as ``attngan``.

Networks in :mod:`.networks`, the objective in :mod:`.model`, configs in :mod:`.configs`.

Tiny config on ``shapes``: shipped as ``models/weights/attngan-shapes.*``; its training time and
quality check are in the manifest (``python -m models.train --report`` tabulates them).
"""
from models.attngan import released  # noqa: F401 — registers its released weights format
from models.attngan.configs import CONFIGS
from models.attngan.model import AttnGAN
from models.common.zoo import register_model

register_model("attngan", AttnGAN, CONFIGS, "Xu et al., CVPR 2018")
