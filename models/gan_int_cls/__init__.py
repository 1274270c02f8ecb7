"""GAN-INT-CLS (Reed, Akata, Yan, Logeswaran, Schiele, Lee: "Generative Adversarial Text to
Image Synthesis", ICML 2016), registered as ``gan-int-cls``.

Networks in :mod:`.networks`, the CLS and INT losses in :mod:`.model`, configs in :mod:`.configs`.

Tiny config on ``shapes`` (shipped as ``models/weights/gan-int-cls-shapes.*``): 9 epochs in
16.0 min of training on one thread of the 2-core machine (another model trained on the other
core); on 1000 test captions the shapes classifier puts 9.6% of the images in the caption's
class (chance 2.1%), and FID is 83.6 (the ``noise`` row: 435.6).
"""
from models.common.zoo import register_model
from models.gan_int_cls.configs import CONFIGS
from models.gan_int_cls.model import GANINTCLS

register_model("gan-int-cls", GANINTCLS, CONFIGS, "Reed et al., ICML 2016")
