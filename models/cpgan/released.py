"""CPGAN's released generator (``cpgan-release``): dongdongdong666/CPGAN's ``models/NET_G.pkl``
(``eval_coco.yml``: GF_DIM 48, R_NUM 3, three stages), a whole pickled ``G_NET`` module (``torch.save(netG)``,
loaded there with ``torch.load``), into the zoo's ``cpgan`` network.

The file is not unpickled: :func:`models.common.module_pickle.read_module_pickle` extracts its tensors with
an unpickler that builds none of its classes and refuses any call other than torch's tensor rebuilding (a
malicious pickle is refused without running anything). The tensors then go through AttnGAN's key map
(:mod:`models.attngan.released`: CPGAN's ``G_NET`` is AttnGAN's) plus the residual connections from ``C_0``:
``upsample`` (``upBlock(ngf, ngf)``) -> ``residual_up`` and ``conv`` (conv3x3) -> ``residual_conv``.

CPGAN's released text encoder (``Text_Encoder.pkl``, conditioned on ``NET_T.pkl`` and the memory features
``memoryft_9487.pkl`` / ``transvob.pkl``) is not loaded by t2ibench, so the generator cannot be conditioned
on the benchmark's captions; ``load_generator`` takes a ``text_encoder=`` object of your own (256-d).
"""
from __future__ import annotations

from models.attngan.released import NOTES, PREFIXES as ATTNGAN_PREFIXES, infer_attngan
from models.attngan.released import key_map as attngan_key_map
from models.common.module_pickle import read_module_pickle
from models.common.released import KeyMap, ReleasedFormat, register_format

PREFIXES = ATTNGAN_PREFIXES + (("residual_up.", "upsample."), ("residual_conv.", "conv."))


def key_map(config: dict) -> KeyMap:
    return KeyMap(PREFIXES, attngan_key_map(config).transforms)


FORMAT = register_format(ReleasedFormat(
    name="cpgan-release", model="cpgan", source="dongdongdong666/CPGAN code/model.py G_NET (torch.save(netG))",
    files={"coco": "NET_G.pkl"}, configs={"default": "paper"}, read=read_module_pickle,
    infer=infer_attngan, key_map=key_map, text_encoder=None,
    no_text_encoder=("CPGAN's released text encoder (Text_Encoder.pkl with NET_T.pkl and the memory features "
                     "memoryft_9487.pkl, transvob.pkl) is not loaded by t2ibench, so its generator cannot be "
                     "conditioned on the benchmark's captions; its weights load "
                     "(models.common.released.load_released_state), and load_generator takes a 256-d "
                     "text_encoder= of your own"),
    notes=NOTES + " Truncation: z is truncated at the zoo cpgan config's threshold (2.0) at generation."))
