"""KT-GAN's objective and its three training steps (Tan et al., IEEE TIP 2021, Sec. III-C, Appendix A).

One run of ``python -m models.train ktgan`` trains the three steps of the SDM in order, as three
phases of the one trainer (each with fresh optimisers; a killed run resumes in the phase it was in):

1. ``teacher`` (Step 1, Appendix A) — the I2I teacher (:class:`~.networks.Teacher`): its generator G'
   and image encoder are minimised by Eq. 13 + Eq. 15 — ``Σ_i L_{G'_i} + Σ_i η_i L_per_i`` plus the CA
   KL term (AttnGAN's, weight ``kl_weight``) — and its discriminators D'_i by Eq. 14, both with
   AttnGAN's losses (:mod:`models.common.attngan_losses`, the released code's form: no ½ factors, the
   matching-aware "wrong" pair — here the real image with another image's ``v``). ``v`` enters the
   discriminators detached: the encoder is fine-tuned through the generator's input only (a
   condition the generator's loss could move would let it fool D by moving the condition). The
   perceptual loss ``L_per_i`` (SRGAN's, which KT-GAN cites) compares the features of the generated
   and the real image at each scale, η = 1e-3, 1e-2, 1e-1 (Table VII).
2. ``gte`` (Step 2) — the guided text encoder inside the student generator is trained alone by the
   Semantic Distillation Loss (Eq. 3-8, :mod:`.losses`) against the frozen teacher's image encoder
   (global ``v*`` and regions ``V_0*``), on batches of M = ``gte_batch_size`` pairs, at ``lr_gte``
   (AttnGAN's DAMSM ``ENCODER_LR`` 0.002; KT-GAN gives none). It starts from scratch: the paper
   trains it "by SDL" as DAMSM trains its text encoder (``gte_init`` "damsm" starts it from the zoo
   DAMSM's text encoder instead).
3. ``student`` (Step 3) — the T2I model: AttnGAN's objective (Eq. 9-11,
   :class:`models.attngan.model.AttnGANFamily`, λ3 = 5 on the zoo DAMSM's loss) with the GTE frozen;
   its discriminators condition on the GTE's sentence feature. At the start of the phase the student
   G and D are initialised from the teacher's (``teacher_init``): every tensor whose name and shape
   match — all of D, and all of G but the word-attention projections, the AATM perceptual layers and
   the GTE, which the teacher lacks; the G EMA restarts from there.

The teacher and GTE phases exist only when their product is used (``gte`` or ``teacher_init``);
``gte: false, teacher_init: false`` with ``aatm_blocks: []`` is AttnGAN.

**Pretrained parts** (:meth:`KTGAN.load_pretrained_parts`; what no machine here can download):

- the teacher's image encoder — KT-GAN: an ImageNet Inception-v3 (as DAMSM's image encoder),
  fine-tuned in the I2I training. ``inception_weights`` (a user's torchvision ``inception_v3`` file)
  gives exactly that (AttnGAN's ``CNN_ENCODER``: frozen Inception trunk, new 256-d projections,
  which the I2I training tunes); without it the **stand-in** is the image encoder of the zoo's own
  DAMSM (``models/weights/damsm-<dataset>.safetensors``, seed 1, trained apart from the evaluation
  DAMSM), fine-tuned the same way;
- the perceptual-loss network — SRGAN's ImageNet VGG19 (``relu5_4``, ``perceptual_layer``) from a
  user's ``vgg19_weights`` file; without it the **stand-in** is the region features of the zoo DAMSM's
  image encoder, frozen.

Both are named in the generator's manifest (``"pretrained"``); no evaluator network is ever loaded.
"""
from __future__ import annotations

import copy
from pathlib import Path

import torch

from models.attngan.model import AttnGANFamily
from models.common import attngan_losses as L
from models.common.discriminators import multi_scale
from models.common.phases import Phase, Update, gan_phase
from models.ktgan.losses import SIMILARITIES, perceptual_loss, semantic_distillation_loss
from models.ktgan.networks import (Generator, ImageEncoder, RegionFeatures, Teacher, VGG19Features,
                                   vgg19_layers)

