"""SDN configs (Yuan & Peng, ACM MM 2018).

``paper`` (Sec. 3.5, 4.1): CUB-200-2011 at 224 px (VGG19's input size; the generator makes 224 px
images), the zero-shot split (CUB's standard split, 150 train / 50 test classes, is already
class-disjoint); the source model is the full VGG19 (``source_widths`` 64, 128, 256, 512, 512, fc
4096) with ImageNet weights given as ``source_weights`` (torchvision's ``vgg19`` state dict; see
:mod:`models.sdn.source_model`); Adam at lr 1e-4, batch 12, 100 epochs of Stage-I then 100 of
Stage-II (``scheme`` "sequential", ``stage1_epochs`` 100 of ``epochs`` 200), one image per caption
(``diverse_n`` 1: Sec. 4.4 "we fix the channels of G final layer as 3"). Not in the paper:
Adam's betas are TensorFlow's defaults (0.9, 0.999) — the paper names TensorFlow's Adam and no
betas; no learning-rate decay and no EMA (none mentioned); the data pipeline is StackGAN's released
one (:data:`models.common.data.RELEASED_DATA_PIPELINE`: images loaded at 76/64 of the size —
266 px — randomly cropped to 224 and flipped; the paper only says the images are resized to 224).
The paper uses the *uncropped* CUB images (Sec. 4.1, "we use the original images instead of
cropping them"); the zoo's CUB loader crops around the bird box by default (AttnGAN) and
``models.train`` passes no dataset options, so this config trains on the cropped birds (an open
difference). The text embedding is the zoo's DAMSM sentence embedding (``text_dim`` 256) in place of
the char-CNN-RNN embedding (1024-d) of Reed et al. [30], as the other zoo models read it.
``l1_reduction`` "mean": each layer's L1 distance is its mean absolute difference (see
:mod:`models.sdn.model`).

``tiny`` (``shapes``, 64 px, the zoo's ``train`` split, so SDN is compared with the other zoo models
on the shapes leaderboard at equal budget): VGG19's ladder at 64 px gives conv1 64, conv2 32, conv3
16, conv4 8, conv5 4 px maps, pool5 2x2, then fc6/fc7/fc8; widths a quarter of VGG19's (16, 32, 64,
128, 128) and fc 256 (a sixteenth). The source model is the shipped stand-in
``models/weights/sdn-vgg19-shapes.safetensors`` (``python -m models.sdn.source_model --dataset shapes
--out models/weights --seed 3``). Batch 32, Adam lr 1e-4 (the paper's; 1e-3 was tried: its Stage-I loss
stalled at 3.3 from step 600 to 1500, with up to 62 % of G's units dead — the L1 pull towards D's mostly
zero ReLU features — while at 1e-4 it kept falling), ``TINY_EPOCHS`` epochs —
Stage-I for the first ``TINY_STAGE1_EPOCHS`` (the paper's even split) — measured to fit the zoo's
30-minute budget on one thread: 40 steps of each phase through ``models.train`` took 0.42 s/step
(Stage-I) and 0.575 s/step (Stage-II) of wall time with one other job on the 2-core machine (earlier,
at load 5-7, the CPU time of the one-thread process was 0.475 and 0.64 s/step), so 312 steps/epoch
(10,000 images, batch 32) give 131 s and 180 s per epoch and 5 + 5 epochs about 26 minutes (29 at the
CPU-time rates) plus the per-epoch probe. No G EMA (as the paper; the tiny zoo's EMA 0.99 hurt here:
the EMA copy takes the raw model's BatchNorm statistics, and through G's 18 BatchNorm layers the
mismatch halved how much the images vary with the caption — across-caption pixel std 0.055 for the EMA
copy against 0.106 for the raw weights after 900 steps of the image loss), no crop or flip (the shapes
captions say left and right).

``tiny-zs``: ``tiny`` on the zero-shot split of shapes (``splits`` ``zs-train`` / ``zs-test``: 36 seen
classes for training, 12 unseen for testing), the paper's protocol on the embedded dataset.

Ablations (:data:`VARIANTS`, Sec. 4.5, Table 3): the ``scheme`` (which losses, in which order) and
``diverse_n`` (the 3n-channel output with the multiple-choice losses, Eq. 4-5; n = :data:`DIVERSE_N`,
our choice: the paper does not give its n). Every row of Table 3 trains for :data:`ABLATION_EPOCHS`
epochs of ``tiny`` (the table's budget; the sequential rows — ``full`` and ``diverse`` — spend the first
``ABLATION_EPOCHS // 2`` = 1 in Stage-I, the other 2 in Stage-II); ``sdn/full`` is the full model at that
budget, ``sdn/baseline`` the table's first row (image space loss only). Time per row on one thread (s/step
x 312 steps/epoch; wall time with one other job): baseline about 4.5 min, stage1 6.6, stage2 9, joint 9.5,
full 8.2, diverse 12.6 (its Stage-II runs D on n = 3 images per caption) — about 8 minutes on average,
the same epochs for every row.
"""
from models.common.data import RELEASED_DATA_PIPELINE
from models.common.zoo import Variant
from models.sdn.networks import VGG19_FC, VGG19_WIDTHS

