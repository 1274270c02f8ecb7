"""CPGAN (Liang, Pei, Lu: "CPGAN: Content-Parsing Generative Adversarial Networks for Text-to-Image
Synthesis", ECCV 2020), registered as ``cpgan`` with the rows of its Figure 6 as ``cpgan/<variant>``.

Networks in :mod:`.networks`, the objective in :mod:`.model`, configs and variants in :mod:`.configs`; the
pretrained parts, each trained by its own command and shipped in ``models/weights/``: the detector
(:mod:`.detector`, the stand-in for YOLOv3), the memory (:mod:`.memory`) and the encoders (:mod:`.encoders`:
MATE + OAIE), registered here as the zoo text encoders ``cpgan-mate`` (MATE + OAIE), ``cpgan-mate-grid``
(MATE + grid image encoder) and ``cpgan-oaie`` (Bi-LSTM + OAIE).
"""
from models.common.text_encoder import register_text_encoder
from models.common.zoo import register_model
from models.cpgan import released  # noqa: F401 — registers its released weights format
from models.cpgan.configs import CONFIGS, VARIANTS
from models.cpgan.model import CPGAN, TEXT_ENCODERS


def _text_encoder(name: str):
    def factory(dataset, weights=None, device="cpu"):
        from models.cpgan.encoders import MemoryAttendedTextEncoder

        return MemoryAttendedTextEncoder(dataset, weights=weights, device=device, name=name)

    factory.__doc__ = f"The zoo text encoder {name!r} (models.cpgan.encoders) for a dataset."
    return factory


for _name in sorted(set(TEXT_ENCODERS.values()) - {"damsm"}):
    register_text_encoder(_name, _text_encoder(_name))

register_model("cpgan", CPGAN, CONFIGS, "Liang et al., ECCV 2020", variants=VARIANTS)
