"""AttnGAN configs.

``paper``: the released ``cfg/bird_attn2.yml`` (CUB): three stages 64/128/256 px, ``ngf`` 32
(GF_DIM), ``ndf`` 64 (DF_DIM), z 100, CA 100 (CONDITION_DIM), 2 residual blocks
(R_NUM), text 256 (the DAMSM), Adam lr 0.0002 for G and D with β1 0.5, batch 20 (GPU
memory), 600 epochs, λ = 5 (``cfg/coco_attn2.yml``: λ = 50, 120 epochs, batch 14).
``tiny``: ``shapes`` at 16/32/64 px, narrower, 1 residual block, G EMA.
"""
PAPER = {
    "dataset": "cub", "image_size": 256, "text_dim": 256, "z_dim": 100, "c_dim": 100, "ngf": 32, "ndf": 64,
    "init_ups": 4, "stages": 3, "r_num": 2, "damsm_lambda": 5.0, "kl_weight": 1.0,
    "train": {"epochs": 600, "batch_size": 20, "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999], "ema": None},
}

PAPER_COCO = {**PAPER, "dataset": "coco", "damsm_lambda": 50.0,
              "train": {**PAPER["train"], "epochs": 120, "batch_size": 14}}

TINY = {
    **PAPER, "dataset": "shapes", "image_size": 64, "z_dim": 64, "c_dim": 64, "ngf": 4, "ndf": 16, "init_ups": 2,
    "r_num": 1,
    "train": {"epochs": 4, "batch_size": 32, "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999], "ema": 0.99},
}

CONFIGS = {"paper": PAPER, "paper-coco": PAPER_COCO, "tiny": TINY}
