"""The papers' released generator checkpoints, loaded into the zoo's networks by explicit key maps.

A **released format** (:class:`ReleasedFormat`, registered by name with :func:`register_format`) says
which zoo model a released file loads into and how:

- ``read``: how its tensors come out of the file — a state dict through
  :func:`t2ibench.safe_load.read_state_dict` (``torch.load(weights_only=True)``: AttnGAN's, DM-GAN's,
  StackGAN-v2's ``netG`` files), or a whole pickled module through
  :func:`models.common.module_pickle.read_module_pickle` (CPGAN's ``.pkl``);
- ``infer``: the zoo config's widths read from the file's shapes (``{"ngf": ..., "r_num": ...}``), so one map
  serves every width (the papers' sizes, and the tests' reduced widths);
- ``key_map(config)``: a :class:`KeyMap` — *data*: the zoo's key prefixes and the released prefixes they
  come from (``"stages.{k}.residual.{j}.body."`` <- ``"h_net{k+2}.residual.{j}.block."``) and the few
  tensors that are not copied as they are (:class:`Transform`: a Conv2d 1x1 weight stored as the zoo's
  Conv1d, input columns in another order);
- ``refuse``: where the zoo's network is not the released one, the reason, and nothing is loaded.

One function, :func:`map_state`, applies any map: every tensor of the zoo's generator must come from
exactly one released key (a released BatchNorm may lack ``num_batches_tracked``, which PyTorch 0.3-0.4.0
did not save: it is set to 0, which changes nothing in eval mode), every released key must be used, and
every shape must be the one the zoo's tensor needs; otherwise a ``ValueError`` names the file and the keys
(missing, unexpected, or with the wrong shape) — a file is never loaded in part.

:func:`load_released` makes the benchmark's generator (:class:`~models.common.gan.ZooGenerator`) from a
released file and the text encoder the release was trained with (``text_encoder_weights``: AttnGAN's
released DAMSM, ``text_encoder*.pth,captions.pickle``, read by :class:`ReleasedTextEncoder`; StackGAN's
char-CNN-RNN embeddings, the data root);
``load_generator(name, weights=PATH, format=FORMAT, text_encoder_weights=...)`` reaches it through the zoo's
generator factories.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from models.common.text_encoder import FrozenTextEncoder
from t2ibench.registry import Registry

#: a released file saved from ``nn.DataParallel`` has every key under this prefix (StackGAN-v2's)
DATA_PARALLEL_PREFIX = "module."
#: BatchNorm buffers that PyTorch before 0.4.1 did not save (set to 0 when a released file lacks them)
OPTIONAL_SUFFIX = "num_batches_tracked"


@dataclass(frozen=True)
class Transform:
    """How a released tensor becomes the zoo's: ``released_shape(zoo shape)`` is the shape the released
    tensor must have, ``apply(tensor)`` the zoo's tensor; ``description`` says it in words."""

    description: str
    released_shape: Callable[[tuple], tuple]
    apply: Callable[[torch.Tensor], torch.Tensor]


COPY = Transform("copied as it is", lambda shape: shape, lambda t: t)

#: AttnGAN's ``conv_context`` is a Conv2d 1x1 applied to the words as ``[N, D, T, 1]``; the zoo's is a Conv1d
CONV2D_1X1_AS_CONV1D = Transform("a Conv2d 1x1 weight [out, in, 1, 1] used as the zoo's Conv1d weight [out, in, 1]",
                                 lambda shape: (*shape, 1), lambda t: t[..., 0])


def swap_input_blocks(first: int, released: str, zoo: str) -> Transform:
    """Input columns (dim 1) stored as ``[A (first columns) | B]`` in the release, ``[B | A]`` in the zoo
    (``released``/``zoo`` name the orders in words, e.g. "(c, z)" and "(z, c)")."""
    def apply(t: torch.Tensor) -> torch.Tensor:
        return torch.cat([t[:, first:], t[:, :first]], dim=1)

    return Transform(f"input columns reordered from the release's {released} to the zoo's {zoo}",
                     lambda shape: shape, apply)


_FIELD = re.compile(r"\{(\w+)(?:\+(\d+))?\}")


