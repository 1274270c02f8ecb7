"""DM-GAN (Zhu, Pan, Chen, Yang: "DM-GAN: Dynamic Memory Generative Adversarial Networks for
Text-to-Image Synthesis", CVPR 2019), registered as ``dmgan``.

Networks in :mod:`.networks`, the objective in :mod:`.model`, configs in :mod:`.configs`.

Tiny config on ``shapes`` (shipped as ``models/weights/dmgan-shapes.*``): 4 epochs in 27.3
min of training on one thread of the 2-core machine (another model trained on the other
core); on 1000 test captions the shapes classifier puts 23.9% of the images in the caption's
class (chance 2.1%), and FID is 65.6 (the ``noise`` row: 435.6).
"""
from models.common.zoo import register_model
from models.dmgan.configs import CONFIGS
from models.dmgan.model import DMGAN

register_model("dmgan", DMGAN, CONFIGS, "Zhu et al., CVPR 2019")
