"""KT-GAN (Tan, Liu, Liu, Yin, Li: "KT-GAN: Knowledge-Transfer Generative Adversarial Network for
Text-to-Image Synthesis", IEEE TIP 2021), registered as ``ktgan``.

AttnGAN with the Alternate Attention-Transfer Mechanism (AATM) and the Semantic Distillation Mechanism
(SDM: an image-to-image teacher, a guided text encoder trained against its image encoder, and a student
started from the teacher). Networks in :mod:`.networks`, the SDL and perceptual losses in
:mod:`.losses`, the objective and the three training phases in :mod:`.model`, configs and the ablation
variants of Tables I-III (``ktgan/aatm-b1``, ``ktgan/sdm``, ...) in :mod:`.configs`.

Train the tiny model (all three phases, resumable)::

    OMP_NUM_THREADS=1 python -m models.train ktgan --config tiny
"""
from models.common.zoo import register_model
from models.ktgan.configs import CONFIGS, VARIANTS
from models.ktgan.model import KTGAN

register_model("ktgan", KTGAN, CONFIGS, "Tan et al., IEEE TIP 2021", variants=VARIANTS)
