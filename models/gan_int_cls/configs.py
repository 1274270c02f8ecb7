"""GAN-INT-CLS configs.

``paper``: Reed et al. 2016, Sec. 5 — 64x64 images, z 100-d, text compressed to 128,
Adam lr 0.0002 with momentum 0.5, minibatch 64, 600 epochs, β = 0.5 for INT; widths as in
the released code (``ngf`` 128, ``ndf`` 64). ``text_dim`` is the zoo text encoder's width
(256) where the paper's char-CNN-RNN gives 1024.
``tiny``: the same networks narrowed for ``shapes`` on 2 CPU cores, with G EMA.
"""
PAPER = {
    "dataset": "cub", "image_size": 64, "text_dim": 256, "z_dim": 100, "t_dim": 128, "ngf": 128, "ndf": 64,
    "matching_aware": True, "interpolation": True, "beta": 0.5,
    "train": {"epochs": 600, "batch_size": 64, "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999], "ema": None},
}

TINY = {
    **PAPER, "dataset": "shapes", "ngf": 16, "ndf": 16,
    "train": {"epochs": 9, "batch_size": 64, "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999], "ema": 0.99},
}

CONFIGS = {"paper": PAPER, "tiny": TINY}
