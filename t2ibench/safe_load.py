"""Reading weight files that users hand us, without running code from them.

One place for the rules every loader follows (Inception, CLIP, DAMSM/VSE++ backbones):

- ``.safetensors`` files are read with safetensors;
- other files only with ``torch.load(weights_only=True)`` (tensors and plain containers);
  torch's own error text, which suggests ``weights_only=False``, is not passed on;
- TorchScript archives are loaded with ``torch.jit.load`` only after refusing any archive
  whose code defines ``__setstate__`` — the one hook that would run code from the file
  while loading (TorchScript is decoded by the C++ loader, never by Python's pickle).

And the rules on their provenance: a file under a published file's name must have its sha256
(:func:`check_known_sha256`); a file under another name whose sha256 is in no table of published
files is used, with a warning the result carries (:func:`unknown_weights_warning`); a failed
download is one :class:`WeightsDownloadFailed` line (:func:`download_failed`).
"""
from __future__ import annotations

import re
import warnings
import zipfile
from pathlib import Path

import torch


def read_state_dict(path, what: str) -> dict[str, torch.Tensor]:
    """``{name: tensor}`` from a safetensors or weights-only torch file; ``{"state_dict": ...}``
    is unwrapped. Errors are ``ValueError`` naming ``what`` and the file."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ValueError(f"{what}: no such file {path}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 — any unreadable file is reported the same way
        raise ValueError(f"{what}: {path} is unreadable as a safetensors file or with torch.load(weights_only=True) "
                         f"({type(e).__name__}); a file that needs full unpickling is refused") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not state or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise ValueError(f"{what}: {path} does not hold a state dict (a mapping of names to tensors)")
    return state


#: BatchNorm's step counter: absent from files saved before PyTorch 0.4.1, and never a weight.
BN_COUNTER = "num_batches_tracked"


def check_state_dict(state: dict, expected: dict[str, tuple[int, ...]], where: str, expected_what: str) -> None:
    """``ValueError`` unless ``state`` has exactly ``expected``'s keys with its shapes (``expected``: key ->
    shape, BatchNorm :data:`BN_COUNTER` s left out), every such tensor floating point. A BatchNorm counter
    may be present or absent, but only beside a BatchNorm of ``expected`` (one whose ``running_mean`` it
    has). Messages start with ``where`` (the file) and name ``expected_what`` (e.g. "AttnGAN's released
    RNN_ENCODER") and up to three keys of each defect."""
    keys = {k for k in state if not k.endswith(BN_COUNTER)}
    missing, extra = sorted(set(expected) - keys), sorted(keys - set(expected))
    extra += sorted(k for k in set(state) - keys if k[:-len(BN_COUNTER)] + "running_mean" not in expected)
    if missing or extra:
        raise ValueError(f"{where}: not {expected_what}: {len(missing)} keys missing (e.g. {missing[:3]}), "
                         f"{len(extra)} unexpected (e.g. {extra[:3]})")
    bad = [(k, tuple(state[k].shape), tuple(shape)) for k, shape in expected.items()
           if tuple(state[k].shape) != tuple(shape)]
    if bad:
        raise ValueError(f"{where}: tensor shapes differ from {expected_what}, e.g. {bad[:3]} (key, in the file, "
                         "expected)")
    not_float = [k for k in expected if not state[k].is_floating_point()]
    if not_float:
        raise ValueError(f"{where}: non-floating tensors where {expected_what} has weights, e.g. {not_float[:3]}")


def is_torchscript(path) -> bool:
    """Whether ``path`` is a TorchScript archive (a zip with ``code/`` and ``constants.pkl``)."""
    path = Path(path)
    if not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
    return (any(n.endswith("/constants.pkl") or n == "constants.pkl" for n in names)
            and any("/code/" in n or n.startswith("code/") for n in names))


def jit_load(path, what: str, device="cpu") -> torch.jit.ScriptModule:
    """``torch.jit.load`` of an archive that defines no ``__setstate__``; clear ``ValueError`` otherwise."""
    path = Path(path)
    with zipfile.ZipFile(path) as z:
        for n in z.namelist():
            if n.endswith(".py") and "code/" in n and re.search(rb"def\s+__setstate__", z.read(n)):
                raise ValueError(f"{what}: the TorchScript archive {str(path)!r} defines __setstate__ ({n}), which "
                                 f"would run code from the file while loading; refused")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load is deprecated in favour of torch.export
        try:
            return torch.jit.load(str(path), map_location=device)
        except Exception as e:  # noqa: BLE001
            first = str(e).splitlines()[0] if str(e) else ""
            raise ValueError(f"{what}: {str(path)!r} looks like a TorchScript archive but torch.jit.load failed "
                             f"({type(e).__name__}: {first})") from None


def check_known_sha256(path, expected: str | None, what: str) -> str:
    """The sha256 of ``path`` when it agrees with the ``expected`` sha256 published for a file of
    that name (a full hash or its published prefix; ``None``: nothing is known, anything
    passes); else ``ValueError`` naming the file, the expected and the actual hash."""
    from t2ibench.io import sha256_file

    digest = sha256_file(path)
    if expected and not digest.startswith(expected):
        raise ValueError(f"{what} file {str(path)!r} has the name of a known file but not its content: expected "
                         f"sha256 {expected}{'…' if len(expected) < 64 else ''}, got {digest} (a corrupt, truncated "
                         f"or different file; download it again, or rename it if it is meant to be another file)")
    return digest


class WeightsDownloadFailed(ValueError, RuntimeError):
    """A library's download of published weights failed (network, HTTP, hash). A ``ValueError``
    so that the CLI reports it as one ``error: ...`` line (exit 2); also a ``RuntimeError``, what
    these failures were before."""


def download_failed(what: str, url: str, error: BaseException, how_to_avoid: str) -> WeightsDownloadFailed:
    """The one-line error for a failed download of ``what`` from ``url``:
    ``downloading <what> from <url> failed (<type>: <first line>); <how_to_avoid>, or check the network``."""
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return WeightsDownloadFailed(f"downloading {what} from {url} failed ({type(error).__name__}: {first}); "
                                 f"{how_to_avoid}, or check the network")


def is_published_sha256(digest: str, known) -> bool:
    """Whether ``digest`` is one of the ``known`` published sha256 values (full hashes, or prefixes
    of at least 8 hex digits where only a prefix is published)."""
    return any(isinstance(h, str) and len(h) >= 8 and digest.startswith(h.lower()) for h in known)


def unknown_weights_warning(path, digest: str, known: dict[str, str]) -> str | None:
    """``None`` when ``digest`` (the sha256 of ``path``) is one of the ``known`` published files'
    (``{file name: sha256 or published prefix}``); else the sentence a result must carry: the file
    is used, but it is not a published file, so its numbers are not comparable with published ones."""
    if is_published_sha256(digest, known.values()):
        return None
    listed = ", ".join(f"{name} sha256 {h[:16]}…" for name, h in known.items()) or "none"
    return (f"unknown weights: {path} (sha256 {digest[:16]}…) is not a published file "
            f"(known: {listed}); its numbers are not comparable with published ones")
