"""Saving and loading evaluator weights: safetensors only, verified against a manifest.

Every shipped evaluator is two files in ``t2ibench/evaluators/weights/``:
``<name>.safetensors`` (fp32 or fp16 tensors, the architecture config as the file's only
metadata key) and ``<name>.json`` (the manifest: sha256 of the weights, config, the exact
training command, seed, dataset fingerprint, held-out quality). Nothing is ever unpickled.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from t2ibench.io import atomic_write, sha256_file, write_json

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


def save_state(state: dict[str, torch.Tensor], path, config: dict) -> str:
    """Write ``state`` with safetensors (config as metadata), atomically; returns the sha256.

    A single metadata key keeps the file byte-identical across runs (safetensors writes
    several keys in a random order).
    """
    from safetensors.torch import save

    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    blob = save(tensors, metadata={"config": json.dumps(config, sort_keys=True)})
    with atomic_write(path, "wb") as f:
        f.write(blob)
    return sha256_file(path)


def write_manifest(path, manifest: dict) -> None:
    write_json(path, manifest)


def load_state(path, manifest=None, what: str = "weights") -> tuple[dict[str, torch.Tensor], dict | None, str, dict]:
    """Read a safetensors file and check it: returns ``(state, config, sha256, manifest dict)``.

    ``manifest``: a manifest path to verify the sha256 against; ``None`` uses ``<stem>.json``
    next to the file when it exists (else the file is accepted unverified, its sha256 still
    returned); ``False`` skips verification (for a file just written, before its manifest). ``config`` comes from the manifest, else the file's metadata. Any problem —
    missing file, unreadable manifest, hash mismatch, not safetensors — is a ``ValueError``
    naming the file and ``what`` it was meant to be.
    """
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{what}: no such file {path}")
    if manifest is None and path.with_suffix(".json").is_file():
        manifest = path.with_suffix(".json")
    manifest = None if manifest is False else manifest
    digest = sha256_file(path)
    man: dict = {}
    if manifest is not None:
        try:
            man = json.loads(Path(manifest).read_text())
        except (OSError, ValueError) as e:
            raise ValueError(f"{what}: manifest {manifest} is unreadable ({e})") from e
        if man.get("sha256") != digest:
            raise ValueError(f"{what}: {path} has sha256 {digest}, but its manifest {manifest} says "
                             f"{man.get('sha256')}; the file is corrupt or not the one the manifest describes")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise ValueError(f"{what}: {path} is not a readable safetensors file ({e})") from e
    config = man.get("config") or (json.loads(meta["config"]) if "config" in meta else None)
    return state, config, digest, man


def load_into(model: torch.nn.Module, state: dict[str, torch.Tensor], path, what: str = "weights") -> torch.nn.Module:
    """``model.load_state_dict(state, strict=True)`` with a clear error naming the file."""
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()}, strict=True)
    except RuntimeError as e:
        raise ValueError(f"{what}: the tensors in {path} do not fit the architecture ({e})") from e
    return model


def weights_and_manifest_paths(weights, manifest, packaged, what: str, *, packaged_missing: str, train_hint: str,
                               manifest_holds: str) -> tuple[Path, Path | None]:
    """``(weights path, manifest path or None)`` for a loader that takes packaged or user weights.

    ``weights=None``: the ``packaged`` file and its manifest (``manifest`` or ``<stem>.json``), both
    required (``"<packaged_missing> (<files>); <train_hint>"`` otherwise). A user path must exist and
    needs its manifest: ``manifest`` given, or ``<stem>.json`` next to it (which ``manifest_holds``).
    """
    if weights is None:
        path = Path(packaged)
        manifest = path.with_suffix(".json") if manifest is None else Path(manifest)
        if not path.is_file() or not manifest.is_file():
            raise ValueError(f"{packaged_missing} ({path} / {manifest}); {train_hint}")
    else:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise ValueError(f"{what}: no such file {path}")
        if manifest is None and not path.with_suffix(".json").is_file():
            raise ValueError(f"{what} {path}: its manifest {path.with_suffix('.json')} (written next to the "
                             f"weights by training; {manifest_holds}) is missing")
    return path, manifest