TEACHER_D = Update("td", "teacher_discriminators", "teacher_discriminator_loss", "lr_d", detach=True)
TEACHER_G = Update("tg", "teacher", "teacher_generator_loss", "lr_g")
GTE = Update("gte", "generator", "gte_loss", "lr_gte")
GTE_INITS = ("scratch", "damsm")


def check_config(config: dict) -> dict:
    """A ``ValueError`` naming the key, the value and what is expected for a bad KT-GAN setting."""
    c, t = config, config["train"]
    blocks = c["aatm_blocks"]
    if not isinstance(blocks, (list, tuple)) or len(set(blocks)) != len(blocks) or not all(
            isinstance(b, int) and 1 <= b <= c["stages"] - 1 for b in blocks):
        raise ValueError(f"ktgan config: aatm_blocks must list distinct blocks B_i, i in 1..{c['stages'] - 1} "
                         f"(stages - 1), got {blocks!r}")
    for key in ("aatm_alpha", "aatm_beta", "sdl_gamma", "sdl_lambda1", "sdl_lambda2", "damsm_lambda"):
        if isinstance(c[key], bool) or not isinstance(c[key], (int, float)) or c[key] < 0:
            raise ValueError(f"ktgan config: {key} must be a number >= 0, got {c[key]!r}")
    for key in ("sdl_beta0", "sdl_gamma3"):
        if isinstance(c[key], bool) or not isinstance(c[key], (int, float)) or c[key] <= 0:
            raise ValueError(f"ktgan config: {key} must be a number > 0, got {c[key]!r}")
    eta = c["eta"]
    if not isinstance(eta, (list, tuple)) or len(eta) != c["stages"] or not all(
            isinstance(e, (int, float)) and not isinstance(e, bool) and e >= 0 for e in eta):
        raise ValueError(f"ktgan config: eta must list {c['stages']} weights >= 0 (one per scale), got {eta!r}")
    for key in ("gte", "teacher_init", "sdl_class_mask"):
        if not isinstance(c[key], bool):
            raise ValueError(f"ktgan config: {key} must be true or false, got {c[key]!r}")
    if c["sdl_word_similarity"] not in SIMILARITIES:
        raise ValueError(f"ktgan config: sdl_word_similarity must be one of {', '.join(SIMILARITIES)}, "
                         f"got {c['sdl_word_similarity']!r}")
    if c["gte_init"] not in GTE_INITS:
        raise ValueError(f"ktgan config: gte_init must be one of {', '.join(GTE_INITS)}, got {c['gte_init']!r}")
    if c["perceptual_layer"] not in vgg19_layers():
        raise ValueError(f"ktgan config: perceptual_layer must be a VGG19 layer (e.g. relu5_4, relu2_2), "
                         f"got {c['perceptual_layer']!r}")
    for key in ("teacher_epochs", "gte_epochs", "gte_batch_size"):
        if isinstance(t[key], bool) or not isinstance(t[key], int) or t[key] < 1:
            raise ValueError(f"ktgan config: train.{key} must be an int >= 1, got {t[key]!r}")
    if student_epochs(c) < 1:
        raise ValueError(f"ktgan config: train.epochs {t['epochs']} leaves no student epochs after the teacher "
                         f"({t['teacher_epochs'] if uses_teacher(c) else 0}) and text-encoder "
                         f"({t['gte_epochs'] if c['gte'] else 0}) epochs; it is the sum of all three phases")
    return config


def uses_teacher(config: dict) -> bool:
    """Whether the I2I teacher is trained: its image encoder guides the GTE, its G and D start the student."""
    return bool(config["gte"] or config["teacher_init"])


def student_epochs(config: dict) -> int:
    """``train.epochs`` less the teacher's and the GTE's epochs (those phases that run)."""
    t = config["train"]
    return int(t["epochs"]) - (int(t["teacher_epochs"]) if uses_teacher(config) else 0) - (
        int(t["gte_epochs"]) if config["gte"] else 0)


