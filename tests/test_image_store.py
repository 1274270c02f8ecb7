"""Interrupted runs lose nothing (issue 5.2): PNG shards written atomically with a manifest,
resumed after a crash or ``kill -9`` with the same final metrics; fault injection (disk full,
truncated PNG, foreign folder) ends in a clear error and an intact folder."""
from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from t2ibench import defaults
from t2ibench.engine import evaluate
from t2ibench.generators.reference import UniformNoise
from t2ibench.image_store import ImageStore, decode_png, encode_png

REPO = Path(__file__).resolve().parents[1]
METRICS = ["fid", "ssim"]
N = 120



class CountingGenerator(UniformNoise):
    """The ``noise`` generator, recording every call; it can crash on call ``crash_at`` (private
    state, ``_crash_at``: not a setting that changes the images, so not in its fingerprint)."""

    def __init__(self, image_size, crash_at=None):
        super().__init__(image_size)
        self.calls, self._crash_at = [], crash_at

    def generate(self, captions, seed=0):
        if self._crash_at is not None and len(self.calls) == self._crash_at:
            raise RuntimeError("simulated crash")
        self.calls.append((seed, len(captions)))
        return super().generate(captions, seed=seed)


def _run(ds, gen, image_dir, **kw):
    kw.setdefault("batch_size", 10)
    return evaluate(gen, ds, metrics=METRICS, n_images=N, seed=0, progress=False, generator_name="slow",
                    image_dir=image_dir, **kw)


def _metric_values(result):
    return {k: (v["value"], v.get("std")) for k, v in result.metrics.items()}


def _folder_state(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_png_round_trip_is_lossless():
    x = torch.randint(0, 256, (3, 17, 23), dtype=torch.uint8)
    assert torch.equal(decode_png(encode_png(x), "x"), x)


def test_crash_then_resume_generates_only_the_missing_shards(shapes_test, tmp_path):
    reference = _run(shapes_test, CountingGenerator(64), None)
    crashing = CountingGenerator(64, crash_at=7)  # shards of 50 = 5 calls of 10: crashes inside shard 1
    with pytest.raises(RuntimeError, match="simulated crash"):
        _run(shapes_test, crashing, tmp_path / "images", shard_size=50)
    assert sorted(p.name for p in (tmp_path / "images").iterdir()) == ["manifest.json", "shard-00000"]
    resumed = CountingGenerator(64)
    result = _run(shapes_test, resumed, tmp_path / "images", shard_size=50)
    # shard 0 (images 0..49) was read back: the rerun starts at image 50 and duplicates nothing
    assert [s for s, _ in resumed.calls] == list(range(50, N, 10))
    assert sum(n for _, n in resumed.calls) == N - 50
    assert _metric_values(result) == _metric_values(reference)
    assert result.provenance["images"] == {"dir": str(tmp_path / "images"), "shards": 3, "shards_read_back": 1}
    # a third run reads everything back and generates nothing
    again = CountingGenerator(64)
    assert _metric_values(_run(shapes_test, again, tmp_path / "images", shard_size=50)) == _metric_values(reference)
    assert again.calls == []


def test_resume_keeps_the_manifest_shard_size_and_any_batch_size(shapes_test, tmp_path):
    first = _run(shapes_test, CountingGenerator(64), tmp_path / "images", shard_size=40)
    gen = CountingGenerator(64)
    second = _run(shapes_test, gen, tmp_path / "images", shard_size=7, batch_size=33)
    assert gen.calls == [] and _metric_values(second) == _metric_values(first)
    assert sorted(p.name for p in (tmp_path / "images").glob("shard-*")) == [f"shard-{k:05d}" for k in range(3)]


def test_kill_9_mid_run_then_rerun_resumes(shapes_test, tmp_path):
    """A real ``t2ibench eval`` subprocess is killed with SIGKILL while it generates; the same
    command then finishes the run without regenerating or duplicating any image."""
    out, log = tmp_path / "run", tmp_path / "calls.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), os.environ.get("PYTHONPATH", "")]),
           "T2IBENCH_CACHE": str(defaults.CACHE_DIR), "SLOW_GENERATOR_LOG": str(log),
           "SLOW_GENERATOR_SECONDS": "0.3", "OMP_NUM_THREADS": "1"}
    def command(folder):
        return [sys.executable, "-m", "t2ibench.cli", "eval", "--generator", "slow_generator:make", "--metrics",
                ",".join(METRICS), "--n-images", str(N), "--batch-size", "10", "--shard-size", "20", "--out",
                str(folder), "--no-progress", "--device", "cpu"]

    cmd = command(out)
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None and len(list((out / "images").glob("shard-*"))) < 2:
        time.sleep(0.05)
    assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read().decode()[-2000:]}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = sorted(p.name for p in (out / "images").glob("shard-*"))
    assert 2 <= len(done) < N // 20 and not (out / "result.json").exists()
    log.write_text("")
    finished = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-3000:]
    calls = [tuple(map(int, line.split())) for line in log.read_text().splitlines()]
    first_missing = 20 * len(done)
    assert [seed for seed, _ in calls] == list(range(first_missing, N, 10)), (done, calls)
    assert not list((out / "images").glob(".shard-*"))  # no temporary folder left behind
    resumed = json.loads((out / "result.json").read_text())
    assert resumed["provenance"]["images"]["shards_read_back"] == len(done)
    # the same command, uninterrupted, in the same environment: the very same numbers
    uninterrupted = subprocess.run(command(tmp_path / "uninterrupted"), cwd=REPO, env=env,
                                   capture_output=True, text=True, timeout=600)
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-3000:]
    reference = json.loads((tmp_path / "uninterrupted" / "result.json").read_text())
    for name in METRICS:
        assert resumed["metrics"][name]["value"] == reference["metrics"][name]["value"]
        assert resumed["metrics"][name].get("std") == reference["metrics"][name].get("std")


