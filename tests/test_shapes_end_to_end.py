"""End to end on the embedded ``shapes``: reference rows against known ground truth, CLI, benchmark.py."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from t2ibench import evaluate
from t2ibench.cli import main as cli_main

N = 200



@pytest.fixture(scope="module")
def rows(shapes_test):
    metrics = ["is", "fid", "ssim"]
    return {g: evaluate(g, shapes_test, metrics=metrics, n_images=N, progress=False)
            for g in ("real", "real-mismatched", "noise")}


def test_fid_and_is_separate_real_from_noise_by_a_wide_margin(rows):
    real, noise = rows["real"], rows["noise"]
    assert noise.value("fid") > 20 * real.value("fid")
    # 48 classes, but each of the 10 splits holds 20 images, which bounds IS by 20: real images
    # are classified confidently and spread over the classes (IS near that bound), noise is not.
    assert real.value("is") > 10
    assert noise.value("is") < 3
    assert rows["real"].extractors["shapes-classifier"]["stand_in"] is True


def test_paired_ssim_is_one_for_real_and_well_below_for_mismatched(rows):
    assert rows["real"].value("ssim") == pytest.approx(1.0, abs=1e-6)
    assert rows["real-mismatched"].value("ssim") < 0.8
    assert rows["noise"].value("ssim") < 0.1


def test_real_mismatched_images_are_realistic_but_misaligned(rows):
    # Same image distribution as real (FID at the small-N floor), but the caption's image is not matched.
    assert rows["real-mismatched"].value("fid") < 0.2 * rows["noise"].value("fid")


def test_cli_eval_writes_result_and_samples(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli_main(["eval", "--generator", "real", "--metrics", "ssim,fid", "--n-images", "60",
                     "--out", str(out), "--no-progress", "--device", "cpu"]) == 0
    result = json.loads((out / "result.json").read_text())
    assert result["metrics"]["ssim"]["value"] == pytest.approx(1.0, abs=1e-6)
    assert result["dataset"]["name"] == "shapes" and (out / "samples.png").stat().st_size > 1000
    assert "ssim" in capsys.readouterr().out


def test_cli_eval_default_folder_is_per_generator_and_dataset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for generator in ("noise", "real"):  # a second generator never meets the first one's kept images
        assert cli_main(["eval", "--generator", generator, "--metrics", "ssim", "--n-images", "5", "--no-progress",
                         "--device", "cpu"]) == 0
        folder = tmp_path / "runs" / "eval" / generator / "shapes"
        assert (folder / "result.json").is_file()
        assert len(list((folder / "images" / "shard-00000").glob("*.png"))) == 5


def test_cli_allow_small_n_writes_the_warning(tmp_path):
    out = tmp_path / "small"
    with pytest.warns(UserWarning, match="needs at least 50 images"):
        assert cli_main(["eval", "--generator", "noise", "--metrics", "fid", "--n-images", "10", "--allow-small-n",
                         "--out", str(out), "--no-progress", "--device", "cpu"]) == 0
    result = json.loads((out / "result.json").read_text())
    assert result["metrics"]["fid"]["value"] > 0 and "allow_small_n" in result["warnings"][0]


@pytest.mark.parametrize("argv, words", [
    (["eval", "--generator", "nope"], "unknown generator 'nope'"),
    (["eval", "--generator", "real", "--metrics", "fid,bogus"], "unknown metric 'bogus'"),
    (["eval", "--generator", "real", "--dataset", "imagenet"], "unknown dataset 'imagenet'"),
    (["eval", "--generator", "real", "--metrics", "fid", "--n-images", "10"], "needs at least 50 images"),
    (["eval", "--generator", "real", "--device", "cuda:7"], "--device"),
    (["eval", "--generator", "real", "--dataset", "cub", "--data-root", "/nonexistent"], "/nonexistent"),
    (["eval", "--generator", "real", "--metrics", "is@inception-v3-compat", "--inception-weights",
      "/nonexistent.pt"], "nonexistent.pt"),
    (["eval", "--generator", "real", "--metrics", "r-precision@shapes-classifier"], "encodes images only"),
    (["eval", "--generator", "real", "--metrics", "rank1@vse"], "needs weights=PATH"),
    (["eval", "--generator", "real", "--weights", "damsm"], "expected EXTRACTOR=PATH"),
    (["train-evaluators", "--only", "bogus"], "unknown evaluator 'bogus'"),
])
def test_cli_bad_input_is_one_clear_line(argv, words, capsys, tmp_path):
    assert cli_main(argv + ["--out", str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    message = err[err.index("error: "):]  # after any progress bar; may span lines (e.g. a folder layout)
    assert words in message and "Traceback" not in err


def test_cli_list_names_everything(capsys):
    assert cli_main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("real", "noise", "shapes", "cub", "fid", "ms-ssim", "inception-v3-compat", "shapes-classifier"):
        assert f"  {name}\n" in out


def test_benchmark_writes_the_leaderboard(tmp_path, benchmark_script):
    assert benchmark_script.main(["--n-images", "60", "--metrics", "ssim,fid", "--out", str(tmp_path / "lb"), "--no-progress",
                       "--no-sanity", "--table", "none", "--images-dir", str(tmp_path / "images"), "--device", "cpu"]) == 0
    board = tmp_path / "lb" / "shapes"
    for f in ("leaderboard.md", "leaderboard.csv", "leaderboard.json", "leaderboard.tex", "metrics.png",
              "samples/real.png", "samples/all_generators.png", "results/noise.json", "fid_kid_vs_n.png",
              "fid_kid_vs_n.csv"):
        assert (board / f).is_file(), f
    md = (board / "leaderboard.md").read_text()
    assert "| real |" in md and "| noise |" in md and "fid ↓" in md and "ssim ↑" in md


def test_benchmark_measures_one_table_of_each_paper_byte_identically(tmp_path, benchmark_script, capsys):
    """``--table`` regenerates a paper table in its four formats and its figure, with its caption (n, seed) and
    agreement figures; the same command again rewrites byte-identical files (generated images read back)."""
    tables = ["sdn-3", "hdgan-2", "cpgan-fig-6", "ktgan-table-2", "grgan-4"]
    args = ["--no-leaderboard", "--no-sanity", "--table", ",".join(tables), "--table-n-images", "60",
            "--allow-small-n", "--out", str(tmp_path / "lb"), "--images-dir", str(tmp_path / "images"),
            "--no-progress", "--device", "cpu"]
    assert benchmark_script.main(args) == 0
    out = tmp_path / "lb" / "shapes" / "tables"
    ids = ["sdn-table-3", "hdgan-table-2", "cpgan-figure-6", "ktgan-table-2", "grgan-table-4"]
    first = {f.name: f.read_bytes() for f in sorted(out.glob("*.*"))}
    assert set(first) == {f"{i}.{fmt}" for i in ids for fmt in ("md", "csv", "json", "tex", "png")}
    hdgan = json.loads(first["hdgan-table-2.json"])
    assert hdgan["run"]["n"] == 60 and hdgan["run"]["seed"] == 0 and "n = 60 images per generator" in hdgan["caption"]
    assert "Kendall" in first["hdgan-table-2.md"].decode() and "agreement" in hdgan
    # the side outputs of one HDGAN model (Table 2) were measured: IS at 16, 32 and 64 px
    assert (tmp_path / "lb" / "shapes" / "tables" / "results" / "hdgan-side_output16.json").is_file()
    assert benchmark_script.main(args) == 0
    assert {f.name: f.read_bytes() for f in sorted(out.glob("*.*"))} == first
    assert benchmark_script.main(args[:2] + ["--table", "ktgan-99"] + args[4:]) == 2
    assert "unknown table 'ktgan-99'" in capsys.readouterr().err


def test_console_script_help():
    exe = Path(sys.executable).with_name("t2ibench")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "t2ibench.cli"]
    out = subprocess.run(cmd + ["eval", "--help"], capture_output=True, text=True, check=True).stdout
    for flag in ("--device", "--seed", "--out", "--n-images", "--metrics", "--inception-weights"):
        assert flag in out


@pytest.fixture(scope="module")
def text_rows(shapes_test):
    metrics = ["r-precision", "r-precision-cpgan", "rank1", "vs-similarity", "clipscore", "cmd", "itdis"]
    return {g: evaluate(g, shapes_test, metrics=metrics, n_images=N, progress=False)
            for g in ("real", "real-mismatched")}


def test_alignment_metrics_rank_real_above_mismatched(text_rows):
    real, mism = text_rows["real"], text_rows["real-mismatched"]
    assert real.value("r-precision") >= 0.7
    assert mism.value("r-precision") <= 0.05  # chance is 0.01
    assert real.value("r-precision-cpgan") > 5 * mism.value("r-precision-cpgan")
    assert real.value("rank1") > 5 * max(mism.value("rank1"), 0.01)
    assert real.value("vs-similarity") > mism.value("vs-similarity") + 0.3
    assert real.value("clipscore") > mism.value("clipscore") + 0.5
    assert real.value("cmd") < mism.value("cmd") and real.value("itdis") < mism.value("itdis")


def test_results_name_the_embedded_evaluators(text_rows):
    ext = text_rows["real"].extractors
    assert set(ext) == {"damsm-shapes", "vse-shapes", "vs-shapes", "tiny-clip-shapes"}
    assert ext["tiny-clip-shapes"]["stand_in"] and ext["damsm-shapes"]["stand_in"]
    assert all(len(e["weights_id"]) == 64 for e in ext.values())  # sha256 of the shipped files


def test_cli_sanity_writes_table_and_heat_map(tmp_path, capsys):
    out = tmp_path / "sanity"
    assert cli_main(["sanity", "--metrics", "ssim,r-precision", "--n-images", "100", "--out", str(out),
                     "--no-progress", "--device", "cpu"]) == 0
    md = (out / "sanity.md").read_text()
    assert "| attribute-word |" in md and (out / "sanity.png").stat().st_size > 1000
    import pandas as pd

    raw = pd.read_csv(out / "sanity.csv", index_col="row")
    # one colour word changed: invisible to paired SSIM (same image), caught by R-precision
    assert raw.loc["attribute-word", "ssim"] == pytest.approx(1.0, abs=1e-6)
    assert raw.loc["attribute-word", "r-precision"] < 0.5 * raw.loc["real", "r-precision"]
