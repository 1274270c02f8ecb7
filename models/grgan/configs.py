"""GR-GAN configs and the ablation variants of its Tables 2, 4 and 6.

``paper`` — GR-GAN is trained on MS-COCO only (Sec. 4.1; the released ``code/cfg/coco_GRAGN.yml``):
three stages 64/128/256 px in the order I→S→W, DM-GAN's generator blocks (the code is DM-GAN's:
``GF_DIM`` 64, ``DF_DIM`` 32, ``Z_DIM`` 100, ``R_NUM`` 3, memory 2·ngf = 128, CA 100 = DM-GAN's
``CONDITION_DIM`` default), text width 512 (the ITM's ``nef``, ``TEXT.EMBEDDING_DIM``), λ1 = 4, λ2 = 1,
γ = 10 with DAMSM's γ1 = 4, γ2 = 5 (Sec. 4.1, ``SMOOTH``), KL weight 1, spectral-norm discriminators,
Adamax (β 0.5, 0.999) for G and D (``GR_trainer.py``), learning rate 0.0002 and 300 epochs (Sec. 4.1),
batch 8 (``BATCH_SIZE``), the trainer's G EMA 0.999 and AttnGAN's ``Resize(76/64)`` / crop / flip
pipeline. ``damsm_lambda`` 50 is the DAMSM weight of the Table 2 rows that use DAMSM without GRG (AttnGAN's
and DM-GAN's COCO configs).
``code`` — the released config where it disagrees with the paper: learning rate 0.00002 for G and D
(``GENERATOR_LR``/``DISCRIMINATOR_LR``; the paper says 0.0002).
``tiny`` — ``shapes`` at 64 px on one CPU thread: three stages 16/32/64 px (the init stage up-samples
twice), ``ngf`` 4 so that every stage is 16 channels wide — the width of the zoo's tiny DM-GAN, against
which GR-GAN's claim is measured (``dmgan`` tiny: two stages 32/64 px, ``ngf`` 8 -> 16 channels), ``ndf``
16, memory 32, one residual block, z and CA 64, text width 512 (the shipped ITM stand-in,
``models/weights/grgan-itm-shapes.*``), batch 32, Adamax at the paper's 0.0002, G EMA 0.99 (as every tiny
config of the zoo), no flips (the captions say left/right); ``damsm_lambda`` 5 as the zoo's tiny
AttnGAN/DM-GAN; 6 epochs (:data:`TINY_EPOCHS`: the first shipped run's 5 epochs took 21.3 min of CPU time
of its one thread, 4.3 min per epoch, so 6 take about 26 minutes — the run of 5 trained further).

Settings (every key a variant may override): ``backbone`` "dmgan" | "attngan" (the fusion of the
refinement stages: dynamic memory or word attention); ``grg`` (GRG's staging, discriminators and staged
ITM losses, or the backbone's own stages); ``stage_order`` "ISW" | "IWS" | "SWI" (Table 6);
``matcher`` "itm" | "damsm" | None (the consistency module, whose text side is the ``text_encoder``
"grgan-itm" | "damsm" the generator reads; ``text_dim`` its width); ``lambda1``, ``lambda2`` (Eq. 4, 7,
9); ``gamma1..3``; ``damsm_lambda`` (the backbone's DAMSM weight without GRG); ``adv_form`` "code" |
"paper" (the adversarial terms as released or as Eq. 1/3/6 print them, :mod:`.model`);
``word_condition`` "words" | "slots" (``c̄_w`` over the caption's words, or over all word slots as the
code); ``spectral_norm`` (the discriminators').

**Ablation variants** (``VARIANTS``; ``python -m models.train grgan/<name> --config tiny``): every row of
the paper's Table 2 (backbone AttnGAN or DM-GAN × none / DAMSM / DAMSM + GRG / ITM / ITM + GRG), Table 4
(λ1, λ2 of ITM without GRG on DM-GAN) and Table 6 (stage orders), each trained for
:data:`ABLATION_EPOCHS` epochs (about 8 minutes of the full model on one thread). A row that two tables
share is one variant: Table 2's "DM-GAN + ITM + GRG" and Table 6's I→S→W row are ``full``; Table 4's
λ1 = 4, λ2 = 1 row is Table 2's ``dmgan-itm``. Without GRG the backbone keeps GR-GAN's sizes and widths
(three stages, ``ngf``), so that a row differs from ``full`` only in what the table names; the paper's
AttnGAN rows use AttnGAN's discriminators without spectral normalisation.
"""
from models.common.data import RELEASED_DATA_PIPELINE
from models.common.zoo import Variant

PAPER = {
    "dataset": "coco", "image_size": 256, "text_dim": 512, "text_encoder": "grgan-itm",
    "z_dim": 100, "c_dim": 100, "ngf": 64, "ndf": 32, "init_ups": 4, "stages": 3, "r_num": 3, "memory_dim": 128,
    "backbone": "dmgan", "grg": True, "stage_order": "ISW", "matcher": "itm",
    "lambda1": 4.0, "lambda2": 1.0, "gamma1": 4.0, "gamma2": 5.0, "gamma3": 10.0, "damsm_lambda": 50.0,
    "kl_weight": 1.0, "spectral_norm": True, "adv_form": "code", "word_condition": "words",
    "train": {"epochs": 300, "batch_size": 8, "lr_g": 2e-4, "lr_d": 2e-4, "optimizer": "adamax",
              "betas": [0.5, 0.999], "ema": 0.999, **RELEASED_DATA_PIPELINE},
}

