"""The zoo's registry: model name -> builder, configs and paper; shipped weights -> generators.

Configs are kept apart from weights (as open_clip does): each package registers its
``build(config)`` and its named configs (``paper``: the paper's hyper-parameters for
CUB/COCO at full size, for a GPU; ``tiny``: ``shapes`` at 64 px on 2 CPU cores) with
:func:`register_model`, which also registers a generator factory of the same name with
:func:`t2ibench.registry.register_generator`. The factory loads the shipped weights
``models/weights/<name>-<dataset>.safetensors`` (fp16, verified against the sha256 in the
manifest ``<name>-<dataset>.json`` beside it) or a user's file given as ``weights=``; with
``format=FORMAT``, ``weights=`` is a paper's released checkpoint, loaded by that format's key map
(:mod:`models.common.released`, :func:`zoo_generator` wraps both).

**Ablation variants.** A package may register the variants its paper's tables report
(``variants={"aatm-b1": Variant(...)}``): each becomes a zoo model of its own named
``<model>/<variant>`` (e.g. ``ktgan/aatm-b1``) — same build function, every config with the
variant's ``overrides`` merged in (top-level keys replaced, ``train`` keys merged) — trained with
``python -m models.train ktgan/aatm-b1`` and shipped as ``models/weights/ktgan/aatm-b1-shapes.*``.
A variant names the paper table whose row it is (``table``), so the rows of one table can be
trained under one budget and listed together (:func:`list_variants`).
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from models.common.gan import TextToImageGAN, ZooGenerator
from models.common.text_encoder import ZOO_WEIGHTS_DIR, text_encoder_for
from t2ibench.evaluators.training import training_settings
from t2ibench.registry import Registry, register_generator


class NoWeightsError(ValueError):
    """A zoo model has no trained weights for the requested dataset."""


@dataclass(frozen=True)
class Variant:
    """One ablation row of a paper's table: ``overrides`` of the model's configs (top-level keys
    replaced, ``train`` merged key by key), the ``table`` it is a row of (e.g. "KT-GAN Table II")
    and what it changes, in words (``description``)."""

    description: str
    table: str
    overrides: dict = field(default_factory=dict)


@dataclass
class ZooModel:
    name: str
    build: Callable[[dict], TextToImageGAN]
    configs: dict[str, dict]
    paper: str
    #: for an ablation variant: the model it varies and its :class:`Variant`
    parent: str | None = None
    variant: Variant | None = None

    def config(self, which: str = "tiny", **overrides) -> dict:
        """A copy of config ``which`` (its ``train`` completed from
        :data:`models.common.phases.TRAIN_DEFAULTS`) with top-level ``overrides`` and ``train``
        overrides merged in."""
        from models.common.phases import TRAIN_DEFAULTS

        if which not in self.configs:
            raise ValueError(f"{self.name}: unknown config {which!r}; known: {', '.join(self.configs)}")
        config = copy.deepcopy(self.configs[which])
        config["train"] = {**copy.deepcopy(TRAIN_DEFAULTS), **config["train"]}
        train = overrides.pop("train", None)
        unknown = set(overrides) - set(config)
        if unknown:
            raise ValueError(f"{self.name}: unknown config keys {sorted(unknown)}")
        config.update(overrides)
        if train:
            config["train"] = training_settings(config["train"], train)
        return config


MODELS = Registry("zoo model")


def with_overrides(config: dict, overrides: dict) -> dict:
    """A copy of ``config`` with ``overrides``: top-level keys replaced, ``train`` merged key by key."""
    merged = {**copy.deepcopy(config), **copy.deepcopy({k: v for k, v in overrides.items() if k != "train"})}
    if "train" in overrides:
        merged["train"] = {**merged["train"], **copy.deepcopy(overrides["train"])}
    return merged


def register_model(name: str, build: Callable[[dict], TextToImageGAN], configs: dict[str, dict], paper: str,
                   variants: dict[str, Variant] | None = None) -> None:
    """Register a zoo model, the generator factory that loads its shipped weights, and each of its
    ablation ``variants`` as the model ``<name>/<variant>`` (with its own factory and weights)."""
    _register(ZooModel(name, build, configs, paper))
    for key, variant in (variants or {}).items():
        for config_name, config in configs.items():
            unknown = set(variant.overrides) - set(config)
            if unknown:
                raise ValueError(f"{name}/{key}: overrides of unknown config keys {sorted(unknown)} "
                                 f"(config {config_name!r})")
        _register(ZooModel(f"{name}/{key}", build, {k: with_overrides(c, variant.overrides)
                                                    for k, c in configs.items()}, paper, name, variant))


def _register(entry: ZooModel) -> None:
    name, paper = entry.name, entry.paper
    MODELS.register(name, entry)

    def factory(dataset, device: str = "cpu", weights=None, side_output: int | None = None, format: str | None = None,
                text_encoder_weights=None, text_encoder=None) -> ZooGenerator:
        if format is not None:
            from models.common.released import load_released

            if not weights:
                raise ValueError(f"{name}: format={format!r} needs the released file (weights=PATH)")
            return load_released(name, dataset, weights, format, device=device,
                                 text_encoder_weights=text_encoder_weights, text_encoder=text_encoder,
                                 side_output=side_output)
        if text_encoder is not None:
            raise ValueError(f"{name}: text_encoder= goes with a released format (format=...)")
        return load_pretrained(name, dataset, device=device, weights=weights, side_output=side_output,
                               text_encoder_weights=text_encoder_weights)

    factory.__doc__ = (f"{name} ({paper}) with its shipped weights for the dataset (or ``weights=PATH``); "
                       f"``side_output=PX``: the generator's output at that scale instead of the final image; "
                       f"``format=FORMAT``: ``weights`` is a released file in that format "
                       f"(:mod:`models.common.released`), with the released text encoder "
                       f"(``text_encoder_weights=TEXT_ENCODER.pth,CAPTIONS.pickle``).")
    register_generator(name, factory)


def list_models(variants: bool = False) -> list[str]:
    """The zoo's model names, sorted; with ``variants`` the ablation variants (``model/variant``) too."""
    return [n for n in MODELS.names() if variants or "/" not in n]


