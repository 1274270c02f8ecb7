"""StackGAN-v2's released generators (``stackgan-v2-release``): ``netG_*.pth`` state dicts of
hanzhanggit/StackGAN-v2's ``code/model.py`` ``G_NET`` (``B_CONDITION``; ``eval_birds.yml``: GF_DIM 64,
EMBEDDING_DIM 128, R_NUM 2, three branches; ``netG_210000.pth``), saved from ``nn.DataParallel`` (every key
under ``module.``, removed on loading), loaded into the zoo's ``stackgan++`` network.

Module names: ``ca_net.fc`` -> ``ca.fc``; ``h_net1`` (``INIT_STAGE_G``: ``fc``, ``upsample1..4``) ->
``init.fc``, ``init.ups.0..3``; ``h_net2``, ``h_net3`` (``NEXT_STAGE_G``): ``jointConv`` (conv3x3, BN, GLU)
-> ``stages.k.join``, ``residual.j.block`` -> ``stages.k.residual.j.body``, ``upsample`` -> ``stages.k.up``;
``img_net1..3.img`` -> ``to_images.0..2``. Both concatenations put the CA code first — ``INIT_STAGE_G``'s
``(c_code, z_code)`` and ``NEXT_STAGE_G``'s ``(c_code, h_code)`` — and the zoo's put it last (``[z, c]``,
``[h, c]``): the input columns of ``h_net1.fc.0.weight`` and of each ``jointConv.0.weight`` are reordered.

The released generator reads Reed et al.'s 1024-d char-CNN-RNN sentence embeddings, which StackGAN released
precomputed for the dataset's own captions (``<root>/{train,test}/char-CNN-RNN-embeddings.pickle``), not as
an encoder of new text: the text encoder is the zoo's ``char-cnn-rnn`` lookup
(:mod:`models.common.char_cnn_rnn`), whose weights are that data root (``text_encoder_weights``, by default
the loaded dataset's root), so the benchmark's captions of the test split are scored and any other caption is
refused with a clear error.
"""
from __future__ import annotations

from models.common.released import (KeyMap, ReleasedFormat, count_keys, register_format, required_key,
                                    swap_input_blocks)

PREFIXES = (
    ("ca.fc.", "ca_net.fc."),
    ("init.fc.", "h_net1.fc."),
    ("init.ups.{k}.", "h_net1.upsample{k+1}."),
    ("stages.{k}.join.", "h_net{k+2}.jointConv."),
    ("stages.{k}.residual.{j}.body.", "h_net{k+2}.residual.{j}.block."),
    ("stages.{k}.up.", "h_net{k+2}.upsample."),
    ("to_images.{k}.", "img_net{k+1}.img."),
)


def infer_stackgan_v2(state, what: str) -> dict:
    ca = required_key(state, "ca_net.fc.weight", what, 2)
    fc = required_key(state, "h_net1.fc.0.weight", what, 2)
    c_dim, branches = ca.shape[0] // 4, count_keys(state, "img_net{}.img.0.weight", 1)
    init_ups = count_keys(state, "h_net1.upsample{}.1.weight", 1)
    if ca.shape[0] % 4 or fc.shape[0] % (16 * 16 * 2) or fc.shape[1] <= c_dim or branches == 0:
        raise ValueError(f"{what}: ca_net.fc.weight {tuple(ca.shape)}, h_net1.fc.0.weight {tuple(fc.shape)} and "
                         f"{branches} image heads are not StackGAN-v2's G_NET")
    return {"text_dim": ca.shape[1], "c_dim": c_dim, "z_dim": fc.shape[1] - c_dim,
            "ngf": fc.shape[0] // (16 * 16 * 2), "init_ups": init_ups, "branches": branches,
            "r_num": count_keys(state, "h_net2.residual.{}.block.0.weight") if branches > 1 else 1,
            "image_size": 4 * 2 ** init_ups * 2 ** (branches - 1)}


def char_cnn_rnn(dataset, text_encoder_weights, device):
    """The zoo's ``char-cnn-rnn`` lookup under ``text_encoder_weights`` (a data root), by default ``dataset``'s root."""
    from models.common.text_encoder import TEXT_ENCODERS

    name = dataset if isinstance(dataset, str) else dataset.name
    root = text_encoder_weights or getattr(dataset, "root", None)
    return TEXT_ENCODERS.get("char-cnn-rnn")(name, weights=root, device=device)


def key_map(config: dict) -> KeyMap:
    c = config["c_dim"]
    return KeyMap(PREFIXES, {"init.fc.0.weight": swap_input_blocks(c, "(c_code, z_code)", "[z, c]"),
                             "stages.{k}.join.0.weight": swap_input_blocks(c, "(c_code, h_code)", "[h, c]")})


FORMAT = register_format(ReleasedFormat(
    name="stackgan-v2-release", model="stackgan++",
    source="hanzhanggit/StackGAN-v2 code/model.py G_NET (torch.save(nn.DataParallel(netG).state_dict()))",
    files={"cub": "netG_210000.pth (models/birds_3stages)"}, configs={"default": "paper"},
    infer=infer_stackgan_v2, key_map=key_map, make_text_encoder=char_cnn_rnn,
    text_encoder=("Reed et al.'s char-CNN-RNN embeddings as StackGAN released them, looked up for the dataset's own "
                  "captions: --generator-text-encoder NAME=DATA_ROOT (default: --data-root)"),
    notes="Noise: z and the CA epsilon per caption from seed + j (the released code: per batch)."))
