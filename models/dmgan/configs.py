"""DM-GAN configs.

``paper``: DM-GAN Sec. 4.1: three stages 64/128/256 px, memory width 128 (N_m), λ1 = 1,
λ2 = 5 for CUB (``paper-coco``: 50); the widths (``ngf`` 32, ``ndf`` 64, z 100, CA 100,
2 residual blocks), Adam lr 0.0002 with β1 0.5 and the schedule (600 epochs, batch 20;
COCO 120 epochs) are AttnGAN's bird/coco configs, from whose code DM-GAN's derives — check
them against DM-GAN's released ``cfg/`` before claiming a reproduction.
``tiny``: ``shapes`` at 16/32/64 px, narrower, 1 residual block, G EMA.
"""
PAPER = {
    "dataset": "cub", "image_size": 256, "text_dim": 256, "z_dim": 100, "c_dim": 100, "ngf": 32, "ndf": 64,
    "init_ups": 4, "stages": 3, "r_num": 2, "memory_dim": 128, "damsm_lambda": 5.0, "kl_weight": 1.0,
    "spectral_norm": True,
    "train": {"epochs": 600, "batch_size": 20, "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999], "ema": None},
}

PAPER_COCO = {**PAPER, "dataset": "coco", "damsm_lambda": 50.0, "train": {**PAPER["train"], "epochs": 120}}

TINY = {
    **PAPER, "dataset": "shapes", "image_size": 64, "z_dim": 64, "c_dim": 64, "ngf": 4, "ndf": 16, "init_ups": 2,
    "r_num": 1, "memory_dim": 32,
    "train": {"epochs": 4, "batch_size": 32, "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999], "ema": 0.99},
}

CONFIGS = {"paper": PAPER, "paper-coco": PAPER_COCO, "tiny": TINY}
