"""AttnGAN (Xu, Zhang, Huang, Zhang, Gan, Huang, He: "AttnGAN: Fine-Grained Text to Image
Generation with Attentional Generative Adversarial Networks", CVPR 2018), registered as ``attngan``.

Networks in :mod:`.networks`, the objective in :mod:`.model`, configs in :mod:`.configs`.

Tiny config on ``shapes`` (shipped as ``models/weights/attngan-shapes.*``): 4 epochs in 20.7
min of training on one thread of the 2-core machine (another model trained on the other
core); on 1000 test captions the shapes classifier puts 38.0% of the images in the caption's
class (chance 2.1%), and FID is 47.7 (the ``noise`` row: 435.6).
"""
from models.attngan.configs import CONFIGS
from models.attngan.model import AttnGAN
from models.common.zoo import register_model

register_model("attngan", AttnGAN, CONFIGS, "Xu et al., CVPR 2018")
