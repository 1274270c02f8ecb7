"""Training checkpoints and shipped generator weights, both as safetensors — nothing is unpickled.

A training checkpoint holds nested state (model and EMA weights, every optimizer's
``state_dict`` with its int keys and hyper-parameters, GradScaler state, epoch, history).
:func:`pack_state` splits such a structure into a flat ``{name: tensor}`` dict and a JSON
skeleton that records where each tensor goes; :func:`save_training_state` writes the
tensors with safetensors and the skeleton as the file's metadata, atomically, and
:func:`load_training_state` rebuilds the structure. Non-tensor leaves must be JSON values
(int, float, str, bool, None); dict keys may be str or int; lists and tuples are kept apart.

Shipped generators (:func:`save_generator`): the EMA generator's tensors in fp16 (fp32
with ``dtype="float32"``), the model config as metadata, and a manifest
``<name>.json`` beside it (sha256, config, training command, timings, measured quality).
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from t2ibench.io import atomic_write

FORMAT = "t2ibench-gan-checkpoint-v1"


def pack_state(obj, tensors: dict | None = None):
    """``(tensors, skeleton)``: ``obj``'s tensors under keys ``t0, t1, ...`` and a JSON skeleton."""
    tensors = {} if tensors is None else tensors
    if isinstance(obj, torch.Tensor):
        key = f"t{len(tensors)}"
        tensors[key] = obj.detach().cpu().contiguous().clone()
        return tensors, {"__tensor__": key}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise TypeError(f"checkpoint state: dict keys must be str or int, got {type(k).__name__}")
            items.append([k, pack_state(v, tensors)[1]])
        return tensors, {"__dict__": items}
    if isinstance(obj, (list, tuple)):
        kind = "__tuple__" if isinstance(obj, tuple) else "__list__"
        return tensors, {kind: [pack_state(v, tensors)[1] for v in obj]}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return tensors, obj
    raise TypeError(f"checkpoint state: cannot store a {type(obj).__name__}")


def unpack_state(skeleton, tensors: dict):
    """Inverse of :func:`pack_state`."""
    if isinstance(skeleton, dict):
        if "__tensor__" in skeleton:
            return tensors[skeleton["__tensor__"]]
        if "__dict__" in skeleton:
            return {k: unpack_state(v, tensors) for k, v in skeleton["__dict__"]}
        if "__list__" in skeleton:
            return [unpack_state(v, tensors) for v in skeleton["__list__"]]
        if "__tuple__" in skeleton:
            return tuple(unpack_state(v, tensors) for v in skeleton["__tuple__"])
        raise ValueError(f"checkpoint skeleton: unexpected node {sorted(skeleton)}")
    return skeleton


def save_training_state(path, state: dict) -> None:
    """Write ``state`` (see the module docstring) to ``path`` atomically."""
    from safetensors.torch import save

    tensors, skeleton = pack_state(state)
    blob = save(tensors, metadata={"format": FORMAT, "skeleton": json.dumps(skeleton)})
    with atomic_write(path, "wb") as f:
        f.write(blob)


def load_training_state(path) -> dict:
    """Read a checkpoint written by :func:`save_training_state`; a ``ValueError`` names the file
    when it is missing, truncated, corrupt or not a training checkpoint."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = f.metadata() or {}
            if meta.get("format") != FORMAT:
                raise ValueError("it is not a t2ibench GAN training checkpoint")
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        return unpack_state(json.loads(meta["skeleton"]), tensors)
    except (SafetensorError, OSError, RuntimeError, KeyError, json.JSONDecodeError, ValueError) as e:
        raise ValueError(f"training checkpoint {path} is unreadable or corrupt ({e}); delete it to train "
                         f"from scratch") from e


def save_generator(state: dict[str, torch.Tensor], path, config: dict, dtype: str = "float16") -> str:
    """Write a generator's weights (floating tensors cast to ``dtype``) with the config as metadata,
    atomically (:func:`t2ibench.evaluators.checkpoint.save_state`); returns the file's sha256."""
    from t2ibench.evaluators.checkpoint import save_state

    cast = getattr(torch, dtype)
    return save_state({k: v.to(cast) if v.is_floating_point() else v for k, v in state.items()}, path, config)
