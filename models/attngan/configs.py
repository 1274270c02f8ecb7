"""AttnGAN configs.

``paper``: the released ``cfg/bird_attn2.yml`` (CUB): three stages 64/128/256 px, ``ngf`` 32
(GF_DIM), ``ndf`` 64 (DF_DIM), z 100, CA 100 (CONDITION_DIM), 2 residual blocks
(R_NUM), text 256 (the DAMSM), Adam lr 0.0002 for G and D with β1 0.5, batch 20 (GPU
memory), 600 epochs, λ = 5 (``cfg/coco_attn2.yml``: λ = 50, 120 epochs, batch 14); the G EMA
that ``trainer.py`` keeps and saves (``avg_param_G``, decay 0.999) and samples from; images
``Resize(imsize · 76/64)``, random crop, flips (``main.py``).
``tiny``: ``shapes``, two stages 32/64 px (the init stage up-samples 3 times), ``ngf`` 8, ``ndf`` 16,
1 residual block, batch 32, 7 epochs, G EMA 0.99 (the recipe and its measured accuracy: README, "The tiny recipe").
"""
from models.common.data import RELEASED_DATA_PIPELINE

PAPER = {
    "dataset": "cub", "image_size": 256, "text_dim": 256, "z_dim": 100, "c_dim": 100, "ngf": 32, "ndf": 64,
    "init_ups": 4, "stages": 3, "r_num": 2, "damsm_lambda": 5.0, "kl_weight": 1.0,
    "train": {"epochs": 600, "batch_size": 20, "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999], "ema": 0.999,
              **RELEASED_DATA_PIPELINE},
}

PAPER_COCO = {**PAPER, "dataset": "coco", "damsm_lambda": 50.0,
              "train": {**PAPER["train"], "epochs": 120, "batch_size": 14}}

TINY = {
    **PAPER, "dataset": "shapes", "image_size": 64, "z_dim": 64, "c_dim": 64, "ngf": 8, "ndf": 16, "init_ups": 3,
    "stages": 2, "r_num": 1,
    "train": {"epochs": 7, "batch_size": 32, "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999], "ema": 0.99,
              "load_scale": 1.0, "flip": False},
}

CONFIGS = {"paper": PAPER, "paper-coco": PAPER_COCO, "tiny": TINY}
