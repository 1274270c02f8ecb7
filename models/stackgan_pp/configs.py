"""StackGAN++ configs.

``paper``: three branches 64/128/256 px; the released ``StackGAN-v2`` defaults
(``config.py``: z 100, CA 128, ``ngf`` = ``ndf`` = 64, 2 residual blocks, Adam lr 0.0002
with β1 0.5 and no decay, ``COEFF.KL`` 2.0, ``COLOR_LOSS`` 0) with the birds config's
unconditional weight 1.0; batch 24 and 600 epochs; ``Resize(imsize · 76/64)``, random crop,
flips. ``tiny``: ``shapes`` with two branches 32/64 px, ``ngf`` 8, one residual block, a small
colour-consistency weight (1.0), 14 epochs, G EMA 0.99 (the recipe and its measured accuracy:
README, "The tiny recipe").
``text_encoder``: ``"damsm"`` (the zoo's DAMSM, 256-d; the default) or ``"char-cnn-rnn"`` (the papers' 1024-d
char-CNN-RNN embeddings as StackGAN released them, with ``text_dim`` 1024 and the data root as
``--text-encoder-weights``; :mod:`models.common.char_cnn_rnn`).
"""
from models.common.data import RELEASED_DATA_PIPELINE

PAPER = {
    "text_encoder": "damsm",  # or "char-cnn-rnn" (with text_dim 1024): see the module docstring
    "dataset": "cub", "image_size": 256, "text_dim": 256, "z_dim": 100, "c_dim": 128, "ngf": 64, "ndf": 64,
    "init_ups": 4, "branches": 3, "r_num": 2, "uncond_weight": 1.0, "kl_weight": 2.0, "color_weight": 0.0,
    "train": {"epochs": 600, "batch_size": 24, "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999], "ema": None,
              **RELEASED_DATA_PIPELINE},
}

TINY = {
    **PAPER, "dataset": "shapes", "image_size": 64, "z_dim": 64, "c_dim": 64, "ngf": 8, "ndf": 16, "init_ups": 3,
    "branches": 2, "r_num": 1, "color_weight": 1.0,
    "train": {"epochs": 14, "batch_size": 64, "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999], "ema": 0.99,
              "load_scale": 1.0, "flip": False},
}

CONFIGS = {"paper": PAPER, "tiny": TINY}
