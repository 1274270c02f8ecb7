"""GR-GAN (Yang, Feng, Wang: "GR-GAN: Gradual Refinement Text-to-Image Generation", ICME 2022),
registered as ``grgan`` with the ablation variants of its Tables 2, 4 and 6 (``grgan/<variant>``).

The Gradual Refinement Generator in :mod:`.networks`, the objective in :mod:`.model`, the Image-Text
Matcher (ITM, registered as the zoo text encoder ``"grgan-itm"``: the generator reads its sentence and
word vectors) and its training command in :mod:`.itm`, configs and variants in :mod:`.configs`.

On ``shapes`` the ITM is a stand-in for CLIP RN101 (named so in its manifest and in every generator
manifest's ``"pretrained"`` record), trained by ``python -m models.grgan.itm --dataset shapes --out
models/weights --seed 6``; the generator: ``python -m models.train grgan --config tiny --ship``.
"""
from models.common.text_encoder import register_text_encoder
from models.common.zoo import register_model
from models.grgan.configs import CONFIGS, VARIANTS
from models.grgan.itm import ITMTextEncoder
from models.grgan.model import GRGAN

register_text_encoder("grgan-itm", ITMTextEncoder)
register_model("grgan", GRGAN, CONFIGS, "Yang et al., ICME 2022", variants=VARIANTS)
