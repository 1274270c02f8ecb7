"""The perf command's peer paths give our values on the same inputs; its files carry machine,
versions and date; its competing load is always stopped. No timing is asserted anywhere."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from t2ibench.data import Caption, load_dataset
from t2ibench.features import load_extractor
from t2ibench.metrics import frechet_distance, fsim, gaussian_statistics, inception_score, kid, ms_ssim, ssim
from t2ibench.metrics.cmd import cmd
from t2ibench.metrics.ms_ssim import ms_ssim_diversity
from t2ibench.perf import pixel, separate_tools
from t2ibench.perf.folder import ImageFolders, save_png
from t2ibench.perf.frechet import random_statistics, scipy_sqrtm_frechet
from t2ibench.perf.load import CompetingLoad
from t2ibench.perf.peers import torch_fidelity_name

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def shapes():
    return load_dataset("shapes", split="test")


@pytest.fixture(scope="module")
def folders(shapes, tmp_path_factory):
    """60 'generated' PNGs (test images 100..159, a plan pairing them with images 0..59) and 60 real PNGs."""
    root = tmp_path_factory.mktemp("perf-folders")
    fake, real = root / "fake", root / "real"
    fake.mkdir()
    real.mkdir()
    n = 60
    for k, image in enumerate(shapes.images(range(100, 100 + n))):
        save_png(image, fake / f"{k:06d}.png")
    keys = [shapes.key(i) for i in range(n)]
    for key, image in zip(keys, shapes.images(range(n))):
        save_png(image, real / f"{key}.png")
    plan = [Caption(shapes.captions(i)[0], i) for i in range(n)]
    return ImageFolders(fake, real, root / "captions.csv", plan, keys)


def test_frechet_peer_equals_ours():
    rng = np.random.default_rng(0)
    s1, s2 = random_statistics(rng, 48, 96), random_statistics(rng, 48, 96)
    assert scipy_sqrtm_frechet(*s1, *s2) == pytest.approx(frechet_distance(*s1, *s2), rel=1e-9)


def test_torch_fidelity_wrapper_gives_our_is_fid_kid(shapes, folders):
    """torch-fidelity with a t2ibench extractor registered computes our IS, FID and KID on the same PNGs."""
    import torch_fidelity

    extractor = load_extractor("shapes-classifier")
    out = torch_fidelity.calculate_metrics(input1=str(folders.fake), input2=str(folders.real), isc=True, fid=True,
                                           kid=True, feature_extractor=torch_fidelity_name(extractor), isc_splits=10,
                                           kid_subsets=20, kid_subset_size=30, rng_seed=2020, cuda=False,
                                           cache=False, verbose=False, save_cpu_ram=True)
    fake = extractor(shapes.images(range(100, 160)))
    real = extractor(shapes.images(range(60)))
    emb, logits = extractor.roles["embedding"], extractor.roles["logits"]
    ours_fid = frechet_distance(*gaussian_statistics(fake[emb].numpy()), *gaussian_statistics(real[emb].numpy()))
    assert out["frechet_inception_distance"] == pytest.approx(ours_fid, rel=1e-5)
    assert out["inception_score_mean"] == pytest.approx(inception_score(fake[logits].numpy(), splits=10)[0], rel=1e-5)
    ours_kid = kid(fake[emb].numpy(), real[emb].numpy(), subsets=20, subset_size=30, seed=2020)[0]
    assert out["kernel_inception_distance_mean"] == pytest.approx(ours_kid, rel=1e-4, abs=1e-7)


def test_piq_per_pair_gives_our_ssim_and_fsim(shapes, folders):
    files = folders.fake_files()[:12]
    real_files = [folders.real_file(k) for k in folders.real_keys[:12]]
    got = separate_tools.piq_paired(files, real_files, "cpu")
    x, y = shapes.images(range(100, 112)), shapes.images(range(12))
    # piq computes SSIM in float32 with uncentred moments (up to ~4e-5 off in flat regions, t2ibench.metrics.
    # gaussian_window); ours is within ~1e-7 of scikit-image's float64: they agree at the perf tolerance
    assert got["ssim"] == pytest.approx(ssim(x, y, data_range=255).double().mean().item(), rel=1e-4, abs=1e-6)
    assert got["fsim"] == pytest.approx(fsim(x, y, data_range=255, chromatic=False).double().mean().item(), abs=1e-6)


def test_pixel_peers_give_our_values(shapes):
    x, y = shapes.images(range(8)), shapes.images(range(8, 16))
    assert pixel.skimage_ssim_loop(x, y) == pytest.approx(ssim(x, y, data_range=255).numpy(), abs=1e-4)
    for metric, ours in (("ssim", ssim), ("ms-ssim", ms_ssim)):
        assert pixel.piq_loop(metric, x, y) == pytest.approx(ours(x, y, data_range=255).numpy(), rel=1e-4, abs=1e-6)
    assert pixel.piq_loop("fsim", x, y) == pytest.approx(fsim(x, y, data_range=255, chromatic=False).numpy(), abs=1e-6)


def test_ms_ssim_per_pair_diversity_equals_ours_when_every_pair_is_used(shapes, folders):
    """With at most 400 pairs per class every class-wise pair is used, so the per-pair path is exact."""
    classes = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    got = separate_tools.ms_ssim_diversity_piq(folders.fake_files()[:12], classes, seed=0, device="cpu")
    ours = ms_ssim_diversity(shapes.images(range(100, 112)), np.array(classes), seed=0)
    assert not got["sampled"]
    assert got["classwise"] == pytest.approx(ours["ms_ssim_classwise"], abs=1e-6)


def test_clip_peer_gives_our_clip_fid_and_cmd(shapes, folders):
    """The CLIP-style model called directly with scipy's sqrtm gives t2ibench's CLIP-FID and CMD."""
    captions = [str(c) for c in folders.plan]
    real_files = [folders.real_file(k) for k in folders.real_keys]
    refs = {"real_clip": separate_tools._clip_images(separate_tools._clip_model("cpu"), real_files)}
    got = separate_tools.clip_metrics(folders.fake_files(), captions, refs, "cpu")
    e = load_extractor("tiny-clip-shapes")
    fake, real = e(shapes.images(range(100, 160))), e(shapes.images(range(60)))
    text = e.encode_text(captions)["sentence"].numpy()
    raw = e.roles["image_raw"]
    ours_fid = frechet_distance(*gaussian_statistics(fake[raw].numpy()), *gaussian_statistics(real[raw].numpy()))
    assert got["clip-fid"] == pytest.approx(ours_fid, rel=1e-4)
    ours_cmd = cmd(fake["embedding"].numpy(), real["embedding"].numpy(), text)["cmd"]
    assert got["cmd"] == pytest.approx(ours_cmd, rel=1e-4)


def test_papers_r_precision_loop_counts_hits(monkeypatch):
    """Own caption equal to the image embedding, distractors orthogonal: every image is a hit; with the
    own caption orthogonal and a distractor class aligned, none is."""
    d = 8
    img = np.eye(d)[:4]
    pool = np.concatenate([np.eye(d)[4:]] * 30)  # 120 captions of classes 4..7, orthogonal to the images
    refs = {"pool": pool.astype(np.float32), "pool_classes": np.tile(np.arange(4, 8), 30)}
    own = {}
    # the DAMSM is replaced by fixed embeddings: the image "file" is its row index
    monkeypatch.setattr(separate_tools, "load_extractor", lambda *a, **k: None)
    monkeypatch.setattr(separate_tools, "_damsm_images", lambda damsm, files: img[list(files)])
    monkeypatch.setattr(separate_tools, "_damsm_texts", lambda damsm, captions: own["text"])

    def run(text):
        own["text"] = text
        return separate_tools.r_precision_papers(range(4), ["c"] * 4, [0, 1, 2, 3], refs, seed=0, device="cpu")

    assert run(img)["value"] == 1.0
    assert run(np.eye(d)[4:])["value"] == 0.0


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] == "Z"  # a zombie no longer runs
    except FileNotFoundError:
        return True


def _wait_gone(pids, timeout=10.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if all(_gone(p) for p in pids):
            return True
        time.sleep(0.1)
    return False


def test_pipeline_values_with_a_peer_standard_error_agree_within_se_factor():
    """A sampled value (R-precision, the overall MS-SSIM, and the classwise MS-SSIM when classes outgrow the
    pairs, as in --full) is judged in standard errors of the difference; the others by rtol/atol."""
    from t2ibench.perf.pipeline import compare
    from t2ibench.perf.settings import PIPELINE_METRICS, SE_FACTOR

    ours = {m: 0.5 for m in (*PIPELINE_METRICS, "ms-ssim overall")}
    se = {"r-precision": 0.01, "ms-ssim overall": 0.01, "ms-ssim": 0.01}
    peer = {**ours, "ms-ssim": 0.5 + 0.9 * SE_FACTOR * 2 ** 0.5 * 0.01, "r-precision": 0.5 + 0.05, "_se": se}
    rows = {r["metric"]: r for r in compare(ours, peer)}
    assert rows["ms-ssim"]["agree"] and "standard errors" in rows["ms-ssim"]["tolerance"]
    assert not rows["r-precision"]["agree"]  # 5 SE of one estimate = 3.5 SE of the difference > 3
    assert rows["fid"]["agree"] and rows["fid"]["tolerance"] == "rtol 0.0001"


def test_generation_rows_time_each_precision_of_the_device(shapes, monkeypatch):
    """One row per model and precision (CUDA adds float16; bfloat16 on the CPU stands in for it here)."""
    from t2ibench.perf import generation, settings

    monkeypatch.setattr(generation, "zoo_models", lambda: ["gan-int-cls"])
    monkeypatch.setattr(settings, "GENERATION_PRECISIONS", {"cpu": ("float32", "bfloat16")})
    rows = generation.measure({"generation_images": 4, "generation_repeats": 1}, "cpu", shapes, 0, lambda m: None)
    assert [r["case"] for r in rows] == ["gan-int-cls", "gan-int-cls bfloat16"]
    assert rows[1]["ours"]["name"] == "gan-int-cls (tiny, shipped weights, bfloat16)" and rows[1]["ours"]["seconds"] > 0


def test_best_of_stops_repeating_once_the_budget_is_spent():
    from t2ibench.perf.rows import best_of

    calls = []
    assert best_of(lambda: calls.append(1) or len(calls), 5)[1:] == (5, 5)  # no budget: every repeat
    calls.clear()
    best, value, n = best_of(lambda: calls.append(1) or len(calls), 5, budget_s=0.0)  # spent after the first call
    assert (value, n, len(calls)) == (1, 1, 1) and 0 <= best < 1
    with pytest.raises(ValueError, match="repeats"):
        best_of(lambda: None, 0)


def test_competing_load_is_stopped_on_exit_and_on_error():
    with CompetingLoad(2) as load:
        pids = load.pids()
        assert len(pids) == 3 and not any(_gone(p) for p in pids)
    assert _wait_gone(pids)
    with pytest.raises(KeyboardInterrupt):
        with CompetingLoad(2) as load:
            pids = load.pids()
            raise KeyboardInterrupt
    assert _wait_gone(pids)


def test_load_workers_exit_when_the_perf_process_dies():
    """A perf process killed with SIGKILL runs no cleanup: its load exits on its own."""
    watched = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    load = subprocess.Popen([sys.executable, "-m", "t2ibench.perf.load", "--workers", "1", "--watch",
                             str(watched.pid)], stdout=subprocess.PIPE, text=True, cwd=ROOT, start_new_session=True)
    try:
        worker = int(load.stdout.readline().split()[1])
        watched.kill()
        watched.wait()
        assert load.wait(timeout=20) == 0
        assert _wait_gone([worker])
    finally:
        for p in (watched, load):
            if p.poll() is None:
                p.kill()
                p.wait()
        load.stdout.close()


def test_quick_run_writes_json_and_markdown_with_machine_versions_and_date(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "t2ibench.perf", "--quick", "--only", "frechet,pixel",
                           "--device", "cpu", "--out", str(tmp_path), "--name", "smoke"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "smoke.json").read_text())
    m = result["machine"]
    assert m["cpu_model"] and m["cpu_cores"] >= 1 and m["memory_gib"] > 0 and isinstance(m["gpus"], list)
    assert m["torch_threads"] >= 1
    assert all(result["versions"][k] for k in ("t2ibench", "torch", "numpy", "scipy", "piq", "scikit-image"))
    assert time.strptime(result["date"], "%Y-%m-%dT%H:%M:%SZ")
    assert result["errors"] == []
    rows = result["rows"]
    assert {(r["measurement"], r["load"]) for r in rows} == {(m, c) for m in ("frechet", "pixel")
                                                             for c in ("idle", "loaded")}
    for r in rows:
        assert r["device"] == "cpu" and r["ratio"] > 0 and r["peer"]["name"]
        assert r["values"] and all(v["agree"] for v in r["values"])
    md = (tmp_path / "smoke.md").read_text()
    assert "speed-up" in md and m["cpu_model"] in md and "Values side by side" in md
    assert 0 < result["config"]["wall_seconds"] < 900 and "the whole run took" in md
    assert "speed-up" in proc.stdout


def test_memory_child_reports_its_own_peak_not_its_parents():
    """A child started from a large process reports its own peak RSS (getrusage's ru_maxrss would
    carry the parent's over fork and exec)."""
    big = np.ones(600 * 2 ** 20 // 8)  # this test process holds 600 MB more when the child is forked
    proc = subprocess.run([sys.executable, "-c", "from t2ibench.perf.memory import peak_rss_mb; print(peak_rss_mb())"],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    assert 0 < float(proc.stdout) < big.nbytes / 2 ** 20


@pytest.mark.parametrize("argv,message", [
    (["--out", "/proc/no-such-folder"], "--out /proc/no-such-folder: cannot write there"),
    (["--only", "frechet,nonsense"], "--only: unknown measurement(s) ['nonsense']"),
    (["--device", "tpu"], "--device: expected cpu, cuda, cpu,cuda or auto, got 'tpu'"),
    (["--load-workers", "0"], "--load-workers: must be >= 1"),
])
def test_wrong_arguments_are_refused_before_any_measurement(argv, message, capsys):
    from t2ibench.perf.run import parse_args

    with pytest.raises(SystemExit) as e:
        parse_args(argv)
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_modes_pick_their_sizes(tmp_path):
    from t2ibench.perf.run import parse_args
    from t2ibench.perf.settings import SIZES

    for argv, mode in (([], "default"), (["--quick"], "quick"), (["--full"], "full")):
        args = parse_args([*argv, "--out", str(tmp_path), "--seed", "7", "--load", "idle"])
        assert args.mode == mode and args.seed == 7 and set(SIZES[mode]) == set(SIZES["default"])


def test_timed_torch_fidelity_call_reads_the_prepared_real_cache(shapes, folders, tmp_path):
    """The peer's real-side work is prepared once, untimed: the timed torch-fidelity call finds the
    real folder's cache that prepare wrote (same extractor name) and writes no new one."""
    refs = separate_tools.prepare(folders, shapes, "cpu", tmp_path / "cache")
    cached = sorted(p.name for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert cached and all(refs["classifier"] in name for name in cached)
    first = separate_tools.torch_fidelity_metrics(folders, refs, 60, 0, "cpu")
    assert sorted(p.name for p in (tmp_path / "cache").rglob("*") if p.is_file()) == cached
    assert separate_tools.torch_fidelity_metrics(folders, refs, 60, 0, "cpu") == first


def test_write_folders_holds_the_engines_images_and_the_real_ones(shapes, tmp_path):
    """The perf image folders: generated PNGs equal the engine's images for the plan (per-caption seeds),
    real PNGs equal the dataset's, captions.csv names them."""
    from t2ibench.engine import evaluation_plan
    from t2ibench.perf.folder import write_folders
    from t2ibench.perf.peers import read_pngs
    from t2ibench.registry import load_generator

    f = write_folders(tmp_path, "gan-int-cls", shapes, 55, seed=3, n_real=52)
    plan = evaluation_plan(shapes, 55, 3)
    expected = load_generator("gan-int-cls", dataset=shapes).generate(plan, seed=3)
    assert torch.equal(read_pngs(f.fake_files()), expected)
    assert torch.equal(read_pngs([f.real_file(k) for k in f.real_keys]), shapes.images(range(52)))
    assert len(f.captions_file.read_text().splitlines()) == 56
