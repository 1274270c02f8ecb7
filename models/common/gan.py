"""The zoo's model contract: what the trainer calls and what ``generate(captions, seed)`` wraps.

A zoo model is a :class:`TextToImageGAN`: a ``generator`` network, a ``discriminators``
``ModuleList`` and the paper's losses. The trainer (:mod:`models.common.trainer`) only calls

- ``model.generator(text, noise)`` -> :class:`GeneratorOutput` (images per scale, smallest
  first, in [-1, 1]; the CA mean / log-variance when the model has CA);
- ``model.discriminator_loss(batch, fake)`` with ``fake`` the generator's output, its
  images (and CA statistics) detached;
- ``model.generator_loss(batch, out)``;
- ``model.phases()`` -> the :class:`~models.common.phases.Phase` s trained in order (default: one
  phase of ``config["train"]["epochs"]`` with a D update then a G update; no D update for a
  model without discriminator), and ``model.start_phase(phase)`` before each phase's first
  epoch (e.g. StackGAN's Stage-I -> Stage-II switch);
- for each :class:`~models.common.phases.Update` of the phase, the loss method it names
  (``discriminator_loss``, ``generator_loss``, or any other the model declares).

A model says which text encoder it reads (``config["text_encoder"]``, default the zoo's
DAMSM, :data:`models.common.text_encoder.TEXT_ENCODERS`) and which extra inputs its batches
carry (``batch_extras``, e.g. ``("boxes",)``; :mod:`models.common.data`).

All randomness of one image is in its ``noise`` row (``noise_dim`` numbers: z, then the CA
ε where the model has CA), so :class:`ZooGenerator` can draw row ``j`` from the per-caption
seed ``seed + j`` (DESIGN §2) and images do not depend on the batch size.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from models.common.conditioning import kl_loss
from models.common.text_encoder import EncodedText, FrozenTextEncoder
from t2ibench import defaults


@dataclass
class GeneratorOutput:
    """``images``: float ``[N, 3, s, s]`` per scale in [-1, 1], smallest first; ``mu``/``logvar``:
    conditioning augmentation's Gaussian (``None`` without CA); ``noise``: the noise rows the
    images were made from (the trainer sets it); ``extras``: model-specific."""

    images: list[torch.Tensor]
    mu: torch.Tensor | None = None
    logvar: torch.Tensor | None = None
    noise: torch.Tensor | None = None
    extras: dict = field(default_factory=dict)

    def detached(self) -> "GeneratorOutput":
        """A copy with the images, μ and log σ² cut from the graph (what the discriminators see)."""
        cut = (lambda t: None if t is None else t.detach())
        return GeneratorOutput([x.detach() for x in self.images], cut(self.mu), cut(self.logvar), cut(self.noise),
                               self.extras)


@dataclass
class TrainBatch:
    """One training batch: real ``images`` per scale (the model's ``image_sizes``, float in [-1, 1]),
    the encoded ``text`` of one caption per image, and ``class_ids [N]`` (-1: none)."""

    images: list[torch.Tensor]
    text: EncodedText
    class_ids: torch.Tensor
    #: dataset index of each image ``[N]``
    image_index: torch.Tensor | None = None
    #: the extra inputs the model asked for (``TextToImageGAN.batch_extras``), e.g. ``"boxes"``
    extras: dict = field(default_factory=dict)

    @property
    def wrong_text(self) -> EncodedText:
        """Mismatched captions for the matching-aware term: the batch's texts shifted by one
        (AttnGAN's code pairs ``real[:-1]`` with ``cond[1:]``; the roll keeps all N pairs)."""
        return self.text.roll(1)


def split_noise(noise: torch.Tensor, *sizes: int) -> list[torch.Tensor]:
    """Split ``noise [N, sum(sizes)]`` into consecutive blocks ``[N, size]``."""
    if noise.shape[1] != sum(sizes):
        raise ValueError(f"noise: expected {sum(sizes)} numbers per row, got {noise.shape[1]}")
    return list(torch.split(noise, list(sizes), dim=1))


class TextToImageGAN(nn.Module):
    """Base class of the zoo's models; subclasses set ``generator``, ``discriminators`` and the losses."""

    #: output sizes of the generator's scales, smallest first (the last one is what ``generate`` returns)
    image_sizes: tuple[int, ...] = ()
    #: numbers of noise per image (z, then CA ε)
    noise_dim: int = 0
    #: the zoo's frozen text encoder (:class:`FrozenTextEncoder`), for losses that need its image
    #: encoder (the DAMSM loss); set by whoever trains the model, never saved with its weights
    text_encoder: FrozenTextEncoder | None = None
    #: extra inputs of every training batch (names of :data:`models.common.data.BATCH_EXTRAS`)
    batch_extras: tuple[str, ...] = ()

    def __init__(self, config: dict):
        super().__init__()
        self.config = dict(config)
        self.discriminators = nn.ModuleList()

    def load_pretrained_parts(self, dataset: str, device="cpu") -> list[dict]:
        """Load the frozen pretrained networks this model trains against (SDN's source VGG19, CPGAN's
        detector, GR-GAN's matcher, ...) for ``dataset``; called by :mod:`models.train` after building
        the model for training (never for generation). Returns one record per file,
        ``{"role", "weights", "sha256", "description"}``, which the generator's manifest keeps under
        ``"pretrained"`` (so a test can prove none of them is an evaluator). Default: none."""
        return []

    def phases(self) -> list:
        """The training phases, in order: by default one GAN phase (:func:`models.common.phases.gan_phase`)."""
        from models.common.phases import gan_phase

        return [gan_phase(self.config["train"]["epochs"], has_discriminator=len(self.discriminators) > 0)]

    def start_phase(self, phase) -> bool | None:
        """Called by the trainer before the first epoch of each phase (and on resume); default: nothing.
        Returns True when it re-initialised the generator (KT-GAN's student from its teacher): the
        trainer then restarts the generator's EMA from the new weights."""

    def generator_parameters(self):
        return [p for p in self.generator.parameters() if p.requires_grad]

    def discriminator_parameters(self):
        return [p for p in self.discriminators.parameters() if p.requires_grad]

    def discriminator_loss(self, batch: TrainBatch, fake: GeneratorOutput) -> dict:
        raise NotImplementedError

    def generator_loss(self, batch: TrainBatch, out: GeneratorOutput) -> dict:
        raise NotImplementedError

    def with_kl(self, adv: torch.Tensor, out: GeneratorOutput) -> dict:
        """``{"loss": adv + kl_weight · KL, "adv", "kl"}``: the generator objective of every model with
        conditioning augmentation (StackGAN Eq. 6's KL term on ``out.mu``/``out.logvar``)."""
        kl = kl_loss(out.mu, out.logvar)
        return {"loss": adv + self.config["kl_weight"] * kl, "adv": adv.detach(), "kl": kl.detach()}


def truncate_normal(x: torch.Tensor, threshold: float) -> torch.Tensor:
    """Standard-normal ``x`` mapped onto N(0, 1) truncated to ``[-threshold, threshold]`` by the inverse
    CDF: ``Φ⁻¹(Φ(-t) + Φ(x)(Φ(t) - Φ(-t)))`` — exactly truncated-normal, deterministic in ``x`` (the
    truncation trick of BigGAN, Brock et al. 2019, Sec. 3.1, and CPGAN's truncated noise at generation)."""
    lo, hi = (torch.special.ndtr(torch.tensor(v, dtype=torch.float64)) for v in (-float(threshold), float(threshold)))
    u = lo + torch.special.ndtr(x.double()) * (hi - lo)
    return torch.special.ndtri(u).clamp(-threshold, threshold).to(x.dtype)


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """float images in [-1, 1] -> uint8 ``round((x + 1) · 127.5)`` clamped to 0..255."""
    return ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


class ZooGenerator:
    """A trained zoo generator behind the benchmark's ``generate(captions, seed)`` contract.

    ``generator``: the (EMA) generator network in eval mode; ``text_encoder``: the zoo's
    frozen DAMSM; row ``j`` of a call uses noise drawn from seed ``seed + j``. ``truncation``
    ``(z_dim, t)``: the first ``z_dim`` numbers of each row (z) are truncated to ``[-t, t]``
    (:func:`truncate_normal`) where the model's paper samples so at generation time.
    ``output_index``: which of the generator's scales ``generate`` returns (default the last, the
    final image; a side output for HDGAN's Table 2, whose IS is measured on the 64/128/256 px side
    outputs of one model); it is part of the :attr:`fingerprint`.
    """

    def __init__(self, name: str, generator: nn.Module, noise_dim: int, text_encoder: FrozenTextEncoder,
                 device="cpu", batch_size: int = defaults.BATCH_SIZE, info: dict | None = None,
                 truncation: tuple[int, float] | None = None, output_index: int = -1):
        self.name, self.noise_dim, self.batch_size = name, int(noise_dim), int(batch_size)
        self.truncation, self.output_index = truncation, int(output_index)
        self.device = torch.device(device)
        self.generator = generator.to(self.device).eval().requires_grad_(False)
        self.text_encoder = text_encoder.to(self.device)
        self.info = info or {}

    @property
    def fingerprint(self) -> dict:
        """sha256 of the weights file and of the model's source code: what makes two loaded
        generators produce the same images (image folders keep images only for the same one)."""
        fingerprint = {"weights_sha256": self.info.get("sha256"), "code_sha256": self.info.get("code_sha256")}
        if self.info.get("text_encoder_sha256"):   # a released generator: its text encoder is the user's file
            fingerprint["text_encoder_sha256"] = self.info["text_encoder_sha256"]
        if self.output_index != -1:
            fingerprint["output_index"] = self.output_index
        return fingerprint

    @property
    def weights_warning(self) -> str | None:
        """``None``, or the sentence a released generator's text encoder files carry when they are no
        released file (:class:`models.common.released.ReleasedTextEncoder`); the engine puts it in
        every result's warnings."""
        note = self.info.get("text_encoder_warning")
        return f"text encoder: {note}" if note else None

    @torch.no_grad()
    def generate(self, captions: Sequence[str], seed: int = 0) -> torch.Tensor:
        """uint8 ``[N, 3, H, W]``; row ``j`` from noise seed ``seed + j``, computed in a fixed batch of
        ``batch_size`` rows aligned to ``seed + j`` (:func:`t2ibench.generators.base.run_aligned`), so an
        image is bit-for-bit the same however the captions are split into calls."""
        from t2ibench.generators.base import per_caption_noise, run_aligned

        captions = list(captions)
        if not captions:
            return torch.zeros(0, 3, 0, 0, dtype=torch.uint8)
        noise = per_caption_noise(seed, len(captions), (self.noise_dim,), device=self.device)
        if self.truncation:
            z_dim, threshold = self.truncation
            noise[:, :z_dim] = truncate_normal(noise[:, :z_dim], threshold)

        def batch(rows):
            text = self.text_encoder.encode_each([captions[r] for r in rows])
            return to_uint8(self.generator(text, noise[rows]).images[self.output_index]).cpu()

        return run_aligned(batch, len(captions), seed, self.batch_size)
