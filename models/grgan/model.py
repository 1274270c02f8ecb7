"""GR-GAN's objective (Yang, Feng, Wang, ICME 2022, Sec. 3.1-3.2, Eq. 1, 3, 4, 6, 7, 9; released
``code/miscc/losses.py`` ``discriminator_loss``/``generator_loss`` and ``code/GR_trainer.py``).

**With GRG** (``grg: True``), one discriminator per stage, each judging what its stage is about:

- ``D_1`` (stage I) is unconditional (Eq. 1): ``L_D1 = ½ BCE(D(x), 1) + ½ BCE(D(x̂), 0)``,
  ``L_G1 = BCE(D(x̂), 1)`` (the paper writes ``-½ E log D``; its ``[1 − log D]`` is read as ``log(1 − D)``);
- ``D_2`` (stage S) is conditioned on the sentence ``c_s`` (Eq. 3), ``D_3`` (stage W) on the mean word
  vector ``c̄_w`` (Eq. 6; :func:`~models.grgan.networks.mean_word`). ``adv_form: "code"`` (default) is the
  released code: ``L_D = BCE(D(x, c), 1) + (BCE(D(x̂, c), 0) + BCE(D(x, c_wrong), 0)) / 2`` with the
  mismatched-caption term and ``L_G = BCE(D(x̂, c), 1)``; ``"paper"`` is Eq. 3/6 as printed:
  ``½ BCE(D(x, c), 1) + ½ BCE(D(x̂, c), 0)`` and ``½ BCE(D(x̂, c), 1)`` (and Eq. 1's ½ on ``L_G1``).
  ``D_1`` has only the unconditional head and ``D_2``, ``D_3`` only the conditional one (the code builds
  ``D_NET128``/``D_NET256`` with ``b_jcu=False`` and never reads ``D_NET64``'s conditional head).
  Discriminators: the zoo's :class:`~models.common.discriminators.StageDiscriminator` with spectral
  normalisation on every conv and no BatchNorm (the code's ``SpectralNorm`` discriminators;
  ``spectral_norm``);
- the ITM losses go to the stages they refine: Eq. 4, ``L_G2 + λ2 L_ITM_s`` on the S image; Eq. 7,
  ``L_G3 + λ1 L_ITM_s + λ2 L_ITM_w`` on the W image (the code: ``s_loss_1 · LAMBDA2`` on ``fake_imgs[1]``,
  ``w_loss · LAMBDA2 + s_loss · LAMBDA`` on ``fake_imgs[-1]``), λ1 = 4, λ2 = 1, γ = 10
  (:mod:`models.grgan.itm`); each stage keeps its losses under another ``stage_order``;
- plus the CA term with weight 1 (the code adds ``KL_loss`` unweighted).

**Without GRG** (``grg: False``, the paper's Table 2/4 rows "without GRG"): the backbone's own generator
(:mod:`models.attngan.networks` or :mod:`models.dmgan.networks`; every refinement stage reads the words),
its discriminators (unconditional + sentence-conditional head at every scale) and its objective
(:class:`models.attngan.model.AttnGANFamily`: Eq. 3 of AttnGAN + KL), with the consistency module the
row names (``matcher``): ``"damsm"``, the backbone's ``damsm_lambda · L_DAMSM`` on the final image with the
zoo DAMSM (:func:`models.common.attngan_losses.damsm_generator_loss`); ``"itm"``, Eq. 9's
``λ1 L_ITM_s + λ2 L_ITM_w`` on the final image; ``None``, neither. With GRG and ``matcher: "damsm"``
(Table 2 "DA + GRG") the staged losses above are computed with the zoo DAMSM's encoders and the same λs.

The text encoder is the matcher's text side (``text_encoder`` "grgan-itm" with the ITM, "damsm" with the
DAMSM), as in the paper, where the ITM transformer encodes ``c_s`` and ``c_w`` for the generator.
"""
from __future__ import annotations

from torch import nn

from models.attngan.model import AttnGANFamily
from models.attngan.networks import Generator as AttnGANGenerator
from models.common import attngan_losses as L
from models.common.discriminators import StageDiscriminator
from models.dmgan.networks import Generator as DMGANGenerator
from models.grgan.itm import sentence_matching_loss, word_matching_loss
from models.grgan.networks import FUSIONS, STAGE_ORDERS, WORD_CONDITIONS, GRGGenerator, mean_word
from t2ibench.evaluators.damsm import fit_to_backbone

