"""Evaluation sharded with torchrun (issue 15, point 4; :mod:`t2ibench.distributed`): two CPU processes
(gloo) give the values of one process, bit for bit, write each their own image shards, resume after
a kill as one process does, and a rank that fails ends the run with its error instead of hanging."""
from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from t2ibench import defaults
from t2ibench.distributed import Ranks, merge, plan_span, setup

from dist_eval_worker import MS_SSIM_PAIRS as WORKER_MS_SSIM_PAIRS

REPO = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).with_name("dist_eval_worker.py")
needs_torchrun = pytest.mark.skipif(shutil.which("torchrun") is None, reason="torchrun is not on PATH")



def _env(**extra) -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "T2IBENCH_CACHE": str(defaults.CACHE_DIR),
            "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests"), os.environ.get("PYTHONPATH", "")]),
            **extra}


def _torchrun(port: int, *args) -> list[str]:
    return ["torchrun", "--nproc_per_node", "2", "--master_port", str(port), *map(str, args)]


def _one_process(monkeypatch, *args) -> dict:
    """The metrics of ``t2ibench eval ARGS`` run in this process, as the worker runs it."""
    from t2ibench.cli import main

    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(defaults, "MS_SSIM_PAIRS_PER_CLASS", WORKER_MS_SSIM_PAIRS[0])
    monkeypatch.setattr(defaults, "MS_SSIM_PAIRS_OVERALL", WORKER_MS_SSIM_PAIRS[1])
    assert main(list(map(str, args))) == 0
    return json.loads(Path(args[args.index("--out") + 1], "result.json").read_text())


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from ``/proc``)."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):  # a process that ended meanwhile
            continue
        if ppid == pid:
            kids.append(int(stat.parent.name))
    return kids


