"""The zoo's own text encoder: a DAMSM trained on the training split, separate from the evaluator's.

AttnGAN, DM-GAN (and KT-GAN, GR-GAN in the next issue) condition their generators on a
pretrained DAMSM text encoder and train with its image encoder in the DAMSM loss. The
evaluation encoder behind R-precision is a DAMSM too; a generator trained against the very
weights that score it inflates R-precision (TISE, Dinh et al. 2022, Sec. 4.2). So the zoo
uses **its own copy**: the same architecture and training code
(:mod:`t2ibench.evaluators.damsm`), trained on the same ``train`` split with another seed,
shipped as ``models/weights/damsm-<dataset>.safetensors`` (+ manifest with its sha256,
tokenizer and training command)::

    python -m t2ibench.evaluators.damsm --dataset shapes --out models/weights --seed 1

GAN-INT-CLS, StackGAN, StackGAN++ and HDGAN were published with Reed et al.'s char-CNN-RNN
sentence embeddings; in this zoo they read the same DAMSM sentence embedding (``nef`` = 256
wide) by default, and each model's docstring says so. With StackGAN's released embedding files
in the data root, ``config["text_encoder"] = "char-cnn-rnn"`` (and ``text_dim`` 1024) reads those
instead (:mod:`models.common.char_cnn_rnn`: a lookup of the dataset's own captions).

Both encoders stay frozen (AttnGAN's ``text_encoder.eval()`` / ``requires_grad = False``).

Which encoder a model reads is part of its config (``config["text_encoder"]``, default
``"damsm"``): :data:`TEXT_ENCODERS` maps the name to a factory
``(dataset, weights, device) -> encoder`` with this class's interface (``tokenizer``,
``encode_ids``, ``encode``, ``encode_each``, ``dim``, ``sha256``, ``describe``, ``to``), so a
model can bring its own (KT-GAN's guided text encoder, CPGAN's memory-attended one) by
registering it with :func:`register_text_encoder`.

On a real dataset without an ImageNet Inception file, the zoo's DAMSM is trained with the
small ``cnn`` image backbone as a stand-in (named so in its manifest), e.g. for coco::

    python -m t2ibench.evaluators.damsm --dataset coco --data-root DATA --backbone cnn --out runs/damsm-coco --seed 1

and handed to ``python -m models.train`` with ``--text-encoder-weights runs/damsm-coco/damsm-coco.safetensors``.

AttnGAN's released DAMSM serves as well, as the papers trained with it:
``--text-encoder-weights DAMSMencoders/bird/text_encoder200.pth,data/birds/captions.pickle``
(:mod:`t2ibench.evaluators.damsm_release`: AttnGAN's tokenisation, its training word limit, 18 on
``cub`` and 12 on ``coco``). A model trained against it and scored for R-precision with the same
released DAMSM reproduces the papers' setting, inflation included (TISE).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

import torch

from t2ibench.registry import Registry

ZOO_WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"


@dataclass
class EncodedText:
    """``sentence [N, D]``, ``words [N, D, T]`` (T = the tokenizer's max length), ``mask [N, T]``
    (True at padding), ``lengths [N]``; ``extras``: further per-caption tensors (first dimension N)
    an encoder of a model's own may add (e.g. KT-GAN's guided sentence feature)."""

    sentence: torch.Tensor
    words: torch.Tensor
    mask: torch.Tensor
    lengths: torch.Tensor
    extras: dict = field(default_factory=dict)

    def map(self, fn) -> "EncodedText":
        """``fn`` applied to each tensor, the extras' too (e.g. ``lambda t: t.to(device)``)."""
        return EncodedText(fn(self.sentence), fn(self.words), fn(self.mask),
                           fn(self.lengths), {k: fn(v) for k, v in self.extras.items()})

    @staticmethod
    def cat(parts: list["EncodedText"]) -> "EncodedText":
        """The rows of ``parts`` one after another."""
        names = [f.name for f in fields(EncodedText) if f.name != "extras"]
        return EncodedText(*(torch.cat([getattr(p, n) for p in parts]) for n in names),
                           {k: torch.cat([p.extras[k] for p in parts]) for k in parts[0].extras})

    def roll(self, shift: int = 1) -> "EncodedText":
        """The batch's texts shifted by ``shift`` along the batch: row i gets row i - shift's text."""
        return self.map(lambda t: t.roll(shift, 0))