class KTGAN(AttnGANFamily):
    name = "ktgan"

    def __init__(self, config: dict):
        super().__init__(check_config(config), Generator(config))
        c = config
        if uses_teacher(c):
            self.teacher = Teacher(c)
            self.teacher_discriminators = multi_scale(self.image_sizes, c["ndf"], c["text_dim"])
        else:
            self.teacher = self.teacher_discriminators = None
        #: the frozen perceptual-loss network φ (set by :meth:`load_pretrained_parts` when some η > 0)
        self.perceptual = None
        #: per student network, the tensors the teacher initialisation did not copy (no counterpart)
        self.not_from_teacher: dict[str, list[str]] = {}

    # ------------------------------------------------------------------ phases
    def phases(self) -> list[Phase]:
        """``teacher`` (D' then G'+encoder on the teacher's own output), ``gte`` (SDL only) and ``student``
        (AttnGAN's D then G steps) — the first two only when the configuration uses them."""
        c, t = self.config, self.config["train"]
        phases = []
        if uses_teacher(c):
            phases.append(Phase("teacher", int(t["teacher_epochs"]), (TEACHER_D, TEACHER_G), forward="teacher_forward"))
        if c["gte"]:
            phases.append(Phase("gte", int(t["gte_epochs"]), (GTE,), generate=False,
                                batch_size=int(t["gte_batch_size"])))
        return phases + [gan_phase(student_epochs(c), name="student")]

    def start_phase(self, phase) -> bool:
        """Freeze what the phase does not train (a frozen GTE or image encoder runs in eval mode); on the
        student phase's first start, initialise the student from the teacher (once: the generator's
        ``student_started`` buffer, saved with it, says it happened) and have the trainer restart the EMA."""
        if phase.name != "teacher" and self.teacher is not None:
            self.teacher.requires_grad_(False)
            self.teacher_discriminators.requires_grad_(False)
        gte = self.generator.gte
        if phase.name == "gte":
            self.generator.requires_grad_(False)
            gte.requires_grad_(True)
        elif phase.name == "student":
            self.generator.requires_grad_(True)
            if gte is not None:
                gte.requires_grad_(False)
            if not int(self.generator.student_started):
                if self.config["teacher_init"]:
                    self.initialise_from_teacher()
                self.generator.student_started.fill_(1)
                return True
        return False

    @torch.no_grad()
    def initialise_from_teacher(self) -> None:
        """Step 3: copy every tensor of the teacher's G' and D' into the student's G and D where name and shape
        match; :attr:`not_from_teacher` lists the student's tensors left as they were."""
        for name, student, teacher in (("generator", self.generator, self.teacher.generator),
                                       ("discriminators", self.discriminators, self.teacher_discriminators)):
            own, source = student.state_dict(), teacher.state_dict()
            match = {k: v for k, v in source.items() if k in own and own[k].shape == v.shape}
            student.load_state_dict(match, strict=False)
            self.not_from_teacher[name] = sorted(set(own) - set(match))

    # ------------------------------------------------------------------ teacher (Step 1)
    def teacher_forward(self, batch, noise):
        """The teacher's images from the batch's real images (the largest scale) and ``noise`` (z', CA ε)."""
        return self.teacher(batch.images[-1], noise)

    def teacher_discriminator_loss(self, batch, fake):
        """Eq. 14 for every scale (AttnGAN's ``discriminator_loss`` with ``v`` as the condition)."""
        v = fake.extras["v"].detach()
        losses = [L.discriminator_loss(d, real, x, v, v.roll(1, 0))
                  for d, real, x in zip(self.teacher_discriminators, batch.images, fake.images)]
        return {"loss": sum(losses), **{f"stage{i}": x.detach() for i, x in enumerate(losses)}}

    def teacher_generator_loss(self, batch, out):
        """Eq. 15: ``Σ_i L_{G'_i}`` (Eq. 13) ``+ Σ_i η_i L_per_i`` + the CA KL term."""
        v = out.extras["v"].detach()
        terms = self.with_kl(L.adversarial_generator_loss(self.teacher_discriminators, out.images, v), out)
        loss = terms.pop("loss")
        for i, eta in enumerate(self.config["eta"]):
            if eta:
                if self.perceptual is None:
                    raise ValueError("ktgan: the perceptual-loss network is not loaded (model.load_pretrained_parts)")
                per = perceptual_loss(self.perceptual, out.images[i], batch.images[i])
                loss = loss + eta * per
                terms[f"per{i}"] = per.detach()
        return {"loss": loss, **terms}

    # ------------------------------------------------------------------ GTE (Step 2)
    def gte_loss(self, batch, out=None):
        """Eq. 8: ``λ1 L_S* + λ2 L_W*`` of the GTE's features of the batch's captions against the frozen
        teacher encoder's features of their images."""
        c = self.config
        ids = batch.text.extras.get("ids")
        if ids is None:
            raise ValueError("ktgan: the text-encoder phase needs the captions' token ids (text.extras['ids'])")
        with torch.no_grad():
            regions, image_global = self.teacher.encoder(batch.images[-1])
        words, sentence = self.generator.gte(ids, batch.text.lengths)
        return semantic_distillation_loss(regions, image_global, words, sentence, batch.text.lengths,
                                          gamma=c["sdl_gamma"], beta0=c["sdl_beta0"], lambda1=c["sdl_lambda1"],
                                          lambda2=c["sdl_lambda2"], similarity=c["sdl_word_similarity"],
                                          gamma3=c["sdl_gamma3"],
                                          class_ids=batch.class_ids if c["sdl_class_mask"] else None)

    # ------------------------------------------------------------------ student (Step 3)
    def condition(self, batch, out):
        """The sentence feature the generator was conditioned on (the GTE's when it has one)."""
        return out.extras["sentence"]

    # ------------------------------------------------------------------ pretrained parts
    def load_pretrained_parts(self, dataset: str, device="cpu") -> list[dict]:
        """The teacher's image encoder (to fine-tune), the perceptual-loss network (frozen) and, with
        ``gte_init`` "damsm", the GTE's starting weights — each a user file or the stand-in named in the
        module doc; one record per part."""
        from t2ibench.evaluators.damsm import INCEPTION_CONFIG, InceptionImageEncoder
        from t2ibench.io import sha256_file

        c, te = self.config, self.text_encoder
        if te is None:
            raise ValueError("ktgan: load_pretrained_parts needs the zoo text encoder (model.text_encoder)")
        damsm = {"weights": te.path.name, "sha256": te.sha256}
        zoo = f"the zoo's own DAMSM for {dataset!r} ({te.backbone}; trained apart from the evaluation DAMSM)"
        records = []
        if c["gte"] and c["gte_init"] == "damsm":
            self.generator.gte.load_state_dict(te.damsm.text_encoder.state_dict())
            records.append({"role": "guided text encoder (initialisation)", **damsm,
                            "description": f"the text encoder of {zoo}"})
        if self.teacher is None:
            return records
        if c["inception_weights"]:
            path = Path(c["inception_weights"]).expanduser()
            net, fit = InceptionImageEncoder(c["text_dim"], path), INCEPTION_CONFIG
            records.append({"role": "teacher image encoder (initialisation)", "weights": str(path),
                            "sha256": sha256_file(path), "description": "ImageNet Inception-v3 (torchvision), "
                            "frozen trunk with new 256-d projections, as KT-GAN's (and AttnGAN's CNN_ENCODER)"})
        else:
            net, fit = copy.deepcopy(te.damsm.image_encoder).requires_grad_(True), te.damsm.config
            records.append({"role": "teacher image encoder (initialisation)", **damsm,
                            "description": f"stand-in for KT-GAN's ImageNet Inception-v3: the image encoder of "
                                           f"{zoo}, fine-tuned in the teacher phase"})
        self.teacher.encoder = ImageEncoder(net, fit).to(device)
        if any(c["eta"]):
            if c["vgg19_weights"]:
                path = Path(c["vgg19_weights"]).expanduser()
                self.perceptual = VGG19Features(path, c["perceptual_layer"]).to(device)
                records.append({"role": "perceptual-loss network", "weights": str(path), "sha256": sha256_file(path),
                                "description": f"ImageNet VGG19 (torchvision) up to {c['perceptual_layer']}, frozen "
                                               f"(SRGAN's perceptual loss)"})
            else:
                frozen = ImageEncoder(copy.deepcopy(te.damsm.image_encoder), te.damsm.config)
                self.perceptual = RegionFeatures(frozen).to(device)
                records.append({"role": "perceptual-loss network", **damsm,
                                "description": f"stand-in for SRGAN's ImageNet VGG19 ({c['perceptual_layer']}): the "
                                               f"region features of the image encoder of {zoo}, frozen"})
        return records
