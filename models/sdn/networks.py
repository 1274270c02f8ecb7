"""SDN's two networks (Yuan & Peng, "Text-to-image Synthesis via Symmetrical Distillation Networks",
ACM MM 2018, Sec. 3.2 and 3.5): the frozen source model D (VGG19) and the target generator G that
mirrors it layer for layer.

**Source model D** (Sec. 3.2, 3.5): VGG19 (Simonyan & Zisserman 2015) — 16 3x3 convolutions with ReLU
in 5 groups (2, 2, 4, 4, 4), each group followed by 2x2 max pooling, then fc6, fc7, fc8.
:class:`VGG19Features` is the convolutional part SDN distils from ("D is composed of 16 convolutional
layers from VGG19"), laid out exactly as ``torchvision.models.vgg19().features`` (the same module
indices, so torchvision's ImageNet weights load by name); :class:`VGG19` adds torchvision's ``avgpool``
and ``classifier`` (fc6, ReLU, dropout, fc7, ReLU, dropout, fc8) — the stand-in classifier of
:mod:`models.sdn.source_model` and the fc shapes of the symmetry. ``widths`` scale the five groups'
channels (VGG19: 64, 128, 256, 512, 512) and ``fc`` the width of fc6/fc7 (VGG19: 4096). Images in
[-1, 1] are mapped to [0, 1] and normalised with ImageNet's mean and std (torchvision's VGG input).

**Named representations** φ_l^D: ``conv{g}_{k}`` is the ReLU output of the k-th conv of group g,
``pool{g}`` the max-pooled output of group g, ``fc6``/``fc7`` the ReLU outputs of the hidden fc
layers, ``fc8`` the logits.

**Target model G** (Sec. 3.2, 3.5, Fig. 2): "the same layers but reverse data flow direction" —
g-fc8, g-fc7, g-fc6, then the 16 convolutions g-conv5_4 … g-conv1_1 in 5 groups, with 5 up-sampling
layers mirroring D's 5 poolings. Each G layer inverts the D layer of its name: g-X maps a tensor
shaped like X's output to one shaped like X's *input*, i.e. like the output of the D layer before X.
That is the pairing of Eq. 1, ``φ_l^D(I_r)`` against ``φ_{l+1}^G``: the G layer l+1 produces the
representation of D's layer l. So :meth:`TargetGenerator.forward` returns its representations keyed
by the D layer they mirror (every key has exactly that layer's shape — the test of the symmetry):

====================  =============================  ===========================
G layer               output mirrors D's             shape (paper, 224 px)
====================  =============================  ===========================
g-fc8 (text -> fc)    ``fc7``                        4096
g-fc7                 ``fc6``                        4096
g-fc6                 ``pool5``                      512 x 7 x 7
up-sampling 5         ``conv5_4``                    512 x 14 x 14
g-conv5_4 … 5_2       ``conv5_3`` … ``conv5_1``      512 x 14 x 14
g-conv5_1             ``pool4``                      512 x 14 x 14
up-sampling 4         ``conv4_4``                    512 x 28 x 28
…                     …                              …
g-conv2_1             ``pool1``                      64 x 112 x 112
up-sampling 1         ``conv1_2``                    64 x 224 x 224
g-conv1_2             ``conv1_1``                    64 x 224 x 224
g-conv1_1             the image (D's input)          3n x 224 x 224
====================  =============================  ===========================

g-fc8 reads the sentence embedding φ_t in place of fc8's output (the class scores): the paper uses
the char-CNN-RNN embedding of Reed et al. [30] (1024-d); the zoo's models read the zoo's DAMSM
sentence embedding (256-d) instead. SDN has no noise input (Sec. 3.1: G's input is φ_t alone).
The paper leaves the layers' internals open; they follow its baseline StackGAN [42] (released code):
fully connected and 3x3 conv layers without bias, each followed by BatchNorm and ReLU, up-sampling by
nearest-neighbour "image resize" x2 (Sec. 3.5: "via 'image resize' operation in TensorFlow, which
refers to StackGAN"), and the last layer (g-conv1_1) a 3x3 conv + tanh. The ReLU makes every
mirrored representation non-negative like D's ReLU/pool outputs it is compared with.

**Diverse synthesis** (Sec. 3.4): g-conv1_1 has ``3n`` output channels, "each consecutive 3
channels forms an image" — the ``n`` candidates ``I_s^p`` of Eq. 4-5.
"""
from __future__ import annotations

import torch
from torch import nn
from torchvision.models.vgg import make_layers

from models.common.blocks import conv3x3
from models.common.gan import GeneratorOutput

#: VGG19's channels per group and convolutions per group (Simonyan & Zisserman 2015, configuration E)
VGG19_WIDTHS = (64, 128, 256, 512, 512)
VGG19_FC = 4096
CONVS_PER_GROUP = (2, 2, 4, 4, 4)
#: torchvision's ImageNet input normalisation (of images in [0, 1])
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def conv_names() -> list[str]:
    """The 16 convolutional layers of VGG19 in data-flow order: ``conv1_1, conv1_2, conv2_1, …, conv5_4``
    (the layers SDN distils from, Sec. 3.2)."""
    return [f"conv{g + 1}_{k + 1}" for g, n in enumerate(CONVS_PER_GROUP) for k in range(n)]


