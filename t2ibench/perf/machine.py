"""What a timing was taken on: CPU model, cores, memory, GPU, package versions, threads, date."""
from __future__ import annotations

import os
import platform
import time

import torch

from t2ibench.result import package_versions

#: Peer libraries whose versions a perf result records besides t2ibench's own dependencies.
PEER_PACKAGES = ("scikit-image", "pillow", "tqdm", "threadpoolctl")


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else ``platform.processor()``)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_bytes() -> int | None:
    """Total physical memory in bytes (``None`` where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def gpus() -> list[dict]:
    """Every CUDA device: name and memory (GiB); empty without CUDA."""
    if not torch.cuda.is_available():
        return []
    out = []
    for i in range(torch.cuda.device_count()):
        p = torch.cuda.get_device_properties(i)
        out.append({"index": i, "name": p.name, "memory_gib": round(p.total_memory / 2 ** 30, 1)})
    return out


def versions() -> dict[str, str | None]:
    """Versions of t2ibench, its numeric dependencies and the peers measured against."""
    return package_versions(tuple(PEER_PACKAGES))


def machine_info() -> dict:
    """The machine section of a perf result (JSON-ready)."""
    mem = memory_bytes()
    return {
        "cpu_model": cpu_model(),
        "cpu_cores": os.cpu_count(),
        "cpu_cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gib": round(mem / 2 ** 30, 1) if mem else None,
        "gpus": gpus(),
        "platform": platform.platform(),
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "env_threads": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
                        if k in os.environ},
    }


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
