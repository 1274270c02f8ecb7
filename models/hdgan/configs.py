"""HDGAN configs.

``paper``: HDGAN Sec. 3.4-3.5 — side outputs 64/128/256 px, text compressed to 128 in D,
least squares with the pair terms summed as Eq. 4 prints them (``loss_average`` "paper"),
R = 1, 3, 5 (``patch_variant`` "paper"), Adam lr 0.0002 halved every 100 epochs, 500 epochs
on CUB. Not in the paper, taken from the released code (``train/train_gan/train_worker.py``,
``train_birds.sh``, ``HDGan/fuel/datasets.py``): z 100, CA 128 (``emb_dim``), batch 16, the
KL weight 4 (``KL_COE``), 304 px images randomly cropped to 256 and flipped. ``ngf``/``ndf`` 64
are our choice for the paper (it gives no widths).

``code``: the released code as it runs — R = 1, 1, 5, the matching-aware average of the pair
terms (``loss_average`` "code", ``compute_d_pair_loss``), ``hid_dim`` 128 (``ngf`` 128: 1024
channels at 4x4 as its ``Sent2FeatMap``), D's first width 32 (``ImageDown(256)`` starts at 32
channels: ``ndf`` 32), ``maxepoch`` 600 with ``epoch_decay`` 100.

``tiny``: ``shapes`` with side outputs 16/32/64 px, narrower, residual branches initialised at
zero (see :mod:`.networks`: without it the tiny model collapsed), 19 epochs, constant lr, G EMA 0.99,
no crop or flip (the recipe and its measured accuracy: README, "The tiny recipe").
"""
from models.common.data import RELEASED_DATA_PIPELINE

PAPER = {
    "dataset": "cub", "image_size": 256, "side_sizes": [64, 128, 256], "text_dim": 256, "z_dim": 100, "c_dim": 128,
    "ngf": 64, "ndf": 64, "t_dim": 128, "patch_variant": "paper", "loss_average": "paper", "kl_weight": 4.0,
    "zero_init_residual": False,
    "train": {"epochs": 500, "batch_size": 16, "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999], "ema": None,
              "lr_decay_every": 100, **RELEASED_DATA_PIPELINE},
}

CODE = {**PAPER, "patch_variant": "code", "loss_average": "code", "ngf": 128, "ndf": 32,
        "train": {**PAPER["train"], "epochs": 600}}

TINY = {
    **PAPER, "dataset": "shapes", "image_size": 64, "side_sizes": [16, 32, 64], "z_dim": 64, "c_dim": 64,
    "ngf": 16, "ndf": 16, "t_dim": 64, "zero_init_residual": True,
    "train": {"epochs": 19, "batch_size": 64, "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999], "ema": 0.99,
              "lr_decay_every": None, "load_scale": 1.0, "flip": False},
}

CONFIGS = {"paper": PAPER, "code": CODE, "tiny": TINY}