@dataclass(frozen=True)
class KeyMap:
    """``prefixes``: ``(zoo prefix pattern, released prefix template)`` pairs, tried in order; ``{k}`` in a
    pattern matches a number, ``{k+2}`` in a template writes it plus 2; the rest of the key is kept.
    ``transforms``: ``{zoo key pattern: Transform}`` for the tensors that are not copied (default :data:`COPY`)."""

    prefixes: tuple[tuple[str, str], ...]
    transforms: dict = field(default_factory=dict)

    def translate(self, zoo_key: str) -> tuple[str, Transform] | None:
        """``(released key, transform)`` of one zoo key, or ``None`` when no prefix of the map covers it."""
        for pattern, template in self.prefixes:
            match = _pattern(pattern).match(zoo_key)
            if match:
                values = {k: int(v) for k, v in match.groupdict().items()}
                released = _FIELD.sub(lambda m: str(values[m[1]] + int(m[2] or 0)), template) + zoo_key[match.end():]
                for key_pattern, transform in self.transforms.items():
                    if _pattern(key_pattern).fullmatch(zoo_key):
                        return released, transform
                return released, COPY
        return None


@functools.lru_cache(maxsize=None)
def _pattern(pattern: str) -> re.Pattern:
    parts = _FIELD.split(pattern)   # literal, name, increment, literal, ...
    regex = "".join(re.escape(p) if i % 3 == 0 else f"(?P<{p}>\\d+)" if i % 3 == 1 else ""
                    for i, p in enumerate(parts) if p is not None)
    return re.compile(regex)


@dataclass(frozen=True)
class ReleasedFormat:
    """One released checkpoint format (module docstring). ``files``: the released file names per dataset
    (what users have); ``configs``: the zoo config each dataset starts from (``"default"`` for any other; the
    widths are then read from the file); ``text_encoder``: the release's text encoder, in words, and
    ``make_text_encoder(dataset, text_encoder_weights, device)`` that builds it (dataset: a loaded dataset or
    its name), or ``None`` with ``no_text_encoder`` saying why none can be; ``notes``: every difference
    between the released code and the zoo's network that the map does not remove."""

    name: str
    model: str
    source: str
    files: dict[str, str]
    configs: dict[str, str]
    read: Callable | None = None
    infer: Callable | None = None
    key_map: Callable | None = None
    text_encoder: str | None = None
    no_text_encoder: str = ""
    make_text_encoder: Callable | None = None
    refuse: str | None = None
    notes: str = ""


FORMATS = Registry("released weights format")


def register_format(fmt: ReleasedFormat) -> ReleasedFormat:
    FORMATS.register(fmt.name, fmt)
    return fmt


def list_formats(model: str | None = None) -> list[str]:
    """The released formats (of zoo model ``model``), sorted."""
    _import_zoo()
    return [n for n in FORMATS.names() if model is None or FORMATS.get(n).model == model]


def get_format(name: str) -> ReleasedFormat:
    _import_zoo()
    return FORMATS.get(name)


def describe_formats() -> dict[str, list[str]]:
    """``{format: lines}`` for ``t2ibench list formats``: the zoo model, the released code, the files, and
    the refusal or the text encoder it needs."""
    out = {}
    for name in list_formats():
        f = FORMATS.get(name)
        lines = [f"zoo model {f.model}; {f.source}",
                 "files: " + "; ".join(f"{d}: {file}" for d, file in f.files.items())]
        if f.refuse:
            lines.append(f"refused: {f.refuse}")
        else:
            lines.append(f"text encoder: {f.text_encoder}" if f.make_text_encoder
                         else f"text encoder: none ({f.no_text_encoder})")
        out[name] = lines
    return out


def _import_zoo() -> None:
    import models  # noqa: F401 — each model package registers its released formats


def _listed(keys, limit: int = 8) -> str:
    keys = sorted(keys)
    return ", ".join(repr(k) for k in keys[:limit]) + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def strip_prefix(state: dict[str, torch.Tensor], prefix: str = DATA_PARALLEL_PREFIX) -> dict[str, torch.Tensor]:
    """``state`` without ``prefix`` when *every* key has it (a file saved from ``nn.DataParallel``)."""
    if state and all(k.startswith(prefix) for k in state):
        return {k[len(prefix):]: v for k, v in state.items()}
    return state