def check_widths(widths, fc: int, image_size: int) -> tuple[tuple[int, ...], int]:
    """``(widths, fc)`` checked: 5 positive group widths, a positive fc width, an image size divisible by 32."""
    widths = tuple(int(w) for w in widths)
    if len(widths) != 5 or min(widths) < 1:
        raise ValueError(f"source_widths: expected 5 positive channel counts (VGG19: {list(VGG19_WIDTHS)}), "
                         f"got {list(widths)}")
    if int(fc) < 1:
        raise ValueError(f"source_fc: expected a positive width (VGG19: {VGG19_FC}), got {fc!r}")
    if image_size % 32 or image_size < 32:
        raise ValueError(f"image_size: VGG19 halves the size 5 times; expected a multiple of 32, got {image_size}")
    return widths, int(fc)


class VGG19Features(nn.Module):
    """The 16 conv layers and 5 poolings of VGG19 (``features``, torchvision's module indices), the source
    model D of SDN (Sec. 3.2). ``widths``: channels of the 5 groups. Input: images in [-1, 1].
    ``batch_norm``: BatchNorm after every conv (torchvision's ``vgg19_bn`` layout) — only to train the
    stand-in, which is then folded into the plain VGG19 (:func:`fold_batch_norm`)."""

    def __init__(self, widths=VGG19_WIDTHS, batch_norm: bool = False):
        super().__init__()
        self.widths = tuple(int(w) for w in widths)
        cfg = []
        for width, n in zip(self.widths, CONVS_PER_GROUP):
            cfg += [width] * n + ["M"]
        self.features = make_layers(cfg, batch_norm=batch_norm)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        for m in self.modules():  # torchvision's VGG initialisation (for the stand-in trained from scratch)
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] -> torchvision's ImageNet-normalised input."""
        return ((images + 1) / 2 - self.mean) / self.std

    def representations(self, images: torch.Tensor, upto: str | None = None) -> dict[str, torch.Tensor]:
        """φ_l^D(I) for every conv layer (``conv{g}_{k}``, after its ReLU) and pooling (``pool{g}``) in data-flow
        order, up to and including layer ``upto`` (default: through ``pool5``)."""
        out, x, group, k = {}, self.normalise(images), 1, 0
        for layer in self.features:
            x = layer(x)
            if isinstance(layer, nn.ReLU):
                k += 1
                name = f"conv{group}_{k}"
            elif isinstance(layer, nn.MaxPool2d):
                name = f"pool{group}"
                group, k = group + 1, 0
            else:
                continue
            out[name] = x
            if name == upto:
                break
        return out

    def conv_features(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """φ_l^D(I) of the 16 conv layers (what Eq. 1, 3-5 sum over); stops after ``conv5_4``."""
        reps = self.representations(images, upto="conv5_4")
        return {name: reps[name] for name in conv_names()}


class VGG19(VGG19Features):
    """VGG19 with torchvision's ``avgpool`` and ``classifier`` (fc6, ReLU, dropout, fc7, ReLU, dropout, fc8):
    with ``widths`` 64…512, ``fc`` 4096, ``pool`` 7 and 1000 classes its state dict is torchvision's
    ``vgg19`` key for key. ``pool``: the side of the map after pool5 (``image_size / 32``)."""

    def __init__(self, widths=VGG19_WIDTHS, fc: int = VGG19_FC, classes: int = 1000, pool: int = 7,
                 dropout: float = 0.5, batch_norm: bool = False):
        super().__init__(widths, batch_norm)
        self.avgpool = nn.AdaptiveAvgPool2d((pool, pool))
        self.classifier = nn.Sequential(
            nn.Linear(self.widths[-1] * pool * pool, fc), nn.ReLU(True), nn.Dropout(dropout),
            nn.Linear(fc, fc), nn.ReLU(True), nn.Dropout(dropout), nn.Linear(fc, classes))
        for m in self.classifier:
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def representations(self, images: torch.Tensor, upto: str | None = None) -> dict[str, torch.Tensor]:
        """As :meth:`VGG19Features.representations`, continued by ``fc6``, ``fc7`` (after their ReLU) and
        ``fc8`` (the logits)."""
        out = super().representations(images, upto)
        if upto is not None and upto in out:
            return out
        x = torch.flatten(self.avgpool(out["pool5"]), 1)
        for name, layers in (("fc6", self.classifier[0:2]), ("fc7", self.classifier[2:5]),
                             ("fc8", self.classifier[5:7])):
            x = out[name] = layers(x)
            if name == upto:
                break
        return out

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.representations(images)["fc8"]


@torch.no_grad()
def fold_batch_norm(trained: VGG19) -> VGG19:
    """The plain VGG19 (no BatchNorm) that computes exactly what ``trained`` (built with ``batch_norm=True``)
    computes in eval mode: each conv's weight scaled by ``γ / √(σ² + ε)`` and its bias set to
    ``(b − μ) · γ / √(σ² + ε) + β``; avgpool and classifier copied."""
    layers = list(trained.features)
    pairs = [(m, layers[i + 1]) for i, m in enumerate(layers) if isinstance(m, nn.Conv2d)]
    if not all(isinstance(bn, nn.BatchNorm2d) for _, bn in pairs):
        raise ValueError("fold_batch_norm: expected a VGG19 built with batch_norm=True")
    linear = trained.classifier[0]
    plain = VGG19(trained.widths, linear.out_features, trained.classifier[-1].out_features,
                  trained.avgpool.output_size[0])
    for target, (conv, bn) in zip([m for m in plain.features if isinstance(m, nn.Conv2d)], pairs):
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        target.weight.copy_(conv.weight * scale[:, None, None, None])
        target.bias.copy_((conv.bias - bn.running_mean) * scale + bn.bias)
    plain.classifier.load_state_dict(trained.classifier.state_dict())
    return plain.eval()


def _fc_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(cin, cout, bias=False), nn.BatchNorm1d(cout), nn.ReLU(inplace=True))


