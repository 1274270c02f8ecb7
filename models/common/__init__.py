"""Pieces shared by the generator zoo (DESIGN §5), one module per job:

- :mod:`.conditioning` — conditioning augmentation and its KL term (StackGAN);
- :mod:`.attention` — word attention (AttnGAN); :mod:`.memory` — dynamic memory (DM-GAN);
- :mod:`.blocks` — up/down/residual blocks, spectral norm; :mod:`.stages` — the init stage and
  the staged generator skeleton of StackGAN++ / AttnGAN / DM-GAN;
- :mod:`.discriminators` — per-scale discriminators with conditional and unconditional heads;
- :mod:`.gan_losses` — BCE / hinge / least squares with the matching-aware term;
  :mod:`.attngan_losses` — the AttnGAN family's D, G and DAMSM losses;
- :mod:`.ema` — G EMA; :mod:`.text_encoder` — the zoo's own frozen DAMSM;
- :mod:`.gan` — the model contract and the ``generate(captions, seed)`` wrapper;
  :mod:`.data` — training batches; :mod:`.trainer` — the one trainer;
  :mod:`.checkpoint` — safetensors checkpoints; :mod:`.zoo` — the registry of models and
  configs; :mod:`.quality` — the conditioning check on ``shapes``;
- :mod:`.released` — the papers' released generator checkpoints, loaded by key maps;
  :mod:`.module_pickle` — tensors out of a whole pickled module without running it (CPGAN's ``.pkl``).
"""
from models.common.conditioning import ConditioningAugmentation, kl_loss
from models.common.ema import EMA
from models.common.gan_losses import LOSSES, discriminator_loss, generator_loss

__all__ = ["ConditioningAugmentation", "kl_loss", "EMA", "LOSSES", "discriminator_loss", "generator_loss"]
