"""``clip`` (open_clip CLIP) and ``tiny-clip-shapes`` (its embedded stand-in) as text-image encoders.

Both have the same outputs and roles, so every CLIP metric (CMD, ITDis, CLIPScore, CLIP-FID,
CLIP R-precision) runs with either:

=================================  ====================================================================
output                             what
=================================  ====================================================================
``embedding`` (role ``image``)     image embedding, L2-normalised; the model's own preprocessing
``embedding_raw``                  the same before L2 normalisation (clean-fid's CLIP features)
``embedding_unnormalised_input``   image embedding, L2-normalised, of GR-GAN's released CMD
  (role ``image_code``)            preprocessing: square resize, [0, 1], *no* mean/std normalisation
``sentence`` (role ``text``)       caption embedding (:meth:`encode_text`), L2-normalised
=================================  ====================================================================

``clip``
    open_clip (Ilharco et al.) model ``defaults.CLIP_MODEL`` ("ViT-B-32") with pretrained tag
    ``defaults.CLIP_PRETRAINED`` ("openai"), as in GR-GAN's CMD. Preprocessing of uint8
    ``[N, 3, H, W]`` as open_clip's/OpenAI's transform does it on PIL images: resize the
    shorter side to the model's input size (bicubic, antialiased; rounded to uint8 levels as
    PIL does), centre crop, /255, CLIP mean/std. GR-GAN code variant
    (``embedding_unnormalised_input``): ``transforms.Resize((224, 224))`` (bilinear,
    antialiased, aspect not kept), ``ToTensor()``, nothing else — see
    :mod:`t2ibench.metrics.cmd`. Captions: open_clip's tokenizer for the model (bundled BPE,
    no download), ``encode_text``.

    Weights, first match wins: ``weights=PATH`` (``load_extractor("clip", weights=...)``,
    ``--weights clip=PATH``); ``$T2IBENCH_CLIP_WEIGHTS``; open_clip's download of the
    pretrained tag. The model name comes from ``model_name=`` or ``$T2IBENCH_CLIP_MODEL``.
    Every checkpoint — a local file *and* open_clip's download — is read by
    :func:`read_state_dict`, never by unpickling: ``.safetensors`` with safetensors,
    ``.bin/.pt/.pth`` with ``torch.load(weights_only=True)``, and OpenAI's TorchScript
    ``ViT-B-32.pt`` with ``torch.jit.load`` after refusing archives that define
    ``__setstate__`` (only its tensors are read; its code never runs). (open_clip 3.3's own
    ``load_state_dict`` also passes ``weights_only=True``, but falls back to a bare
    ``torch.load`` on ``TypeError``; reading the file here removes that path.) With
    ``--offline`` and no weights, :class:`t2ibench.defaults.DownloadForbidden` says what to
    pass; a failed download is one :class:`ClipWeightsUnavailable` line (a ``ValueError``) naming
    the URL. ``pretrained=None`` builds a randomly initialised model (tests). ``weights_id`` is
    the sha256 of a local file, else ``open_clip:<model>:<tag>``.

    Known hashes: a local file under the name of a file in open_clip's pretrained table must
    have its published sha256 (:func:`known_clip_sha256`). A local file whose sha256 is none of
    the published ones (:func:`published_clip_weights`; Hugging Face ``open_clip_pytorch_model.bin``
    files have no published hash, so they count as unknown too) is used, and the extractor's
    ``weights_warning`` says its numbers are not comparable with published ones.

    QuickGELU: OpenAI's CLIP weights were trained with QuickGELU, and open_clip 3.3 builds
    ``ViT-B-32`` with nn.GELU even for the ``openai`` tag (it only warns). Here ``quick_gelu=None``
    follows open_clip's pretrained table for the tag in use (for a local file: the tag
    ``defaults.CLIP_PRETRAINED``, i.e. the file is assumed to hold OpenAI's weights); pass
    ``quick_gelu=False`` (or ``$T2IBENCH_CLIP_QUICK_GELU=0``) for a checkpoint trained with GELU.

``tiny-clip-shapes``
    :mod:`t2ibench.evaluators.tiny_clip`, trained on ``shapes`` (``stand_in = True``): same
    outputs; its ``embedding_unnormalised_input`` feeds the tower [0, 1] images without the
    mean/std normalisation, like GR-GAN's code does with CLIP.
"""
from __future__ import annotations

