"""GR-GAN's Image–Text Matcher (ITM; Yang, Feng, Wang: "GR-GAN: Gradual Refinement Text-to-Image
Generation", ICME 2022, Sec. 3.2, Eq. 8–9, supplementary Sec. 8.1; released ``code/model.py``
``ITM_MODEL``/``MLP`` and ``code/pretrain_ITM.py``).

**What the ITM is.** A CLIP dual encoder (ResNet-101 image tower, transformer text tower) kept frozen,
with new layers on top that give four features (App. 8.1; the released ``MLP``):

- image regions ``f_reg``: the image tower's *layer3* map (RN101: 1024 x 14 x 14 at 224 px) through a
  1x1 conv (no bias, ``emb_features``) to ``nef`` channels;
- image feature ``f_img``: CLIP's image embedding (512) through a linear layer (``emb_cnn_code``);
- word vectors ``c_w``: the transformer's token outputs (after ``ln_final``) through a linear layer and a
  LayerNorm (ε 1e-12) (``dense_word`` + ``LayerNorm``: "a MLP layer and a Layer Normalization layer");
- sentence vector ``c_s``: CLIP's text embedding (EOT token @ ``text_projection``) through a linear layer
  (``dense_sent``).

The two new image layers start uniform(-0.1, 0.1) (``init_trainable_weights``); ``nef`` is 512 (the
code's ``TEXT.EMBEDDING_DIM``). The ITM's text side is the generator's text encoder too: the sentence
``c_s`` and the words ``c_w`` "encoded by the transformer in ITM" condition GRG (Sec. 3.1; the released
trainer feeds ``ITM.sent_encode(captions)`` to ``netG``), so the ITM is registered as the zoo text encoder
``"grgan-itm"`` (:class:`ITMTextEncoder`). Word slots past the caption's length are set to 0.

**Losses** (Sec. 3.2; the code's ``sent_loss``/``words_loss``, which are AttnGAN's DAMSM losses):

- Eq. 8, sentence level: ``L1^s = -Σ_i log exp(γ R(I_i, S_i)) / Σ_j exp(γ R(I_i, S_j))`` with
  ``R = cos(f_img, c_s)`` and γ = 10; ``L2^s`` normalises over the images instead. The paper prints
  ``γ exp(R)`` (γ would cancel) and a sum over the batch; the code scales the cosine by γ inside the
  exponent and averages (``nn.CrossEntropyLoss``) — the code is followed (λ1, λ2 were tuned with it);
- word level, "similar with DAMSM" (App. 8.1, Fig. 4): ``R(Q, D) = log Σ_i exp(γ2 cos(c_i, e_i))`` with
  ``c_i`` the region context of word ``i`` (γ1 = 4, γ2 = 5), then the same cross-entropies with γ3 = 10:
  ``L1^w``, ``L2^w``;
- pairs of one class (other than the pair itself) are masked, as the code does with ``class_ids``.

Both are computed by :func:`t2ibench.evaluators.damsm.sentence_loss` / ``words_loss`` (the same formulas,
AttnGAN's code form of Eq. 10). Eq. 9: ``L_ITM = λ1 (L1^s + L2^s) + λ2 (L1^w + L2^w)``
(:func:`itm_loss`); the ITM itself is trained with λ1 = λ2 = 1 (``pretrain_ITM.py`` adds the four terms).

**Two backbones** (``config["backbone"]``):

- ``"clip"``: OpenAI CLIP RN101 through open_clip (``open_clip.create_model("RN101-quickgelu",
  pretrained=FILE)``: the OpenAI checkpoint ``RN101.pt``, or an open_clip/timm state dict, ``.bin``/``.pt``
  read with ``weights_only=True`` or ``.safetensors``), frozen, in eval mode. Images in [-1, 1] are
  resized to 224 (bilinear, ``align_corners=False``) and fed as they are — the released code feeds the
  GAN's [-1, 1] images to CLIP without CLIP's mean/std (``clip_input: "code"``; ``"clip"`` applies CLIP's
  normalisation instead). Captions use CLIP's BPE tokenizer (:class:`CLIPWordTokenizer`); the word slots
  are the tokens after the start token, the first ``words_num`` (12, the GAN config's ``WORDS_NUM``; the
  code slices ``words_embs[:, :, 1:WORDS_NUM + 1]``). Only the heads are trained and saved; the manifest
  records the CLIP file and its sha256.
- ``"stand-in"``: CLIP RN101 cannot be downloaded here, so a CLIP-*kind* dual encoder is trained on the
  dataset's train split first: the tower architecture of :mod:`t2ibench.evaluators.tiny_clip` (imported;
  never its weights — the evaluator's tiny CLIP scores CMD/CLIPScore), trained from scratch with its
  symmetric InfoNCE (stage 1, the stand-in for CLIP's pre-training), then frozen while the heads learn the
  ITM losses (stage 2, as ``pretrain_ITM.py``). Regions: the 8x8 map of its 4th conv (the tower's
  penultimate resolution, as layer3 is RN101's); images in [-1, 1] resized to 64 (antialiased bilinear).

Training command (tqdm progress, checkpoint/resume per stage; held-out retrieval in the manifest)::

    python -m models.grgan.itm --dataset shapes --out models/weights --seed 6

(``models/weights/grgan-itm-shapes.safetensors`` + ``.json``), or with the real CLIP on COCO::

    python -m models.grgan.itm --dataset coco --data-root DATA --clip-weights RN101.pt --out runs/itm-coco

then ``python -m models.train grgan --config paper --data-root DATA --text-encoder-weights
runs/itm-coco/grgan-itm-coco.safetensors``.

Training settings: the shared evaluator loop (:func:`t2ibench.evaluators.training.fit`: AdamW with weight
decay 0, default betas, constant learning rate, gradient norm clipped at 5) — the code trains the heads
with Adam β (0.5, 0.999), lr 2e-4 decayed 0.98 per epoch for 150 epochs, batch 48; here batch 48 and a
few epochs at lr 1e-3 (a short CPU run).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from models.common.text_encoder import ZOO_WEIGHTS_DIR, EncodedText
from t2ibench.evaluators import damsm, tiny_clip
from t2ibench.evaluators.checkpoint import load_into, load_state, save_state, write_manifest
from t2ibench.evaluators.training import add_training_args, command_line, run_info
from t2ibench.imageops import resize_antialiased

ARCH = "grgan-itm-v1"
BACKBONES = ("stand-in", "clip")
NEF = 512
GAMMA1, GAMMA2, GAMMA3 = 4.0, 5.0, 10.0
CLIP_MODEL = "RN101-quickgelu"
CLIP_SIZE = 224
CLIP_WORDS = 12
#: stand-in training: epochs of stage 1 (towers, InfoNCE) and stage 2 (heads, ITM losses)
STAND_IN_EPOCHS = (5, 2)
CLIP_BATCH, ITM_BATCH = tiny_clip.BATCH_SIZE, 48
CLIP_LR, ITM_LR = tiny_clip.LR, 1e-3
#: the stand-in's region map: the output of this conv of the tiny CLIP tower (0-based)
REGION_LAYER = 3
HELDOUT_PAIRS = 1000


def weights_name(dataset: str) -> str:
    return f"grgan-itm-{dataset}"


# ----------------------------------------------------------------------------- losses (Eq. 8-9)
def sentence_matching_loss(image_feature: torch.Tensor, sentence: torch.Tensor, class_ids=None,
                           gamma: float = GAMMA3) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 8 (code form, see the module doc): ``(L1^s, L2^s)`` of ``γ cos(f_img_a, c_s_b)`` over the batch."""
    l1, l2, _ = damsm.sentence_loss(image_feature, sentence, class_ids, gamma)
    return l1, l2