MATCHERS = {None: None, "itm": "grgan-itm", "damsm": "damsm"}   # matcher -> the text encoder it requires
ADV_FORMS = ("code", "paper")


def check_config(config: dict) -> dict:
    """A ``ValueError`` naming the key, the value and what is expected for a bad GR-GAN setting."""
    for key, allowed in (("backbone", tuple(FUSIONS)), ("stage_order", STAGE_ORDERS), ("matcher", tuple(MATCHERS)),
                         ("adv_form", ADV_FORMS), ("word_condition", WORD_CONDITIONS)):
        if config.get(key) not in allowed:
            raise ValueError(f"grgan config[{key!r}]: expected one of {allowed}, got {config.get(key)!r}")
    if not isinstance(config.get("grg"), bool):
        raise ValueError(f"grgan config['grg']: expected True or False, got {config.get('grg')!r}")
    if config["grg"] and config["stages"] != len(config["stage_order"]):
        raise ValueError(f"grgan config['stages']: GRG has one stage per letter of stage_order "
                         f"{config['stage_order']!r}, got {config['stages']}")
    needed = MATCHERS[config["matcher"]]
    if needed and config.get("text_encoder", "damsm") != needed:
        raise ValueError(f"grgan config['text_encoder']: matcher {config['matcher']!r} is the text encoder "
                         f"{needed!r} (the generator reads its text side), got {config.get('text_encoder')!r}")
    for key in ("lambda1", "lambda2", "damsm_lambda", "kl_weight", "gamma1", "gamma2", "gamma3"):
        value = config.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"grgan config[{key!r}]: expected a number >= 0, got {value!r}")
    return config


