"""CPGAN configs and the ablation variants of its Figure 6.

``paper``: CPGAN's COCO setting (the paper reports COCO only) at full size: three stages 64/128/256 px with
the released ``code/cfg/eval_coco.yml`` widths (``GF_DIM`` 48, ``DF_DIM`` 96, ``Z_DIM`` 100, ``R_NUM`` 3),
CA 100 (AttnGAN's ``CONDITION_DIM``, the released default), text 256 (``EMBEDDING_DIM``), batch 72 (Sec. 4.1:
"we use batch size of 72 samples instead of 14 samples in AttnGAN"), Adam lr 0.0002 for G and D (the released
``miscc/config.py`` defaults) with AttnGAN's β1 0.5, the G EMA (0.999) and ``Resize(imsize · 76/64)`` / random
crop / flips of the AttnGAN trainer it builds on (the released ``eval.py`` transform), truncated noise with
threshold 2 at generation (the released ``truncated_normal_``). Not given by the paper or the released
(evaluation-only) code, taken from AttnGAN's COCO config: 120 epochs and λ = 50 for the TISCL (the released
``config.py`` default ``LAMBDA`` 1.0 is AttnGAN's default too, which its COCO cfg sets to 50). All three
modules on: MATE and OAIE (``text_encoder`` "cpgan-mate", :mod:`.encoders`), FGCD. Detected object regions
for generated images (``fake_regions`` "detector").

``tiny``: ``shapes``, AttnGAN's tiny recipe (two stages 32/64 px, ``ngf`` 8, ``ndf`` 16, 1 residual block,
z 64, CA 64, λ 5, no crop or flip) with CPGAN's changes: hinge loss, residual connections from ``C_0``,
truncated noise, batch 72 (the paper's; AttnGAN tiny: 32), MATE + OAIE + FGCD, detector regions for generated
images; ``TINY_EPOCHS`` epochs (measured below). G EMA 0.98: the horizon of AttnGAN tiny's 0.99 counted in
images (100 steps of 32 ≈ 50 of 72) — with 0.99 the average after one epoch of 138 steps still held 25% of the
initial weights (0.99^138), and its held-out class accuracy was 0.066 where the raw generator's was 0.27.

Every config's keys: ``mate``/``oaie``/``fgcd`` the three modules (``text_encoder`` must be the pair they
name: :data:`models.cpgan.model.TEXT_ENCODERS`), ``fake_regions`` "detector" | "grid" (the object regions
of generated images: the stand-in detector's, or none), ``truncation`` (threshold of the truncated noise at
generation, or ``None``), the AttnGAN keys (``ngf``, ``ndf``, ``init_ups``, ``stages``, ``r_num``,
``z_dim``, ``c_dim``, ``text_dim``, ``damsm_lambda`` = the TISCL's λ, ``kl_weight``).

**Figure 6** ("Performance of ablation study in Inception score"): ``VARIANTS`` — AttnGAN⁺ (``baseline``),
one module, two modules, all three (``full``), each registered as ``cpgan/<variant>`` and trained for
``ABLATION_EPOCHS`` epochs (one epoch, 5-7.5 minutes on one thread; measured below).

Budget (``OMP_NUM_THREADS=1``; the only phase is the GAN phase): the process CPU time of 20 training steps
through ``models.train`` (after 3 warm-up steps; this 2-core machine was shared with other jobs, load average
5-6, so wall times were 1.4x the CPU times) is 2.33 s/step for the full model at batch 72, 1.60 s/step for
AttnGAN⁺ (``baseline``) and 0.52 s/step for AttnGAN's tiny config (batch 32) — per image, the full model costs
2.0x AttnGAN (the residual connections' up-sampling block at 64 px is 40% of the generator's forward pass, the
word-level TISCL grows with the square of the batch, and the detector, RoIAlign and FGCD add the rest).
AttnGAN's shipped run took 0.73 s/step of wall time (1.4x its CPU time, two models trained at a time); at the
same factor the full model takes 3.2 s/step, 138 steps per epoch of the 10,000 training images = 7.5 min per
epoch. The first shipped run, 3 epochs by that estimate, took 16.7 min of CPU time of its one thread (5.6 min
per epoch, the quality check aside), so the shipped model trains ``TINY_EPOCHS`` = 5 (about 28 min; 6 would
pass the zoo's 30) — the run of 3 trained further. Figure 6's budget ``ABLATION_EPOCHS`` = 1 epoch: about
4 min of CPU time for every row (measured: AttnGAN⁺ 4.0, +MATE 4.1).
"""
from models.common.data import RELEASED_DATA_PIPELINE
from models.common.zoo import Variant

#: tiny full training: about 28 minutes of CPU time on one thread (module docstring)
TINY_EPOCHS = 5
#: Figure 6's budget: every row (the full model included) trains this many epochs
ABLATION_EPOCHS = 1
TABLE = "CPGAN Figure 6"

PAPER = {
    "dataset": "coco", "image_size": 256, "text_dim": 256, "z_dim": 100, "c_dim": 100, "ngf": 48, "ndf": 96,
    "init_ups": 4, "stages": 3, "r_num": 3, "damsm_lambda": 50.0, "kl_weight": 1.0, "truncation": 2.0,
    "mate": True, "oaie": True, "fgcd": True, "text_encoder": "cpgan-mate", "fake_regions": "detector",
    "train": {"epochs": 120, "batch_size": 72, "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999], "ema": 0.999,
              **RELEASED_DATA_PIPELINE},
}

TINY = {
    **PAPER, "dataset": "shapes", "image_size": 64, "z_dim": 64, "c_dim": 64, "ngf": 8, "ndf": 16, "init_ups": 3,
    "stages": 2, "r_num": 1, "damsm_lambda": 5.0,
    "train": {"epochs": TINY_EPOCHS, "batch_size": 72, "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999],
              "ema": 0.98, "load_scale": 1.0, "flip": False},
}

CONFIGS = {"paper": PAPER, "tiny": TINY}


def _row(description: str, mate: bool, oaie: bool, fgcd: bool) -> Variant:
    from models.cpgan.model import TEXT_ENCODERS

    return Variant(description, TABLE, {"mate": mate, "oaie": oaie, "fgcd": fgcd,
                                        "text_encoder": TEXT_ENCODERS[(mate, oaie)],
                                        "train": {"epochs": ABLATION_EPOCHS}})


VARIANTS = {
    "baseline": _row("AttnGAN⁺: AttnGAN with hinge loss, truncated noise, batch 72 (and C_0 residuals)", False, False,
                     False),
    "mate": _row("AttnGAN⁺ + MATE (memory-attended text encoder; grid image encoder in the TISCL)",
                 True, False, False),
    "oaie": _row("AttnGAN⁺ + OAIE (object-aware image encoder in the TISCL; Bi-LSTM text encoder)",
                 False, True, False),
    "fgcd": _row("AttnGAN⁺ + FGCD (fine-grained conditional discriminator; the zoo DAMSM)", False, False, True),
    "mate-oaie": _row("AttnGAN⁺ + MATE + OAIE", True, True, False),
    "mate-fgcd": _row("AttnGAN⁺ + MATE + FGCD", True, False, True),
    "oaie-fgcd": _row("AttnGAN⁺ + OAIE + FGCD", False, True, True),
    "full": _row("CPGAN: MATE + OAIE + FGCD", True, True, True),
}