PAPER = {
    "dataset": "cub", "image_size": 224, "text_dim": 256,
    "source_widths": list(VGG19_WIDTHS), "source_fc": VGG19_FC, "source_weights": None,
    "scheme": "sequential", "diverse_n": 1, "l1_reduction": "mean",
    "train": {"epochs": 200, "stage1_epochs": 100, "batch_size": 12, "lr_g": 1e-4, "betas": [0.9, 0.999],
              "ema": None, "lr_decay_every": None, **RELEASED_DATA_PIPELINE},
}

#: the tiny schedule: epochs in all, the first ones Stage-I (measured: README, "The tiny recipe")
TINY_EPOCHS, TINY_STAGE1_EPOCHS = 10, 5

TINY = {
    **PAPER, "dataset": "shapes", "image_size": 64, "source_widths": [16, 32, 64, 128, 128], "source_fc": 256,
    "train": {"epochs": TINY_EPOCHS, "stage1_epochs": TINY_STAGE1_EPOCHS, "batch_size": 32, "lr_g": 1e-4,
              "betas": [0.9, 0.999], "ema": None, "lr_decay_every": None, "load_scale": 1.0, "flip": False},
}

TINY_ZS = {**TINY, "splits": ["zs-train", "zs-test"]}

CONFIGS = {"paper": PAPER, "tiny": TINY, "tiny-zs": TINY_ZS}

#: epochs of every row of SDN's Table 3 (the ablation budget: about 8 min on one thread each)
ABLATION_EPOCHS = 3
#: the number of diverse images of the "diverse synthesis loss" row (our choice; the paper gives none)
DIVERSE_N = 3
TABLE = "SDN Table 3"


def _row(description: str, **overrides) -> Variant:
    return Variant(description, TABLE, {**overrides, "train": {"epochs": ABLATION_EPOCHS,
                                                               "stage1_epochs": ABLATION_EPOCHS // 2}})


VARIANTS = {
    "baseline": _row("image space loss only (Eq. 2): no distillation", scheme="image"),
    "stage1": _row("Stage-I loss only (Eq. 1) for the whole budget", scheme="stage1"),
    "stage2": _row("Stage-II loss only (Eq. 3) for the whole budget", scheme="stage2"),
    "joint": _row("Stage-I and Stage-II losses together (Eq. 1 + Eq. 3) for the whole budget", scheme="joint"),
    "diverse": _row(f"diverse synthesis loss: n = {DIVERSE_N} images per caption, Stage-I (Eq. 4) then Stage-II "
                    f"(Eq. 5)", diverse_n=DIVERSE_N),
    "full": _row("our SDN: Stage-I (Eq. 1) then Stage-II (Eq. 3)"),
}