def _conv_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(conv3x3(cin, cout), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def choose_candidate(noise: torch.Tensor, n: int) -> torch.Tensor:
    """Which of the ``n`` diverse images a generated row returns: ``p = ⌊Φ(z)·n⌋`` (clamped to n-1) from the
    row's single noise number ``z ~ N(0, 1)`` — uniform over the n candidates and deterministic in the row's
    seed. (The paper, Sec. 3.4/4.4, shows all n; the zoo's ``generate`` returns one image per caption.)"""
    return (torch.special.ndtr(noise[:, 0].double()) * n).long().clamp(0, n - 1)


class TargetGenerator(nn.Module):
    """SDN's target model G (Sec. 3.2, Fig. 2): the sentence embedding -> g-fc8, g-fc7, g-fc6 -> 5 groups of
    (nearest x2 up-sampling, then the group's convolutions in reverse order) -> ``3·n_outputs`` channels at
    ``image_size``. Every layer's width is that of the D layer it mirrors (Sec. 3.5: "the dimension of each
    layer is decided by the corresponding layer in the source model"); see the module docstring.

    ``forward(text, noise)`` returns a :class:`GeneratorOutput` whose ``images`` holds the one image the zoo
    returns per caption (candidate :func:`choose_candidate` of the noise row when ``n_outputs > 1``, else the
    only one) and whose ``extras`` hold ``"candidates"`` ``[N, n, 3, S, S]`` (all I_s^p) and
    ``"representations"`` (φ^G keyed by the D layer each mirrors, the image under ``"image"``)."""

    def __init__(self, text_dim: int, widths, fc: int, image_size: int, n_outputs: int = 1):
        super().__init__()
        self.widths, self.n_outputs, self.pool = tuple(widths), int(n_outputs), image_size // 32
        self.fc8 = _fc_block(text_dim, fc)
        self.fc7 = _fc_block(fc, fc)
        self.fc6 = _fc_block(fc, self.widths[-1] * self.pool ** 2)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        layers = {}
        for g in range(5, 0, -1):
            width, n = self.widths[g - 1], CONVS_PER_GROUP[g - 1]
            for k in range(n, 0, -1):
                if k > 1:
                    layers[f"conv{g}_{k}"] = _conv_block(width, width)
                elif g > 1:  # g-conv{g}_1 inverts conv{g}_1, whose input is pool{g-1} (the previous group's width)
                    layers[f"conv{g}_{k}"] = _conv_block(width, self.widths[g - 2])
                else:        # g-conv1_1: the image, 3 channels per diverse candidate
                    layers["conv1_1"] = nn.Sequential(conv3x3(width, 3 * self.n_outputs), nn.Tanh())
        self.convs = nn.ModuleDict(layers)

    @staticmethod
    def mirrored(name: str) -> str:
        """The D representation that the output of G layer ``conv{g}_{k}`` mirrors: the D layer before it."""
        g, k = (int(v) for v in name[4:].split("_"))
        return f"conv{g}_{k - 1}" if k > 1 else f"pool{g - 1}" if g > 1 else "image"

    def forward(self, text, noise: torch.Tensor) -> GeneratorOutput:
        reps = {}
        h = reps["fc7"] = self.fc8(text.sentence)
        h = reps["fc6"] = self.fc7(h)
        h = reps["pool5"] = self.fc6(h).view(-1, self.widths[-1], self.pool, self.pool)
        for name, layer in self.convs.items():
            g, k = (int(v) for v in name[4:].split("_"))
            if k == CONVS_PER_GROUP[g - 1]:  # the up-sampling layer before each group mirrors pool{g}
                h = reps[f"conv{g}_{k}"] = self.up(h)
            h = reps[self.mirrored(name)] = layer(h)
        n, size = h.shape[0], h.shape[-1]
        candidates = h.view(n, self.n_outputs, 3, size, size)
        if self.n_outputs == 1:
            image = candidates[:, 0]
        else:
            image = candidates[torch.arange(n, device=h.device), choose_candidate(noise, self.n_outputs).to(h.device)]
        return GeneratorOutput([image], extras={"candidates": candidates, "representations": reps})
