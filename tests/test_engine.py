"""The single-pass engine on a toy dataset: ground truth, single pass, caching, invariances."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from t2ibench import evaluate
from t2ibench.engine import evaluation_plan
from t2ibench.generators.reference import RealImages, RealMismatchedImages, UniformNoise

from toy import ToyExtractor

METRICS = ["fid@toy", "kid@toy", "is@toy", "ssim", "ms-ssim"]


pytestmark = pytest.mark.usefixtures("few_ms_ssim_pairs")  # tests/conftest.py


def test_real_is_the_ceiling_and_noise_the_floor(toy):
    real = evaluate(RealImages(toy), toy, metrics=METRICS, progress=False, generator_name="real")
    mism = evaluate(RealMismatchedImages(toy), toy, metrics=METRICS, progress=False)
    noise = evaluate(UniformNoise(32), toy, metrics=METRICS, progress=False)
    # n_images defaults to the split, each image once: identical sets give FID 0 and SSIM 1.
    assert real.value("fid@toy") == pytest.approx(0.0, abs=1e-9)
    assert real.value("ssim") == pytest.approx(1.0, abs=1e-6)
    assert mism.value("ssim") < 0.9
    assert noise.value("fid@toy") > 10 * max(mism.value("fid@toy"), 1e-3)
    assert noise.value("ssim") < 0.1
    assert real.value("kid@toy") < noise.value("kid@toy")
    # IS of the toy 'logits' (class colour means): real images are more class-confident than noise.
    assert real.value("is@toy") > noise.value("is@toy")
    assert real.metrics["is@toy"]["std"] is not None and real.metrics["fid@toy"]["std"] is None


def test_real_generator_uses_the_caption_source_image(toy):
    plan = evaluation_plan(toy, 60, seed=3)
    # About half of the plan draws the caption "a picture", shared by every image.
    assert sum(c == "a picture" for c in plan) > 10
    images = RealImages(toy).generate(plan)
    assert torch.equal(images, toy.images([c.image_index for c in plan]))


def test_each_caption_generated_once_and_extractor_runs_once_per_image(toy, tmp_path, monkeypatch):
    from t2ibench import defaults

    monkeypatch.setattr(defaults, "CACHE_DIR", tmp_path)

    class Counting(UniformNoise):
        seen = 0

        def generate(self, captions, seed=0):
            Counting.seen += len(captions)
            return super().generate(captions, seed)

    ToyExtractor.calls = 0
    evaluate(Counting(32), toy, metrics=["fid@toy", "is@toy", "kid@toy"], n_images=55, batch_size=10, progress=False)
    assert Counting.seen == 55
    assert ToyExtractor.calls == 55 + len(toy)  # generated once + the real split once (then cached)
    ToyExtractor.calls = 0
    evaluate(Counting(32), toy, metrics=["fid@toy"], n_images=55, progress=False)
    assert ToyExtractor.calls == 55  # real features came from the cache
    assert len(list((tmp_path / "stats").glob("toy-test-toy-*.npz"))) == 1


def test_batch_size_invariance_and_seed_sensitivity(toy):
    kw = dict(metrics=["fid@toy", "ssim", "ms-ssim"], n_images=52, progress=False)
    a = evaluate(UniformNoise(32), toy, batch_size=52, seed=1, **kw)
    b = evaluate(UniformNoise(32), toy, batch_size=7, seed=1, **kw)
    c = evaluate(UniformNoise(32), toy, batch_size=52, seed=2, **kw)
    for m in kw["metrics"]:
        assert a.value(m) == pytest.approx(b.value(m), rel=1e-9, abs=1e-12)
    assert a.value("fid@toy") != c.value("fid@toy")


def test_result_serialises_with_provenance(toy, tmp_path):
    r = evaluate(RealImages(toy), toy, metrics=["fid@toy", "ssim"], n_images=50, seed=5, progress=False,
                 generator_name="real")
    r.save(tmp_path / "r.json")
    d = json.loads((tmp_path / "r.json").read_text())
    assert d["seed"] == 5 and d["n_images"] == 50
    assert d["dataset"]["fingerprint"] == toy.fingerprint
    assert d["extractors"]["toy"]["weights_id"] == "toy-v1"
    from importlib.metadata import version

    assert d["provenance"]["versions"]["torch"] == version("torch")
    assert d["provenance"]["versions"]["t2ibench"] == version("t2ibench")
    assert d["metrics"]["fid@toy"]["extractor"] == "toy"


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(metrics=["nope"]), ValueError, "unknown metric 'nope'"),
    (dict(metrics=["fid@nope"]), ValueError, "unknown feature extractor 'nope'"),
    (dict(metrics=["ssim@toy"]), ValueError, "takes no '@extractor'"),
    (dict(metrics=["is@toy-pool-only"]), ValueError, "needs the 'logits' output"),
    (dict(metrics=["fid@toy"], n_images=10), ValueError, "needs at least 50 images"),
    (dict(n_images=0), ValueError, "n_images"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(metrics=[]), ValueError, "metrics"),
])
def test_bad_arguments_are_clear_errors(toy, kwargs, exc, words):
    kwargs = {"metrics": ["ssim"], **kwargs}
    with pytest.raises(exc, match=words.replace("(", r"\(").replace("[", r"\[")):
        evaluate(RealImages(toy), toy, progress=False, **kwargs)


def test_allow_small_n_computes_with_a_recorded_warning(toy, tmp_path):
    with pytest.raises(ValueError, match="allow_small_n=True"):
        evaluate(RealImages(toy), toy, metrics=["fid@toy", "ssim"], n_images=10, progress=False)
    with pytest.warns(UserWarning, match="'fid@toy' needs at least 50 images"):
        small = evaluate(UniformNoise(32), toy, metrics=["fid@toy", "ssim"], n_images=10, progress=False,
                         allow_small_n=True)
    assert np.isfinite(small.value("fid@toy")) and small.value("fid@toy") > 0
    assert len(small.warnings) == 1 and "computed anyway" in small.warnings[0]
    small.save(tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text())["warnings"] == small.warnings
    full = evaluate(UniformNoise(32), toy, metrics=["ssim"], n_images=10, progress=False, allow_small_n=True)
    assert full.warnings == []                      # nothing to warn about: no metric is short of images


@pytest.mark.parametrize("output, exc, words", [
    (lambda n: torch.zeros(n, 3, 32, 32), TypeError, "dtype torch.float32; expected torch.uint8"),
    (lambda n: torch.zeros(n, 32, 32, dtype=torch.uint8), ValueError, "expected \\[N, 3, H, W\\]"),
    (lambda n: torch.zeros(n + 1, 3, 32, 32, dtype=torch.uint8), ValueError, "images for"),
    (lambda n: np.zeros((n, 3, 32, 32), np.uint8), TypeError, "ndarray"),
])
def test_a_bad_generator_is_reported_by_name(toy, output, exc, words):
    class Bad:
        def generate(self, captions, seed=0):
            return output(len(captions))

    with pytest.raises(exc, match=words):
        evaluate(Bad(), toy, metrics=["ssim"], n_images=5, progress=False, generator_name="my-bad-gan")
    with pytest.raises(exc, match="my-bad-gan"):
        evaluate(Bad(), toy, metrics=["ssim"], n_images=5, progress=False, generator_name="my-bad-gan")


def test_real_features_cache_corruption_is_an_error_not_a_number(toy, tmp_path, monkeypatch):
    from t2ibench import defaults

    monkeypatch.setattr(defaults, "CACHE_DIR", tmp_path)
    evaluate(RealImages(toy), toy, metrics=["fid@toy"], progress=False)
    (cache,) = (tmp_path / "stats").glob("*.npz")
    good = cache.read_bytes()
    cache.write_bytes(b"not an npz")
    with pytest.raises(ValueError, match="unreadable.*delete the file"):
        evaluate(RealImages(toy), toy, metrics=["fid@toy"], progress=False)
    cache.write_bytes(good[: len(good) // 2])                       # truncated mid-write by another tool
    with pytest.raises(ValueError, match="unreadable.*delete the file"):
        evaluate(RealImages(toy), toy, metrics=["fid@toy"], progress=False)
    with np.load(io.BytesIO(good)) as z:
        arrays = {k: z[k].copy() for k in z.files}
    first = next(iter(arrays))
    arrays[first][3, 0] = np.nan                                     # a poisoned value, readable file
    np.savez(cache, **arrays)
    poisoned = cache.read_bytes()
    with pytest.raises(ValueError, match="NaN or Inf.*delete the file"):
        evaluate(RealImages(toy), toy, metrics=["fid@toy"], progress=False)
    assert cache.read_bytes() == poisoned                            # reported, not silently rewritten


@pytest.mark.parametrize("captions, exc, words", [
    ([], ValueError, "no captions"),
    (["a red circle", ""], ValueError, r"captions\[1\]: the caption is empty"),
    (["a red circle", 3], TypeError, r"captions\[1\]: expected str, got int"),
    ("a red circle", TypeError, "expected a sequence of str"),
])
def test_bad_captions_are_refused_before_the_generator_runs(captions, exc, words):
    from t2ibench.generators.base import generate_checked

    class Exploding:
        def generate(self, captions, seed=0):
            raise AssertionError("the generator must not be called")

    with pytest.raises(exc, match=words):
        generate_checked(Exploding(), "exploding", captions, seed=0)


def test_real_mismatched_uses_every_image_once_and_keeps_the_distribution(toy, shapes_test):
    real = evaluate(RealImages(toy), toy, metrics=["fid@toy", "ssim"], progress=False)
    mism = evaluate(RealMismatchedImages(toy), toy, metrics=["fid@toy", "ssim"], progress=False)
    assert mism.provenance["distinct_images"] == len(toy)
    assert not [w for w in mism.warnings if not w.startswith("fid@toy: ")]  # only FID's small-n note
    # the same 60 images in another order: FID equals real's (0) up to summation order
    assert mism.value("fid@toy") == pytest.approx(real.value("fid@toy"), abs=1e-9)
    assert mism.value("ssim") < 0.9
    gen = RealMismatchedImages(shapes_test)
    plan = evaluation_plan(shapes_test, len(shapes_test), 0)
    picks = [gen._other(c.image_index, 0) for c in plan]
    assert len(set(picks)) == len(shapes_test)  # a permutation of the test split
    classes = shapes_test.class_ids().numpy()
    assert all(classes[p] != classes[c.image_index] for p, c in zip(picks, plan))


def test_the_result_records_resolutions_and_warns_of_another_size(toy):
    class Bigger(UniformNoise):
        pass

    got = evaluate(Bigger(48), toy, metrics=["ssim", "fid@toy"], progress=False)
    assert got.provenance["image_size"] == {"generated": [48, 48], "dataset": 32, "paired": [48, 48]}
    assert any("48x48 images, the dataset's are 32x32" in w and "paired metrics" in w for w in got.warnings)
    same = evaluate(UniformNoise(32), toy, metrics=["fid@toy"], progress=False)
    assert same.provenance["image_size"] == {"generated": [32, 32], "dataset": 32, "paired": None}
    assert not [w for w in same.warnings if not w.startswith("fid@toy: ")]  # only FID's small-n note


def test_fewer_distinct_images_than_captions_is_a_warning(toy):
    class OneImage:
        def generate(self, captions, seed=0):
            return torch.full((len(captions), 3, 32, 32), 7, dtype=torch.uint8)

    with pytest.warns(UserWarning, match="only 1 distinct images among the 60"):
        got = evaluate(OneImage(), toy, metrics=["fid@toy"], progress=False)
    assert got.provenance["distinct_images"] == 1


def test_repeat_r_precision_reads_the_caption_pool_back_from_disk(shapes_test, tmp_path, monkeypatch):
    from t2ibench import defaults

    monkeypatch.setattr(defaults, "CACHE_DIR", tmp_path)
    first = evaluate("real", shapes_test, metrics=["r-precision"], n_images=100, progress=False)
    texts = {u["what"].split(" caption")[0]: u for u in first.provenance["cache"] if "caption" in u["what"]}
    assert set(texts) == {"pool", "plan"} and not any(u["read_back"] for u in first.provenance["cache"])
    second = evaluate("real", shapes_test, metrics=["r-precision"], n_images=100, progress=False)
    assert all(u["read_back"] for u in second.provenance["cache"])
    assert second.metrics["r-precision"] == first.metrics["r-precision"]
    other_plan = evaluate("real", shapes_test, metrics=["r-precision"], n_images=100, seed=1, progress=False)
    uses = {u["what"].split(" caption")[0]: u for u in other_plan.provenance["cache"] if "caption" in u["what"]}
    assert uses["pool"]["read_back"] and not uses["plan"]["read_back"]  # other captions, other plan file
    Path(texts["pool"]["file"]).write_bytes(b"broken")
    with pytest.raises(ValueError, match="pool caption embeddings.*unreadable.*delete the file"):
        evaluate("real", shapes_test, metrics=["r-precision"], n_images=100, progress=False)
