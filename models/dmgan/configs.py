"""DM-GAN configs.

``paper``: DM-GAN Sec. 4.1: three stages 64/128/256 px, memory width 128 (N_m), λ1 = 1,
λ2 = 5 for CUB (``paper-coco``: 50); the rest from the released ``code/cfg/bird_DMGAN.yml``:
``GF_DIM`` 64, ``DF_DIM`` 32, z 100, ``R_NUM`` 2, batch 10, 800 epochs, Adam lr 0.0002 for G
and D (β1 0.5, the AttnGAN trainer DM-GAN's derives from), and that trainer's G EMA (decay
0.999) and ``Resize(imsize · 76/64)`` / random crop / flips. CA 100 is AttnGAN's
``CONDITION_DIM`` (DM-GAN's cfg keeps the default). ``paper-coco``:
``code/cfg/coco_DMGAN.yml`` — batch 16, 200 epochs, ``R_NUM`` 3, λ2 = 50.
``tiny``: ``shapes``, two stages 32/64 px, ``ngf`` 8, ``ndf`` 16, memory 32, 1 residual block, batch 32,
7 epochs, G EMA 0.99 (the recipe and its measured accuracy: README, "The tiny recipe").
"""
from models.common.data import RELEASED_DATA_PIPELINE

PAPER = {
    "dataset": "cub", "image_size": 256, "text_dim": 256, "z_dim": 100, "c_dim": 100, "ngf": 64, "ndf": 32,
    "init_ups": 4, "stages": 3, "r_num": 2, "memory_dim": 128, "damsm_lambda": 5.0, "kl_weight": 1.0,
    "spectral_norm": True,
    "train": {"epochs": 800, "batch_size": 10, "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999], "ema": 0.999,
              **RELEASED_DATA_PIPELINE},
}

PAPER_COCO = {**PAPER, "dataset": "coco", "damsm_lambda": 50.0, "r_num": 3,
              "train": {**PAPER["train"], "epochs": 200, "batch_size": 16}}

TINY = {
    **PAPER, "dataset": "shapes", "image_size": 64, "z_dim": 64, "c_dim": 64, "ngf": 8, "ndf": 16, "init_ups": 3,
    "stages": 2, "r_num": 1, "memory_dim": 32,
    "train": {"epochs": 7, "batch_size": 32, "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999], "ema": 0.99,
              "load_scale": 1.0, "flip": False},
}

CONFIGS = {"paper": PAPER, "paper-coco": PAPER_COCO, "tiny": TINY}
