"""The whole pipeline on real captioned images: ../shared/data/coco-mini (80 train, 79 val images).

Evaluators (DAMSM, VSE++, the CLIP stand-in) are trained on the 80 train images for a few
epochs, then the reference rows are scored on the val images. 80 images cannot train an
evaluator that generalises (held-out recall stays near chance), so the test checks that the
whole path runs on real data and gives well-formed numbers, not that it ranks the rows
(README, "coco-mini").
"""
from __future__ import annotations

import math

import pytest

from t2ibench import evaluate
from t2ibench.cli import main as cli_main
from t2ibench.data import load_dataset

METRICS = ["r-precision", "rank1", "clipscore", "cmd", "itdis", "ssim"]


@pytest.mark.slow
def test_coco_mini_end_to_end(shared_dir, tmp_path):
    root = shared_dir / "data" / "coco-mini"
    out = tmp_path / "evaluators"
    assert cli_main(["train-evaluators", "--dataset", "coco", "--data-root", str(root), "--only", "damsm,vse,clip",
                     "--damsm-backbone", "cnn",
                     "--epochs", "6", "--out", str(out), "--no-progress", "--device", "cpu"]) == 0
    weights = {"damsm": out / "damsm-coco.safetensors", "vse": out / "vse-coco.safetensors",
               "tiny-clip": out / "tiny-clip-coco.safetensors"}
    val = load_dataset("coco", split="test", root=root, image_size=64)
    metrics = [m if m == "ssim" else f"{m}@" + {"r-precision": "damsm", "rank1": "vse"}.get(m, "tiny-clip")
               for m in METRICS]
    rows = {g: evaluate(g, val, metrics=metrics, n_images=len(val), progress=False,
                        extractor_weights={k: str(v) for k, v in weights.items()})
            for g in ("real", "real-mismatched")}
    real, mism = rows["real"], rows["real-mismatched"]
    print({g: {m: round(r.value(m), 4) for m in metrics} for g, r in rows.items()})
    assert real.value("ssim") == pytest.approx(1.0, abs=1e-6) and mism.value("ssim") < 0.9
    for r in rows.values():
        assert all(math.isfinite(r.value(m)) for m in metrics)
        assert 0 <= r.value("r-precision@damsm") <= 1 and 0 <= r.value("rank1@vse") <= 1
        assert 0 <= r.value("clipscore@tiny-clip") <= 2.5 and r.value("itdis@tiny-clip") >= 0
        assert r.metrics["rank1@vse"]["n_folds"] >= 1
    assert real.extractors["tiny-clip"]["stand_in"] is True
