"""``t2ibench eval --images DIR --captions FILE``: a folder of images generated elsewhere (issue 10)."""
from __future__ import annotations

import csv
import json

import pytest
import torch
from PIL import Image

from t2ibench import evaluate
from t2ibench.cli import main
from t2ibench.engine import evaluation_plan
from t2ibench.generators.image_folder import evaluate_image_folder, read_captions_file
from t2ibench.io import sha256_file

N = 100
METRICS = ["ssim", "fid", "r-precision"]


def _write_folder(root, dataset, plan, keys=True, suffix=".png", fmt="csv", images=None):
    root.mkdir(parents=True, exist_ok=True)
    images = dataset.images([c.image_index for c in plan]) if images is None else images
    rows = []
    for k, (c, img) in enumerate(zip(plan, images)):
        name = f"{k:04d}{suffix}"
        Image.fromarray(img.permute(1, 2, 0).numpy()).save(root / name, quality=90)
        rows.append({"file": name, "caption": str(c), **({"image_key": dataset.key(c.image_index)} if keys else {})})
    captions = root.parent / f"captions.{'csv' if fmt == 'csv' else 'jsonl'}"
    if fmt == "csv":
        with open(captions, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    else:
        captions.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return captions


@pytest.fixture(scope="module")
def folder(tmp_path_factory, shapes_test):
    root = tmp_path_factory.mktemp("folder") / "images"
    return root, _write_folder(root, shapes_test, evaluation_plan(shapes_test, N, 0))


def test_real_test_images_as_pngs_score_as_real(folder, shapes_test):
    root, captions = folder
    got = evaluate_image_folder(root, captions, shapes_test, metrics=METRICS, progress=False)
    real = evaluate("real", shapes_test, metrics=METRICS, n_images=N, progress=False)
    assert got.metrics["ssim"]["value"] == pytest.approx(1.0, abs=1e-12)
    for m in METRICS:
        assert got.metrics[m]["value"] == real.metrics[m]["value"], m
    files = got.provenance["images"]["files"]
    assert len(files) == N and files[3] == ["0003.png", sha256_file(root / "0003.png")]
    assert got.generator == f"folder:{root}"


def test_cli_scores_a_folder_and_writes_result_and_samples(folder, tmp_path, capsys):
    root, captions = folder
    out = tmp_path / "out"
    assert main(["eval", "--images", str(root), "--captions", str(captions), "--dataset", "shapes",
                 "--metrics", "ssim", "--out", str(out), "--no-progress"]) == 0
    result = json.loads((out / "result.json").read_text())
    assert result["metrics"]["ssim"]["value"] == pytest.approx(1.0)
    assert (out / "samples.png").stat().st_size > 0 and not (out / "images").exists()


def test_without_image_keys_only_unpaired_metrics_run(tmp_path, shapes_test):
    plan = evaluation_plan(shapes_test, 60, 0)
    captions = _write_folder(tmp_path / "images", shapes_test, plan, keys=False, fmt="jsonl")
    assert read_captions_file(captions)[0].image_key is None
    with pytest.raises(ValueError, match="ssim.*no image keys"):
        evaluate_image_folder(tmp_path / "images", captions, shapes_test, metrics=["ssim", "fid"], progress=False)
    with pytest.warns(UserWarning, match="no image keys"):
        got = evaluate_image_folder(tmp_path / "images", captions, shapes_test, metrics=None, progress=False)
    left_out = {"ssim", "fsim", "fsimc", "ms-ssim", "r-precision"}
    assert not left_out & set(got.metrics) and "fid" in got.metrics and "clipscore" in got.metrics
    assert any("only unpaired metrics ran" in w and "ssim" in w for w in got.warnings)


def test_jpeg_is_accepted_with_a_warning(tmp_path, shapes_test):
    plan = evaluation_plan(shapes_test, 60, 0)
    captions = _write_folder(tmp_path / "images", shapes_test, plan, suffix=".jpg")
    with pytest.warns(UserWarning, match="JPEG"):
        got = evaluate_image_folder(tmp_path / "images", captions, shapes_test, metrics=["ssim"], progress=False)
    assert 0.5 < got.metrics["ssim"]["value"] < 1.0 and any("JPEG" in w for w in got.warnings)


def _missing(root, captions):
    (root / "0002.png").unlink()
    (root / "0007.png").unlink()


def _extra(root, captions):
    Image.new("RGB", (64, 64)).save(root / "stray.png")


def _unreadable(root, captions):
    (root / "0004.png").write_bytes(b"\x89PNG not really")


def _other_size(root, captions):
    Image.new("RGB", (32, 32)).save(root / "0005.png")


def _unknown_key(root, captions):
    rows = list(csv.DictReader(captions.read_text().splitlines()))
    rows[1]["image_key"] = "no-such-image"
    _rewrite(captions, rows)


def _some_keys(root, captions):
    rows = list(csv.DictReader(captions.read_text().splitlines()))
    rows[0]["image_key"] = ""
    _rewrite(captions, rows)


def _no_caption_column(root, captions):
    captions.write_text("file,text\n0000.png,a red circle\n")


def _outside(root, captions):
    rows = list(csv.DictReader(captions.read_text().splitlines()))
    rows[0]["file"] = "../captions.csv"
    _rewrite(captions, rows)


def _rewrite(captions, rows):
    with open(captions, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


@pytest.mark.parametrize("damage, words", [
    (_missing, ["2 of the 10 files", "missing", "'0002.png'", "'0007.png'"]),
    (_extra, ["not in the captions file", "'stray.png'"]),
    (_unreadable, ["not readable images", "0004.png"]),
    (_other_size, ["different sizes", "most are 64x64", "0005.png (32x32)"]),
    (_unknown_key, ["image_key", "'no-such-image'", "shapes[test]", "keys look like"]),
    (_some_keys, ["1 of 10 rows have no image_key", "every row its key, or none"]),
    (_no_caption_column, ["lacks ['caption']", "file,caption"]),
    (_outside, ["outside --images", "'../captions.csv'"]),
], ids=lambda x: getattr(x, "__name__", "")[1:] if callable(x) else "")
def test_a_bad_folder_is_one_clear_error_through_the_cli(damage, words, tmp_path, shapes_test, capsys, monkeypatch):
    monkeypatch.delenv("T2IBENCH_DEBUG", raising=False)
    root = tmp_path / "images"
    captions = _write_folder(root, shapes_test, evaluation_plan(shapes_test, 10, 0))
    damage(root, captions)
    code = main(["eval", "--images", str(root), "--captions", str(captions), "--metrics", "ssim",
                 "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: ") and len(err.splitlines()) == 1, err
    missing = [w for w in words if w not in err]
    assert not missing, f"the message lacks {missing}: {err}"
    assert not (tmp_path / "out" / "result.json").exists()
