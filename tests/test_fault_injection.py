"""Fault injection through the CLI (issue 5): a disk that fills up, a corrupt cached statistics
file and a truncated PNG in the generated folder each end in a clear ``error:`` (exit 2), and
the output folder keeps exactly what it had: never a wrong number, nothing lost."""
from __future__ import annotations

import errno
import hashlib
import io
import re
from pathlib import Path

import pytest

from t2ibench import defaults
from t2ibench.cli import main

ARGS = ["eval", "--generator", "noise", "--metrics", "fid,ssim", "--n-images", "60", "--shard-size", "25",
        "--no-progress", "--device", "cpu"]


def _state(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


class _FullDisk(io.BufferedWriter):
    def write(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")


def _fill_the_disk(monkeypatch):
    """Every write through t2ibench's atomic writer or the image store fails with ENOSPC."""
    import t2ibench.image_store as image_store
    import t2ibench.io as tio

    def full_fdopen(fd, mode="r", *args, **kwargs):
        raw = io.FileIO(fd, "w")
        return _FullDisk(raw) if "b" in mode else io.TextIOWrapper(_FullDisk(raw))

    def full_write(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tio.os, "fdopen", full_fdopen)
    monkeypatch.setattr(image_store, "_write_synced", full_write)


def _corrupt_the_cache(monkeypatch):
    for path in (defaults.CACHE_DIR / "stats").glob("shapes-test-shapes-classifier-*.npz"):
        path.write_bytes(path.read_bytes()[:100])


def _truncate_a_png(out: Path):
    png = out / "images" / "shard-00001" / "00000030.png"
    png.write_bytes(png.read_bytes()[:64])


@pytest.mark.parametrize("fault, message", [
    ("disk-full", "No space left on device"),
    ("corrupt-cache", "cached real-image features .* are unreadable .* delete the file to recompute them"),
    ("truncated-png", "00000030.png does not match the sha256 .*truncated"),
])
def test_fault_ends_in_a_clear_error_and_an_intact_output_folder(fault, message, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(defaults, "CACHE_DIR", tmp_path / "cache")  # corrupt a private cache, not the session's
    monkeypatch.delenv("T2IBENCH_DEBUG", raising=False)
    out = tmp_path / "out"
    assert main(ARGS + ["--out", str(out)]) == 0
    capsys.readouterr()
    if fault == "truncated-png":
        _truncate_a_png(out)
    before = _state(out)
    if fault == "disk-full":
        _fill_the_disk(monkeypatch)
    elif fault == "corrupt-cache":
        _corrupt_the_cache(monkeypatch)
    code = main(ARGS + ["--out", str(out)])
    err = capsys.readouterr().err
    # the run may first say which kept shards it reads back; the error is then one last line
    assert code == 2 and err.strip().splitlines()[-1].startswith("error: ") and "Traceback" not in err, err
    assert err.count("error: ") == 1, err
    assert re.search(message, err), err
    assert _state(out) == before  # the earlier result.json, samples and images, byte for byte; no temp files
