"""StackGAN configs.

``paper``: Zhang et al. 2017, Sec. 4 — Stage-I 64 px, Stage-II 256 px (Stage-I image encoded
to a 16x16 grid, M_g = 16), z 100, CA 128 (N_g), ``ngf`` 128, ``ndf`` 64, four residual
blocks (256 px models), Adam lr 0.0002 halved every 100 epochs, batch 64, 600 epochs per
stage, KL weight λ = 1; the released code's 76/304 px images cropped to 64/256 with flips.
``code``: the same with the released birds configs' ``COEFF.KL`` = 2.0. ``tiny``: ``shapes`` with
Stage-I 32 px and Stage-II 64 px (8x8 grid), narrower, two residual blocks, 10 + 11 epochs,
constant lr, G EMA 0.99 (the recipe and its measured accuracy: README, "The tiny recipe").
``text_encoder``: ``"damsm"`` (the zoo's DAMSM, 256-d; the default) or ``"char-cnn-rnn"`` (the papers' 1024-d
char-CNN-RNN embeddings as StackGAN released them, with ``text_dim`` 1024 and the data root as
``--text-encoder-weights``; :mod:`models.common.char_cnn_rnn`).
"""
from models.common.data import RELEASED_DATA_PIPELINE

PAPER = {
    "text_encoder": "damsm",  # or "char-cnn-rnn" (with text_dim 1024): see the module docstring
    "dataset": "cub", "image_size": 256, "stage1_size": 64, "stage2_downs": 2, "text_dim": 256, "z_dim": 100,
    "c_dim": 128, "ngf": 128, "ngf2": 128, "ndf": 64, "r_num": 4, "kl_weight": 1.0,
    "train": {"epochs": 1200, "stage1_epochs": 600, "batch_size": 64, "lr_g": 2e-4, "lr_d": 2e-4,
              "betas": [0.5, 0.999], "ema": None, "lr_decay_every": 100, **RELEASED_DATA_PIPELINE},
}

CODE = {**PAPER, "kl_weight": 2.0}

TINY = {
    **PAPER, "dataset": "shapes", "image_size": 64, "stage1_size": 32, "z_dim": 64, "c_dim": 64, "ngf": 16,
    "ngf2": 16, "ndf": 16, "r_num": 2,
    "train": {"epochs": 21, "stage1_epochs": 10, "batch_size": 64, "lr_g": 2e-4, "lr_d": 2e-4,
              "betas": [0.5, 0.999], "ema": 0.99, "lr_decay_every": None, "load_scale": 1.0, "flip": False},
}

CONFIGS = {"paper": PAPER, "code": CODE, "tiny": TINY}
