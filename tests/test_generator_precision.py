"""Generators under torch.autocast (issue 15, point 2: "on CUDA, autocast for generators where it leaves
metric inputs within tolerance"): the opt-in ``generator_precision`` runs a generator's calls in
float16 / bfloat16 while feature extractors and metrics stay in float32. No GPU here: bfloat16 on the CPU,
the same autocast mechanism, checked against float32 with the regress gate's tolerances."""
from __future__ import annotations

import warnings

import pytest
import torch

from t2ibench import defaults
from t2ibench.compare import compare
from t2ibench.data import load_dataset
from t2ibench.engine import evaluate, evaluation_plan, run_identity
from t2ibench.generators.base import generator_autocast
from t2ibench.registry import load_generator


def test_generator_autocast_contexts():
    with generator_autocast("float32", "cpu"):
        assert not torch.is_autocast_enabled("cpu")
    with generator_autocast("bfloat16", "cpu"):
        assert torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16
    with pytest.raises(ValueError, match="expected one of float32, float16, bfloat16, got 'half'"):
        generator_autocast("half", "cpu")
    with pytest.raises(ValueError, match="generator precision"):
        evaluate("noise", "shapes", metrics=["ssim"], n_images=10, generator_precision="fp8", progress=False)
    with pytest.raises(ValueError, match="float16 is for CUDA: .* use bfloat16 on the CPU"):  # before generating
        evaluate("attngan", "shapes", metrics=["ssim"], n_images=10, generator_precision="float16", progress=False)


def test_bfloat16_generation_stays_within_the_regress_tolerance_of_float32():
    """attngan (LSTM text encoder, attention, convolutions) at 300 images: every default metric of the
    bfloat16 run is 'ok' against the float32 run in the regress gate (neither worse nor better beyond
    its tolerance), the images do differ, and the result says which precision made them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fp32 = evaluate("attngan", "shapes", n_images=300, progress=False)
        bf16 = evaluate("attngan", "shapes", n_images=300, generator_precision="bfloat16", progress=False)
    assert (fp32.provenance["generator_precision"], bf16.provenance["generator_precision"]) == ("float32", "bfloat16")
    assert fp32.value("ssim") != bf16.value("ssim")  # autocast took effect
    comparison = compare(fp32, bf16, mode="regress")
    assert {r["verdict"] for r in comparison.rows} == {"ok"}, comparison.summary()


def test_precision_is_part_of_the_image_folder_key(tmp_path):
    """Kept float32 images are never read back for a bfloat16 run (and a float32 run keeps the key it
    had before precisions existed)."""
    dataset = load_dataset("shapes", split="test")
    generator = load_generator("gan-int-cls", dataset=dataset)
    plan = evaluation_plan(dataset, 20, 0)
    identity = run_identity(generator, "gan-int-cls", dataset, plan, 0)
    assert "generator_precision" not in identity
    assert run_identity(generator, "gan-int-cls", dataset, plan, 0, "bfloat16") == {
        **identity, "generator_precision": "bfloat16"}
    kw = dict(metrics=["ssim"], n_images=20, allow_small_n=True, progress=False, image_dir=tmp_path / "images")
    evaluate(generator, dataset, generator_name="gan-int-cls", **kw)
    with pytest.raises(ValueError, match="generator_precision"):
        evaluate(generator, dataset, generator_name="gan-int-cls", generator_precision="bfloat16", **kw)
    assert defaults.GENERATOR_PRECISION == "float32"


def test_cli_flag_reaches_the_result_and_the_regenerated_samples(tmp_path, monkeypatch):
    """``t2ibench eval --generator-precision bfloat16 --no-images``: the result records it, and the sample
    grid (generated again, no images kept) is drawn under the same autocast as the evaluation."""
    import json

    from t2ibench import cli
    from t2ibench.generators import base

    used = []
    real = base.generator_autocast
    monkeypatch.setattr(base, "generator_autocast", lambda p, d: used.append(p) or real(p, d))
    out = tmp_path / "eval"
    assert cli.main(["eval", "--generator", "gan-int-cls", "--metrics", "ssim", "--n-images", "20", "--allow-small-n",
                     "--generator-precision", "bfloat16", "--no-images", "--no-progress", "--out", str(out)]) == 0
    assert json.loads((out / "result.json").read_text())["provenance"]["generator_precision"] == "bfloat16"
    assert used[-1] == "bfloat16" and (out / "samples.png").is_file()


def test_benchmark_flag_reaches_the_leaderboard_the_tables_and_fid_against_n(tmp_path, benchmark_script):
    """``benchmark.py --generator-precision bfloat16``: the leaderboard's result, a paper table's results and the
    FID/KID-against-n curve (which reuses the leaderboard's result only at the same precision) all say it."""
    import json

    args = ["--generators", "gan-int-cls", "--generator-precision", "bfloat16", "--n-images", "60", "--metrics",
            "fid,kid,ssim", "--fid-vs-n", "gan-int-cls", "--no-sanity", "--table", "sdn-3", "--table-n-images", "60",
            "--allow-small-n", "--out", str(tmp_path / "lb"), "--images-dir", str(tmp_path / "images"),
            "--no-progress", "--device", "cpu"]
    assert benchmark_script.main(args) == 0
    board = tmp_path / "lb" / "shapes"
    results = [board / "results" / "gan-int-cls.json", *sorted((board / "tables" / "results").glob("*.json"))]
    assert len(results) > 2
    for path in results:
        assert json.loads(path.read_text())["provenance"]["generator_precision"] == "bfloat16", path
    curve = (board / "fid_kid_vs_n.csv").read_text().splitlines()
    assert curve[0].startswith("generator,n,fid") and curve[1].startswith("gan-int-cls,60,") and curve[1].endswith(",True")