@pytest.mark.parametrize("n", [1, 49, 50, 250, 1234])
@pytest.mark.parametrize("world", [1, 2, 3, 5])
@pytest.mark.parametrize("aligned_to", [(50,), (50, 250), (50, 20)])
def test_plan_spans_cover_the_plan_once_on_aligned_boundaries(n, world, aligned_to):
    unit = math.lcm(*aligned_to)
    spans = [plan_span(n, *aligned_to, r=Ranks(rank, world)) for rank in range(world)]
    assert spans[0][0] == 0 and spans[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))  # contiguous, in rank order
    assert all(b % unit == 0 or b == n for span in spans for b in span)
    units = [-(-(hi - lo) // unit) for lo, hi in spans]
    assert max(units) - min(units) <= 1 and units == sorted(units, reverse=True)  # even, lower ranks first


def test_one_process_initialises_nothing(monkeypatch):
    import torch.distributed as dist

    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert setup("cpu") == "cpu" and setup("cuda:1") == "cuda:1"
    assert not dist.is_initialized()
    assert plan_span(1234, 50, 250) == (0, 1234)


def test_local_only_makes_a_rank_act_as_the_only_process(monkeypatch):
    """Under torchrun, work one rank does alone (the trainer's quality check on rank 0) joins no group."""
    import torch.distributed as dist

    from t2ibench import distributed

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("LOCAL_RANK", "0")
    assert distributed.ranks().active
    with distributed.local_only():
        assert distributed.ranks() == distributed.Ranks() and distributed.is_main()
        assert setup("cpu") == "cpu" and setup("cuda") == "cuda"
    assert distributed.ranks().active and not dist.is_initialized()


def test_setup_accepts_the_device_it_returned(monkeypatch):
    """cli/benchmark call setup, then evaluate calls it again with cuda:LOCAL_RANK: no error."""
    import torch
    import torch.distributed as dist

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "set_device", lambda d: None)
    monkeypatch.setattr(dist, "is_initialized", lambda: True)  # the group exists (made by the first call)
    assert setup("cuda") == "cuda:1"
    assert setup("cuda:1") == "cuda:1"
    with pytest.raises(ValueError, match="each process takes cuda:LOCAL_RANK"):
        setup("cuda:0")
    # before the group exists, cuda:0 typed by hand is refused on rank 0 too (the other ranks would refuse it)
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("LOCAL_RANK", "0")
    monkeypatch.setattr(dist, "is_initialized", lambda: False)
    with pytest.raises(ValueError, match="each process takes cuda:LOCAL_RANK"):
        setup("cuda:0")


def test_merge_joins_every_ranks_part_in_rank_order():
    parts = [{"fake": {("e", "x"): [1, 2]}, "digests": {b"a"}, "sizes": [(64, 64)]},
             {"fake": {}, "digests": set(), "sizes": [None]},
             {"fake": {("e", "x"): [3]}, "digests": {b"a", b"b"}, "sizes": [(64, 64)]}]
    assert merge(parts) == {"fake": {("e", "x"): [1, 2, 3]}, "digests": {b"a", b"b"},
                            "sizes": [(64, 64), None, (64, 64)]}
    with pytest.raises(TypeError, match="cannot combine"):
        merge([1, 2])


@needs_torchrun
def test_two_processes_give_the_values_of_one(tmp_path, monkeypatch):
    """A zoo generator, n = 250 in shards of 50: rank 0 owns images 0..149, rank 1 150..249; every metric
    value (paired SSIM, FID, R-precision, MS-SSIM on the gathered images) equals the one-process run's."""
    metrics = "ssim,fid,r-precision,ms-ssim"
    args = ["eval", "--generator", "gan-int-cls", "--metrics", metrics, "--n-images", 250, "--batch-size", 30,
            "--shard-size", 50, "--device", "cpu", "--no-progress", "--out"]
    sharded = subprocess.run(_torchrun(29581, WORKER, *args, tmp_path / "two"), cwd=REPO, env=_env(),
                             capture_output=True, text=True, timeout=600)
    assert sharded.returncode == 0, sharded.stderr[-3000:]
    result, reference = json.loads((tmp_path / "two" / "result.json").read_text()), _one_process(
        monkeypatch, *args, tmp_path / "one")
    assert list(result["metrics"]) == metrics.split(",")
    # every field of every metric, bit for bit: value, std, counts, per-scale details
    assert result["metrics"] == reference["metrics"]
    assert result["provenance"]["processes"] == 2 and "processes" not in reference["provenance"]
    assert result["provenance"]["distinct_images"] == reference["provenance"]["distinct_images"]
    # rank 0 alone wrote the result; the image folder holds every shard once, and nothing else was written
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["images", "result.json", "samples.png"]
    assert sorted(p.name for p in (tmp_path / "two" / "images").iterdir()) == (
        ["manifest.json"] + [f"shard-{k:05d}" for k in range(5)])
    assert sharded.stdout.count("wrote ") == 1  # the other rank prints nothing


@needs_torchrun
def test_two_processes_resume_after_a_kill(tmp_path, monkeypatch):
    """The 2-process run is killed (SIGKILL to both ranks and torchrun) once shards are written; the same
    command generates only the missing shards and gives the one-process values."""
    out, log = tmp_path / "run", tmp_path / "calls.log"
    env = _env(SLOW_GENERATOR_LOG=str(log), SLOW_GENERATOR_SECONDS="0.3")
    args = ["eval", "--generator", "slow_generator:make", "--metrics", "fid,ssim", "--n-images", 200,
            "--batch-size", 10, "--shard-size", 20, "--device", "cpu", "--no-progress", "--out"]
    command = _torchrun(29582, WORKER, *args, out)
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and len(list((out / "images").glob("shard-*"))) < 3:
        time.sleep(0.05)
    assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read().decode()[-2000:]}"
    for pid in [*_children(proc.pid), proc.pid]:  # the ranks (torchrun starts each in a session of its own) first
        os.kill(pid, signal.SIGKILL)
    proc.wait()
    done = sorted(p.name for p in (out / "images").glob("shard-*"))
    assert 3 <= len(done) < 10 and not (out / "result.json").exists()
    log.write_text("")
    finished = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-3000:]
    generated = sorted({int(line.split()[0]) // 20 for line in log.read_text().splitlines()})
    assert generated == sorted(set(range(10)) - {int(name[-5:]) for name in done}), (done, generated)
    assert not list((out / "images").glob(".shard-*"))  # no temporary folder left behind
    result = json.loads((out / "result.json").read_text())
    assert result["provenance"]["images"]["shards_read_back"] == len(done)
    monkeypatch.setenv("SLOW_GENERATOR_SECONDS", "0")
    monkeypatch.delenv("SLOW_GENERATOR_LOG", raising=False)
    assert result["metrics"] == _one_process(monkeypatch, *args, tmp_path / "one")["metrics"]
    # the shards do not depend on the number of processes: one process reads back all of them
    again = _one_process(monkeypatch, *args, out)
    assert again["provenance"]["images"]["shards_read_back"] == 10 and again["metrics"] == result["metrics"]


def _eval_plugin_under_torchrun(tmp_path, port: int, plugin_class: str, *args) -> subprocess.CompletedProcess:
    """``torchrun --nproc_per_node 2 -m t2ibench eval`` of ssim for ``plugin_class`` (the source of a class
    ``Plugin``, written to a file with a factory giving ``Plugin(64)``), output in ``tmp_path / "out"``."""
    plugin = tmp_path / "plugin.py"
    plugin.write_text(plugin_class + "\n\ndef make(dataset=None, device='cpu'):\n    return Plugin(64)\n")
    command = ["torchrun", "--nproc_per_node", "2", "--master_port", port, "-m", "t2ibench", "eval",
               "--generator", f"{plugin}:make", "--metrics", "ssim", "--device", "cpu", "--no-progress",
               "--out", tmp_path / "out", *args]
    return subprocess.run(list(map(str, command)), cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300)


@needs_torchrun
def test_a_failing_rank_ends_the_run_with_its_error(tmp_path):
    """``torchrun -m t2ibench eval``: the generator raises on rank 1's part only; the run ends (torchrun stops
    rank 0) with rank 1's one-line error instead of waiting for it."""
    t0 = time.time()
    proc = _eval_plugin_under_torchrun(tmp_path, 29583, (
        "from t2ibench.generators.reference import UniformNoise\n\n"
        "class Plugin(UniformNoise):\n"
        "    def generate(self, captions, seed=0):\n"
        "        if seed >= 100:\n"
        "            raise ValueError(f'no image for plan entry {seed}')\n"
        "        return super().generate(captions, seed)\n"), "--n-images", 200, "--shard-size", 50)
    assert proc.returncode != 0 and time.time() - t0 < 300
    assert "error (rank 1 of 2): no image for plan entry 100" in proc.stderr, proc.stderr[-3000:]
    assert not (tmp_path / "out" / "result.json").exists()


@needs_torchrun
def test_a_rank_that_waits_past_the_timeout_is_an_error_not_a_hang(tmp_path):
    """Rank 1 reaches the gather 60 s late; with ``T2IBENCH_DIST_TIMEOUT=3`` rank 0 stops after about 3 s
    with a message naming the timeout (and torchrun stops rank 1)."""
    script = tmp_path / "late.py"
    script.write_text("import time\n"
                      "from t2ibench import distributed\n"
                      "distributed.setup('cpu')\n"
                      "if distributed.ranks().rank == 1:\n"
                      "    time.sleep(60)\n"
                      "distributed.gather(1, 'the test value')\n")
    t0 = time.time()
    proc = subprocess.run(_torchrun(29584, script), cwd=REPO, env=_env(T2IBENCH_DIST_TIMEOUT="3"),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and time.time() - t0 < 50, proc.stderr[-3000:]
    assert "DistributedError: gathering the test value on rank 0 failed" in proc.stderr, proc.stderr[-3000:]
    assert "took longer than the 3 s timeout ($T2IBENCH_DIST_TIMEOUT raises it)" in proc.stderr


@needs_torchrun
def test_ranks_with_different_generators_are_refused_before_generating(tmp_path):
    """A plug-in whose setting differs between ranks (as if each process had loaded other weights) would be
    merged into one wrong result; the run ends before generating, naming what differs."""
    proc = _eval_plugin_under_torchrun(tmp_path, 29585, (
        "import os\n"
        "from t2ibench.generators.reference import UniformNoise\n\n"
        "class Plugin(UniformNoise):\n"
        "    def __init__(self, size):\n"
        "        super().__init__(size)\n"
        "        self.brightness = int(os.environ['RANK'])\n"), "--n-images", 100)
    assert proc.returncode != 0
    assert "the run (generator, dataset, plan, seed) differs between ranks: rank 1 has generator_fingerprint=" \
        in proc.stderr, proc.stderr[-3000:]
    assert not (tmp_path / "out" / "result.json").exists()