CODE = {**PAPER, "train": {**PAPER["train"], "lr_g": 2e-5, "lr_d": 2e-5}}

#: tiny epochs: the full model's training in about 25 minutes on one thread. Measured (22 steps of batch 32,
#: one thread, on the 2-core machine shared with other jobs, load average 5.4-8): GR-GAN tiny took 1.12-1.31x
#: the time per step of the zoo's tiny DM-GAN measured beside it (1.80 vs 1.60, 2.26 vs 1.91, 4.45 vs 3.41
#: s/step), whose shipped run took 249 s per epoch of 312 steps on a quiet thread: about 300 s per epoch here
TINY_EPOCHS = 6
#: the ablation budget of every table's rows: 2 epochs, about 10 minutes for the GRG + ITM rows, 9 for ITM
#: without GRG (1.05-1.2x DM-GAN's step) and 8 for the DAMSM rows (about DM-GAN's step)
ABLATION_EPOCHS = 2

TINY = {
    **PAPER, "dataset": "shapes", "image_size": 64, "z_dim": 64, "c_dim": 64, "ngf": 4, "ndf": 16, "init_ups": 2,
    "r_num": 1, "memory_dim": 32, "damsm_lambda": 5.0,
    "train": {"epochs": TINY_EPOCHS, "batch_size": 32, "lr_g": 2e-4, "lr_d": 2e-4, "optimizer": "adamax",
              "betas": [0.5, 0.999], "ema": 0.99, "load_scale": 1.0, "flip": False},
}

CONFIGS = {"paper": PAPER, "code": CODE, "tiny": TINY}

_BUDGET = {"train": {"epochs": ABLATION_EPOCHS}}
_DAMSM = {"text_encoder": "damsm", "text_dim": 256}
_ATTNGAN = {"backbone": "attngan", "spectral_norm": False}


def _row(description: str, table: str, **overrides) -> Variant:
    return Variant(description, f"GR-GAN {table}", {**overrides, **_BUDGET})


VARIANTS = {
    # Table 2: backbone x consistency module x GRG
    "attngan-base": _row("AttnGAN backbone, no consistency module (Table 2, first Attn-GAN row)", "Table 2",
                         **_ATTNGAN, **_DAMSM, grg=False, matcher=None),
    "attngan-damsm": _row("AttnGAN with DAMSM: AttnGAN itself (Table 2, Attn-GAN DA)", "Table 2",
                          **_ATTNGAN, **_DAMSM, grg=False, matcher="damsm"),
    "attngan-damsm-grg": _row("AttnGAN backbone, DAMSM, GRG (Table 2, Attn-GAN DA + GRG)", "Table 2",
                              **_ATTNGAN, **_DAMSM, grg=True, matcher="damsm"),
    "attngan-itm": _row("AttnGAN backbone with the ITM in place of DAMSM (Table 2, Attn-GAN IT)", "Table 2",
                        **_ATTNGAN, grg=False, matcher="itm"),
    "attngan-itm-grg": _row("AttnGAN backbone, ITM, GRG (Table 2, Attn-GAN IT + GRG)", "Table 2",
                            **_ATTNGAN, grg=True, matcher="itm"),
    "dmgan-base": _row("DM-GAN backbone, no consistency module (Table 2, first DM-GAN row)", "Table 2",
                       **_DAMSM, grg=False, matcher=None),
    "dmgan-damsm": _row("DM-GAN with DAMSM: DM-GAN itself (Table 2, DM-GAN DA; the table's baseline)", "Table 2",
                        **_DAMSM, grg=False, matcher="damsm"),
    "dmgan-damsm-grg": _row("DM-GAN backbone, DAMSM, GRG (Table 2, DM-GAN DA + GRG)", "Table 2",
                            **_DAMSM, grg=True, matcher="damsm"),
    "dmgan-itm": _row("DM-GAN backbone with the ITM, no GRG, lambda1 4, lambda2 1 (Table 2, DM-GAN IT; also "
                      "Table 4's lambda1 = 4, lambda2 = 1 row)", "Table 2", grg=False, matcher="itm"),
    "full": _row("GR-GAN: DM-GAN backbone, ITM, GRG in the order I->S->W (Table 2, DM-GAN IT + GRG; also Table 6's "
                 "I->S->W row)", "Table 2", grg=True, matcher="itm"),
    # Table 4: lambda1, lambda2 of the ITM losses, ITM without GRG (DM-GAN backbone)
    **{f"lambda-{l1}-{l2}": _row(f"ITM without GRG (DM-GAN backbone), lambda1 {l1}, lambda2 {l2} (Table 4)",
                                 "Table 4", grg=False, matcher="itm", lambda1=float(l1), lambda2=float(l2))
       for l1, l2 in ((1, 1), (2, 1), (3, 1), (4, 2), (5, 2))},
    # Table 6: the order of the stages
    "order-iws": _row("GR-GAN with the stage order I->W->S (Table 6)", "Table 6", stage_order="IWS"),
    "order-swi": _row("GR-GAN with the stage order S->W->I (Table 6)", "Table 6", stage_order="SWI"),
}
