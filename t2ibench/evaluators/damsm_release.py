"""AttnGAN's released DAMSM encoders (Xu et al. 2018), loaded into :class:`~t2ibench.evaluators.damsm.DAMSM`.

AttnGAN released, per dataset, a text encoder, an image encoder and (in its data archives) the
vocabulary they were trained with:

- birds (``cub``): ``DAMSMencoders/bird/text_encoder200.pth``, ``image_encoder200.pth``;
  ``data/birds/captions.pickle`` (DF-GAN: ``captions_DAMSM.pickle``);
- COCO (``coco``): ``DAMSMencoders/coco/text_encoder100.pth``, ``image_encoder100.pth``;
  ``data/coco/captions.pickle`` (DF-GAN: ``captions_DAMSM.pickle``).

How they are named to t2ibench (:func:`parse_spec`): one string ``TEXT.pth,CAPTIONS.pickle``
(the image encoder is the file beside the text encoder whose name has ``image_encoder`` for
``text_encoder``, as DM-GAN's evaluation finds it) or ``TEXT.pth,IMAGE.pth,CAPTIONS.pickle``.
On the command line: ``--weights damsm=DAMSMencoders/bird/text_encoder200.pth,data/birds/captions.pickle``.

The files (AttnGAN ``code/model.py``; facts checked there, code written here):

- text encoder = ``RNN_ENCODER(n_words, nhidden=256)``'s state dict: ``encoder.weight``
  ``[n_words, 300]`` (word embeddings; row i = word id i of the vocabulary) and one
  bidirectional LSTM layer of 128 units per direction, ``rnn.{weight_ih,weight_hh,bias_ih,
  bias_hh}_l0[_reverse]`` ``[512, 300]``, ``[512, 128]``, ``[512]``, ``[512]``;
- image encoder = ``CNN_ENCODER(256)``'s state dict: torchvision ``inception_v3``'s layers
  ``Conv2d_1a_3x3`` .. ``Mixed_7c`` under their torchvision names (ImageNet weights, frozen
  while the DAMSM was trained), ``emb_features.weight`` ``[256, 768, 1, 1]`` (1x1 conv, no
  bias) and ``emb_cnn_code.{weight,bias}`` ``[256, 2048]``, ``[256]``. BatchNorm
  ``num_batches_tracked`` counters (PyTorch >= 0.4.1) may be present or absent: they take no part
  in evaluation;
- the vocabulary: :mod:`t2ibench.data.attngan_vocab` (its size must equal the text encoder's
  embedding rows).

Every key of each file must be one of these, with that shape, and every one must be there;
otherwise a ``ValueError`` names the file, the missing, extra or misshapen keys. The weight
files are read with ``torch.load(weights_only=True)`` (:func:`t2ibench.safe_load.read_state_dict`),
the vocabulary with the restricted unpickler: nothing in them runs.

Known files (:data:`KNOWN_FILES`): a file with a released file's name, given for that release's
dataset, must have its size and sha256 (:func:`t2ibench.safe_load.check_known_sha256`, as for
the Inception and CLIP files); an encoder file whose sha256 is no released one is used, with the
``unknown weights`` warning every result then carries.

Word limits (AttnGAN's ``TEXT.WORDS_NUM``, :data:`WORDS_NUM`): birds 18 for training (the config
default; ``cfg/bird_attn2.yml``) and 25 for evaluation (``cfg/eval_bird.yml``; DM-GAN's
``eval_bird.yml`` too); COCO 12 for training (``cfg/coco_attn2.yml``) and 20 for evaluation
(``cfg/eval_coco.yml``, DM-GAN's likewise; the COCO DAMSM itself was pretrained with 15,
``cfg/DAMSM/coco.yml``). Other datasets: AttnGAN's default 18 for both. Longer captions keep their
first words (:class:`~t2ibench.data.attngan_vocab.AttnGANTokenizer`).

Image input: uint8 -> [-1, 1] -> bilinear resize to 299 (:func:`~t2ibench.evaluators.damsm.preprocess`,
``align_corners=False``: PyTorch >= 0.4's ``nn.Upsample`` default, under which DM-GAN's R-precision
ran; AttnGAN trained the encoders under PyTorch 0.3, whose bilinear upsampling aligned corners).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from t2ibench.safe_load import check_known_sha256, check_state_dict, read_state_dict, unknown_weights_warning

EMB_DIM, NEF = 300, 256
DEFAULT_WORDS_NUM = 18  # AttnGAN's miscc/config.py default TEXT.WORDS_NUM

#: AttnGAN's word limits by t2ibench dataset name: ``{"train": ..., "eval": ...}`` (module docstring).
WORDS_NUM = {"cub": {"train": 18, "eval": 25}, "coco": {"train": 12, "eval": 20}}
PURPOSES = ("train", "eval")

#: Released files by t2ibench dataset name, then file name: ``size`` (bytes), ``sha256`` and
#: ``release`` (where the file lies in the release's layout). Sources, all Git LFS pointers
#: (``oid sha256:…`` / ``size …``) in public repositories that commit the files:
#: - cub ``text_encoder200.pth``: deepganguly98/caption_to_image @a3af02c8,
#:   ``DAMSMencoders/bird/text_encoder200.pth``; the same sha256 is listed for the "official bird
#:   DAMSM release" in a third-party README's table of asset hashes;
#: - cub ``image_encoder200.pth``: mdzubair3/MajorProject @e504f67e, ``image_encoder200.pth``; the
#:   same sha256 is in that README table;
#: - coco ``text_encoder100.pth``, ``image_encoder100.pth`` and both ``captions_DAMSM.pickle``:
#:   Surya-045/dfgan3 @c9dc649c, DF-GAN's layout ``data/coco/DAMSMencoder/…`` and
#:   ``data/{birds,coco}/captions_DAMSM.pickle``: one record each. The text encoders' sizes fit the
#:   architecture (birds: 5,450 words x 300 floats + the LSTM; coco: 27,297 words).
#: AttnGAN's own ``captions.pickle`` files have no public hash: they are checked by structure only.
KNOWN_FILES: dict[str, dict[str, dict]] = {
    "cub": {
        "text_encoder200.pth": {
            "size": 8_302_463, "release": "DAMSMencoders/bird/text_encoder200.pth",
            "sha256": "d7278a9b4801633eb42d43de67cba51746daf5143be532660bf1c15608690c01"},
        "image_encoder200.pth": {
            "size": 90_228_590, "release": "DAMSMencoders/bird/image_encoder200.pth",
            "sha256": "459e25c9f9842c5754002cba15addaf66c7c618aa5bb87dea968b0ac3e3b2d5b"},
        "captions_DAMSM.pickle": {
            "size": 6_415_004, "release": "data/birds/captions_DAMSM.pickle",
            "sha256": "84e9f81218102873b65ab79c265f0a0a370bf38237b0ef5cb175d0f51c00ab68"},
    },
    "coco": {
        "text_encoder100.pth": {
            "size": 34_518_861, "release": "DAMSMencoders/coco/text_encoder100.pth",
            "sha256": "24cf394756359d5cf019845396006639813404a9f9c8dd03b0874c694a0842d6"},
        "image_encoder100.pth": {
            "size": 90_228_536, "release": "DAMSMencoders/coco/image_encoder100.pth",
            "sha256": "41eae6bd74e376061a5dccc2c935492c3d4d4dfe566f1b124fb810a27bd69826"},
        "captions_DAMSM.pickle": {
            "size": 25_016_959, "release": "data/coco/captions_DAMSM.pickle",
            "sha256": "2f32aa550147910b7e43c72b60864d894a3a379cbde370560ae49c79f148fbf7"},
    },
}

SPEC_FORMS = "TEXT_ENCODER.pth,CAPTIONS.pickle or TEXT_ENCODER.pth,IMAGE_ENCODER.pth,CAPTIONS.pickle"


@dataclass(frozen=True)
class ReleasedFiles:
    """The three files of one released DAMSM."""

    text: Path
    image: Path
    vocab: Path


def parse_spec(spec) -> ReleasedFiles | None:
    """The files named by ``spec`` (``TEXT.pth[,IMAGE.pth],CAPTIONS.pickle``, see the module
    docstring), or ``None`` when ``spec`` names a DAMSM trained here (a ``.safetensors`` path).

    A lone ``.pth``/``.pt`` path is a ``ValueError`` (the vocabulary is missing), as is a text
    encoder whose image encoder cannot be found by name when only two files are given."""
    if isinstance(spec, ReleasedFiles):
        return spec
    text = str(spec)
    if "," not in text or Path(text).expanduser().is_file():   # one file, even with a comma in its path
        if Path(text).suffix in (".pth", ".pt", ".pkl", ".pickle"):
            raise ValueError(f"DAMSM weights {text!r}: AttnGAN's released DAMSM is named by its files and its "
                             f"vocabulary, {SPEC_FORMS} (e.g. DAMSMencoders/bird/text_encoder200.pth,"
                             f"data/birds/captions.pickle)")
        return None
    parts = [Path(p.strip()).expanduser() for p in text.split(",")]
    if len(parts) not in (2, 3) or not all(str(p) not in ("", ".") for p in parts):
        raise ValueError(f"DAMSM weights {text!r}: expected {SPEC_FORMS}")
    if len(parts) == 3:
        return ReleasedFiles(*parts)
    te, vocab = parts
    if "text_encoder" not in te.name:
        raise ValueError(f"DAMSM weights {text!r}: the image encoder is found beside the text encoder by its name "
                         f"(text_encoder -> image_encoder), and {te.name!r} has no 'text_encoder' in it; name all "
                         f"three files: TEXT_ENCODER.pth,IMAGE_ENCODER.pth,CAPTIONS.pickle")
    return ReleasedFiles(te, te.with_name(te.name.replace("text_encoder", "image_encoder")), vocab)


def words_num_for(dataset: str | None, purpose: str = "eval") -> int:
    """AttnGAN's word limit for ``dataset`` (t2ibench name) in training or evaluation."""
    if purpose not in PURPOSES:
        raise ValueError(f"purpose: expected one of {PURPOSES}, got {purpose!r}")
    return WORDS_NUM.get(dataset or "", {}).get(purpose, DEFAULT_WORDS_NUM)