def map_state(released: dict[str, torch.Tensor], key_map: KeyMap, zoo_state: dict[str, torch.Tensor],
              what: str) -> dict[str, torch.Tensor]:
    """The zoo's state dict from a released one: every zoo key from its released key (:class:`KeyMap`), each
    shape checked; ``ValueError`` naming ``what`` and the keys when a released key is missing, left over or
    of the wrong shape. A zoo key the map does not cover is also a ``ValueError`` (the map is incomplete for
    this network: refused, never loaded in part)."""
    plan, unmapped = {}, []
    for zoo_key in zoo_state:
        found = key_map.translate(zoo_key)
        if found is None:
            unmapped.append(zoo_key)
        else:
            plan[found[0]] = (zoo_key, found[1])
    if unmapped:
        raise ValueError(f"{what}: the key map has no released key for the zoo network's {_listed(unmapped)}; "
                         f"the zoo's architecture is not the released one, so nothing is loaded")
    missing = [k for k in plan if k not in released and not k.endswith(OPTIONAL_SUFFIX)]
    extra = [k for k in released if k not in plan]
    if missing or extra:
        parts = ([f"missing released keys {_listed(missing)}"] if missing else []) + (
            [f"unexpected keys {_listed(extra)} (the zoo's network has no place for them)"] if extra else [])
        raise ValueError(f"{what}: not the released architecture: {'; '.join(parts)}; nothing is loaded")
    out = {}
    for released_key, (zoo_key, transform) in plan.items():
        target = zoo_state[zoo_key]
        if released_key not in released:   # num_batches_tracked of a PyTorch 0.3-0.4.0 file
            out[zoo_key] = torch.zeros_like(target)
            continue
        tensor = released[released_key]
        expected = tuple(transform.released_shape(tuple(target.shape)))
        if tuple(tensor.shape) != expected:
            how = "" if transform is COPY else f" ({transform.description})"
            raise ValueError(f"{what}: key {released_key!r} has shape {tuple(tensor.shape)}, expected {expected} "
                             f"for the zoo's {zoo_key}{how}; nothing is loaded")
        out[zoo_key] = transform.apply(tensor).to(target.dtype).contiguous()
    return out


def required_key(state: dict[str, torch.Tensor], key: str, what: str, ndim: int) -> torch.Tensor:
    """``state[key]`` with ``ndim`` dimensions, or a ``ValueError`` saying the file is not in the format."""
    if key not in state:
        raise ValueError(f"{what}: no key {key!r}, so this is not a file of this format (its keys begin: "
                         f"{_listed(list(state)[:8])})")
    if state[key].ndim != ndim:
        raise ValueError(f"{what}: key {key!r} has shape {tuple(state[key].shape)}, expected {ndim} dimensions")
    return state[key]


def count_keys(state, template: str, start: int = 0) -> int:
    """How many consecutive ``template.format(i)`` keys, ``i = start, start + 1, ...``, ``state`` has."""
    n = 0
    while template.format(start + n) in state:
        n += 1
    return n


def load_released_state(fmt: ReleasedFormat | str, path, dataset: str = "cub") -> tuple:
    """Read released file ``path`` in format ``fmt`` and build the zoo model it fits:
    ``(zoo model with the released generator weights, config, sha256 of the file)``. Refusals
    (``fmt.refuse``, an unreadable file, a key or shape mismatch) are ``ValueError`` s naming the file."""
    from models.common.zoo import MODELS
    from t2ibench.io import sha256_file
    from t2ibench.safe_load import read_state_dict

    fmt = get_format(fmt) if isinstance(fmt, str) else fmt
    what = f"{fmt.name} weights {path}"
    if fmt.refuse:
        raise ValueError(f"{fmt.name}: refused: {fmt.refuse}")
    path = Path(path).expanduser()
    state = (fmt.read or read_state_dict)(path, what)
    state = strip_prefix(state)
    entry = MODELS.get(fmt.model)
    config = entry.config(fmt.configs.get(dataset, fmt.configs["default"]))
    config.update(fmt.infer(state, what), dataset=dataset)
    model = entry.build(config)
    mapped = map_state(state, fmt.key_map(config), model.generator.state_dict(), what)
    model.generator.load_state_dict(mapped, strict=True)
    return model, config, sha256_file(path)