def test_disk_full_leaves_complete_shards_intact_and_resumes(shapes_test, tmp_path, monkeypatch):
    import t2ibench.image_store as image_store

    real_write, written = image_store._write_synced, []

    def failing_write(path, data):
        if len(written) >= 70:  # shard 0 (50 PNGs + index) succeeds, shard 1 fails midway
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(path)
        real_write(path, data)

    monkeypatch.setattr(image_store, "_write_synced", failing_write)
    with pytest.raises(OSError, match=r"could not write shard 1 .*No space left on device.*1 complete shard\(s\) "
                                      r"already there are intact.*rerun the same command"):
        _run(shapes_test, CountingGenerator(64), tmp_path / "images", shard_size=50)
    assert sorted(p.name for p in (tmp_path / "images").iterdir()) == ["manifest.json", "shard-00000"]
    monkeypatch.setattr(image_store, "_write_synced", real_write)
    gen = CountingGenerator(64)
    result = _run(shapes_test, gen, tmp_path / "images", shard_size=50)
    assert [s for s, _ in gen.calls] == list(range(50, N, 10))
    assert _metric_values(result) == _metric_values(_run(shapes_test, CountingGenerator(64), None))


def test_disk_full_through_the_cli_is_one_error_line(tmp_path, monkeypatch, capsys):
    import t2ibench.image_store as image_store
    from t2ibench.cli import main

    def no_space(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(image_store, "_write_synced", no_space)
    code = main(["eval", "--generator", "noise", "--metrics", "ssim", "--n-images", "20", "--out", str(tmp_path),
                 "--no-progress", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "No space left on device" in err and "Traceback" not in err
    assert not (tmp_path / "result.json").exists()
    assert sorted(p.name for p in (tmp_path / "images").iterdir()) == ["manifest.json"]


@pytest.mark.parametrize("damage", ["truncate", "flip-byte", "delete-index", "edit-caption", "escape-path"])
def test_damaged_folder_is_a_clear_error_and_stays_untouched(shapes_test, tmp_path, damage):
    folder = tmp_path / "images"
    _run(shapes_test, CountingGenerator(64), folder, shard_size=50)
    shard = folder / "shard-00001"
    png = shard / "00000057.png"
    index = json.loads((shard / "index.json").read_text())
    if damage == "truncate":
        png.write_bytes(png.read_bytes()[:200])
        expected = r"00000057.png does not match the sha256 .*truncated"
    elif damage == "flip-byte":
        data = bytearray(png.read_bytes())
        data[100] ^= 0xFF
        png.write_bytes(bytes(data))
        expected = r"00000057.png does not match the sha256"
    elif damage == "delete-index":
        (shard / "index.json").unlink()
        expected = r"index.json is missing or unreadable"
    elif damage == "edit-caption":
        index["images"][3]["caption"] = "a purple elephant."
        (shard / "index.json").write_text(json.dumps(index))
        expected = r"lists other images or captions than plan entries 50..99"
    else:
        index["images"][0]["file"] = "../../../etc/passwd"
        (shard / "index.json").write_text(json.dumps(index))
        expected = r"leads outside"
    state = _folder_state(folder)
    with pytest.raises(ValueError, match=expected):
        _run(shapes_test, CountingGenerator(64), folder, shard_size=50)
    assert _folder_state(folder) == state


def test_folder_of_another_run_is_refused(shapes_test, tmp_path):
    folder = tmp_path / "images"
    _run(shapes_test, CountingGenerator(64), folder)
    state = _folder_state(folder)
    with pytest.raises(ValueError, match=r"holds images of another run \(.*seed: folder 0, this run 1"):
        evaluate(CountingGenerator(64), shapes_test, metrics=METRICS, n_images=N, seed=1, progress=False,
                 generator_name="slow", image_dir=folder)
    with pytest.raises(ValueError, match=r"another run .*n_images: folder 120, this run 100"):
        evaluate(CountingGenerator(64), shapes_test, metrics=METRICS, n_images=100, seed=0, progress=False,
                 generator_name="slow", image_dir=folder)
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(ValueError, match="manifest.json is unreadable"):
        _run(shapes_test, CountingGenerator(64), folder)
    assert set(_folder_state(folder)) == set(state)


def test_leftover_temporary_shard_is_removed(tmp_path):
    stale = tmp_path / ".shard-00000.tmp-abc"
    stale.mkdir(parents=True)
    (stale / "00000000.png").write_bytes(b"half")
    store = ImageStore.open(tmp_path, {"generator": "x"}, 10, 5)
    assert not stale.exists() and store.completed() == []
