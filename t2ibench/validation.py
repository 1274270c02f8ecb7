"""Input checks for every public boundary.

Each check raises ``TypeError`` (wrong kind of object) or ``ValueError`` (right kind,
wrong content) with a message that says what was wrong, where (the argument name),
and what was expected. Nothing here converts silently.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def check_images(x, name: str = "images", *, channels: int | None = 3, min_size: int = 1,
                 data_range: float = 255.0, keep_uint8: bool = False) -> torch.Tensor:
    """Validate an image batch ``[N, C, H, W]`` and return it as a float32 tensor.

    uint8 tensors are accepted as they are; floating tensors must be finite and lie in
    ``[0, data_range]``. Returns a tensor of the same values in float32 (a uint8 tensor itself
    when ``keep_uint8``: for consumers that convert chunk by chunk).
    """
    if isinstance(x, np.ndarray):  # torch refuses negative strides (a flipped view such as x[:, ::-1])
        x = torch.from_numpy(x.copy() if any(s < 0 for s in x.strides) else x)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor or numpy array [N, C, H, W], got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"{name}: expected 4 dimensions [N, C, H, W], got shape {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError(f"{name}: the batch is empty (shape {tuple(x.shape)})")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{name}: expected {channels} channels in dimension 1, got shape {tuple(x.shape)}")
    if min(x.shape[2], x.shape[3]) < min_size:
        raise ValueError(f"{name}: images are {x.shape[2]}x{x.shape[3]}, at least {min_size}x{min_size} is needed")
    if x.dtype == torch.uint8:
        return x if keep_uint8 else x.float()
    if not torch.is_floating_point(x):
        raise TypeError(f"{name}: expected dtype uint8 or a floating dtype, got {x.dtype}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name}: contains NaN or Inf values")
    lo, hi = float(x.min()), float(x.max())
    if lo < 0 or hi > data_range:
        raise ValueError(f"{name}: values must lie in [0, {data_range}] (data_range), got [{lo:.4g}, {hi:.4g}]")
    return x.float()


def check_uint8_images(x, name: str = "images") -> torch.Tensor:
    """Validate a generator's output: a uint8 tensor ``[N, 3, H, W]``."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a uint8 torch.Tensor [N, 3, H, W], got {type(x).__name__}")
    if x.dtype != torch.uint8:
        raise TypeError(f"{name}: expected dtype torch.uint8, got {x.dtype}")
    check_images(x, name)
    return x


def check_same_shape(x: torch.Tensor, y: torch.Tensor, names: tuple[str, str] = ("x", "y")) -> None:
    if tuple(x.shape) != tuple(y.shape):
        raise ValueError(f"{names[0]} and {names[1]} must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")


def check_captions(captions, name: str = "captions") -> list[str]:
    """Validate a non-empty sequence of non-empty ``str`` captions; returns them as a list."""
    if isinstance(captions, (str, bytes)) or not isinstance(captions, Sequence):
        raise TypeError(f"{name}: expected a sequence of str (a list of captions), got {type(captions).__name__}")
    if len(captions) == 0:
        raise ValueError(f"{name}: no captions were given")
    for i, c in enumerate(captions):
        if isinstance(c, (bytes, bytearray)):
            raise TypeError(f"{name}[{i}]: expected str, got {type(c).__name__}; decode it first "
                            f"(e.g. caption.decode('utf-8'))")
        if not isinstance(c, str):
            raise TypeError(f"{name}[{i}]: expected str, got {type(c).__name__}")
        if not c.strip():
            raise ValueError(f"{name}[{i}]: the caption is empty")
        try:
            c.encode("utf-8")
        except UnicodeEncodeError as e:
            raise ValueError(f"{name}[{i}]: the caption is not valid UTF-8 text ({e.reason} at character "
                             f"{e.start}: {c[max(0, e.start - 20):e.start + 1]!r}); it was probably decoded with "
                             f"errors='surrogateescape' from bytes in another encoding") from None
    return list(captions)


def check_features(x, name: str = "features", *, min_rows: int = 1) -> np.ndarray:
    """Validate a 2-d feature array ``[N, D]``; returns it as float64 numpy."""
    if isinstance(x, torch.Tensor):  # numpy has no bfloat16; float32 holds each of its values exactly
        x = x.detach().cpu()
        x = (x.float() if x.dtype == torch.bfloat16 else x).numpy()
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{name}: expected a 2-d array [N, D], got shape {x.shape}")
    if x.shape[0] < min_rows:
        raise ValueError(f"{name}: needs at least {min_rows} rows, got {x.shape[0]}")
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise TypeError(f"{name}: expected a real numeric array, got dtype {x.dtype}")
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise ValueError(f"{name}: contains NaN or Inf values")
    return x


def check_choice(value: str, choices, name: str) -> str:
    """Raise a ValueError listing the known names if ``value`` is not among ``choices``."""
    choices = sorted(choices)
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; known: {', '.join(choices)}")
    return value