class ReleasedTextEncoder(FrozenTextEncoder):
    """AttnGAN's released DAMSM text encoder as a released generator reads it: ``weights`` =
    ``TEXT_ENCODER.pth[,IMAGE_ENCODER.pth],CAPTIONS.pickle`` (:mod:`t2ibench.evaluators.damsm_release`: the
    released files' keys, shapes and known sha256s checked, AttnGAN's tokenisation), cut at AttnGAN's
    *evaluation* word limit (``eval_bird.yml`` 25, ``eval_coco.yml`` 20; DM-GAN's evaluation configs alike),
    as the released ``main.py`` generated the images the papers scored — where the zoo's
    :class:`FrozenTextEncoder` given the same files (for training) uses the training limit (18, 12). One
    difference remains: a longer caption keeps its first words here, while the released ``TextDataset.get_caption``
    keeps a random ordered subset of them (``np.random.shuffle``, drawn anew at each read).
    ``weights_warning``: ``None``, or the sentence for encoder files that are no released file."""

    def __init__(self, dataset: str, weights, device="cpu"):
        from t2ibench.evaluators.damsm_release import load_released_damsm, parse_spec

        files = parse_spec(weights)
        if files is None:
            raise ValueError(f"text encoder {weights!r}: a released generator reads AttnGAN's released DAMSM, "
                             f"named TEXT_ENCODER.pth,CAPTIONS.pickle (e.g. DAMSMencoders/bird/text_encoder200.pth,"
                             f"data/birds/captions.pickle)")
        self.damsm, self.tokenizer, self.sha256, info = load_released_damsm(files, dataset, "eval", device=device)
        self.weights_warning = info.get("weights_warning")
        self._frozen(files.text, ", ".join(Path(f["path"]).name for f in info["files"].values()),
                     info["backbone_description"], device)


def released_damsm(dataset, text_encoder_weights, device) -> ReleasedTextEncoder:
    """``make_text_encoder`` of AttnGAN's and DM-GAN's releases: :class:`ReleasedTextEncoder`."""
    if not text_encoder_weights:
        raise ValueError("the released generator reads AttnGAN's released DAMSM: give its files as "
                         "text_encoder_weights= (--generator-text-encoder NAME=...) TEXT_ENCODER.pth,CAPTIONS.pickle, "
                         "e.g. DAMSMencoders/bird/text_encoder200.pth,data/birds/captions.pickle")
    return ReleasedTextEncoder(dataset if isinstance(dataset, str) else dataset.name, text_encoder_weights, device)


def load_released(name: str, dataset, weights, format: str, device: str = "cpu", text_encoder_weights=None,
                  text_encoder=None, side_output: int | None = None):
    """Zoo generator ``name`` with the released weights ``weights`` in released format ``format``, as a
    :class:`~models.common.gan.ZooGenerator`. ``text_encoder_weights``: the files of the release's text encoder
    (``fmt.make_text_encoder``; AttnGAN's DAMSM: ``TEXT_ENCODER.pth,CAPTIONS.pickle``, StackGAN's char-CNN-RNN
    embeddings: the data root, by default the dataset's); ``text_encoder``: an encoder object to use instead
    (its ``dim`` must be the generator's text width). ``side_output``: as :func:`models.common.zoo.load_pretrained`."""
    from models.common.zoo import MODELS, code_sha256, zoo_generator

    fmt = get_format(format)
    if fmt.model != name:
        raise ValueError(f"format {format!r} is a release of {fmt.model!r}, not of {name!r}; the released formats "
                         f"of {name!r}: {', '.join(list_formats(name)) or 'none'}")
    dataset_name = dataset if isinstance(dataset, str) else dataset.name
    model, config, digest = load_released_state(fmt, weights, dataset_name)
    size = getattr(dataset, "image_size", None)
    if size is not None and size != config["image_size"]:
        raise ValueError(f"{fmt.name} weights {weights} make {config['image_size']} px images; dataset "
                         f"{dataset_name!r} is loaded at {size} px")
    if text_encoder is None:
        if fmt.make_text_encoder is None:
            raise ValueError(f"{fmt.name}: {fmt.no_text_encoder}")
        try:
            text_encoder = fmt.make_text_encoder(dataset, text_encoder_weights, device)
        except ValueError as e:
            raise ValueError(f"{fmt.name}: {e}") from None
    if getattr(text_encoder, "dim", config["text_dim"]) != config["text_dim"]:
        raise ValueError(f"{fmt.name} weights {weights} read {config['text_dim']}-d text features, but the text "
                         f"encoder gives {text_encoder.dim}-d ones")
    describe = getattr(text_encoder, "describe", dict)
    return zoo_generator(name, model, config, text_encoder, device,
                         {"weights": Path(weights).name, "sha256": digest, "format": fmt.name,
                          "code_sha256": code_sha256(MODELS.get(name).build), "config": config,
                          "text_encoder": describe(), "text_encoder_sha256": getattr(text_encoder, "sha256", None),
                          "text_encoder_warning": getattr(text_encoder, "weights_warning", None)},
                         side_output)