def published_files() -> dict[str, str]:
    """``{release path: sha256}`` of every known released file (``t2ibench list extractors``)."""
    return {e["release"]: e["sha256"] for files in KNOWN_FILES.values() for e in files.values()}


def _published(role: str) -> dict[str, str]:
    """``{release path: sha256}`` of the released ``text_encoder`` or ``image_encoder`` files."""
    return {k: v for k, v in published_files().items() if Path(k).name.startswith(role)}


def check_released_file(path, dataset: str | None, what: str) -> str:
    """sha256 of ``path``; a ``ValueError`` when it is missing, or when its name is a released file's
    of ``dataset``'s release and its size or sha256 is not that file's."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{what}: no such file {path}")
    entry = KNOWN_FILES.get(dataset or "", {}).get(path.name)
    if entry and path.stat().st_size != entry["size"]:
        raise ValueError(f"{what} file {str(path)!r} has the name of the released {entry['release']} but not its "
                         f"size: expected {entry['size']:,} bytes, got {path.stat().st_size:,} (a truncated or "
                         f"different file; download it again, or rename it if it is meant to be another file)")
    return check_known_sha256(path, entry["sha256"] if entry else None, what)


def text_encoder_spec(n_words: int) -> dict[str, tuple[int, ...]]:
    """Key names and shapes of ``RNN_ENCODER(n_words, nhidden=256)``'s state dict (AttnGAN ``model.py``)."""
    hidden = NEF // 2
    spec = {"encoder.weight": (n_words, EMB_DIM)}
    for sfx in ("", "_reverse"):
        spec.update({f"rnn.weight_ih_l0{sfx}": (4 * hidden, EMB_DIM), f"rnn.weight_hh_l0{sfx}": (4 * hidden, hidden),
                     f"rnn.bias_ih_l0{sfx}": (4 * hidden,), f"rnn.bias_hh_l0{sfx}": (4 * hidden,)})
    return spec