def list_variants(name: str | None = None, table: str | None = None) -> list[str]:
    """The ablation variants (``model/variant``) of model ``name`` and/or of paper table ``table``."""
    return [n for n in MODELS.names() if "/" in n and (name is None or MODELS.get(n).parent == name)
            and (table is None or MODELS.get(n).variant.table == table)]


def weights_path(name: str, dataset: str, folder=ZOO_WEIGHTS_DIR) -> Path:
    return Path(folder) / f"{name}-{dataset}.safetensors"


def has_weights(name: str, dataset: str) -> bool:
    return weights_path(name, dataset).is_file()


def code_sha256(build: Callable) -> str:
    """sha256 of the source of a zoo model: the ``.py`` files of its package and of ``models/common``.

    Part of a loaded generator's fingerprint, so that images kept from an earlier run (an image
    folder, :mod:`t2ibench.image_store`) are not reused once the model's code has changed.
    """
    import hashlib
    import inspect

    h = hashlib.sha256()
    for folder in (Path(inspect.getfile(build)).parent, Path(__file__).parent):
        for path in sorted(folder.glob("*.py")):
            h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def load_pretrained(name: str, dataset, device: str = "cpu", weights=None, text_encoder_weights=None,
                    side_output: int | None = None) -> ZooGenerator:
    """The trained generator ``name`` for ``dataset`` (a loaded dataset or its name) as a
    :class:`ZooGenerator`. Errors: :class:`NoWeightsError` when nothing was trained for that
    dataset; ``ValueError`` for a corrupt file, a wrong hash or an image size mismatch.
    ``text_encoder_weights``: another zoo text encoder than the shipped one (it must be the one
    the model was trained with: its sha256 is checked against the manifest). ``side_output``: return the
    generator's images at this size (one of its scales, e.g. HDGAN's side outputs; default the final image)."""
    from t2ibench.evaluators.checkpoint import load_into, load_state

    entry = MODELS.get(name)
    dataset_name = dataset if isinstance(dataset, str) else dataset.name
    path = Path(weights) if weights else weights_path(name, dataset_name)
    if not path.is_file():
        if weights:
            raise ValueError(f"{name} weights: no such file {path}")
        raise NoWeightsError(f"{name}: no trained weights for {dataset_name!r} ({path}); train them with: "
                             f"python -m models.train {name} --config tiny --ship")
    state, config, digest, manifest = load_state(path, what=f"{name} weights")
    if config is None:
        raise ValueError(f"{name} weights {path}: no config in the file or its manifest")
    size = getattr(dataset, "image_size", None)
    if size is not None and size != config["image_size"]:
        raise ValueError(f"{name} weights {path} make {config['image_size']} px images; dataset "
                         f"{dataset_name!r} is loaded at {size} px")
    model = entry.build(config)
    load_into(model.generator, state, path, what=f"{name} weights")
    text_encoder = text_encoder_for(config, dataset_name, weights=text_encoder_weights, device=device)
    expected = manifest.get("text_encoder_sha256")
    if expected and expected != text_encoder.sha256:
        raise ValueError(f"{name} weights {path} were trained with the text encoder {expected[:12]}…, but "
                         f"{text_encoder.path} is {text_encoder.sha256[:12]}…; retrain the model or restore "
                         f"the text encoder")
    return zoo_generator(name, model, config, text_encoder, device,
                         {"weights": path.name, "sha256": digest, "code_sha256": code_sha256(entry.build),
                          "config": config}, side_output)


def zoo_generator(name: str, model: TextToImageGAN, config: dict, text_encoder, device, info: dict,
                  side_output: int | None = None) -> ZooGenerator:
    """The :class:`ZooGenerator` of a loaded ``model``: z truncated where ``config`` says
    (``truncation``), images at ``side_output`` px (one of ``model.image_sizes``; default the final image)."""
    output_index = -1
    if side_output is not None:
        if side_output not in model.image_sizes:
            raise ValueError(f"{name}: side_output {side_output} px is not one of its scales "
                             f"{', '.join(map(str, model.image_sizes))}")
        output_index = model.image_sizes.index(side_output) - len(model.image_sizes)  # -1: the final image
    return ZooGenerator(name, model.generator, model.noise_dim, text_encoder, device=device, info=info,
                        truncation=(config["z_dim"], config["truncation"]) if config.get("truncation") else None,
                        output_index=output_index)
