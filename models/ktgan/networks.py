"""KT-GAN networks (Tan, Liu, Liu, Yin, Li: "KT-GAN: Knowledge-Transfer Generative Adversarial Network
for Text-to-Image Synthesis", IEEE TIP 2021, Sec. III, Fig. 2-3, Appendix A, Fig. 8).

**Student (T2I) generator** :class:`Generator` — AttnGAN's (:class:`models.attngan.networks.Generator`:
CA, init stage, m - 1 attention blocks B_1 … B_{m-1}, one image per block) with

- the **AATM** (Sec. III-B): a :class:`WordFeatureUpdate` in the blocks ``aatm_blocks`` (the paper:
  B_1 and B_2 of m = 3) that re-weights the word features from the previous block's image features,
  ``W_i = α (R̂ ⊙ W_{i-1}) + β W_{i-1}`` (Eq. 2), before the block's word attention reads them:
  ``H_i = F_i(H_{i-1} ‖ F_i^attn(W_i, H_{i-1}))`` (Sec. III-B, "Image Feature Update module"). The
  word features flow from block to block; a block without the update passes on what it received
  (so in "AATM (B_1)" block B_2 attends to W_1 — the paper does not say whether it reads W_0 or W_1);
- the **guided text encoder** (GTE, Sec. III-C, Step 2): a text encoder of the DAMSM's architecture
  (AttnGAN's ``RNN_ENCODER``: word embedding, dropout, bidirectional LSTM;
  :class:`t2ibench.evaluators.damsm.TextEncoder`) inside the generator, which re-encodes the
  caption's token ids (``text.extras["ids"]``, kept by the zoo's text encoder) into the sentence
  feature ``s`` and word features ``W_0`` the generator reads — so the shipped generator carries
  it and ``generate`` needs nothing else. It is trained in its own phase by the semantic
  distillation loss (:mod:`.losses`) and frozen (eval mode: no dropout) afterwards, as AttnGAN
  keeps its text encoder. Without the GTE the generator reads the zoo DAMSM's features (AttnGAN).

**Teacher (I2I)** :class:`Teacher` (Appendix A, Eq. 12): AttnGAN "without the attention mechanism",
conditioned on the global feature ``v`` of an image encoder: ``H'_0 = F'_0(z', F'^ca(v))``,
``H'_i = F'_i(H'_{i-1} ‖ H'_{i-1})`` (:class:`I2IStage`), ``Î_i = G'_i(H'_i)``. Its layers carry the
student's names and shapes, so the student starts from them (Step 3); only the student's
word-attention and AATM projections (and the GTE) have no counterpart. The image encoder
(:class:`ImageEncoder`) is KT-GAN's ImageNet Inception-v3 fine-tuned in the I2I training; see
:mod:`.model` for what stands in for it here.
"""
from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import torch
from torch import nn

from models.attngan.networks import AttentionStage
from models.common.blocks import ResBlock, up_block
from models.common.stages import InitStage, StagedGenerator
from models.common.text_encoder import EncodedText
from t2ibench.evaluators.damsm import TextEncoder, fit_to_backbone


class WordFeatureUpdate(nn.Module):
    """AATM's Word Feature Update module (KT-GAN Sec. III-B, Steps 1-3, Eq. 2).

    ``forward(words W_{i-1} [N, D, T], h H_{i-1} [N, D̂, H, W], mask [N, T] True at padding)`` ->
    ``(W_i [N, D, T], R' [N, T])``:

    1. ``W' = U W_{i-1}`` with the perceptual layer ``U ∈ R^{D̂×D}`` (a 1x1 conv without bias, like
       AttnGAN's word projection, but a layer of its own: Fig. 2 draws the module apart from the
       attention); ``R = W'ᵀ H_{i-1} ∈ R^{T×N}``; ``R* = softmax over the words`` (per region; padding
       words masked out, as AttnGAN's attention masks them);
    2. ``R' = max over the regions of R*`` (each word's weight), ``R̂`` = ``R'`` repeated over the D
       feature rows;
    3. ``W_i = α (R̂ ⊙ W_{i-1}) + β W_{i-1}`` (Eq. 2; α 0.85 the retention factor, β 0.9 the attenuation
       of the residual term; β = 0 is Table II's "w/o Res").
    """

    def __init__(self, image_dim: int, word_dim: int, alpha: float, beta: float):
        super().__init__()
        self.alpha, self.beta = float(alpha), float(beta)
        self.project = nn.Conv1d(word_dim, image_dim, 1, bias=False)

    def forward(self, words: torch.Tensor, h: torch.Tensor, mask: torch.Tensor | None = None):
        r = torch.bmm(self.project(words).transpose(1, 2), h.flatten(2))      # R = W'ᵀ H   [N, T, regions]
        if mask is not None:
            r = r.masked_fill(mask[:, :, None], float("-inf"))
        weights = torch.softmax(r, dim=1).amax(dim=2)                         # R* over words, R' = max  [N, T]
        return self.alpha * weights[:, None, :] * words + self.beta * words, weights


