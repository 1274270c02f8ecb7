"""HDGAN (Zhang, Xie, Yang: "Photographic Text-to-Image Synthesis with a Hierarchically-nested
Adversarial Network", CVPR 2018), registered as ``hdgan``.

Networks in :mod:`.networks`, the objective (pair + local patch losses, least squares) in
:mod:`.model`, configs in :mod:`.configs` (``paper``/``code`` differ in the patch sizes R).

Tiny config on ``shapes`` (shipped as ``models/weights/hdgan-shapes.*``): 7 epochs in 20.6
min of training on one thread of the 2-core machine (another model trained on the other
core); on 1000 test captions the shapes classifier puts 8.3% of the images in the caption's
class (chance 2.1%), and FID is 60.4 (the ``noise`` row: 435.6).
"""
from models.common.zoo import register_model
from models.hdgan.configs import CONFIGS
from models.hdgan.model import HDGAN

register_model("hdgan", HDGAN, CONFIGS, "Zhang et al., CVPR 2018")