def word_matching_loss(regions: torch.Tensor, words: torch.Tensor, lengths, class_ids=None, gamma1: float = GAMMA1,
                       gamma2: float = GAMMA2, gamma3: float = GAMMA3) -> tuple[torch.Tensor, torch.Tensor]:
    """The word-region level losses ``(L1^w, L2^w)`` (App. 8.1, Fig. 4; DAMSM's Eq. 7-12, code form of Eq. 10)."""
    l1, l2, _ = damsm.words_loss(regions, words, lengths, class_ids, gamma1, gamma2, gamma3, eq10="code")
    return l1, l2


def itm_loss(regions, image_feature, words, sentence, lengths, class_ids=None, lambda1: float = 1.0,
             lambda2: float = 1.0, gammas=(GAMMA1, GAMMA2, GAMMA3)) -> dict:
    """Eq. 9: ``λ1 (L1^s + L2^s) + λ2 (L1^w + L2^w)`` -> ``{"loss", "s", "w"}`` (``s``/``w`` detached sums)."""
    s1, s2 = sentence_matching_loss(image_feature, sentence, class_ids, gammas[2])
    w1, w2 = word_matching_loss(regions, words, lengths, class_ids, *gammas)
    return {"loss": lambda1 * (s1 + s2) + lambda2 * (w1 + w2), "s": (s1 + s2).detach(), "w": (w1 + w2).detach()}


