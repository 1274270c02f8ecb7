"""StackGAN (Zhang, Xu, Li, Zhang, Wang, Huang, Metaxas: "StackGAN: Text to Photo-realistic
Image Synthesis with Stacked Generative Adversarial Networks", ICCV 2017), registered as ``stackgan``.

Networks in :mod:`.networks`, the objective and the two-phase schedule in :mod:`.model`,
configs in :mod:`.configs`.

Tiny config on ``shapes`` (shipped as ``models/weights/stackgan-shapes.*``): 9 epochs in
22.8 min of training on one thread of the 2-core machine (another model trained on the other
core); on 1000 test captions the shapes classifier puts 11.4% of the images in the caption's
class (chance 2.1%), and FID is 66.9 (the ``noise`` row: 435.6).
"""
from models.common.zoo import register_model
from models.stackgan.configs import CONFIGS
from models.stackgan.model import StackGAN

register_model("stackgan", StackGAN, CONFIGS, "Zhang et al., ICCV 2017")