class AATMStage(AttentionStage):
    """Block B_i of the student: AttnGAN's attention block (:class:`~models.attngan.networks.AttentionStage`)
    preceded, when ``update``, by the :class:`WordFeatureUpdate`; ``forward(h, text, c)`` ->
    ``(h_i, {"attention", "word_weights"}, text with W_i)`` — the updated words go on to the next block."""

    def __init__(self, ngf: int, word_dim: int, r_num: int, alpha: float, beta: float, update: bool):
        super().__init__(ngf, word_dim, r_num)
        self.update = WordFeatureUpdate(ngf, word_dim, alpha, beta) if update else None

    def forward(self, h, text, c):
        weights = None
        if self.update is not None:
            words, weights = self.update(text.words, h, text.mask)
            text = dataclasses.replace(text, words=words)
        h, attention = super().forward(h, text, c)
        return h, {"attention": attention, "word_weights": weights}, text


def guided_text_encoder(config: dict) -> TextEncoder:
    """The GTE: AttnGAN's ``RNN_ENCODER`` sized like the zoo DAMSM's text encoder (``text_dim`` wide, the
    tokenizer's ``vocab_size`` and ``max_len``; 300-d embeddings, dropout 0.5)."""
    for key in ("vocab_size", "max_len"):
        if not isinstance(config.get(key), int) or config[key] < 1:
            raise ValueError(f"ktgan config: {key} must be the zoo text encoder's (a positive int; models.train "
                             f"fills in None from the text encoder's tokenizer), got {config.get(key)!r}")
    return TextEncoder(config["vocab_size"], config["gte_emb_dim"], config["text_dim"], config["gte_dropout"],
                       config["max_len"])


class Generator(StagedGenerator):
    """The student generator: ``forward(text, noise [N, z_dim + c_dim])`` -> images at ``4·2^init_ups · 2^k``
    px; ``extras["stages"]``: per block the attention maps and AATM word weights; ``extras["sentence"]``:
    the sentence feature the generator was conditioned on (the GTE's, or the zoo DAMSM's)."""

    def __init__(self, config: dict):
        c = config
        init = InitStage(c["z_dim"] + c["c_dim"], c["ngf"], c["init_ups"])
        width = init.out_channels
        blocks = set(c["aatm_blocks"])
        super().__init__(c["text_dim"], c["z_dim"], c["c_dim"], init,
                         [AATMStage(width, c["text_dim"], c["r_num"], c["aatm_alpha"], c["aatm_beta"], k + 1 in blocks)
                          for k in range(c["stages"] - 1)], [width] * c["stages"])
        self.gte = guided_text_encoder(c) if c["gte"] else None
        #: 1 once the student phase has begun (set by the model; the teacher initialisation happens once)
        self.register_buffer("student_started", torch.zeros((), dtype=torch.long))

    def train(self, mode: bool = True):
        super().train(mode)
        if self.gte is not None and not any(p.requires_grad for p in self.gte.parameters()):
            self.gte.eval()   # a frozen GTE encodes without dropout (AttnGAN's text_encoder.eval())
        return self

    def encode(self, text: EncodedText) -> EncodedText:
        """``text`` with the GTE's sentence and word features (the zoo DAMSM's, without a GTE). In eval mode
        every caption is encoded on its own (as :meth:`FrozenTextEncoder.encode_each` does), so an image does
        not depend on the other captions of its batch through the packed LSTM's rounding."""
        if self.gte is None:
            return text
        ids = text.extras.get("ids")
        if ids is None:
            raise ValueError("ktgan: the generator re-encodes the captions with its guided text encoder and needs "
                             "their token ids in text.extras['ids'] (the zoo text encoder puts them there)")
        if ids.shape[1] != self.gte.max_len:
            raise ValueError(f"ktgan: token ids of {ids.shape[1]} positions, the guided text encoder reads "
                             f"{self.gte.max_len} (config max_len)")
        lengths = text.lengths
        if self.training:
            words, sentence = self.gte(ids, lengths)
        else:
            parts = [self.gte(ids[i:i + 1], lengths[i:i + 1]) for i in range(ids.shape[0])]
            words, sentence = torch.cat([w for w, _ in parts]), torch.cat([s for _, s in parts])
        return dataclasses.replace(text, sentence=sentence, words=words)

    def forward(self, text, noise):
        text = self.encode(text)
        out = super().forward(text, noise)
        out.extras["sentence"] = text.sentence
        return out


class I2IStage(nn.Module):
    """Block B'_i of the teacher (Eq. 12): ``H'_i = F'_i(H'_{i-1} ‖ H'_{i-1})`` — AttnGAN's block with the
    word-context replaced by ``H'_{i-1}`` itself: ``r_num`` residual blocks over ``2·ngf`` channels and an
    up block, named as the student's (``residual``, ``up``) so that their weights carry over."""

    def __init__(self, ngf: int, r_num: int):
        super().__init__()
        self.residual = nn.Sequential(*[ResBlock(2 * ngf) for _ in range(r_num)])
        self.up = up_block(2 * ngf, ngf)

    def forward(self, h, text, c):
        return self.up(self.residual(torch.cat([h, h], dim=1))), None