import contextlib
import http.client
import logging
import os
from pathlib import Path

import torch
import torch.nn.functional as F

from t2ibench.imageops import resize_antialiased
from t2ibench import defaults, safe_load
from t2ibench.features import register_extractor, register_known_weights
from t2ibench.features.base import TextImageEncoder

MODEL_ENV = "T2IBENCH_CLIP_MODEL"
WEIGHTS_ENV = "T2IBENCH_CLIP_WEIGHTS"
QUICK_GELU_ENV = "T2IBENCH_CLIP_QUICK_GELU"

OUTPUTS = ("embedding", "embedding_raw", "embedding_unnormalised_input")
TEXT_OUTPUTS = ("sentence",)
ROLES = {"image": "embedding", "image_raw": "embedding_raw", "text": "sentence",
         "image_code": "embedding_unnormalised_input"}

_ACCEPTED = ("a .safetensors file, a torch state dict (.bin/.pt/.pth, readable with torch.load(weights_only=True)), "
             "or OpenAI's TorchScript ViT-B-32.pt")
_DEFAULT = object()


class ClipWeightsUnavailable(safe_load.WeightsDownloadFailed):
    """No CLIP weights could be found or downloaded (a ``ValueError`` and a ``RuntimeError``)."""


# --------------------------------------------------------------------------------------------
# preprocessing (uint8 tensors, as the PIL-based transforms do it)
# --------------------------------------------------------------------------------------------

def _resize(x: torch.Tensor, size: tuple[int, int], mode: str) -> torch.Tensor:
    """float ``[N,3,H,W]`` in [0, 255] -> resized with antialiasing, rounded and clipped to uint8 levels
    (PIL's resize returns uint8); unchanged when the size already matches (PIL returns a copy)."""
    return resize_antialiased(x, size, mode=mode, round_levels=True)


def clip_preprocess(images: torch.Tensor, size: int, mean, std, interpolation: str = "bicubic",
                    resize_mode: str = "shortest") -> torch.Tensor:
    """uint8 ``[N, 3, H, W]`` -> float ``[N, 3, size, size]`` as open_clip's eval transform does on PIL
    images: ``Resize(size)`` of the shorter side (``resize_mode="shortest"``; ``"squash"``: both
    sides), ``CenterCrop(size)``, ``ToTensor()``, ``Normalize(mean, std)``."""
    if interpolation not in ("bicubic", "bilinear"):
        raise ValueError(f"CLIP preprocessing: interpolation {interpolation!r} is not supported (bicubic, bilinear)")
    x = images.float()
    h, w = x.shape[-2:]
    if resize_mode == "shortest":
        # torchvision F.resize with an int size: the shorter side -> size, the longer one truncated
        new = (size, int(size * w / h)) if h <= w else (int(size * h / w), size)
    elif resize_mode == "squash":
        new = (size, size)
    else:
        raise ValueError(f"CLIP preprocessing: resize_mode {resize_mode!r} is not supported (shortest, squash)")
    x = _resize(x, new, interpolation)
    top, left = int(round((x.shape[-2] - size) / 2.0)), int(round((x.shape[-1] - size) / 2.0))
    x = x[..., top:top + size, left:left + size] / 255.0
    m = torch.tensor(mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x - m) / s


