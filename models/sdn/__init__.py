"""SDN (Yuan, Peng: "Text-to-image Synthesis via Symmetrical Distillation Networks", ACM MM 2018),
registered as ``sdn``: no adversary; a target generator that mirrors a frozen VGG19 layer for layer,
trained by Stage-I then Stage-II distillation.

Networks (source VGG19, mirrored generator) in :mod:`.networks`, the losses (Eq. 1-5) and the
schemes of Table 3 in :mod:`.model`, the source model's loading and its shapes stand-in in
:mod:`.source_model`, configs (``paper``, ``tiny``, ``tiny-zs``) and the ablation variants of Table 3
(``sdn/baseline``, ``sdn/stage1``, ``sdn/stage2``, ``sdn/joint``, ``sdn/diverse``, ``sdn/full``) in
:mod:`.configs`.
"""
from models.common.zoo import register_model
from models.sdn.configs import CONFIGS, VARIANTS
from models.sdn.model import SDN

register_model("sdn", SDN, CONFIGS, "Yuan & Peng, ACM MM 2018", variants=VARIANTS)
