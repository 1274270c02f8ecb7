"""StackGAN++ (Zhang, Xu, Li, Zhang, Wang, Huang, Metaxas: "StackGAN++: Realistic Image
Synthesis with Stacked Generative Adversarial Networks", TPAMI 2018), registered as ``stackgan++``.

Networks in :mod:`.networks`, the objective (with the colour-consistency term) in
:mod:`.model`, configs in :mod:`.configs`.

Tiny config on ``shapes`` (shipped as ``models/weights/stackgan++-shapes.*``): 6 epochs in
19.7 min of training on one thread of the 2-core machine (another model trained on the other
core); on 1000 test captions the shapes classifier puts 9.3% of the images in the caption's
class (chance 2.1%), and FID is 73.1 (the ``noise`` row: 435.6).
"""
from models.common.zoo import register_model
from models.stackgan_pp.configs import CONFIGS
from models.stackgan_pp.model import StackGANpp

register_model("stackgan++", StackGANpp, CONFIGS, "Zhang et al., TPAMI 2018")
