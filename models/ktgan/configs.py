"""KT-GAN configs.

``paper``: KT-GAN's CUB setting (Table VII and Sec. IV-A): m = 3 blocks (64/128/256 px), text and
image features 256 wide, AATM in B_1 and B_2 with α 0.85, β 0.9 (Eq. 2), SDL with M = 50, γ 2,
β0 5, λ1 = λ2 = 50 (Eq. 3-8), λ3 = 5 (Eq. 11), η = 1e-3, 1e-2, 1e-1 (Eq. 15). The paper gives no
widths, batch sizes, learning rates or epochs; these are its baseline's, AttnGAN's released
``cfg/bird_attn2.yml`` (as the zoo's ``attngan`` paper config): ``ngf`` 32, ``ndf`` 64, z 100, CA 100,
2 residual blocks, Adam 0.0002 (β1 0.5), batch 20, 600 epochs, the G EMA 0.999, 76/64 crops with flips —
for the teacher and for the student each (600 epochs apiece). The GTE phase follows AttnGAN's DAMSM
pretraining (``cfg/DAMSM/bird.yml``): 600 epochs at the text encoder's learning rate 0.002, on batches of
M = 50 (``gte_batch_size``; Table VII's M). ``train.epochs`` is the sum of the three phases
(``teacher_epochs`` + ``gte_epochs`` + the student's), so ``--epochs`` grows the student phase.

``tiny``: ``shapes`` at 64 px with three stages 16/32/64 px (two attention blocks, so that "AATM in
B_1 only" differs from the full AATM), ``ngf`` 4 (16 channels at every stage, AttnGAN tiny's stage
width), ``ndf`` 16, 1 residual block, z = CA = 64, batch 32 in every phase, G EMA 0.99. The phases take
1 + 3 + 6 epochs of the 10,000 training images (312 steps each), about 25 minutes on one thread. Timing:
20, 30 and 60 steps of each phase, each run beside as many steps of the zoo's AttnGAN tiny in the same
process on the shared 2-core machine (load 3-7 from other jobs), took 1.29 / 0.90 / 0.94 (teacher),
0.22 / 0.18 / 0.16 (GTE) and 1.13 / 0.85 / 0.82 (student) times AttnGAN's step, whose shipped run
averaged 0.74 s per step (230 s per epoch). With the longest (60-step) measurement an epoch takes about
3.6, 0.6 and 3.1 minutes — 24 minutes in all; with the noisiest (20-step, the busiest machine) it would
be 33 (then train one student epoch less: ``--epochs 9``). One teacher epoch suffices to initialise the
student and to fine-tune the image encoder the GTE follows; three GTE epochs, as its held-out sentence
retrieval stops rising after about 1,000 steps; the rest is the student's.

Settings (every key of a config):

- ``aatm_blocks`` (the blocks B_i with the Word Feature Update, [] = AttnGAN's attention),
  ``aatm_alpha``, ``aatm_beta`` (Eq. 2; Table VIII sweeps them);
- ``gte`` (train the guided text encoder and condition on it), ``teacher_init`` (start the student's G
  and D from the teacher's) — the two halves of the SDM (Table III); with either, the teacher is trained;
- ``gte_init`` "scratch" (the paper) or "damsm" (from the zoo DAMSM's text encoder), ``gte_emb_dim``
  300 and ``gte_dropout`` 0.5 (AttnGAN's ``RNN_ENCODER``); ``vocab_size``/``max_len``: ``None``, filled
  in by ``models.train`` from the zoo text encoder's tokenizer;
- ``sdl_gamma`` (γ, Table IX), ``sdl_beta0`` (β0, Table X), ``sdl_lambda1``/``sdl_lambda2`` (λ1, λ2),
  ``sdl_word_similarity`` ("dot": ``O_i · w_i`` as Eq. 5 prints it; "cosine": AttnGAN's ``R(c_i, e_i)``),
  ``sdl_gamma3`` (1: the scores of Eq. 3 and 6 as printed; 10: smoothed as AttnGAN's DAMSM loss, which the
  paper says the SDL modifies in two other respects only — see :mod:`.losses`),
  ``sdl_class_mask`` (leave same-class pairs out of the SDL's denominators as AttnGAN's DAMSM code does;
  the paper's equations do not mention it);
- ``damsm_lambda`` (λ3, Table XI), ``kl_weight`` (AttnGAN's CA KL weight 1);
- ``eta`` (η_i per scale, Table XII), ``perceptual_layer`` (SRGAN's VGG54 = ``relu5_4``; the paper does
  not name the layer), ``vgg19_weights`` (a user's torchvision VGG19 file; ``None``: the stand-in),
  ``inception_weights`` (a user's torchvision Inception-v3 file for the teacher's image encoder;
  ``None``: the stand-in) — see :mod:`.model`;
- ``train``: ``epochs`` (all phases), ``teacher_epochs``, ``gte_epochs``, ``gte_batch_size``, ``lr_gte``
  and the trainer's settings (:data:`models.common.phases.TRAIN_DEFAULTS`).

Ablations (:data:`VARIANTS`): the rows of Tables I-III, each trained for :data:`ABLATION_STUDENT_EPOCHS`
student epochs of ``tiny`` (about 7-8 minutes on one thread) — the same T2I training for every row, as
the paper compares them; the rows with the SDM spend :data:`ABLATION_TEACHER_EPOCHS` teacher and
:data:`ABLATION_GTE_EPOCHS` text-encoder epochs (about 6 minutes more) before it, as ``tiny`` does (the
paper's SDM, too, is training before the T2I model's).
"""
from models.common.data import RELEASED_DATA_PIPELINE
from models.common.zoo import Variant

