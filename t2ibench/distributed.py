"""Evaluation sharded over processes with PyTorch's own distributed runtime (``torchrun``).

Usage: the same command as one process, behind ``torchrun``::

    torchrun --nproc-per-node 4 -m t2ibench eval --generator attngan --dataset shapes --out runs/attngan
    torchrun --nproc-per-node 4 benchmark.py --table none

Each of the K processes (ranks) generates and extracts features for its own contiguous part of
the evaluation plan; rank 0 gathers the features, paired-metric values and kept images,
computes every metric and writes the results. Other ranks write nothing but their own image
shards (``OUT/images/shard-*``) and print nothing but errors. Started without torchrun (no
``WORLD_SIZE`` above 1 in the environment), nothing changes: no process group, one process.

Same values as one process, bit for bit: image ``k`` is generated with the per-caption seed
``seed + k`` (:mod:`t2ibench.generators.base`), whichever rank makes it; each rank's part
(:func:`plan_span`) starts and ends on a multiple of ``defaults.FEATURE_BATCH_SIZE`` (the fixed
chunks features and paired metrics are computed in), of the image folder's shard size (so each
rank writes whole shards of its own, and an interrupted run resumes shard by shard, with any
K, as one process does) and, without an image folder, of the generation batch size (so even a
generator whose output depends on the batch around a caption is called with the same batches as
in one process). Rank 0 concatenates the parts in plan order.

Devices: on CPU the process group uses gloo; on CUDA (``--device cuda`` or ``auto``) each rank
takes ``cuda:LOCAL_RANK`` and the group uses NCCL for CUDA tensors and gloo for the CPU objects
this module exchanges (``"cpu:gloo,cuda:nccl"``). A group that already exists (one the zoo's
trainer made, or the caller's) is used as it is.

Caches and downloads: the real-image feature cache (:func:`t2ibench.engine.real_features`) and the
caption-embedding caches are read or built by rank 0 alone (only its metrics read them), so no two
processes write one cache file. A dataset given by name (its on-disk cache: ``shapes``) and the
feature extractors (a download of published weights) are loaded by rank 0 first, then by the others
(:func:`main_first`). A plug-in generator that downloads its own weights is loaded by every rank.

Failures: a rank that raises exits with its own error (prefixed ``error (rank r of K)`` by the
CLI); torchrun then stops the other ranks. Started by another launcher, the others see the lost
connection at their next exchange, or at the latest after the process group's timeout,
``$T2IBENCH_DIST_TIMEOUT`` seconds (default ``defaults.DIST_TIMEOUT_S``): it must cover the
longest wait of one rank for another, which is rank 0 building the real-image feature cache on
a first run, and computing the metrics. Either way they raise :class:`DistributedError`
saying so, never hang for ever.
"""
from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

from t2ibench import defaults


class DistributedError(ConnectionError):
    """The exchange with the other ranks failed: one of them failed or was killed, or took longer
    than the process group's timeout."""


