"""GAN-INT-CLS configs.

``paper``: Reed et al. 2016, Sec. 5 — 64x64 images, z 100-d, text compressed to 128,
Adam lr 0.0002 with momentum 0.5, minibatch 64, 600 epochs, β = 0.5 for INT; widths as in
the released code (``ngf`` 128, ``ndf`` 64), and its schedule and augmentation (``lr_decay`` 0.5
every ``decay_every`` 100 epochs; ``loadSize`` 76 cropped to 64 with flips). ``text_dim`` is the zoo
text encoder's width (256) where the paper's char-CNN-RNN gives 1024.
``tiny``: the same networks narrowed for ``shapes`` (``ngf`` = ``ndf`` = 16), 25 epochs, constant lr, no
crop or flip, G EMA 0.99 (the recipe and its measured accuracy: README, "The tiny recipe").
``text_encoder``: ``"damsm"`` (the zoo's DAMSM, 256-d; the default) or ``"char-cnn-rnn"`` (the papers' 1024-d
char-CNN-RNN embeddings as StackGAN released them, with ``text_dim`` 1024 and the data root as
``--text-encoder-weights``; :mod:`models.common.char_cnn_rnn`).
"""
from models.common.data import RELEASED_DATA_PIPELINE

PAPER = {
    "text_encoder": "damsm",  # or "char-cnn-rnn" (with text_dim 1024): see the module docstring
    "dataset": "cub", "image_size": 64, "text_dim": 256, "z_dim": 100, "t_dim": 128, "ngf": 128, "ndf": 64,
    "matching_aware": True, "interpolation": True, "beta": 0.5,
    "train": {"epochs": 600, "batch_size": 64, "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999], "ema": None,
              "lr_decay_every": 100, **RELEASED_DATA_PIPELINE},
}

TINY = {
    **PAPER, "dataset": "shapes", "ngf": 16, "ndf": 16,
    "train": {"epochs": 25, "batch_size": 64, "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999], "ema": 0.99,
              "lr_decay_every": None, "load_scale": 1.0, "flip": False},
}

CONFIGS = {"paper": PAPER, "tiny": TINY}
