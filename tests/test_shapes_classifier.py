"""The shapes domain classifier: shipped checkpoint, accuracy, extractor contract, weight checks."""
from __future__ import annotations

import json
import shutil

import pytest
import torch

from t2ibench.data import load_dataset
from t2ibench.data.shapes import fingerprint_of
from t2ibench.evaluators import shapes_classifier as sc
from t2ibench.features import list_extractors, load_extractor
from t2ibench.io import sha256_file


@pytest.fixture(scope="module")
def manifest():
    if not sc.MANIFEST_FILE.is_file() or not sc.WEIGHTS_FILE.is_file():
        pytest.fail(f"the shipped checkpoint is missing: {sc.WEIGHTS_FILE} / {sc.MANIFEST_FILE}")
    return json.loads(sc.MANIFEST_FILE.read_text())


@pytest.fixture(scope="module")
def extractor():
    return load_extractor("shapes-classifier")


def test_manifest_matches_the_shipped_weights(manifest):
    assert manifest["sha256"] == sha256_file(sc.WEIGHTS_FILE)
    assert sc.WEIGHTS_FILE.stat().st_size < 2.5e6
    for key in ("config", "command", "seed", "epochs", "dataset", "test_accuracy", "n_test_images",
                "train_time_s", "torch_version"):
        assert key in manifest, key
    assert manifest["command"].startswith("python -m t2ibench.evaluators.shapes_classifier")
    assert manifest["dataset"]["name"] == "shapes"
    # trained on the current dataset version: retrain when shapes.VERSION or the defaults change
    assert manifest["dataset"]["test_fingerprint"] == fingerprint_of("test")
    assert manifest["dataset"]["train_fingerprint"] == fingerprint_of("train")
    assert manifest["test_accuracy"] >= 0.95


def test_held_out_accuracy_is_reproduced(manifest, extractor):
    # the first 500 images of the default test split (test image i is pool image n_train + i)
    ds = load_dataset("shapes", split="test", n_test=500, progress=False)
    logits = extractor(ds.images(range(len(ds))))["logits"]
    acc = float((logits.argmax(1) == ds.class_ids()).float().mean())
    assert acc >= 0.9
    assert abs(acc - manifest["test_accuracy"]) <= 0.025, (acc, manifest["test_accuracy"])


def test_extractor_contract(extractor, manifest):
    assert "shapes-classifier" in list_extractors()
    assert extractor.outputs == ("features", "logits")
    assert extractor.weights_id == manifest["sha256"]
    assert extractor.resize_mode == "bilinear-antialias-64" and extractor.stand_in is True
    assert extractor.describe()["weights_id"] == manifest["sha256"]
    assert extractor.roles == {"embedding": "features", "logits": "logits"}
    g = torch.Generator().manual_seed(0)
    for size in (32, 64, 100):
        x = torch.randint(0, 256, (3, 3, size, size), dtype=torch.uint8, generator=g)
        out = extractor(x)
        assert set(out) == {"features", "logits"}
        assert out["features"].shape == (3, manifest["config"]["widths"][-1]) and out["features"].dtype == torch.float32
        assert out["logits"].shape == (3, 48) and out["logits"].dtype == torch.float32
        assert torch.isfinite(out["features"]).all() and torch.isfinite(out["logits"]).all()
    with pytest.raises(TypeError):
        extractor(torch.zeros(1, 3, 64, 64))  # float input: uint8 is the contract
    # batching does not change the result
    x = torch.randint(0, 256, (5, 3, 64, 64), dtype=torch.uint8, generator=g)
    assert torch.allclose(extractor(x)["logits"][2:3], extractor(x[2:3])["logits"], atol=1e-4)


def test_user_weights_with_manifest(tmp_path, manifest):
    w, m = tmp_path / "mine.safetensors", tmp_path / "mine.json"
    shutil.copy(sc.WEIGHTS_FILE, w)
    shutil.copy(sc.MANIFEST_FILE, m)
    ext = load_extractor("shapes-classifier", weights=str(w))
    assert ext.weights_id == manifest["sha256"]


def test_wrong_hash_weights_raise_value_error(tmp_path):
    w, m = tmp_path / "bad.safetensors", tmp_path / "bad.json"
    data = bytearray(sc.WEIGHTS_FILE.read_bytes())
    data[-10] ^= 0xFF  # one flipped byte in the tensor data
    w.write_bytes(bytes(data))
    shutil.copy(sc.MANIFEST_FILE, m)
    with pytest.raises(ValueError, match="bad.safetensors"):
        load_extractor("shapes-classifier", weights=str(w))
    with pytest.raises(ValueError, match="sha256"):
        sc.load_classifier(w, manifest=m)


def test_corrupt_or_foreign_weights_raise_value_error(tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00\x01not a safetensors file" * 10)
    with pytest.raises(ValueError, match="junk.safetensors"):
        load_extractor("shapes-classifier", weights=str(junk))
    from safetensors.torch import save_file

    other = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(3)}, str(other))
    with pytest.raises(ValueError, match="other.safetensors"):
        load_extractor("shapes-classifier", weights=str(other))
    with pytest.raises(ValueError, match="no such file"):
        load_extractor("shapes-classifier", weights=str(tmp_path / "missing.safetensors"))


def test_training_is_deterministic_and_writes_a_manifest(tmp_path):
    kw = dict(seed=0, epochs=1, progress=False, n_train=96, n_test=48)
    a = sc.train_shapes_classifier(tmp_path / "a", **kw)
    b = sc.train_shapes_classifier(tmp_path / "b", **kw)
    assert a["sha256"] == b["sha256"] == sha256_file(tmp_path / "a" / "shapes-classifier.safetensors")
    assert json.loads((tmp_path / "a" / "shapes-classifier.json").read_text())["sha256"] == a["sha256"]
    assert a["n_test_images"] == 48 and 0 <= a["test_accuracy"] <= 1
    c = sc.train_shapes_classifier(tmp_path / "c", **{**kw, "seed": 1})
    assert c["sha256"] != a["sha256"]
    model, digest = sc.load_classifier(tmp_path / "a" / "shapes-classifier.safetensors")
    assert digest == a["sha256"] and isinstance(model, sc.ShapesClassifier)


def test_cli_help(capsys):
    with pytest.raises(SystemExit) as e:
        sc.main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--out", "--seed", "--epochs", "--device"):
        assert flag in out


def test_bad_config_raises_value_error():
    with pytest.raises(ValueError, match="widths"):
        sc.build_classifier({**sc.DEFAULT_CONFIG, "widths": [32, 64]})
    with pytest.raises(ValueError, match="epochs"):
        sc.train_shapes_classifier("/nonexistent", epochs=0)
