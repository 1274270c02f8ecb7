"""DM-GAN's released generators (``dmgan-release``): ``netG`` state dicts of MinfengZhu/DM-GAN's
``code/model.py`` ``G_NET`` (``bird_DMGAN.pth``: GF_DIM 64, R_NUM 2; ``coco_DMGAN.pth``: GF_DIM 64, R_NUM 3;
PyTorch 0.4.1), loaded into the zoo's ``dmgan`` network.

AttnGAN's map (:mod:`models.attngan.released`) for CA, the initial stage, residual blocks, up-sampling and
image heads, and the memory modules of each ``NEXT_STAGE_G`` ``h_net{k+2}``: the writing gate's ``A``
(words) and ``B`` (pooled image) -> ``stages.k.memory.gate_word`` / ``gate_image``, ``M_w`` / ``M_r``
(Conv1d + ReLU) -> ``write_word`` / ``write_image``, ``key`` / ``value`` -> ``key`` / ``value``,
``response_gate.0`` (Conv2d 1x1 over ``[h, o]``; then Sigmoid) -> ``response``. The memory width is read
from ``M_w`` (the code's ``2·ngf``). ``avg`` (``AvgPool2d`` over the whole 64 / 128 px map) and
``memory_operation`` hold no tensors; the zoo's mean over the map is the same pooling.
"""
from __future__ import annotations

from models.attngan.released import NOTES, SHARED_PREFIXES, TEXT_ENCODER, attngan_transforms, infer_attngan
from models.common.released import KeyMap, ReleasedFormat, register_format, released_damsm, required_key

PREFIXES = SHARED_PREFIXES + tuple((f"stages.{{k}}.memory.{ours}.", f"h_net{{k+2}}.{theirs}.") for ours, theirs in (
    ("gate_word", "A"), ("gate_image", "B"), ("write_word", "M_w"), ("write_image", "M_r"), ("key", "key"),
    ("value", "value"), ("response", "response_gate.0")))


def infer_dmgan(state, what: str) -> dict:
    dims = infer_attngan(state, what)
    if dims["stages"] > 1:
        dims["memory_dim"] = required_key(state, "h_net2.M_w.0.weight", what, 3).shape[0]
    return dims


def key_map(config: dict) -> KeyMap:
    return KeyMap(PREFIXES, attngan_transforms(config))


FORMAT = register_format(ReleasedFormat(
    name="dmgan-release", model="dmgan",
    source="MinfengZhu/DM-GAN code/model.py G_NET (torch.save(netG.state_dict()))",
    files={"cub": "bird_DMGAN.pth", "coco": "coco_DMGAN.pth"},
    configs={"cub": "paper", "coco": "paper-coco", "default": "paper"},
    infer=infer_dmgan, key_map=key_map, text_encoder=TEXT_ENCODER, make_text_encoder=released_damsm,
    notes=NOTES))
