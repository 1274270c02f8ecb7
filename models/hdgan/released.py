"""HDGAN's released generators (``hdgan-release``): refused.

ypxie/HDGan's ``HDGan/models/hd_networks.py`` ``Generator`` is not the zoo's ``hdgan`` network
(:mod:`models.hdgan.networks`), so no key map can load it without changing what it computes:

- conditioning: ``condEmbedding`` = Linear + LeakyReLU(0.2) giving a mean and a log σ (``c = μ + e^{log σ} ε``);
  the zoo's CA: Linear + GLU giving μ and log σ² (StackGAN's);
- the 4x4 map: ``Sent2FeatMap`` = Linear *with* bias, BatchNorm and no activation, on ``[c, z]``; the zoo's:
  Linear without bias, BatchNorm1d, ReLU on ``[z, c]``;
- the trunk: a residual block at every scale from 4 px and channel halvings only at 8, 32, 128 and 256 px,
  every 3x3 conv reflection-padded (``pad_conv_norm``); the zoo's: a residual block and a halving stretching
  layer per doubling, zero-padded;
- the side-output heads: ``branch_out`` = ReflectionPad2d(1), conv3x3, tanh; the zoo's: a zero-padded
  conv3x3 + tanh.

(Its text, Reed et al.'s 1024-d char-CNN-RNN embeddings, would be available: the zoo's ``char-cnn-rnn`` lookup.)
"""
from __future__ import annotations

from models.common.released import ReleasedFormat, register_format

FORMAT = register_format(ReleasedFormat(
    name="hdgan-release", model="hdgan", source="ypxie/HDGan HDGan/models/hd_networks.py Generator",
    files={"cub": "the README's birds / flowers / COCO generator checkpoints (all refused)"}, configs={"default": "code"},
    refuse=("HDGAN's released Generator is not the zoo's hdgan network: its conditioning is Linear + LeakyReLU "
            "giving a mean and log sigma (the zoo's CA: Linear + GLU giving mu and log sigma^2), its 4x4 map is "
            "Linear with bias + BatchNorm without activation on [c, z] (the zoo's: no bias, BatchNorm, ReLU on "
            "[z, c]), it keeps a residual block at every scale and halves the channels only at 8, 32, 128 and "
            "256 px with reflection-padded convs (the zoo's: one residual block and one halving up-sampling "
            "layer per doubling, zero padding), and its side outputs are reflection-padded; loading it into the "
            "zoo's network would compute something else, so it is not loaded (models/hdgan/released.py)")))