def _module_spec(module: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in module.state_dict().items() if not k.endswith("num_batches_tracked")}


def load_released_damsm(spec, dataset: str | None = None, purpose: str = "eval", words_num: int | None = None,
                        device="cpu"):
    """Load AttnGAN's released DAMSM named by ``spec`` (:func:`parse_spec`, or :class:`ReleasedFiles`).

    ``dataset`` (t2ibench name: ``cub``, ``coco``, ...) picks the known files checked by name and,
    with ``purpose`` (``"eval"``: R-precision; ``"train"``: a zoo text encoder), the word limit
    (:func:`words_num_for`); ``words_num`` overrides it. Returns ``(model, tokenizer, weights_id,
    info)`` as :func:`~t2ibench.evaluators.damsm.load_damsm` does: the :class:`DAMSM` in eval mode
    on ``device``, an :class:`~t2ibench.data.attngan_vocab.AttnGANTokenizer`, the sha256 of the
    three files' sha256s and the word limit (what fixes every feature), and a dict describing them
    (``files``: each file's path and sha256; ``words_num``; ``tokenizer``; ``backbone_description``;
    ``weights_warning``: ``None``, or the sentence for encoder files that are no released file). Any problem is a ``ValueError`` naming
    the file.
    """
    from t2ibench.data.attngan_vocab import AttnGANTokenizer, load_attngan_vocabulary
    from t2ibench.evaluators.damsm import DAMSM, check_config, make_config
    from t2ibench.io import sha256_json

    files = parse_spec(spec)
    if files is None:
        raise ValueError(f"DAMSM weights {spec!r}: expected AttnGAN's released files, {SPEC_FORMS}")
    words_num = words_num_for(dataset, purpose) if words_num is None else words_num
    what = {"text": "AttnGAN DAMSM text encoder", "image": "AttnGAN DAMSM image encoder",
            "vocab": "AttnGAN DAMSM vocabulary (captions.pickle)"}
    paths = {"text": files.text, "image": files.image, "vocab": files.vocab}
    digests = {role: check_released_file(p, dataset, what[role]) for role, p in paths.items()}
    words = load_attngan_vocabulary(files.vocab)
    tokenizer = AttnGANTokenizer(words, words_num)
    text_state = read_state_dict(files.text, what["text"])
    rows = text_state.get("encoder.weight")
    if rows is not None and rows.dim() == 2 and rows.shape[0] != len(words):
        raise ValueError(f"{what['text']}: {files.text} embeds {rows.shape[0]} words, but the vocabulary "
                         f"{files.vocab} has {len(words)}: they are not from the same release")
    check_state_dict(text_state, text_encoder_spec(len(words)), f"{what['text']}: {files.text}",
                     "the released RNN_ENCODER")
    image_state = read_state_dict(files.image, what["image"])

    model = DAMSM(check_config(make_config(len(words), words_num, "inception")))
    check_state_dict(image_state, _module_spec(model.image_encoder), f"{what['image']}: {files.image}",
                     "the released CNN_ENCODER")
    state = {**{f"text_encoder.{k}": v for k, v in text_state.items()},
             **{f"image_encoder.{k}": v for k, v in image_state.items()}}
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    result = model.load_state_dict(state, strict=False)
    assert not result.unexpected_keys and all(k.endswith("num_batches_tracked") for k in result.missing_keys)

    weights_id = sha256_json({"attngan_damsm": digests, "words_num": words_num})
    warnings = [w for role in ("text", "image")
                if (w := unknown_weights_warning(paths[role], digests[role], _published(f"{role}_encoder")))]
    info = {"backbone_description": "inception (AttnGAN's released CNN_ENCODER: ImageNet Inception-v3 + its "
                                    "trained embedding layers)",
            "files": {role: {"path": str(paths[role]), "sha256": digests[role]} for role in paths},
            "words_num": words_num, "tokenizer": "AttnGAN (RegexpTokenizer \\w+, ASCII, unknown words dropped)",
            "weights_warning": "; ".join(warnings) or None}
    return model.to(device).eval(), tokenizer, weights_id, info


__all__ = ["KNOWN_FILES", "WORDS_NUM", "DEFAULT_WORDS_NUM", "ReleasedFiles", "parse_spec", "words_num_for",
           "published_files", "check_released_file", "text_encoder_spec", "load_released_damsm"]