class ImageEncoder(nn.Module):
    """An image encoder of the DAMSM's interface — ``net(x) -> (regions [N, D, h, w], global [N, D])`` — with
    its input fit (``fit``: the DAMSM config's ``backbone``/``input_size``, :func:`fit_to_backbone`);
    ``forward(x in [-1, 1])``. ``train`` keeps a frozen encoder (no trainable parameter) in eval mode."""

    def __init__(self, net: nn.Module, fit: dict):
        super().__init__()
        self.net, self.fit = net, {"backbone": fit["backbone"], "input_size": fit["input_size"]}

    def train(self, mode: bool = True):
        super().train(mode and any(p.requires_grad for p in self.parameters()))
        return self

    def forward(self, x: torch.Tensor):
        return self.net(fit_to_backbone(x, self.fit, value_range=(-1.0, 1.0)))


class Teacher(nn.Module):
    """The I2I teacher (Appendix A, Eq. 12): ``forward(images [N, 3, S, S] in [-1, 1], noise)`` ->
    :class:`~models.common.gan.GeneratorOutput` with ``extras["v"]`` the global image feature it was
    conditioned on. ``encoder`` (:class:`ImageEncoder`) is set by the model's ``load_pretrained_parts``."""

    def __init__(self, config: dict):
        super().__init__()
        c = config
        init = InitStage(c["z_dim"] + c["c_dim"], c["ngf"], c["init_ups"])
        width = init.out_channels
        self.generator = StagedGenerator(c["text_dim"], c["z_dim"], c["c_dim"], init,
                                         [I2IStage(width, c["r_num"]) for _ in range(c["stages"] - 1)],
                                         [width] * c["stages"])
        self.encoder: ImageEncoder | None = None

    def forward(self, images: torch.Tensor, noise: torch.Tensor):
        if self.encoder is None:
            raise ValueError("ktgan: the teacher's image encoder is not loaded (model.load_pretrained_parts)")
        v = self.encoder(images)[1]
        out = self.generator(SimpleNamespace(sentence=v), noise)   # F'^ca(v) in place of F^ca(s)
        out.extras["v"] = v
        return out


class RegionFeatures(nn.Module):
    """The region features ``[N, D, h, w]`` of a frozen :class:`ImageEncoder` (the perceptual-loss network's
    stand-in, see :mod:`.model`); ``forward(x in [-1, 1])``."""

    def __init__(self, encoder: ImageEncoder):
        super().__init__()
        self.encoder = encoder.requires_grad_(False).eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)[0]


def vgg19_layers() -> list[str]:
    """Names of torchvision ``vgg19().features``' layers in order: ``conv{b}_{k}``, ``relu{b}_{k}``, ``pool{b}``."""
    names = []
    for block, convs in enumerate((2, 2, 4, 4, 4), start=1):
        for k in range(1, convs + 1):
            names += [f"conv{block}_{k}", f"relu{block}_{k}"]
        names.append(f"pool{block}")
    return names


class VGG19Features(nn.Module):
    """ImageNet VGG19 (torchvision's ``vgg19`` layout — its ``features.*`` tensors, from a user file read without
    unpickling, :func:`t2ibench.safe_load.read_state_dict`) up to ``layer`` — SRGAN's perceptual network (Ledig et al.
    2017, Sec. 2.2.1: ``φ_{5,4}``, the 4th convolution after activation before the 5th max-pool =
    ``relu5_4``; its VGG22 is ``relu2_2``). Input in [-1, 1], mapped to [0, 1] and normalised with the
    ImageNet mean and std as torchvision's weights expect; frozen, always in eval mode."""

    def __init__(self, weights, layer: str = "relu5_4"):
        super().__init__()
        from torchvision.models.vgg import cfgs, make_layers

        from t2ibench.safe_load import read_state_dict

        names = vgg19_layers()
        if layer not in names:
            raise ValueError(f"perceptual_layer: expected a torchvision VGG19 layer ({', '.join(names)}), "
                             f"got {layer!r}")
        features = make_layers(cfgs["E"])                                   # torchvision's vgg19().features
        state = read_state_dict(weights, "vgg19 weights")
        try:
            features.load_state_dict({k[len("features."):]: v for k, v in state.items() if k.startswith("features.")})
        except RuntimeError as e:
            raise ValueError(f"vgg19 weights: {weights} is not a torchvision vgg19 state dict ({e})") from e
        self.features = features[: names.index(layer) + 1].requires_grad_(False).eval()
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def train(self, mode: bool = True):
        return super().train(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(((x + 1) / 2 - self.mean) / self.std)
