"""HDGAN configs.

``paper``: HDGAN Sec. 3.4-3.5 — side outputs 64/128/256 px, text compressed to 128 in D,
least squares, R = 1, 3, 5 (``patch_variant`` "paper"), Adam lr 0.0002 (halved every 100
epochs in the paper; constant here), 500 epochs on CUB. Not in the paper: z 100, CA 128,
``ngf``/``ndf`` 64, batch 16 (our choices) and the KL weight 4 (the released code's
``KL_COE``). ``code``: the same with the released code's R = 1, 1, 5. ``tiny``: ``shapes``
with side outputs 16/32/64 px, narrower, residual branches initialised at zero (see
:mod:`.networks`: without it the tiny model collapsed), G EMA.
"""
PAPER = {
    "dataset": "cub", "image_size": 256, "side_sizes": [64, 128, 256], "text_dim": 256, "z_dim": 100, "c_dim": 128,
    "ngf": 64, "ndf": 64, "t_dim": 128, "patch_variant": "paper", "kl_weight": 4.0, "zero_init_residual": False,
    "train": {"epochs": 500, "batch_size": 16, "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999], "ema": None},
}

CODE = {**PAPER, "patch_variant": "code"}

TINY = {
    **PAPER, "dataset": "shapes", "image_size": 64, "side_sizes": [16, 32, 64], "z_dim": 64, "c_dim": 64,
    "ngf": 16, "ndf": 16, "t_dim": 64, "zero_init_residual": True,
    "train": {"epochs": 7, "batch_size": 64, "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999], "ema": 0.99},
}

CONFIGS = {"paper": PAPER, "code": CODE, "tiny": TINY}
