"""The generator contract and its boundary checks.

A generator is any object with ``generate(captions: Sequence[str], seed: int = 0) ->
torch.Tensor`` returning uint8 ``[N, 3, H, W]``, one image per caption, deterministic for a
seed (DESIGN §2).

Seed convention (what makes results independent of batch size): row ``j`` of a call
draws its randomness from the per-caption seed ``seed + j`` (:func:`caption_generator`).
The engine calls ``generate(batch, seed=run_seed + index_of_first_caption)``, so every
image depends only on the run seed and its caption's position in the evaluation plan.
:func:`run_aligned` also removes the float rounding that depends on the batch around a
caption (the zoo uses it): then images are bit-for-bit independent of the batch size.

Optional attributes the engine reads: ``fingerprint`` (what makes two loaded generators draw the
same images: kept images are reused only for the same one) and ``weights_warning`` (``None``, or a
sentence about the files the generator was loaded from, e.g. a text encoder that is no released
file; every result computed with it carries that sentence in ``EvalResult.warnings``).
"""
from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import torch

from t2ibench.validation import check_captions


@runtime_checkable
class Generator(Protocol):
    def generate(self, captions: Sequence[str], seed: int = 0) -> torch.Tensor: ...


def check_generator(gen, name: str):
    """Raise TypeError unless ``gen`` has a callable ``generate``; returns ``gen``."""
    if not callable(getattr(gen, "generate", None)):
        raise TypeError(f"generator {name!r}: the factory returned {type(gen).__name__}, "
                        f"which has no generate(captions, seed) method")
    return gen


def caption_generator(seed: int, j: int, device="cpu") -> torch.Generator:
    """The ``torch.Generator`` for row ``j`` of a call made with ``seed`` (seeded ``seed + j``)."""
    g = torch.Generator(device=device)
    g.manual_seed(int(seed) + int(j))
    return g


def per_caption_noise(seed: int, n: int, shape: Sequence[int], device="cpu") -> torch.Tensor:
    """Standard-normal noise ``[n, *shape]`` whose row ``j`` comes from seed ``seed + j``."""
    return torch.stack([torch.randn(tuple(shape), generator=caption_generator(seed, j), device="cpu")
                        for j in range(n)]).to(device)


def run_aligned(make_batch, n: int, seed: int, chunk: int) -> torch.Tensor:
    """Rows ``0 .. n-1`` of a ``generate(captions, seed)`` call, each computed in a batch of exactly
    ``chunk`` rows at position ``(seed + j) % chunk``: bit-for-bit the same image for row ``j``
    however the caller splits the captions into calls.

    ``make_batch(rows)`` gets ``chunk`` row indices of this call (padded by repeating a real row)
    and returns a tensor with one output per index. Why: float32 convolutions and matrix
    products round differently for different batch shapes, so a network's output for one
    caption changes in the last bits (for uint8 images: now and then one grey level) when the
    batch around it changes; with per-caption seeds and fixed, aligned batches it cannot.
    Costs at most two partly padded batches per call.
    """
    if chunk < 1:
        raise ValueError(f"chunk: expected a positive int, got {chunk!r}")
    parts, j = [], 0
    while j < n:
        pos = (int(seed) + j) % chunk
        take = min(chunk - pos, n - j)
        rows = [j] * pos + list(range(j, j + take)) + [j + take - 1] * (chunk - pos - take)
        parts.append(make_batch(rows)[pos:pos + take])
        j += take
    return torch.cat(parts)


def generator_autocast(precision: str, device):
    """The context a generator's forward pass runs in for ``precision``
    (``defaults.GENERATOR_PRECISIONS``): nothing for "float32", else ``torch.autocast`` on the
    device's type with float16 or bfloat16 (matrix products and convolutions in that dtype, the
    ops autocast keeps in float32 untouched). A ValueError names the choices for any other value, and
    refuses float16 on the CPU (measured: attngan's LSTM fails in oneDNN), where bfloat16 works."""
    from t2ibench import defaults

    if precision not in defaults.GENERATOR_PRECISIONS:
        raise ValueError(f"generator precision: expected one of {', '.join(defaults.GENERATOR_PRECISIONS)}, "
                         f"got {precision!r}")
    if precision == "float32":
        return contextlib.nullcontext()
    device_type = torch.device(device).type
    if precision == "float16" and device_type == "cpu":
        raise ValueError("generator precision float16 is for CUDA: on the CPU not every operator takes it "
                         "(oneDNN's LSTM refuses it); use bfloat16 on the CPU")
    return torch.autocast(device_type, dtype=getattr(torch, precision))


def generate_checked(gen, name: str, captions: Sequence[str], seed: int,
                     image_size: int | None = None) -> torch.Tensor:
    """Call ``gen.generate`` and check its output; errors name the generator.

    A ``ValueError``/``TypeError``/``OSError`` the generator raises passes as it is; any other
    exception becomes a :class:`t2ibench.registry.PluginError` naming the generator (the
    original is its ``__cause__``).

    Checks: uint8, ``[len(captions), 3, H, W]`` (H = W = ``image_size`` when given).
    Returns the images on the CPU.
    """
    captions = check_captions(captions)
    try:
        out = gen.generate(captions, seed=seed)
    except (ValueError, TypeError, OSError):
        raise  # input errors a generator reports itself (a caption it cannot serve, a missing file)
    except Exception as e:  # noqa: BLE001 — any other failure is the generator's own, in one line naming it
        from t2ibench.registry import PluginError

        raise PluginError(f"generator {name!r}: generate() raised {type(e).__name__}: {e}") from e
    where = f"generator {name!r} returned"
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"{where} {type(out).__name__}; expected a uint8 torch.Tensor [N, 3, H, W]")
    if out.dtype != torch.uint8:
        raise TypeError(f"{where} dtype {out.dtype}; expected torch.uint8 (values 0..255)")
    if out.ndim != 4 or out.shape[1] != 3:
        raise ValueError(f"{where} shape {tuple(out.shape)}; expected [N, 3, H, W]")
    if out.shape[0] != len(captions):
        raise ValueError(f"{where} {out.shape[0]} images for {len(captions)} captions; expected one per caption")
    if image_size is not None and tuple(out.shape[2:]) != (image_size, image_size):
        raise ValueError(f"{where} {out.shape[2]}x{out.shape[3]} images; expected {image_size}x{image_size}")
    return out.cpu()
