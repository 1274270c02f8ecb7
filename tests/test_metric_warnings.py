"""Degenerate or small-sample estimates are said in the result (``EvalResult.warnings``, each also a
``UserWarning``): KID subsets clipped to / covering the whole set, Inception Score splits of a
single image or a single split, FID-like metrics on singular covariances or below
``defaults.FID_GUIDANCE_IMAGES``. Every case runs through ``evaluate``."""
from __future__ import annotations

import pytest

from t2ibench import defaults, evaluate


def _run(generator, dataset, metrics, n, **kw):
    with pytest.warns(UserWarning) as caught:
        result = evaluate(generator, dataset, metrics=metrics, n_images=n, progress=False, **kw)
    assert [str(w.message) for w in caught if str(w.message) in result.warnings] == result.warnings
    return result


def _notes(result, spec):
    return [w for w in result.warnings if w.startswith(f"{spec}: ")]


# ----------------------------------------------------------------------------- KID

def test_kid_on_coco_mini_79_images_says_the_subsets_are_the_whole_set(shared_dir):
    from t2ibench.data import load_dataset

    val = load_dataset("coco", split="test", root=shared_dir / "data" / "coco-mini", image_size=64)
    assert len(val) == 79
    spec = "kid@shapes-classifier"  # the embedded extractor: no download, a few seconds
    result = _run("real", val, [spec], len(val))
    clipped, whole = _notes(result, spec)
    assert "subset size clipped to 79" in clipped and f"the default is {defaults.KID_SUBSET_SIZE}" in clipped
    assert "every subset is the same set" in whole and "0 by construction" in whole
    assert result.metrics[spec]["subset_size"] == 79 and result.metrics[spec]["std"] < 1e-12


def test_kid_on_shapes_79_images_says_the_generated_set_is_in_every_subset(shapes_test):
    result = _run("noise", shapes_test, ["kid"], 79)
    clipped, whole = _notes(result, "kid")
    assert "subset size clipped to 79" in clipped and "n_fake=79, n_real=2000" in clipped
    assert "holds all 79 generated images" in whole and "choice of real images" in whole
    assert result.metrics["kid"]["std"] > 0  # the real side still varies


# ----------------------------------------------------------------------------- IS

def test_is_with_one_image_splits_warns(shapes_test):
    result = _run("real", shapes_test, ["is"], 15)  # 10 splits of 1 or 2 images
    (note,) = _notes(result, "is")
    assert "splits of as few as 1 image(s)" in note and "at most m" in note
    # 40 images: splits of 4, quiet
    assert _notes(evaluate("real", shapes_test, metrics=["is"], n_images=40, progress=False), "is") == []


def test_is_with_a_single_split_warns(shapes_test, monkeypatch):
    monkeypatch.setattr(defaults, "IS_SPLITS", 1)
    result = _run("real", shapes_test, ["is"], 50)
    (note,) = _notes(result, "is")
    assert "single split covers all 50 images" in note and result.value("is") > 1
    assert result.metrics["is"]["std"] == 0.0


# ----------------------------------------------------------------------------- FID and friends

def test_fid_below_the_feature_dimension_warns_singular_and_biased(shapes_test):
    result = _run("real", shapes_test, ["fid"], 100)  # shapes-classifier: 256-d embedding
    singular, biased = _notes(result, "fid")
    assert "covariance of the 100 generated images' 256-d features is singular" in singular
    assert "FID at n=100 is biased upward (small-sample bias" in biased
    assert "compare only at equal n" in biased and "30000" in biased
    assert str(defaults.FID_GUIDANCE_IMAGES) in biased
    # below FID_MIN_IMAGES (refused unless allow_small_n) the engine's one warning says it all
    with pytest.raises(ValueError, match="allow_small_n"):
        evaluate("real", shapes_test, metrics=["fid"], n_images=20, progress=False)
    small = _run("real", shapes_test, ["fid"], 20, allow_small_n=True)
    assert len(small.warnings) == 1 and "computed anyway (allow_small_n)" in small.warnings[0]


def test_fid_above_the_dimension_but_below_the_guidance_warns_bias_only(shapes_test):
    result = _run("real", shapes_test, ["fid"], 300)
    (biased,) = _notes(result, "fid")
    assert biased.startswith("fid: FID at n=300 is biased upward")


def test_fid_guidance_is_a_default(shapes_test, monkeypatch):
    monkeypatch.setattr(defaults, "FID_GUIDANCE_IMAGES", 300)
    result = evaluate("real", shapes_test, metrics=["fid"], n_images=300, progress=False)
    assert _notes(result, "fid") == []


def test_clip_fid_and_cmd_warn_like_fid(shapes_test):
    result = _run("real", shapes_test, ["clip-fid", "cmd", "itdis"], 100)
    for spec, label in (("clip-fid", "CLIP-FID"), ("cmd", "CMD"), ("itdis", "ITDis")):
        singular, biased = _notes(result, spec)
        assert "is singular" in singular and f"{label} at n=100 is biased upward" in biased
