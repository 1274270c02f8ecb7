"""The zoo's registry: model name -> builder, configs and paper; shipped weights -> generators.

Configs are kept apart from weights (as open_clip does): each package registers its
``build(config)`` and its named configs (``paper``: the paper's hyper-parameters for
CUB/COCO at full size, for a GPU; ``tiny``: ``shapes`` at 64 px on 2 CPU cores) with
:func:`register_model`, which also registers a generator factory of the same name with
:func:`t2ibench.registry.register_generator`. The factory loads the shipped weights
``models/weights/<name>-<dataset>.safetensors`` (fp16, verified against the sha256 in the
manifest ``<name>-<dataset>.json`` beside it) or a user's file given as ``weights=``.
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from models.common.gan import TextToImageGAN, ZooGenerator
from models.common.text_encoder import ZOO_WEIGHTS_DIR, text_encoder_for
from t2ibench.evaluators.training import training_settings
from t2ibench.registry import Registry, register_generator


class NoWeightsError(ValueError):
    """A zoo model has no trained weights for the requested dataset."""


@dataclass
class ZooModel:
    name: str
    build: Callable[[dict], TextToImageGAN]
    configs: dict[str, dict]
    paper: str

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


def register_model(name: str, build: Callable[[dict], TextToImageGAN], configs: dict[str, dict], paper: str) -> None:
    """Register a zoo model and the generator factory that loads its shipped weights."""
    MODELS.register(name, ZooModel(name, build, configs, paper))

    def factory(dataset, device: str = "cpu", weights=None) -> ZooGenerator:
        return load_pretrained(name, dataset, device=device, weights=weights)

    factory.__doc__ = f"{name} ({paper}) with its shipped weights for the dataset (or ``weights=PATH``)."
    register_generator(name, factory)


def list_models() -> list[str]:
    return MODELS.names()


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


def load_pretrained(name: str, dataset, device: str = "cpu", weights=None, text_encoder_weights=None) -> ZooGenerator:
    """The trained generator ``name`` for ``dataset`` (a loaded dataset or its name) as a
    :class:`ZooGenerator`. Errors: :class:`NoWeightsError` when nothing was trained for that
    dataset; ``ValueError`` for a corrupt file, a wrong hash or an image size mismatch.
    ``text_encoder_weights``: another zoo text encoder than the shipped one (it must be the one
    the model was trained with: its sha256 is checked against the manifest)."""
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
    return ZooGenerator(name, model.generator, model.noise_dim, text_encoder, device=device,
                        info={"weights": path.name, "sha256": digest, "code_sha256": code_sha256(entry.build),
                              "config": config},
                        truncation=(config["z_dim"], config["truncation"]) if config.get("truncation") else None)