# ----------------------------------------------------------------------------- networks
class MatcherHeads(nn.Module):
    """The released ``MLP``: regions (1x1 conv, no bias), image feature, words (linear + LayerNorm) and
    sentence (linear) into the ``nef``-wide joint space."""

    def __init__(self, region_dim: int, image_dim: int, token_dim: int, sentence_dim: int, nef: int = NEF):
        super().__init__()
        self.emb_features = nn.Conv2d(region_dim, nef, 1, bias=False)
        self.emb_cnn_code = nn.Linear(image_dim, nef)
        self.dense_word = nn.Linear(token_dim, nef)
        self.layer_norm = nn.LayerNorm(nef, eps=1e-12)
        self.dense_sent = nn.Linear(sentence_dim, nef)
        nn.init.uniform_(self.emb_features.weight, -0.1, 0.1)
        nn.init.uniform_(self.emb_cnn_code.weight, -0.1, 0.1)

    def image(self, regions: torch.Tensor, image_feature: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.emb_features(regions), self.emb_cnn_code(image_feature)

    def text(self, tokens: torch.Tensor, sentence: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``tokens [N, T, w]`` -> words ``[N, nef, T]``; sentence ``[N, w']`` -> ``[N, nef]``."""
        return self.layer_norm(self.dense_word(tokens)).transpose(1, 2), self.dense_sent(sentence)


class StandInTowers(nn.Module):
    """The CLIP stand-in: :class:`t2ibench.evaluators.tiny_clip.TinyCLIP`'s architecture (fresh weights),
    exposing the region map of conv ``region_layer`` and the per-token transformer outputs."""

    def __init__(self, clip_config: dict, region_layer: int = REGION_LAYER):
        super().__init__()
        self.clip = tiny_clip.build_model(clip_config)
        self.split = 3 * (region_layer + 1)  # each conv of the tower is conv + BN + ReLU
        self.input_size = clip_config["input_size"]
        self.region_dim = clip_config["image_layers"][region_layer][0]
        self.image_dim = self.sentence_dim = clip_config["embed_dim"]
        self.token_dim = clip_config["text_width"]

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """float images in [-1, 1] at any size -> the tower's input size (antialiased bilinear)."""
        return resize_antialiased(x, self.input_size, value_range=(-1.0, 1.0))

    def encode_image(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        visual = self.clip.visual
        regions = visual.body[:self.split](self.prepare(x))
        return regions, visual.proj(visual.body[self.split:](regions).flatten(1))

    def encode_text(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(tokens [N, L, width], sentence [N, embed_dim])``: the tower's ``TextTower.forward`` with the
        per-token outputs kept (its sentence is the projected mean of the caption's tokens)."""
        text = self.clip.text
        pad = torch.arange(ids.shape[1], device=ids.device)[None, :] >= lengths.to(ids.device)[:, None]
        x = text.token_embedding(ids) + text.positional_embedding[:ids.shape[1]]
        x = text.ln_final(text.transformer(x, src_key_padding_mask=pad))
        keep = (~pad).unsqueeze(-1).to(x.dtype)
        return x, text.proj((x * keep).sum(1) / keep.sum(1))


class CLIPTowers(nn.Module):
    """OpenAI CLIP RN101 through open_clip, frozen: layer3 regions, the attention-pooled image embedding,
    the transformer's token outputs and the EOT text embedding (the released modified ``clip/model.py``)."""

    def __init__(self, model_name: str = CLIP_MODEL, weights=None, clip_input: str = "code"):
        super().__init__()
        import open_clip

        if weights is not None and not Path(weights).is_file():
            raise ValueError(f"CLIP weights: no such file {weights}")
        try:
            self.model = open_clip.create_model(model_name, pretrained=str(weights) if weights else None)
        except (RuntimeError, KeyError, ValueError, OSError) as e:
            raise ValueError(f"CLIP weights {weights} do not load into open_clip {model_name!r} ({e})") from e
        self.model.requires_grad_(False).eval()
        self.clip_input = clip_input
        visual = self.model.visual
        self.region_dim = visual.layer3[-1].conv3.out_channels
        self.image_dim = self.sentence_dim = self.model.text_projection.shape[1]
        self.token_dim = self.model.transformer.width
        self.context_length = self.model.context_length

    def train(self, mode: bool = True):  # the frozen CLIP stays in eval mode
        super().train(mode)
        self.model.eval()
        return self

    def encode_image(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.interpolate(x, size=(CLIP_SIZE, CLIP_SIZE), mode="bilinear", align_corners=False)
        if self.clip_input == "clip":   # [-1, 1] -> [0, 1] -> CLIP's mean / std
            mean = torch.tensor(tiny_clip.CLIP_MEAN, device=x.device).view(1, 3, 1, 1)
            std = torch.tensor(tiny_clip.CLIP_STD, device=x.device).view(1, 3, 1, 1)
            x = ((x + 1) / 2 - mean) / std
        v = self.model.visual
        regions = v.layer3(v.layer2(v.layer1(v.stem(x))))
        return regions, v.attnpool(v.layer4(regions))

    def encode_text(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """BPE ids without start/end tokens ``[N, L]`` -> ``(tokens after the start token [N, ctx - 1, width],
        sentence [N, embed])``: open_clip's ``encode_text`` with the token outputs kept."""
        m, n = self.model, ids.shape[0]
        rows = torch.arange(n, device=ids.device)
        lengths = lengths.to(ids.device).long()
        ctx = torch.zeros(n, self.context_length, dtype=torch.long, device=ids.device)
        ctx[:, 0] = CLIPWordTokenizer.SOT
        ctx[:, 1:1 + ids.shape[1]] = ids
        ctx[rows, 1 + lengths] = CLIPWordTokenizer.EOT
        x = m.token_embedding(ctx) + m.positional_embedding
        x = m.ln_final(m.transformer(x, attn_mask=m.attn_mask))
        return x[:, 1:], x[rows, 1 + lengths] @ m.text_projection


class CLIPWordTokenizer:
    """CLIP's BPE tokenizer (open_clip ``SimpleTokenizer``) behind the zoo tokenizer's interface
    (``encode``, ``batch``, ``max_len``): ids without the start/end tokens, at most ``context - 2``."""

    SOT, EOT = 49406, 49407

    def __init__(self, context_length: int = 77):
        from open_clip.tokenizer import SimpleTokenizer

        self.bpe = SimpleTokenizer(context_length=context_length)
        self.max_len = context_length - 2

    def encode(self, text: str) -> list[int]:
        return self.bpe.encode(str(text))[: self.max_len] or self.bpe.encode(".")

    def batch(self, captions) -> tuple[torch.Tensor, torch.Tensor]:
        enc = [self.encode(c) for c in captions]
        ids = torch.zeros(len(enc), max(len(e) for e in enc), dtype=torch.long)
        for k, e in enumerate(enc):
            ids[k, :len(e)] = torch.tensor(e)
        return ids, torch.tensor([len(e) for e in enc])


class ImageTextMatcher(nn.Module):
    """Towers + :class:`MatcherHeads`. ``encode_images(x in [-1, 1])`` -> ``(regions [N, nef, h, w],
    image feature [N, nef])``; ``encode_text(ids, lengths)`` -> ``(words [N, nef, T] (0 at padding),
    sentence [N, nef], word lengths [N])`` with ``T = config["words_num"]``."""

    def __init__(self, config: dict, clip_weights=None):
        super().__init__()
        self.config = check_config(config)
        if config["backbone"] == "clip":
            self.towers = CLIPTowers(config["clip_model"], clip_weights, config["clip_input"])
        else:
            self.towers = StandInTowers(config["clip"], config["region_layer"])
        t = self.towers
        self.heads = MatcherHeads(t.region_dim, t.image_dim, t.token_dim, t.sentence_dim, config["nef"])
        self.nef, self.words_num = config["nef"], config["words_num"]

    def encode_images(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.heads.image(*self.towers.encode_image(x))

    def encode_text(self, ids: torch.Tensor, lengths: torch.Tensor):
        lengths = lengths.to(ids.device).long()
        tokens, sentence = self.towers.encode_text(ids, lengths)
        tokens = tokens[:, :self.words_num]
        if tokens.shape[1] < self.words_num:
            tokens = F.pad(tokens, (0, 0, 0, self.words_num - tokens.shape[1]))
        words, sentence = self.heads.text(tokens, sentence)
        word_lengths = lengths.clamp(max=self.words_num)
        pad = torch.arange(self.words_num, device=ids.device)[None, :] >= word_lengths[:, None]
        return words.masked_fill(pad[:, None, :], 0.0), sentence, word_lengths

    def trained_state(self) -> dict[str, torch.Tensor]:
        """What the ITM file holds: everything for the stand-in; the heads only with the real CLIP."""
        state = self.state_dict()
        return state if self.config["backbone"] == "stand-in" else {k: v for k, v in state.items()
                                                                     if k.startswith("heads.")}


def check_config(config) -> dict:
    if not isinstance(config, dict) or config.get("arch") != ARCH:
        got = config.get("arch") if isinstance(config, dict) else config
        raise ValueError(f"ITM config: expected arch {ARCH!r}, got {got!r}")
    if config.get("backbone") not in BACKBONES:
        raise ValueError(f"ITM config['backbone']: expected one of {BACKBONES}, got {config.get('backbone')!r}")
    for key in ("nef", "words_num"):
        if isinstance(config.get(key), bool) or not isinstance(config.get(key), int) or config[key] < 1:
            raise ValueError(f"ITM config[{key!r}]: expected a positive int, got {config.get(key)!r}")
    if config["backbone"] == "clip" and config.get("clip_input") not in ("code", "clip"):
        raise ValueError(f"ITM config['clip_input']: expected 'code' or 'clip', got {config.get('clip_input')!r}")
    if config["backbone"] == "stand-in" and not isinstance(config.get("clip"), dict):
        raise ValueError("ITM config['clip']: the stand-in's tiny-clip tower config is missing")
    return config


def make_config(backbone: str, tokenizer=None, nef: int = NEF, clip_input: str = "code") -> dict:
    """The ITM config: the stand-in's (its tiny-clip tower config with ``tokenizer``) or the real CLIP's."""
    if backbone == "clip":
        return {"arch": ARCH, "backbone": "clip", "nef": nef, "words_num": CLIP_WORDS, "clip_model": CLIP_MODEL,
                "clip_input": clip_input, "gammas": [GAMMA1, GAMMA2, GAMMA3]}
    return {"arch": ARCH, "backbone": "stand-in", "nef": nef, "words_num": tokenizer.max_len,
            "region_layer": REGION_LAYER, "gammas": [GAMMA1, GAMMA2, GAMMA3],
            "clip": {**tiny_clip.DEFAULT_ARCH_CONFIG, "tokenizer": tokenizer.to_dict()}}


def tokenizer_for(config: dict):
    from t2ibench.data.tokenizer import Tokenizer

    return CLIPWordTokenizer() if config["backbone"] == "clip" else Tokenizer.from_dict(config["clip"]["tokenizer"])


# ----------------------------------------------------------------------------- loading
def load_itm(weights, device: str = "cpu", clip_weights=None, what: str = "GR-GAN ITM weights"):
    """Load an ITM file (safetensors, verified against the manifest beside it) -> ``(model in eval mode,
    sha256, manifest)``. With the real-CLIP backbone the CLIP file is ``clip_weights`` or the one the
    manifest names (its sha256 is checked)."""
    from t2ibench.io import sha256_file

    path = Path(weights)
    if not path.with_suffix(".json").is_file():
        raise ValueError(f"{what}: {path} needs its manifest {path.with_suffix('.json')} (sha256, config, tokenizer)")
    state, config, digest, manifest = load_state(path, what=what)
    try:
        config = check_config(config)
    except ValueError as e:
        raise ValueError(f"{what}: {path}: {e}") from e
    if config["backbone"] == "clip":
        record = manifest.get("clip_weights") or {}
        clip_weights = Path(clip_weights or record.get("path", ""))
        if not clip_weights.is_file():
            raise ValueError(f"{what}: {path} holds the heads of an ITM on OpenAI CLIP {config['clip_model']}; its "
                             f"CLIP file {clip_weights} is missing (give it with clip_weights=)")
        if record.get("sha256") and sha256_file(clip_weights) != record["sha256"]:
            raise ValueError(f"{what}: {clip_weights} is not the CLIP file the heads in {path} were trained on "
                             f"(sha256 {record['sha256'][:12]}…)")
        model = ImageTextMatcher(config, clip_weights)
        missing = set(model.trained_state()) - set(state)
        if missing or set(state) - set(model.trained_state()):
            raise ValueError(f"{what}: the tensors in {path} are not the ITM heads (missing {sorted(missing)[:3]})")
        load_into(model.heads, {k[len("heads."):]: v for k, v in state.items()}, path, what=what)
    else:
        model = load_into(ImageTextMatcher(config), state, path, what=what)
    return model.to(device).eval().requires_grad_(False), digest, manifest


class ITMTextEncoder:
    """The ITM as the zoo text encoder ``"grgan-itm"`` (the interface of
    :class:`models.common.text_encoder.FrozenTextEncoder`), frozen; ``encode_images`` gives the matcher's
    image side for the generator's ITM losses. ``weights``: an ITM file; ``None``: the shipped
    ``models/weights/grgan-itm-<dataset>.safetensors``."""

    def __init__(self, dataset: str = "shapes", weights=None, device="cpu"):
        path = Path(weights) if weights else ZOO_WEIGHTS_DIR / f"{weights_name(dataset)}.safetensors"
        if not path.is_file():
            if weights:
                raise ValueError(f"GR-GAN ITM weights {path}: no such file")
            hint = (f"python -m models.grgan.itm --dataset {dataset} --out {path.parent} --seed 6"
                    if dataset == "shapes" else f"python -m models.grgan.itm --dataset {dataset} --data-root DATA --clip-weights RN101.pt "
                         f"--out runs/itm-{dataset} (OpenAI CLIP RN101; without it the CLIP stand-in is trained), "
                         f"then pass --text-encoder-weights runs/itm-{dataset}/{weights_name(dataset)}.safetensors")
            raise ValueError(f"no GR-GAN ITM for {dataset!r} ({path}); train it with: {hint}")
        self.itm, self.sha256, manifest = load_itm(path, device=device)
        self.path, self.dim, self.device = path, self.itm.nef, torch.device(device)
        self.tokenizer = tokenizer_for(self.itm.config)
        self.backbone = manifest.get("backbone_description", self.itm.config["backbone"])

    def to(self, device) -> "ITMTextEncoder":
        self.itm.to(device)
        self.device = torch.device(device)
        return self

    @torch.no_grad()
    def encode_ids(self, ids: torch.Tensor, lengths: torch.Tensor) -> EncodedText:
        """Token ids ``[N, L]`` and lengths ``[N]`` -> :class:`EncodedText` (``words [N, nef, words_num]``)."""
        words, sentence, word_lengths = self.itm.encode_text(ids.to(self.device), lengths.to(self.device))
        mask = torch.arange(words.shape[2], device=self.device)[None, :] >= word_lengths[:, None]
        return EncodedText(sentence, words, mask, word_lengths)

    def encode(self, captions) -> EncodedText:
        ids, lengths = self.tokenizer.batch(list(captions))
        return self.encode_ids(ids, lengths)

    def encode_each(self, captions) -> EncodedText:
        """Every distinct caption encoded alone (its embedding does not depend on the batch)."""
        captions = list(captions)
        one = {c: self.encode([c]) for c in dict.fromkeys(captions)}
        return EncodedText.cat([one[c] for c in captions])

    def encode_images(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """float images in [-1, 1] -> ``(regions [N, nef, h, w], image feature [N, nef])`` (differentiable in x)."""
        return self.itm.encode_images(x)

    def describe(self) -> dict:
        return {"weights": self.path.name, "sha256": self.sha256, "dim": self.dim, "backbone": self.backbone}


# ----------------------------------------------------------------------------- training
@torch.no_grad()
def heldout_retrieval(model: ImageTextMatcher, tokenizer, test, n_pairs: int = HELDOUT_PAIRS) -> dict:
    """Recall@1/@5 both ways on the first ``n_pairs`` test images with their first caption, by the sentence
    score ``cos(f_img, c_s)`` (``sentence``), by the word score ``R(Q, D)`` (``word``) and by the towers'
    own embeddings before the heads (``towers``) — the comparison of the paper's Table 3."""
    model.eval()
    n = min(n_pairs, len(test))
    captions = [str(test.captions(i)[0]) for i in range(n)]
    ids, lengths = tokenizer.batch(captions)
    regions, glob, words, sent, raw_img, raw_txt = [], [], [], [], [], []
    for i in range(0, n, 100):
        x = test.images(range(i, min(i + 100, n))).float() / 127.5 - 1.0
        r, g = model.encode_images(x)
        w, s, _ = model.encode_text(ids[i:i + 100], lengths[i:i + 100])
        regions.append(r), glob.append(g), words.append(w), sent.append(s)
        raw_img.append(model.towers.encode_image(x)[1])
        raw_txt.append(model.towers.encode_text(ids[i:i + 100], lengths[i:i + 100])[1])
    regions, words = torch.cat(regions), torch.cat(words)
    word_lengths = lengths.clamp(max=model.words_num)
    word_sim = torch.cat([damsm.word_similarities(regions[i:i + 25], words, word_lengths, GAMMA1, GAMMA2)
                          for i in range(0, n, 25)])
    return {"pairs": f"first {n} test images, caption 0",
            "sentence": tiny_clip.retrieval_recall(torch.cat(glob), torch.cat(sent)),
            "word": recall_from_scores(word_sim),
            "towers": tiny_clip.retrieval_recall(torch.cat(raw_img), torch.cat(raw_txt))}


def recall_from_scores(sim: torch.Tensor, ks=(1, 5)) -> dict:
    """Recall@k both ways of a score matrix ``sim[image, caption]`` whose diagonal holds the pairs (ties count
    against the query, as :func:`t2ibench.evaluators.tiny_clip.retrieval_recall`)."""
    own = sim.diagonal()
    rank_i2t, rank_t2i = (sim > own[:, None]).sum(1), (sim > own[None, :]).sum(0)
    out = {"n_pairs": int(len(own))}
    for k in ks:
        out[f"i2t_r{k}"] = round(float((rank_i2t < k).double().mean()), 5)
        out[f"t2i_r{k}"] = round(float((rank_t2i < k).double().mean()), 5)
    return out


def train(out_dir, dataset: str = "shapes", seed: int = 6, device: str = "cpu", epochs=None, data_root=None,
          clip_weights=None, progress: bool = True, checkpoint=None, command: str | None = None,
          n_train: int | None = None, clip_input: str = "code", heldout_n: int = HELDOUT_PAIRS) -> dict:
    """Train the ITM on ``dataset``'s train split and write ``grgan-itm-<dataset>.safetensors`` + ``.json``
    into ``out_dir``; returns the manifest. ``epochs``: ``(stage 1, stage 2)`` (stage 1, the stand-in's
    CLIP-kind pre-training, is skipped with ``clip_weights``). ``checkpoint``: a path prefix for the two
    stages' resumable checkpoints (``<prefix>.towers``, ``<prefix>.heads``). ``n_train``: a smaller shapes
    train split, ``heldout_n``: fewer held-out pairs (tests)."""
    from t2ibench.data.tokenizer import Tokenizer
    from t2ibench.evaluators.training import TrainConfig, fit, load_train_test
    from t2ibench.io import sha256_file

    t0 = time.time()
    stage1, stage2 = STAND_IN_EPOCHS if epochs is None else epochs
    backbone = "clip" if clip_weights else "stand-in"
    size = CLIP_SIZE if backbone == "clip" else tiny_clip.INPUT_SIZE
    train_ds, test_ds = load_train_test(dataset, size, data_root=data_root, progress=progress and not n_train,
                                        n_train=n_train, n_test=min(HELDOUT_PAIRS, 2 * n_train) if n_train else None)
    captions = [[str(c) for c in train_ds.captions(i)] for i in range(len(train_ds))]
    tokenizer = CLIPWordTokenizer() if backbone == "clip" else Tokenizer.build(c for caps in captions for c in caps)
    n_caps = min(len(c) for c in captions)
    ids, lengths = tokenizer.batch([c for caps in captions for c in caps[:n_caps]])
    ids, lengths = ids.view(len(captions), n_caps, -1), lengths.view(len(captions), n_caps)
    class_ids = torch.as_tensor(train_ds.class_ids())
    if (class_ids < 0).all() or not getattr(train_ds, "matching_classes", True):
        class_ids = torch.arange(len(train_ds))       # only the pair itself is masked (AttnGAN's COCO setting)
    images = train_ds.images(range(len(train_ds))) if dataset == "shapes" else None

    def batch(idx):
        which = torch.randint(0, n_caps, (len(idx),))   # torch RNG: checkpointed by fit
        b_ids, b_len = ids[idx, which], lengths[idx, which]
        x = images[idx] if images is not None else train_ds.images(idx.tolist())
        return x.to(device).float() / 127.5 - 1.0, b_ids[:, :int(b_len.max())].to(device), b_len.to(device)

    config = make_config(backbone, tokenizer, clip_input=clip_input)
    torch.manual_seed(seed)
    model = ImageTextMatcher(config, clip_weights).to(device)
    prefix = Path(checkpoint) if checkpoint else None
    history, t_train = {}, time.time()
    if backbone == "stand-in":     # stage 1: the CLIP-kind towers, symmetric InfoNCE (tiny_clip.clip_loss)
        clip = model.towers.clip

        def clip_step(idx):
            x, b_ids, b_len = batch(idx)
            img = F.normalize(clip.encode_image(model.towers.prepare(x)), dim=-1)
            txt = F.normalize(clip.encode_text(b_ids, b_len), dim=-1)
            scale = clip.logit_scale.clamp(max=tiny_clip.MAX_LOGIT_SCALE).exp()
            return {"loss": tiny_clip.clip_loss(img, txt, scale)}

        history["towers"] = fit(clip, clip_step, len(train_ds),
                                TrainConfig(stage1, CLIP_BATCH, CLIP_LR, tiny_clip.WEIGHT_DECAY, tiny_clip.GRAD_CLIP,
                                            seed),
                                checkpoint=prefix and prefix.with_name(prefix.name + ".towers"), progress=progress,
                                desc=f"ITM stand-in towers ({dataset})")
    model.towers.requires_grad_(False).eval()   # stage 2: frozen towers, the ITM heads learn Eq. 8-9

    def itm_step(idx):
        model.towers.eval()
        x, b_ids, b_len = batch(idx)
        regions, glob = model.encode_images(x)
        words, sent, word_lengths = model.encode_text(b_ids, b_len)
        out = itm_loss(regions, glob, words, sent, word_lengths, class_ids[idx].numpy())
        return {"loss": out["loss"], "s_loss": out["s"], "w_loss": out["w"]}

    history["heads"] = fit(model.heads, itm_step, len(train_ds), TrainConfig(stage2, ITM_BATCH, ITM_LR, 0.0, 5.0, seed),
                           checkpoint=prefix and prefix.with_name(prefix.name + ".heads"), progress=progress,
                           desc=f"ITM heads ({dataset})")
    train_time = time.time() - t_train
    model = model.cpu().eval()
    out_dir = Path(out_dir)
    path = out_dir / f"{weights_name(dataset)}.safetensors"
    digest = save_state(model.trained_state(), path, config)
    recall = heldout_retrieval(model, tokenizer, test_ds, heldout_n)
    clip_record = ({"path": str(Path(clip_weights).resolve()), "sha256": sha256_file(clip_weights)}
                   if clip_weights else None)
    manifest = {
        "name": weights_name(dataset), "weights_file": path.name, "sha256": digest, "dtype": "float32",
        "role": "GR-GAN image-text matcher (ITM) and the generator's text encoder",
        "backbone": backbone,
        "backbone_description": (f"OpenAI CLIP {CLIP_MODEL} (open_clip), frozen" if clip_weights else
                                 "stand-in for CLIP RN101: tiny-clip tower architecture trained from scratch on "
                                 f"the {dataset} train split (seed {seed}), never the evaluator's weights"),
        "stands_in_for": None if clip_weights else "OpenAI CLIP RN101 (Radford et al. 2021) under GR-GAN's ITM heads",
        "clip_weights": clip_record, "config": config,
        "tokenizer": None if clip_weights else tokenizer.to_dict(),
        "command": command or f"python -m models.grgan.itm --dataset {dataset} --out {out_dir} --seed {seed}",
        "seed": seed, "epochs": {"towers": stage1 if backbone == "stand-in" else 0, "heads": stage2},
        "batch_size": {"towers": CLIP_BATCH, "heads": ITM_BATCH}, "lr": {"towers": CLIP_LR, "heads": ITM_LR},
        "loss": {"towers": "symmetric InfoNCE (tiny_clip.clip_loss)",
                 "heads": "GR-GAN Eq. 8-9 with lambda1 = lambda2 = 1 (pretrain_ITM.py), gammas 4, 5, 10, "
                          "same-class pairs masked"},
        "device": str(device),
        "dataset": {"name": dataset, "n_train": len(train_ds), "n_test": len(test_ds), "image_size": size,
                    "train_fingerprint": train_ds.fingerprint, "test_fingerprint": test_ds.fingerprint},
        "held_out_recall": recall,
        **run_info(t0, [], train_time_s=train_time),
        "history": history,
    }
    write_manifest(path.with_suffix(".json"), manifest)
    return manifest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m models.grgan.itm",
        description="Train GR-GAN's image-text matcher (ITM: region/word/image/sentence heads over a CLIP dual "
                    "encoder, Eq. 8-9) on a dataset's train split and write grgan-itm-<dataset>.safetensors + "
                    ".json into --out. With --clip-weights (OpenAI CLIP RN101) only the heads are trained; "
                    "without, a CLIP stand-in (tiny-clip architecture, trained from scratch) is trained first. "
                    "The shipped shapes ITM: --dataset shapes --out models/weights --seed 6.")
    add_training_args(parser, epochs_default=None, epochs_help=f"epochs of the ITM heads (default "
                      f"{STAND_IN_EPOCHS[1]})", seed_help="seed of initialisation, data order and captions (the "
                      "shipped ITM: 6; the evaluators use 0 and the zoo DAMSM 1)")
    parser.add_argument("--tower-epochs", type=int, default=STAND_IN_EPOCHS[0],
                        help=f"epochs of the stand-in's contrastive tower training (default {STAND_IN_EPOCHS[0]})")
    parser.add_argument("--clip-weights", default=None,
                        help="OpenAI CLIP RN101 weights (RN101.pt, or an open_clip/timm state dict or .safetensors) "
                             "for the real ITM; without it the CLIP stand-in is trained")
    parser.add_argument("--clip-input", choices=("code", "clip"), default="code",
                        help="real CLIP only: feed [-1, 1] images as the released code does (code, default) or "
                             "apply CLIP's mean/std (clip)")
    args = parser.parse_args(argv)
    epochs = (args.tower_epochs, args.epochs or STAND_IN_EPOCHS[1])
    manifest = train(args.out, dataset=args.dataset, seed=args.seed, device=args.device, epochs=epochs,
                     data_root=args.data_root, clip_weights=args.clip_weights, progress=not args.no_progress,
                     checkpoint=args.checkpoint, command=command_line(parser.prog, argv), clip_input=args.clip_input)
    print(json.dumps({k: manifest[k] for k in ("sha256", "held_out_recall", "train_time_s")}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
