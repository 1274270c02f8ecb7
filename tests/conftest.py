"""Shared fixtures. ``shared_dir`` points at ``../shared`` and skips tests when it is absent."""
from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"../shared is absent ({SHARED}); this test reads the shared reference data")
    return SHARED


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Keep the on-disk caches of a test run inside pytest's temp folder unless T2IBENCH_CACHE is set."""
    import os

    if "T2IBENCH_CACHE" not in os.environ:
        from t2ibench import defaults

        defaults.CACHE_DIR = tmp_path_factory.mktemp("t2ibench-cache")
    yield


@pytest.fixture(scope="session")
def shapes_test():
    """The embedded ``shapes`` test split (2,000 images at 64 px), generated once and cached."""
    from t2ibench.data import load_dataset

    return load_dataset("shapes", split="test")


@pytest.fixture(scope="session")
def benchmark_script():
    """``benchmark.py`` (the repository's main job, not an installed module) loaded as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("benchmark", Path(__file__).resolve().parents[1] / "benchmark.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def toy():
    """The 60-image toy dataset of tests/toy.py (the engine tests' dataset)."""
    from toy import ToyDataset

    return ToyDataset(60)


@pytest.fixture
def few_ms_ssim_pairs(monkeypatch):
    """The MS-SSIM protocol's 400 pairs per class cost minutes on 2 cores; the engine logic needs few."""
    from t2ibench import defaults

    monkeypatch.setattr(defaults, "MS_SSIM_PAIRS_PER_CLASS", 20)
    monkeypatch.setattr(defaults, "MS_SSIM_PAIRS_OVERALL", 40)
