"""DM-GAN's objective (Zhu et al. 2019, Sec. 3.3, Eq. 10-13): AttnGAN's.

``L = Σ_i L_{G_i} + λ1 L_CA + λ2 L_DAMSM`` with the unconditional + conditional adversarial
terms per stage, the CA KL term (λ1 = 1) and the DAMSM loss on the final image
(λ2 = 5 for CUB, 50 for COCO) — :class:`models.attngan.model.AttnGANFamily`. The
discriminators are AttnGAN's with spectral normalisation on every layer (as this zoo
specifies DM-GAN's discriminator; ``spectral_norm`` in the config).
"""
from __future__ import annotations

from models.attngan.model import AttnGANFamily
from models.dmgan.networks import Generator


class DMGAN(AttnGANFamily):
    name = "dmgan"

    def __init__(self, config: dict):
        c = config
        super().__init__(config, Generator(c["text_dim"], c["z_dim"], c["c_dim"], c["ngf"], c["init_ups"],
                                           c["stages"], c["r_num"], c["memory_dim"]),
                         spectral_norm=c["spectral_norm"])