class GRGAN(AttnGANFamily):
    name = "grgan"

    def __init__(self, config: dict):
        c = check_config(config)
        if c["grg"]:
            generator = GRGGenerator(c["text_dim"], c["z_dim"], c["c_dim"], c["ngf"], c["init_ups"], c["stage_order"],
                                     c["backbone"], c["r_num"], c["memory_dim"])
        elif c["backbone"] == "dmgan":
            generator = DMGANGenerator(c["text_dim"], c["z_dim"], c["c_dim"], c["ngf"], c["init_ups"], c["stages"],
                                       c["r_num"], c["memory_dim"])
        else:
            generator = AttnGANGenerator(c["text_dim"], c["z_dim"], c["c_dim"], c["ngf"], c["init_ups"], c["stages"],
                                         c["r_num"])
        super().__init__(c, generator, spectral_norm=c["spectral_norm"])
        #: each stage's kind ("I", "S", "W"); without GRG every stage is the backbone's (words, sentence D)
        self.kinds = tuple(c["stage_order"]) if c["grg"] else ("B",) * c["stages"]
        if c["grg"]:
            self.discriminators = nn.ModuleList([
                StageDiscriminator(size, c["ndf"], c["text_dim"], conditional=kind != "I", unconditional=kind == "I",
                                   spectral_norm=c["spectral_norm"])
                for size, kind in zip(self.image_sizes, self.kinds)])

    def load_pretrained_parts(self, dataset: str, device="cpu") -> list[dict]:
        """The frozen ITM the generator trains against (also its text encoder: :class:`~models.grgan.itm.
        ITMTextEncoder`, loaded here unless ``models.train`` has set it already, e.g. from
        ``--text-encoder-weights``); on ``shapes`` the CLIP stand-in, named so. Rows with the DAMSM read the
        zoo DAMSM, recorded as the manifest's text encoder: no record here."""
        if self.config["matcher"] != "itm":
            return []
        if self.text_encoder is None:
            from models.grgan.itm import ITMTextEncoder

            self.text_encoder = ITMTextEncoder(dataset, device=device)
        enc = self.text_encoder
        return [{"role": "GR-GAN image-text matcher (ITM): the matching losses (Eq. 4, 7, 9) and the text encoder",
                 "weights": enc.path.name, "sha256": enc.sha256, "description": enc.backbone}]

    # ------------------------------------------------------------------ what each stage is judged on
    def stage_condition(self, kind: str, text):
        """The condition vector of a stage's discriminator: the sentence for S (Eq. 3), the mean word
        vector for W (Eq. 6), none for I (Eq. 1)."""
        if kind == "S":
            return text.sentence
        if kind == "W":
            return mean_word(text, self.config["word_condition"])
        return None

    def consistency_terms(self) -> list[tuple[int, float, float]]:
        """``(stage index, weight of L_ITM_s, weight of L_ITM_w)`` of every matching loss: with GRG Eq. 4
        (S: λ2, 0) and Eq. 7 (W: λ1, λ2); without, Eq. 9 on the final image (ITM rows only)."""
        c = self.config
        if c["matcher"] is None:
            return []
        if not c["grg"]:
            return [(len(self.kinds) - 1, c["lambda1"], c["lambda2"])] if c["matcher"] == "itm" else []
        weights = {"S": (c["lambda2"], 0.0), "W": (c["lambda1"], c["lambda2"])}
        return [(k, *weights[kind]) for k, kind in enumerate(self.kinds) if kind in weights]

    def matcher_features(self, image):
        """``(regions, image feature)`` of generated images in [-1, 1] by the matcher's image side (the ITM,
        or the zoo DAMSM's image encoder at its input size)."""
        enc = self.text_encoder
        if enc is None:
            raise ValueError(f"{self.name}: the matching losses need the matcher (model.text_encoder)")
        if self.config["matcher"] == "damsm":
            return enc.damsm.encode_images(fit_to_backbone(image, enc.damsm.config, value_range=(-1.0, 1.0)))
        return enc.encode_images(image)

    # ------------------------------------------------------------------ losses
    def discriminator_loss(self, batch, fake):
        if not self.config["grg"]:
            return super().discriminator_loss(batch, fake)
        paper = self.config["adv_form"] == "paper"
        real_t, fake_t, _ = L.LOSSES["bce"]
        losses = []
        for d, kind, real, x in zip(self.discriminators, self.kinds, batch.images, fake.images):
            h_real, h_fake = d.features(real), d.features(x)
            if kind == "I":                                                       # Eq. 1
                loss = 0.5 * (real_t(d.uncond_logits(h_real)) + fake_t(d.uncond_logits(h_fake)))
            elif paper:                                                           # Eq. 3 / 6 as printed
                cond = self.stage_condition(kind, batch.text)
                loss = 0.5 * (real_t(d.cond_logits(h_real, cond)) + fake_t(d.cond_logits(h_fake, cond)))
            else:                                                                 # the code: + wrong captions
                loss = L.discriminator_loss(d, real, x, self.stage_condition(kind, batch.text),
                                            self.stage_condition(kind, batch.wrong_text))
            losses.append(loss)
        return {"loss": sum(losses), **{f"stage{i}": v.detach() for i, v in enumerate(losses)}}

    def adversarial_loss(self, batch, out):
        """Σ over stages of G's adversarial terms (Eq. 1, 3, 6; the backbone's Eq. 3 of AttnGAN without GRG)."""
        if not self.config["grg"]:
            return L.adversarial_generator_loss(self.discriminators, out.images, self.condition(batch, out))
        gen_t = L.LOSSES["bce"][2]
        scale = 0.5 if self.config["adv_form"] == "paper" else 1.0
        total = 0.0
        for d, kind, x in zip(self.discriminators, self.kinds, out.images):
            h = d.features(x)
            logits = d.uncond_logits(h) if kind == "I" else d.cond_logits(h, self.stage_condition(kind, batch.text))
            total = total + scale * gen_t(logits)
        return total

    def generator_loss(self, batch, out):
        c = self.config
        if not c["grg"] and c["matcher"] == "damsm":
            return super().generator_loss(batch, out)        # the backbone's own: + damsm_lambda · L_DAMSM
        terms = self.with_kl(self.adversarial_loss(batch, out), out)
        loss = terms.pop("loss")
        class_ids = batch.class_ids.cpu().numpy()
        text = batch.text
        for k, weight_s, weight_w in self.consistency_terms():
            regions, feature = self.matcher_features(out.images[k])
            s1, s2 = sentence_matching_loss(feature, text.sentence, class_ids, c["gamma3"])
            loss = loss + weight_s * (s1 + s2)
            terms[f"match_s{k}"] = (s1 + s2).detach()
            if weight_w:
                w1, w2 = word_matching_loss(regions, text.words, text.lengths, class_ids, c["gamma1"], c["gamma2"],
                                            c["gamma3"])
                loss = loss + weight_w * (w1 + w2)
                terms[f"match_w{k}"] = (w1 + w2).detach()
        return {"loss": loss, **terms}