@dataclass(frozen=True)
class Ranks:
    """Where this process stands: ``rank`` of ``world`` processes, ``local_rank`` on its machine."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        """More than one process: the work is sharded."""
        return self.world > 1

    @property
    def is_main(self) -> bool:
        """Rank 0, the process that computes the metrics and writes the results."""
        return self.rank == 0

    def label(self) -> str:
        """``" (rank r of K)"`` when sharded, else ``""`` (for messages)."""
        return f" (rank {self.rank} of {self.world})" if self.active else ""


_local_only = False


@contextlib.contextmanager
def local_only():
    """Inside the block this process acts as the only one (:func:`ranks` is ``Ranks()``): for work that
    one rank does alone while the others do not take part, such as the trainer's quality check on rank
    0 after training (an evaluation there must not wait for the other ranks)."""
    global _local_only
    before, _local_only = _local_only, True
    try:
        yield
    finally:
        _local_only = before


def ranks() -> Ranks:
    """This process's :class:`Ranks`, from torchrun's ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` (one process
    when they are unset, or inside :func:`local_only`). A malformed value is a ``ValueError`` naming it."""
    if _local_only:
        return Ranks()
    values = {}
    for name, default in (("RANK", 0), ("WORLD_SIZE", 1), ("LOCAL_RANK", 0)):
        text = os.environ.get(name, "").strip()
        try:
            values[name] = int(text) if text else default
        except ValueError:
            raise ValueError(f"${name}={text!r}: expected an integer (set by torchrun)") from None
    r = Ranks(values["RANK"], values["WORLD_SIZE"], values["LOCAL_RANK"])
    if r.world < 1 or not 0 <= r.rank < r.world or r.local_rank < 0:
        raise ValueError(f"$RANK={r.rank}, $WORLD_SIZE={r.world}, $LOCAL_RANK={r.local_rank}: expected "
                         f"0 <= RANK < WORLD_SIZE and LOCAL_RANK >= 0")
    return r


def rank_label() -> str:
    """``" (rank r of K)"`` when sharded, else ``""``; never raises (for error messages)."""
    try:
        return ranks().label()
    except ValueError:
        return ""


def is_main() -> bool:
    """Whether this process writes results: rank 0, or the only process."""
    return ranks().is_main


def timeout_seconds() -> float:
    """The process group's timeout: ``$T2IBENCH_DIST_TIMEOUT`` seconds, else ``defaults.DIST_TIMEOUT_S``."""
    text = os.environ.get(defaults.DIST_TIMEOUT_ENV, "").strip()
    if not text:
        return float(defaults.DIST_TIMEOUT_S)
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ValueError(f"${defaults.DIST_TIMEOUT_ENV}={text!r}: expected a positive number of seconds")
    return value


def setup(device: str) -> str:
    """Join the process group when started by torchrun (once per process) and return this rank's device.

    One process (no torchrun): returns ``device`` unchanged and initialises nothing. Sharded:
    ``"cpu"`` stays; ``"cuda"`` becomes ``cuda:LOCAL_RANK`` (and the current CUDA device); the
    ``cuda:LOCAL_RANK`` it returned is accepted again once the group is joined (the CLI, then
    ``evaluate``, call it); any other explicit ``cuda:i`` is a ``ValueError``, since every rank would
    use the same GPU (``cuda:0`` typed by hand too, which only rank 0 would accept otherwise).
    """
    r = ranks()
    if not r.active:
        return device
    import datetime

    import torch
    import torch.distributed as dist

    cuda = str(device).startswith("cuda")
    if cuda:
        returned = dist.is_initialized() and str(device) == f"cuda:{r.local_rank}"  # set up already
        if str(device) != "cuda" and not returned:
            raise ValueError(f"--device {device}: under torchrun each process takes cuda:LOCAL_RANK; give "
                             f"--device cuda (or auto)")
        if r.local_rank >= torch.cuda.device_count():
            raise ValueError(f"rank {r.rank}: LOCAL_RANK {r.local_rank}, but this machine has "
                             f"{torch.cuda.device_count()} CUDA device(s); start at most that many processes per node")
        device = f"cuda:{r.local_rank}"
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("cpu:gloo,cuda:nccl" if cuda else "gloo", rank=r.rank, world_size=r.world,
                                timeout=datetime.timedelta(seconds=timeout_seconds()))
    return device


def plan_span(n: int, *aligned_to: int, r: Ranks | None = None) -> tuple[int, int]:
    """The plan entries ``[lo, hi)`` this rank owns, of ``n``: contiguous, in rank order, covering
    ``0 .. n`` once, each boundary a multiple of every ``aligned_to`` (their least common multiple,
    the unit) except ``n`` itself. The units are dealt out evenly, lower ranks first (parts differ by at
    most one unit); a rank may own none (``lo == hi``) when there are fewer units than ranks. One
    process: ``(0, n)``."""
    r = r or ranks()
    unit = math.lcm(*(int(a) for a in aligned_to)) if aligned_to else 1
    units = -(-int(n) // unit)
    share, extra = divmod(units, r.world)  # the first ``extra`` ranks own one unit more
    first = r.rank * share + min(r.rank, extra)
    last = first + share + (r.rank < extra)
    return min(first * unit, n), min(last * unit, n)


def _exchange(what: str, fn: Callable):
    """Run the collective ``fn()``; a failure becomes a :class:`DistributedError` that says what to look for."""
    try:
        return fn()
    except RuntimeError as e:
        raise DistributedError(
            f"{what} failed: another rank failed or was killed (its own error is "
            f"above), or took longer than the {timeout_seconds():g} s timeout (${defaults.DIST_TIMEOUT_ENV} "
            f"raises it) [{type(e).__name__}: {str(e).strip().splitlines()[0][:300] if str(e).strip() else ''}]"
        ) from e


def gather(obj, what: str) -> list | None:
    """Every rank's ``obj`` (picklable), in rank order, on rank 0; ``None`` on the other ranks.
    One process: ``[obj]``."""
    r = ranks()
    if not r.active:
        return [obj]
    import torch.distributed as dist

    out = [None] * r.world if r.is_main else None
    _exchange(f"gathering {what} on rank 0", lambda: dist.gather_object(obj, out, dst=0))
    return out


def check_same(value, what: str) -> None:
    """Raise a :class:`DistributedError` on every rank unless every rank holds an equal ``value``
    (picklable, compared with ``==``; for dicts the message names the keys that differ). One process:
    nothing to compare. Used before any work is shared out, e.g. that every rank loaded the same
    generator (ranks started with different weights would otherwise be merged into one result)."""
    r = ranks()
    if not r.active:
        return
    import torch.distributed as dist

    values = [None] * r.world
    _exchange(f"comparing {what}", lambda: dist.all_gather_object(values, value))
    differing = [k for k, v in enumerate(values) if v != values[0]]
    if not differing:
        return

    def differs(v):
        if isinstance(v, dict) and isinstance(values[0], dict):
            keys = [k for k in dict.fromkeys([*values[0], *v]) if v.get(k) != values[0].get(k)]
            return ", ".join(f"{k}={v.get(k)!r}" for k in keys) + " (rank 0: " + \
                ", ".join(f"{k}={values[0].get(k)!r}" for k in keys) + ")"
        return f"{v!r} (rank 0: {values[0]!r})"

    raise DistributedError(f"{what} differs between ranks: " + "; ".join(f"rank {k} has {differs(values[k])}"
                                                                         for k in differing)
                           + "; start every process with the same arguments and files")


def broadcast(obj, what: str):
    """Rank 0's ``obj`` on every rank (the other ranks' ``obj`` is ignored). One process: ``obj``."""
    if not ranks().active:
        return obj
    import torch.distributed as dist

    box = [obj]
    _exchange(f"receiving {what} from rank 0", lambda: dist.broadcast_object_list(box, src=0))
    return box[0]


def main_first(fn: Callable, what: str):
    """``fn()`` on every rank, rank 0's call complete before the others start, and theirs before any rank
    goes on: for setting up what all ranks share (an image folder's manifest, a dataset cache), which
    rank 0 creates and the others then find. An exception on any rank is raised on every rank (the
    others' as a :class:`DistributedError` naming the rank and its error), so none waits for ever."""
    r = ranks()
    if not r.active:
        return fn()
    import torch.distributed as dist

    value = None
    for turn in (True, False):  # rank 0's turn, then the others'
        error = None
        if r.is_main == turn:
            try:
                value = fn()
            except Exception as e:  # noqa: BLE001 — every error is shared, then raised again below
                error = e
        reports = [None] * r.world
        _exchange(f"{what}", lambda: dist.all_gather_object(reports, None if error is None else
                                                           f"{type(error).__name__}: {error}"))
        if error is not None:
            raise error
        failed = [(k, m) for k, m in enumerate(reports) if m is not None]
        if failed:
            raise DistributedError("; ".join(f"{what} failed on rank {k}: {m}" for k, m in failed))
    return value


def merge(parts: list):
    """One value from every rank's part (in rank order), as if one process had collected them all:
    lists are concatenated, sets united, dicts merged key by key (in order of first appearance); a
    part that is ``None`` (a rank that had nothing) is skipped. Parts of other types must be alone:
    several are a ``TypeError``."""
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    if all(isinstance(p, dict) for p in parts):
        keys = list(dict.fromkeys(k for p in parts for k in p))
        return {k: merge([p[k] for p in parts if k in p]) for k in keys}
    if all(isinstance(p, list) for p in parts):
        return [x for p in parts for x in p]
    if all(isinstance(p, (set, frozenset)) for p in parts):
        return set().union(*parts)
    if len(parts) == 1:
        return parts[0]
    raise TypeError(f"merge: cannot combine {len(parts)} parts of type {sorted({type(p).__name__ for p in parts})}; "
                    f"give lists, sets or dicts of them")


def quiet_others() -> None:
    """On ranks other than 0, send standard output to ``os.devnull`` (results and progress are rank 0's;
    errors still reach standard error). One process: nothing changes."""
    if ranks().active and not is_main():
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 — for the rest of the process
