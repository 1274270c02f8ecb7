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

Ablations (:data:`VARIANTS`, Sec. 5): ``nested_sides`` are the side outputs (indices, smallest first)
that get a discriminator, ``local_loss`` switches the adaptive local image loss. Every row of Tables 5
and 6 is trained for :data:`ABLATION_EPOCHS` epochs of ``tiny`` (the tables' budget, about 15 minutes on
one thread each; ``hdgan/full`` is the full model at that budget). Table 5's "With Local" column is the
64 + 256 model of Table 6 (Sec. 5.2 runs both columns "with side output 64×64 and 256×256").
``text_encoder``: ``"damsm"`` (the zoo's DAMSM, 256-d; the default) or ``"char-cnn-rnn"`` (the papers' 1024-d
char-CNN-RNN embeddings as StackGAN released them, with ``text_dim`` 1024 and the data root as
``--text-encoder-weights``; :mod:`models.common.char_cnn_rnn`).
"""
from models.common.data import RELEASED_DATA_PIPELINE
from models.common.zoo import Variant

PAPER = {
    "text_encoder": "damsm",  # or "char-cnn-rnn" (with text_dim 1024): see the module docstring
    "dataset": "cub", "image_size": 256, "side_sizes": [64, 128, 256], "text_dim": 256, "z_dim": 100, "c_dim": 128,
    "ngf": 64, "ndf": 64, "t_dim": 128, "patch_variant": "paper", "loss_average": "paper", "kl_weight": 4.0,
    "zero_init_residual": False, "nested_sides": [0, 1, 2], "local_loss": True,
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

#: epochs of every row of HDGAN's Tables 5 and 6 (the ablation budget: about 15 min on one thread each)
ABLATION_EPOCHS = 10


def _row(description: str, table: str, **overrides) -> Variant:
    return Variant(description, table, {**overrides, "train": {"epochs": ABLATION_EPOCHS}})


VARIANTS = {
    "full": _row("all three hierarchically-nested discriminators (64, 128, 256)", "HDGAN Table 6"),
    "d-256": _row("a discriminator on the final 256 output only", "HDGAN Table 6", nested_sides=[2]),
    "d-128-256": _row("discriminators on the 128 and 256 side outputs", "HDGAN Table 6", nested_sides=[1, 2]),
    "d-64-256": _row("discriminators on the 64 and 256 side outputs (also Table 5's \"With Local\")",
                     "HDGAN Table 6", nested_sides=[0, 2]),
    "no-local": _row("side outputs 64 and 256 without the local image loss (\"No Local\")", "HDGAN Table 5",
                     nested_sides=[0, 2], local_loss=False),
}
