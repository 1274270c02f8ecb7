"""AttnGAN's released generators (``attngan-release``): ``netG`` state dicts of taoxugit/AttnGAN's
``code/model.py`` ``G_NET`` — the README's "AttnGAN for bird" (``bird_AttnGAN2.pth``, cfg
``eval_bird.yml``: GF_DIM 32, R_NUM 2) and "AttnGAN for coco" (``coco_AttnGAN2.pth``, ``eval_coco.yml``:
GF_DIM 48, R_NUM 3), and the ``netG_epoch_N.pth`` its ``trainer.py`` saves (the same state dict, holding the
G EMA weights), loaded into the zoo's ``attngan`` network.

The released module names and the zoo's (:data:`PREFIXES`): ``ca_net.fc`` -> ``ca.fc``;
``h_net1`` (``INIT_STAGE_G``) ``fc`` (Linear, BatchNorm1d, GLU) -> ``init.fc``, ``upsample1..4`` (``upBlock``:
nearest ×2, conv3x3, BN, GLU) -> ``init.ups.0..3``; ``h_net2``, ``h_net3`` (``NEXT_STAGE_G``):
``att.conv_context`` -> ``stages.k.attention.project``, ``residual.j.block`` -> ``stages.k.residual.j.body``,
``upsample`` -> ``stages.k.up``; ``img_net1..3.img`` (``GET_IMAGE_G``: conv3x3, tanh) -> ``to_images.0..2``.
Two tensors are not copied as they are (:func:`attngan_transforms`): ``INIT_STAGE_G`` concatenates
``(c_code, z_code)`` and the zoo ``[z, c]``, so the columns of ``h_net1.fc.0.weight`` are reordered; and
``conv_context`` is a Conv2d 1x1 (``[out, in, 1, 1]``), the zoo's a Conv1d (``[out, in, 1]``).

The widths are read from the file (:func:`infer_attngan`: ``ngf`` from ``h_net1.fc.0``, CA and text widths
from ``ca_net.fc``, stages from the ``img_net`` s, residual blocks from ``h_net2.residual``), so one map
serves birds, COCO and any width. DM-GAN and CPGAN extend these maps (:mod:`models.dmgan.released`,
:mod:`models.cpgan.released`).

Differences from the released code that remain (:data:`NOTES`).
"""
from __future__ import annotations

from models.common.released import (CONV2D_1X1_AS_CONV1D, KeyMap, ReleasedFormat, count_keys, register_format,
                                    released_damsm, required_key, swap_input_blocks)

#: zoo prefix pattern -> released prefix template, shared by AttnGAN, DM-GAN and CPGAN (their stages add theirs)
SHARED_PREFIXES = (
    ("ca.fc.", "ca_net.fc."),
    ("init.fc.", "h_net1.fc."),
    ("init.ups.{k}.", "h_net1.upsample{k+1}."),
    ("stages.{k}.residual.{j}.body.", "h_net{k+2}.residual.{j}.block."),
    ("stages.{k}.up.", "h_net{k+2}.upsample."),
    ("to_images.{k}.", "img_net{k+1}.img."),
)

PREFIXES = SHARED_PREFIXES + (("stages.{k}.attention.project.", "h_net{k+2}.att.conv_context."),)

#: the text encoder AttnGAN's and DM-GAN's generators were trained with
TEXT_ENCODER = ("AttnGAN's released DAMSM: --generator-text-encoder NAME=DAMSMencoders/bird/text_encoder200.pth,"
                "data/birds/captions.pickle (coco: DAMSMencoders/coco/text_encoder100.pth,data/coco/captions.pickle)")

NOTES = (
    "Masking: the released GlobalAttentionGeneral (and DM-GAN's Memory) masks the padding words with "
    "mask.repeat(queryL, 1), which gives attention row q of caption b the mask of caption (b*queryL + q) mod N: "
    "another caption's padding whenever a batch mixes caption lengths (the released evaluation runs batches of "
    "100 captions); the zoo masks each caption's own padding (AttnGAN Eq. 2), so its images equal the released "
    "code's for a batch of one caption, or of captions of one length. Noise: the released code draws z and the "
    "CA epsilon per batch from the global generator; the zoo draws both per caption from seed + j (the "
    "benchmark's contract). Word features: the released text encoder gives as many words as the batch's longest "
    "caption, the zoo's a fixed length with the padding masked (no effect on the images). Long captions: cut at the "
    "evaluation word limit (birds 25, COCO 20) keeping their first words; the released dataset keeps a random ordered "
    "subset of a longer caption's words.")


def infer_attngan(state, what: str) -> dict:
    """The zoo config's widths of an AttnGAN-family ``G_NET`` state dict (AttnGAN, DM-GAN, CPGAN)."""
    ca = required_key(state, "ca_net.fc.weight", what, 2)
    fc = required_key(state, "h_net1.fc.0.weight", what, 2)
    if ca.shape[0] % 4 or fc.shape[0] % (16 * 16 * 2):
        raise ValueError(f"{what}: ca_net.fc.weight {tuple(ca.shape)} / h_net1.fc.0.weight {tuple(fc.shape)} are "
                         f"not CA_NET's [4·c_dim, text] / INIT_STAGE_G's [ngf·16·4·4·2, z + c] shapes")
    c_dim = ca.shape[0] // 4
    if fc.shape[1] <= c_dim:
        raise ValueError(f"{what}: h_net1.fc.0.weight {tuple(fc.shape)} has no room for z after the "
                         f"{c_dim}-d CA code")
    init_ups, stages = count_keys(state, "h_net1.upsample{}.1.weight", 1), count_keys(state, "img_net{}.img.0.weight", 1)
    if stages == 0:
        raise ValueError(f"{what}: no image head img_net1.img.0.weight")
    r_num = count_keys(state, "h_net2.residual.{}.block.0.weight") if stages > 1 else 1
    return {"text_dim": ca.shape[1], "c_dim": c_dim, "z_dim": fc.shape[1] - c_dim,
            "ngf": fc.shape[0] // (16 * 16 * 2), "init_ups": init_ups, "stages": stages, "r_num": r_num,
            "image_size": 4 * 2 ** init_ups * 2 ** (stages - 1)}


def attngan_transforms(config: dict) -> dict:
    """The AttnGAN-family tensors that are not copied as they are (module docstring)."""
    return {"init.fc.0.weight": swap_input_blocks(config["c_dim"], "(c_code, z_code)", "[z, c]")}


def key_map(config: dict) -> KeyMap:
    return KeyMap(PREFIXES, {**attngan_transforms(config), "stages.{k}.attention.project.weight": CONV2D_1X1_AS_CONV1D})


FORMAT = register_format(ReleasedFormat(
    name="attngan-release", model="attngan",
    source="taoxugit/AttnGAN code/model.py G_NET (torch.save(netG.state_dict()))",
    files={"cub": "bird_AttnGAN2.pth (or a netG_epoch_N.pth of its trainer, e.g. netG_epoch_600.pth)",
           "coco": "coco_AttnGAN2.pth"},
    configs={"cub": "paper", "coco": "paper-coco", "default": "paper"},
    infer=infer_attngan, key_map=key_map, text_encoder=TEXT_ENCODER, make_text_encoder=released_damsm,
    notes=NOTES))