PAPER = {
    "dataset": "cub", "image_size": 256, "text_dim": 256, "z_dim": 100, "c_dim": 100, "ngf": 32, "ndf": 64,
    "init_ups": 4, "stages": 3, "r_num": 2, "damsm_lambda": 5.0, "kl_weight": 1.0,
    "aatm_blocks": [1, 2], "aatm_alpha": 0.85, "aatm_beta": 0.9,
    "gte": True, "teacher_init": True, "gte_init": "scratch", "gte_emb_dim": 300, "gte_dropout": 0.5,
    "vocab_size": None, "max_len": None,
    "sdl_gamma": 2.0, "sdl_beta0": 5.0, "sdl_lambda1": 50.0, "sdl_lambda2": 50.0, "sdl_word_similarity": "dot",
    "sdl_gamma3": 1.0, "sdl_class_mask": True,
    "eta": [1e-3, 1e-2, 1e-1], "perceptual_layer": "relu5_4", "vgg19_weights": None, "inception_weights": None,
    "train": {"epochs": 1800, "teacher_epochs": 600, "gte_epochs": 600, "gte_batch_size": 50, "batch_size": 20,
              "lr_g": 2e-4, "lr_d": 2e-4, "lr_gte": 2e-3, "betas": [0.5, 0.999], "ema": 0.999,
              **RELEASED_DATA_PIPELINE},
}

TINY = {
    **PAPER, "dataset": "shapes", "image_size": 64, "z_dim": 64, "c_dim": 64, "ngf": 4, "ndf": 16, "init_ups": 2,
    "stages": 3, "r_num": 1,
    "train": {"epochs": 10, "teacher_epochs": 1, "gte_epochs": 3, "gte_batch_size": 32, "batch_size": 32,
              "lr_g": 2e-4, "lr_d": 2e-4, "lr_gte": 2e-3, "betas": [0.5, 0.999], "ema": 0.99,
              "load_scale": 1.0, "flip": False},
}

CONFIGS = {"paper": PAPER, "tiny": TINY}

#: the ablation budget of Tables I-III: student epochs of every row, and the SDM's epochs before it
ABLATION_STUDENT_EPOCHS = 2
ABLATION_TEACHER_EPOCHS = 1
ABLATION_GTE_EPOCHS = 3

_OFF = {"aatm_blocks": [], "gte": False, "teacher_init": False}


def _row(description: str, table: str, **overrides) -> Variant:
    switches = {**_OFF, **overrides}
    sdm = (ABLATION_TEACHER_EPOCHS if switches["gte"] or switches["teacher_init"] else 0) + (
        ABLATION_GTE_EPOCHS if switches["gte"] else 0)
    return Variant(description, table, {**switches, "train": {
        "epochs": ABLATION_STUDENT_EPOCHS + sdm, "teacher_epochs": ABLATION_TEACHER_EPOCHS,
        "gte_epochs": ABLATION_GTE_EPOCHS}})


VARIANTS = {
    "baseline": _row("AttnGAN: no AATM, no SDM (the base row of Tables I and II)", "KT-GAN Table I"),
    "sdm": _row("AttnGAN+SDM: the teacher, the GTE and the teacher-initialised student, no AATM",
                "KT-GAN Table I", gte=True, teacher_init=True),
    "aatm": _row("AttnGAN+AATM: the word feature update in B_1 and B_2, no SDM (also a row of Table II and the "
                 "base row of Table III)", "KT-GAN Table I", aatm_blocks=[1, 2]),
    "full": _row("KT-GAN: AATM in B_1 and B_2 + SDM (also the last row of Table III)", "KT-GAN Table I",
                 aatm_blocks=[1, 2], gte=True, teacher_init=True),
    "aatm-b1": _row("AttnGAN+AATM (B_1): the word feature update in block B_1 only", "KT-GAN Table II",
                    aatm_blocks=[1]),
    "aatm-no-res": _row("AttnGAN+AATM w/o Res: Eq. 2 without the residual term (β = 0)", "KT-GAN Table II",
                        aatm_blocks=[1, 2], aatm_beta=0.0),
    "aatm-gte": _row("AttnGAN+AATM+GTE: the GTE trained by the SDL, the student trained from scratch",
                     "KT-GAN Table III", aatm_blocks=[1, 2], gte=True),
    "aatm-teacher-init": _row("AttnGAN+AATM*: the student's G and D initialised from the teacher, the zoo DAMSM's "
                              "text features (no GTE)", "KT-GAN Table III", aatm_blocks=[1, 2], teacher_init=True),
}
