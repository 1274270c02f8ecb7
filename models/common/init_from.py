"""Initialise a model's networks from another trained model (KT-GAN's student starts from its teacher).

``config["train"]["init_from"]`` maps a network attribute of the model (``"generator"``,
``"discriminators"``, …) to a source:

- a zoo model name (``"attngan"``): that model's shipped generator weights for the dataset
  (``models/weights/<name>-<dataset>.safetensors``, verified against its manifest's sha256);
- a path to a shipped-generator file (safetensors written by :func:`models.common.checkpoint.save_generator`);
- a path to a training checkpoint (``OUT/NAME/checkpoint.safetensors``): its ``generator``,
  ``discriminators`` or any other saved network of the same name.

A source is a string, or ``{"from": str, "strict": bool}``; ``strict=False`` copies only the
tensors whose names and shapes match (a student with layers its teacher lacks) and reports
how many. Applied once, to a fresh run (a resumed run reads its own checkpoint). Every
source is recorded with its sha256 in the training manifest.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from models.common.checkpoint import FORMAT, load_training_state


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _resolve(source: str, dataset: str) -> Path:
    from models.common.zoo import MODELS, weights_path

    if source in MODELS:
        path = weights_path(source, dataset)
        if not path.is_file():
            raise ValueError(f"init_from: the zoo model {source!r} has no weights for {dataset!r} ({path}); "
                             f"train it first: python -m models.train {source} --ship")
        return path
    path = Path(source).expanduser()
    if not path.is_file():
        raise ValueError(f"init_from: {source!r} is neither a zoo model nor a file")
    return path


def _is_training_checkpoint(path: Path) -> bool:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            return (f.metadata() or {}).get("format") == FORMAT
    except Exception:  # noqa: BLE001 - not a safetensors file at all: load_state below names the problem
        return False


def source_state(path: Path, network: str) -> dict[str, torch.Tensor]:
    """The state dict of ``network`` in the file ``path`` (a training checkpoint or a generator file)."""
    if _is_training_checkpoint(path):
        state = load_training_state(path)
        if network not in state or not isinstance(state[network], dict):
            raise ValueError(f"init_from: the training checkpoint {path} holds no {network!r} "
                             f"(it has {', '.join(k for k, v in state.items() if isinstance(v, dict))})")
        return state[network]
    if network != "generator":
        raise ValueError(f"init_from: {path} is a generator file; it cannot initialise {network!r}")
    from t2ibench.evaluators.checkpoint import load_state

    return load_state(path, what="init_from weights")[0]


def initialise(model: torch.nn.Module, init_from: dict | None, dataset: str) -> list[dict]:
    """Copy each source of ``init_from`` into the model's network; returns what was loaded."""
    report = []
    for network, spec in (init_from or {}).items():
        spec = {"from": spec} if isinstance(spec, str) else dict(spec)
        target = getattr(model, network, None)
        if not isinstance(target, torch.nn.Module):
            raise ValueError(f"init_from: the model has no network {network!r}")
        path = _resolve(spec["from"], dataset)
        state = source_state(path, network)
        own = target.state_dict()
        if spec.get("strict", True):
            try:
                target.load_state_dict({k: v.to(own[k].dtype) if k in own else v for k, v in state.items()})
            except RuntimeError as e:
                raise ValueError(f"init_from: {path} does not fit {network} ({e}); pass strict: false to copy "
                                 f"only the matching tensors") from e
            copied = len(own)
        else:
            match = {k: v.to(own[k].dtype) for k, v in state.items() if k in own and own[k].shape == v.shape}
            target.load_state_dict(match, strict=False)
            copied = len(match)
        report.append({"network": network, "from": str(spec["from"]), "file": str(path), "sha256": _sha256(path),
                       "tensors_copied": copied, "tensors_in_network": len(own)})
    return report