def grgan_code_preprocess(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 ``[N, 3, H, W]`` -> float ``[N, 3, size, size]`` in [0, 1] as GR-GAN's ``CMD_score.py``:
    ``transforms.Resize((size, size))`` (bilinear, antialiased, aspect ratio not kept) and
    ``transforms.ToTensor()``; no centre crop and no CLIP mean/std normalisation."""
    return _resize(images.float(), (size, size), "bilinear") / 255.0


# --------------------------------------------------------------------------------------------
# reading checkpoints without unpickling
# --------------------------------------------------------------------------------------------

def read_state_dict(path) -> dict[str, torch.Tensor]:
    """The ``{name: tensor}`` of a CLIP checkpoint file, read without unpickling arbitrary objects.

    ``.safetensors``: safetensors. TorchScript archive (OpenAI's ``ViT-B-32.pt``): its tensors
    (:func:`torch.jit.load`, archives with ``__setstate__`` refused, code never run). Anything
    else: ``torch.load(weights_only=True)``. Unwraps ``{"state_dict": ...}``, strips a
    ``module.`` prefix, drops TorchScript's ``input_resolution``/``context_length``/``vocab_size``.
    Raises ``ValueError`` naming the file.
    """
    path = Path(os.fspath(path)).expanduser()
    if not path.is_file():
        raise ValueError(f"CLIP weights: no such file {str(path)!r}. Expected {_ACCEPTED}.")
    if path.suffix in (".npz", ".npy"):
        raise ValueError(f"CLIP weights {str(path)!r}: numpy (big_vision) checkpoints are not supported. "
                         f"Expected {_ACCEPTED}.")
    if safe_load.is_torchscript(path):
        module = safe_load.jit_load(path, f"CLIP weights (expected {_ACCEPTED})")
        sd = {k: v.detach().clone() for k, v in module.state_dict().items()}
    else:
        sd = safe_load.read_state_dict(path, f"CLIP weights (expected {_ACCEPTED})")
    if all(k.startswith("module.") for k in sd):
        sd = {k[len("module."):]: v for k, v in sd.items()}
    for key in ("input_resolution", "context_length", "vocab_size"):
        sd.pop(key, None)
    return sd


def _load_into_clip(model, sd: dict[str, torch.Tensor], source: str) -> None:
    """open_clip's ``load_checkpoint`` massaging (logit_scale shape, position-embedding resize),
    then a strict ``load_state_dict`` with a clear error."""
    from open_clip.convert import convert_state_dict
    from open_clip.model import resize_pos_embed, resize_text_pos_embed

    sd = convert_state_dict(model, dict(sd))
    if "logit_scale" in sd and model.logit_scale.ndim != sd["logit_scale"].ndim:
        sd["logit_scale"] = sd["logit_scale"].reshape(model.logit_scale.shape)
    if getattr(model, "logit_bias", None) is not None and "logit_bias" not in sd and "logit_scale" in sd:
        sd["logit_bias"] = torch.zeros_like(sd["logit_scale"])
    try:
        resize_pos_embed(sd, model)
        resize_text_pos_embed(sd, model)
        model.load_state_dict(sd, strict=True)
    except (RuntimeError, KeyError, ValueError) as e:
        raise ValueError(f"CLIP weights {source}: the tensors do not fit open_clip model "
                         f"{getattr(model, '_t2ibench_name', '')!r} ({str(e).splitlines()[0]}...). Pass the model "
                         f"they belong to (model_name= or ${MODEL_ENV}).") from None


@contextlib.contextmanager
def _quiet_open_clip():
    """open_clip logs a WARNING whenever a model is built without weights (always, here: they
    are loaded afterwards)."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)



def known_clip_sha256(file_name: str) -> str | None:
    """The published sha256 of a CLIP checkpoint named ``file_name``, from open_clip's pretrained
    table: OpenAI's files carry their full sha256 in the URL path (``…/models/<sha256>/ViT-B-32.pt``),
    the mlfoundations release files a prefix at the end of the name (``…-<sha256 prefix>.pt``).
    ``None`` when no file of that name is listed (Hugging Face ``open_clip_pytorch_model.bin``
    files have no published hash). The rule is open_clip's own (``download_pretrained_from_url``
    reads the hash the same way; open_clip has no public function for it)."""
    import open_clip.pretrained as ocp

    for model_name, tag in ocp.list_pretrained():
        url = (ocp.get_pretrained_cfg(model_name, tag) or {}).get("url") or ""
        if url and Path(url).name == file_name:
            if "openaipublic" in url:
                return url.split("/")[-2]
            if "mlfoundations" in url:
                return Path(file_name).stem.split("-")[-1]
    return None


def _published_files() -> list[tuple[str, str, str]]:
    """``(model, file name, sha256 or published prefix)`` of every file in open_clip's pretrained
    table that has a published hash (:func:`known_clip_sha256`)."""
    import open_clip.pretrained as ocp

    out = []
    for model_name, tag in ocp.list_pretrained():
        url = (ocp.get_pretrained_cfg(model_name, tag) or {}).get("url") or ""
        digest = known_clip_sha256(Path(url).name) if url else None
        if digest:
            out.append((model_name, Path(url).name, digest))
    return out


def published_clip_weights(model_name: str | None = None) -> dict[str, str]:
    """``{file name: sha256 or published prefix}`` of the published checkpoints of open_clip model
    ``model_name`` (and of its ``-quickgelu`` twin, which loads the same files); ``None``: the
    model in use (``$T2IBENCH_CLIP_MODEL``, else ``defaults.CLIP_MODEL``)."""
    model_name = model_name or os.environ.get(MODEL_ENV) or defaults.CLIP_MODEL
    base = model_name.removesuffix("-quickgelu")
    return {file: digest for model, file, digest in _published_files() if model.removesuffix("-quickgelu") == base}


def clip_weights_warning(path, digest: str, model_name: str | None = None) -> str | None:
    """``None`` when ``digest`` (the sha256 of local checkpoint ``path``) is a published file's (any
    open_clip model); else the ``unknown weights`` sentence, listing the published files of ``model_name``."""
    if safe_load.is_published_sha256(digest, [h for _, _, h in _published_files()]):
        return None
    return safe_load.unknown_weights_warning(path, digest, published_clip_weights(model_name))


def cached_clip_weights(cfg: dict, cache_dir=None) -> Path | None:
    """The copy of a pretrained entry's checkpoint that open_clip already downloaded, found
    without touching the network, or ``None``: the Hugging Face hub cache (the ``.safetensors``
    alternative first, as open_clip looks), then open_clip's URL cache (``~/.cache/clip``),
    whose file must match its published sha256 (:func:`known_clip_sha256`)."""
    import open_clip.pretrained as ocp

    if cfg.get("hf_hub"):
        from huggingface_hub import try_to_load_from_cache

        model_id, filename = os.path.split(cfg["hf_hub"])
        filename = filename or ocp.HF_WEIGHTS_NAME
        safe = ocp.HF_SAFE_WEIGHTS_NAME if filename == ocp.HF_WEIGHTS_NAME else None
        for name in filter(None, (safe, filename)):
            found = try_to_load_from_cache(model_id, name, cache_dir=cache_dir)
            if isinstance(found, str):
                return Path(found)
    if cfg.get("url"):
        path = Path(cache_dir or "~/.cache/clip").expanduser() / Path(cfg["url"]).name
        if path.is_file():
            safe_load.check_known_sha256(path, known_clip_sha256(path.name), "cached CLIP weights")
            return path
    return None


def download_clip_weights(model_name: str, tag: str, cache_dir=None) -> Path:
    """open_clip's download of ``(model_name, tag)`` (or its cached copy; offline, only the cached
    copy). A failed download (network, HTTP, hub errors) is one :class:`ClipWeightsUnavailable`
    line (a ``ValueError``) naming the URL and saying how to give a local file."""
    import open_clip.pretrained as ocp

    cfg = ocp.get_pretrained_cfg(model_name, tag)
    if not cfg:
        raise ValueError(f"open_clip has no pretrained tag {tag!r} for model {model_name!r}; known: "
                         f"{ocp.list_pretrained_tags_by_model(model_name)}")
    if defaults.env_bool(defaults.OFFLINE_ENV) and (cached := cached_clip_weights(cfg, cache_dir)) is not None:
        return cached
    defaults.check_download_allowed(f"open_clip's {model_name}/{tag} checkpoint",
                                    f"pass weights=PATH (CLI --weights clip=PATH) or set {WEIGHTS_ENV}=PATH")
    # open_clip's download_pretrained takes the Hugging Face hub copy when the entry has one
    url = (f"https://huggingface.co/{cfg['hf_hub'].rstrip('/')}" if cfg.get("hf_hub") else cfg.get("url", "")) \
        or "(open_clip's pretrained table)"
    how = (f"give a local file with --weights clip=FILE (or weights=FILE, or {WEIGHTS_ENV}=FILE), FILE being "
           f"{_ACCEPTED}, e.g. open_clip_pytorch_model.bin from {url}"
           + (f" or OpenAI's {cfg['url']}" if cfg.get("url") and cfg.get("hf_hub") else ""))
    try:
        path = ocp.download_pretrained(cfg, cache_dir=cache_dir)
    except (OSError, RuntimeError, ValueError, http.client.HTTPException) as e:  # URLError, HTTP/hub errors
        raise ClipWeightsUnavailable(str(safe_load.download_failed(
            f"open_clip's {model_name}/{tag} checkpoint", url, e, how))) from e
    if not path or not Path(path).is_file():
        raise ClipWeightsUnavailable(str(safe_load.download_failed(
            f"open_clip's {model_name}/{tag} checkpoint", url, FileNotFoundError(f"no file was returned ({path!r})"),
            how)))
    return Path(path)


def load_clip(model_name: str | None = None, pretrained=_DEFAULT, device="cpu", quick_gelu: bool | None = None,
              cache_dir=None):
    """Build open_clip ``model_name`` and load its weights safely; returns ``(model, info)``.

    model_name: open_clip architecture (``None``: ``$T2IBENCH_CLIP_MODEL``, else ``defaults.CLIP_MODEL``).
    pretrained: a local checkpoint path, an open_clip pretrained tag (downloaded by open_clip,
        then read by :func:`read_state_dict`), or ``None`` for a randomly initialised model.
        Default: ``$T2IBENCH_CLIP_WEIGHTS``, else ``defaults.CLIP_PRETRAINED``.
    quick_gelu: ``None`` follows open_clip's pretrained table (see the module docstring).

    ``info``: ``model``, ``pretrained`` (tag/path/None), ``weights_id``, ``weights_warning`` (a local
    file whose sha256 is no published file's: :func:`clip_weights_warning`; else ``None``),
    ``quick_gelu``, ``preprocess`` (size, mean, std, interpolation, resize_mode).
    """
    import open_clip
    import open_clip.pretrained as ocp

    model_name = model_name or os.environ.get(MODEL_ENV) or defaults.CLIP_MODEL
    if model_name not in open_clip.list_models():
        raise ValueError(f"CLIP model: open_clip has no model {model_name!r} (e.g. ViT-B-32, ViT-B-16, ViT-L-14)")
    if pretrained is _DEFAULT:
        pretrained = os.environ.get(WEIGHTS_ENV) or defaults.CLIP_PRETRAINED
    tag = path = weights_warning = None
    if pretrained is not None:
        pretrained = os.fspath(pretrained)
        if ocp.get_pretrained_cfg(model_name, pretrained):
            tag = pretrained
        else:
            path = Path(pretrained).expanduser()
            if not path.is_file():
                raise ValueError(f"CLIP weights: {pretrained!r} is neither a file nor an open_clip pretrained tag of "
                                 f"{model_name!r} (tags: {ocp.list_pretrained_tags_by_model(model_name)}). "
                                 f"Expected {_ACCEPTED}.")
    tag_cfg = ocp.get_pretrained_cfg(model_name, tag or defaults.CLIP_PRETRAINED) or {}
    if quick_gelu is None:
        quick_gelu = defaults.env_bool(QUICK_GELU_ENV)
    if quick_gelu is None:
        quick_gelu = bool(tag_cfg.get("quick_gelu", False))
    # read the checkpoint first: a missing/bad file fails before the model is built
    if tag is not None:
        file = download_clip_weights(model_name, tag, cache_dir=cache_dir)
        sd, source, weights_id = read_state_dict(file), f"{model_name}/{tag} ({file})", f"open_clip:{model_name}:{tag}"
    elif path is not None:
        weights_id = safe_load.check_known_sha256(path, known_clip_sha256(path.name), "CLIP weights")
        weights_warning = clip_weights_warning(path, weights_id, model_name)
        sd, source = read_state_dict(path), repr(str(path))
    else:
        sd, source, weights_id = None, None, f"open_clip:{model_name}:random-init"
    with _quiet_open_clip():
        model = open_clip.create_model(model_name, pretrained=None, force_quick_gelu=quick_gelu, pretrained_text=False,
                                       pretrained_image=False, device="cpu")
    model._t2ibench_name = model_name
    if sd is not None:
        _load_into_clip(model, sd, source)
    pp = dict(open_clip.get_model_preprocess_cfg(model))
    if tag is not None:
        pp.update({k: tag_cfg[k] for k in ("mean", "std", "interpolation", "resize_mode") if k in tag_cfg})
    size = pp.get("size", 224)
    size = size[0] if isinstance(size, (tuple, list)) else size
    info = {"model": model_name, "pretrained": tag if tag is not None else (str(path) if path else None),
            "weights_id": weights_id, "weights_warning": weights_warning, "quick_gelu": bool(quick_gelu),
            "preprocess": {"size": int(size), "mean": list(pp["mean"]), "std": list(pp["std"]),
                           "interpolation": pp.get("interpolation", "bicubic"),
                           "resize_mode": pp.get("resize_mode", "shortest")}}
    return model.to(device).eval().requires_grad_(False), info


# --------------------------------------------------------------------------------------------
# extractors
# --------------------------------------------------------------------------------------------

class ClipExtractor(TextImageEncoder):
    """open_clip CLIP as a :class:`TextImageEncoder` (see the module docstring).

    ``weights``: local checkpoint path (else ``$T2IBENCH_CLIP_WEIGHTS``, else ``pretrained``);
    ``pretrained``: open_clip tag (default ``defaults.CLIP_PRETRAINED``) or ``None`` for random
    initialisation; ``model_name``: open_clip architecture; ``code_variant``: also compute
    ``embedding_unnormalised_input`` (a second image pass).
    """

    name = "clip"
    text_outputs = TEXT_OUTPUTS
    stand_in = False

    def __init__(self, device: str = "cpu", weights=None, model_name: str | None = None, pretrained=_DEFAULT,
                 quick_gelu: bool | None = None, batch_size: int = 64, code_variant: bool = True):
        super().__init__()
        if weights is not None and str(weights) != "":
            source = weights
        elif pretrained is _DEFAULT:
            source = os.environ.get(WEIGHTS_ENV) or defaults.CLIP_PRETRAINED
        else:
            source = pretrained
        self.net, self.info = load_clip(model_name, source, device=device, quick_gelu=quick_gelu)
        import open_clip

        self.tokenizer = open_clip.get_tokenizer(self.info["model"])
        self.weights_id = self.info["weights_id"]
        self.weights_warning = self.info.get("weights_warning")
        pp = self.info["preprocess"]
        self.input_size = pp["size"]
        self.resize_mode = f"{pp['interpolation']}-{pp['resize_mode']}-{self.input_size}-center-crop"
        self.code_variant = bool(code_variant)
        self.outputs = OUTPUTS if self.code_variant else OUTPUTS[:2]
        self.roles = dict(ROLES) if self.code_variant else {k: v for k, v in ROLES.items() if k != "image_code"}
        self.batch_size = batch_size
        self.feature_dim = int(self.net.text_projection.shape[1]) if getattr(self.net, "text_projection", None) \
            is not None else None

    def _device(self):
        return next(self.net.parameters()).device

    def extract(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        pp = self.info["preprocess"]
        code_pass = self.code_variant and self.wanted("embedding_unnormalised_input")  # only cmd-code reads it
        raw, code = [], []
        for i in range(0, len(images), self.batch_size):
            chunk = images[i:i + self.batch_size]
            x = clip_preprocess(chunk, pp["size"], pp["mean"], pp["std"], pp["interpolation"], pp["resize_mode"])
            raw.append(self.net.encode_image(x))
            if code_pass:
                code.append(F.normalize(self.net.encode_image(grgan_code_preprocess(chunk, pp["size"])), dim=-1))
        raw = torch.cat(raw)
        out = {"embedding": F.normalize(raw, dim=-1), "embedding_raw": raw}
        if code_pass:
            out["embedding_unnormalised_input"] = torch.cat(code)
        return out

    @torch.no_grad()
    def text_features(self, captions: list[str]) -> dict[str, torch.Tensor]:
        tokens = self.tokenizer(list(captions)).to(self._device())
        return {"sentence": F.normalize(self.net.encode_text(tokens), dim=-1)}

    def describe(self) -> dict:
        return {**super().describe(), "model": self.info["model"], "pretrained": self.info["pretrained"],
                "quick_gelu": self.info["quick_gelu"], "preprocess": self.info["preprocess"],
                "text_outputs": list(self.text_outputs),
                "code_variant_preprocess": "Resize((S, S)) bilinear antialias, [0, 1], no mean/std (GR-GAN CMD code)"}


class TinyClipExtractor(TextImageEncoder):
    """The embedded stand-in :mod:`t2ibench.evaluators.tiny_clip` (``stand_in = True``), with the
    outputs and roles of ``clip``. ``weights``: a user ``.safetensors`` (checked against
    ``<stem>.json`` when present); ``None``: the packaged ``tiny-clip-<dataset>``."""

    text_outputs = TEXT_OUTPUTS
    outputs = OUTPUTS
    roles = dict(ROLES)
    resize_mode = "bilinear-antialias-64"
    stand_in = True

    def __init__(self, device: str = "cpu", weights=None, dataset: str = "shapes", batch_size: int = 250):
        super().__init__()
        from t2ibench.evaluators.tiny_clip import load_tiny_clip, tokenizer_of, weights_name

        self.name = weights_name(dataset)
        self.net, self.weights_id, self.manifest = load_tiny_clip(weights, device=device, dataset=dataset)
        self.tokenizer = tokenizer_of(self.net)
        self.weights_path = str(weights) if weights is not None else "packaged"
        self.batch_size = batch_size
        self.dataset = dataset
        self.feature_dim = self.net.embed_dim

    def extract(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        from t2ibench.evaluators.tiny_clip import preprocess

        self.net.eval()
        code_pass = self.wanted("embedding_unnormalised_input")  # a second image pass that only cmd-code reads
        raw, code = [], []
        for i in range(0, len(images), self.batch_size):
            chunk = images[i:i + self.batch_size]
            raw.append(self.net.encode_image(preprocess(chunk, self.net.config)))
            if code_pass:
                code.append(self.net.encode_image(preprocess(chunk, self.net.config, normalise=False)))
        raw = torch.cat(raw)
        out = {"embedding": F.normalize(raw, dim=-1), "embedding_raw": raw}
        if code_pass:
            out["embedding_unnormalised_input"] = F.normalize(torch.cat(code), dim=-1)
        return out

    @torch.no_grad()
    def text_features(self, captions: list[str]) -> dict[str, torch.Tensor]:
        self.net.eval()
        device = next(self.net.parameters()).device
        ids, lengths = self.tokenizer.batch(list(captions))
        return {"sentence": F.normalize(self.net.encode_text(ids.to(device), lengths.to(device)), dim=-1)}

    def describe(self) -> dict:
        held = self.manifest.get("held_out_recall", {}) if isinstance(self.manifest, dict) else {}
        return {**super().describe(), "weights": self.weights_path, "feature_dim": self.feature_dim,
                "text_outputs": list(self.text_outputs),
                "stands_in_for": "CLIP ViT-B/32 (open_clip 'ViT-B-32', 'openai'): a tiny CLIP-style contrastive "
                                 f"model trained on the {self.dataset} train split, not the published network",
                "held_out_recall": {k: v for k, v in held.items() if k != "pairs"}}


def _clip_factory(device: str = "cpu", weights=None, **kwargs) -> ClipExtractor:
    return ClipExtractor(device=device, weights=weights, **kwargs)


def _tiny_clip_shapes_factory(device: str = "cpu", weights=None) -> TinyClipExtractor:
    return TinyClipExtractor(device=device, weights=weights, dataset="shapes")


def _tiny_clip_user_factory(device: str = "cpu", weights=None) -> TinyClipExtractor:
    if weights is None:
        raise ValueError("feature extractor 'tiny-clip' needs weights=PATH: a CLIP stand-in trained on your dataset "
                         "with `t2ibench train-evaluators --dataset NAME --data-root DATA --only clip --out DIR`; "
                         "on shapes use 'tiny-clip-shapes' (packaged), for the real CLIP use 'clip'")
    extractor = TinyClipExtractor(device=device, weights=weights, dataset="user")
    extractor.name = "tiny-clip"
    return extractor


register_extractor("clip", _clip_factory)
register_known_weights("clip", published_clip_weights)
register_extractor("tiny-clip-shapes", _tiny_clip_shapes_factory)
register_extractor("tiny-clip", _tiny_clip_user_factory)