class FrozenTextEncoder:
    """Tokenizer + frozen DAMSM (text and image encoders) of the zoo for one dataset.

    ``weights``: a DAMSM ``.safetensors`` with its manifest beside it; or AttnGAN's released
    DAMSM, ``TEXT_ENCODER.pth[,IMAGE_ENCODER.pth],CAPTIONS.pickle``
    (:mod:`t2ibench.evaluators.damsm_release`; AttnGAN's tokenisation and its *training* word
    limit: 18 on ``cub``, 12 on ``coco``); ``None`` means the shipped
    ``models/weights/damsm-<dataset>.safetensors``.
    """

    #: ``describe()``'s ``weights`` when the encoder was loaded from several files (else its file's name)
    label: str | None = None

    def __init__(self, dataset: str = "shapes", weights=None, device="cpu"):
        from t2ibench.evaluators.damsm import load_damsm
        from t2ibench.evaluators.damsm_release import load_released_damsm, parse_spec

        if weights and parse_spec(weights) is not None:
            self.damsm, self.tokenizer, self.sha256, info = load_released_damsm(weights, dataset, "train",
                                                                                device=device)
            self._frozen(parse_spec(weights).text, ", ".join(Path(f["path"]).name for f in info["files"].values()),
                         info["backbone_description"], device)
            return
        path = Path(weights) if weights else ZOO_WEIGHTS_DIR / f"damsm-{dataset}.safetensors"
        if not path.is_file():
            if weights:
                raise ValueError(f"text encoder weights {path}: no such file")
            if dataset == "shapes":
                raise ValueError(f"the zoo's text encoder for {dataset!r} is missing ({path}); train it with: "
                                 f"python -m t2ibench.evaluators.damsm --dataset {dataset} --out {path.parent} --seed 1")
            raise ValueError(
                f"no zoo text encoder for {dataset!r} ({path} does not exist); train one (seed 1, apart from the "
                f"evaluation DAMSM) and pass it with --text-encoder-weights: python -m t2ibench.evaluators.damsm "
                f"--dataset {dataset} --data-root DATA --backbone cnn --out runs/damsm-{dataset} --seed 1 (the cnn "
                f"backbone is the stand-in for AttnGAN's ImageNet Inception-v3; with that file use --backbone "
                f"inception --imagenet-inception-weights FILE), then --text-encoder-weights "
                f"runs/damsm-{dataset}/damsm-{dataset}.safetensors")
        self.damsm, self.tokenizer, self.sha256, manifest = load_damsm(path, device=device,
                                                                       what="zoo text encoder")
        self._frozen(path, None, manifest.get("backbone_description",
                                              manifest.get("backbone", "not recorded in its manifest")), device)

    def _frozen(self, path: Path, label: str | None, backbone: str, device) -> None:
        """Freeze the loaded DAMSM; ``path``: its (text encoder's) file; ``label``: its file names when
        there are several (``describe``'s ``weights``; ``None``: ``path``'s name)."""
        self.damsm.requires_grad_(False).eval()
        self.path, self.label, self.dim, self.device = path, label, self.damsm.config["nef"], torch.device(device)
        #: the image backbone it was trained with, as its manifest names it (``cnn`` is the stand-in for
        #: AttnGAN's ImageNet Inception-v3 when no Inception file is given)
        self.backbone = backbone

    def to(self, device) -> "FrozenTextEncoder":
        self.damsm.to(device)
        self.device = torch.device(device)
        return self

    @torch.no_grad()
    def encode_ids(self, ids: torch.Tensor, lengths: torch.Tensor) -> EncodedText:
        """Token ids ``[N, L]`` (L <= max length) and lengths ``[N]`` -> :class:`EncodedText`; its
        ``extras["ids"]`` keeps the token ids ``[N, T]`` (0-padded) for a model that re-encodes the
        caption with a text encoder of its own (KT-GAN's guided text encoder inside its generator)."""
        words, sentence = self.damsm.encode_text(ids.to(self.device), lengths)
        mask = torch.arange(words.shape[2], device=self.device)[None, :] >= lengths.to(self.device)[:, None]
        padded = torch.zeros(ids.shape[0], words.shape[2], dtype=torch.long, device=self.device)
        padded[:, :ids.shape[1]] = ids.to(self.device)
        return EncodedText(sentence, words, mask, lengths.to(self.device), {"ids": padded})

    def encode(self, captions) -> EncodedText:
        ids, lengths = self.tokenizer.batch(list(captions))
        return self.encode_ids(ids, lengths)

    def encode_each(self, captions) -> EncodedText:
        """Like :meth:`encode`, but every distinct caption encoded on its own (a batch of one), so that
        its embedding does not depend on the other captions of the batch: the packed LSTM's step
        shapes change with the batch's caption lengths, and with them the float rounding."""
        captions = list(captions)
        one = {c: self.encode([c]) for c in dict.fromkeys(captions)}
        return EncodedText.cat([one[c] for c in captions])

    def describe(self) -> dict:
        return {"weights": self.label or self.path.name, "sha256": self.sha256, "dim": self.dim,
                "backbone": self.backbone}


#: zoo text encoders: name -> ``factory(dataset: str, weights=None, device="cpu")``
TEXT_ENCODERS = Registry("zoo text encoder")


def register_text_encoder(name: str, factory) -> None:
    TEXT_ENCODERS.register(name, factory)


register_text_encoder("damsm", FrozenTextEncoder)


def text_encoder_for(config: dict, dataset: str, weights=None, device="cpu"):
    """The text encoder a model's ``config`` names (default the zoo's DAMSM) for ``dataset``."""
    return TEXT_ENCODERS.get(config.get("text_encoder", "damsm"))(dataset, weights=weights, device=device)


from models.common import char_cnn_rnn  # noqa: E402,F401  (registers "char-cnn-rnn")
