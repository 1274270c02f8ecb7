"""FID and KID against n (t2ibench.sample_size): the sizes, the reuse of a known result, the picture."""
from __future__ import annotations

import dataclasses

import pytest
from PIL import Image

from t2ibench.engine import evaluate
from t2ibench.sample_size import against_n, plot_against_n, sizes_up_to


def test_sizes_below_the_run_and_the_run_itself():
    assert sizes_up_to(2000) == [250, 500, 1000, 2000]
    assert sizes_up_to(700) == [250, 500, 700]
    assert sizes_up_to(60) == [60]


def test_fid_falls_with_n_for_a_row_of_zero_distance_and_known_results_are_reused(shapes_test, tmp_path):
    """``real-mismatched`` draws real test images: its FID is bias alone, larger at smaller n (Chong & Forsyth
    2020); a result already computed for the same generator, n, seed and dataset is read, not recomputed."""
    known = evaluate("real-mismatched", shapes_test, metrics=["fid", "kid"], n_images=200, seed=0, progress=False,
                     allow_small_n=True)
    marked = dataclasses.replace(known, metrics={**known.metrics, "fid": {**known.metrics["fid"], "value": 123.0}})
    table = against_n({"real-mismatched": "real-mismatched"}, shapes_test, ns=(100, 200), known=[marked])
    assert list(table["n"]) == [100, 200] and table["fid"].iloc[1] == 123.0      # reused, not recomputed
    assert list(table["reused"]) == [False, True]                                 # and it says so
    assert table["fid"].iloc[0] > known.value("fid") > 0                          # the bias shrinks with n
    assert abs(table["kid"].iloc[0]) < 3 * table["kid_std"].iloc[0] + 1e-3        # KID: no bias, ~0
    path = plot_against_n(table, tmp_path / "fid_kid_vs_n.png", title="test")
    with Image.open(path) as im:
        assert im.format == "PNG"
    # a known result without KID (or of another n) is not used: the size is evaluated
    partial = dataclasses.replace(marked, metrics={"fid": marked.metrics["fid"]})
    assert against_n({"real-mismatched": "real-mismatched"}, shapes_test, ns=(200,), known=[partial])["fid"].iloc[0] \
        == pytest.approx(known.value("fid"))
    # nor one made at another generator precision (the images differ)
    other = dataclasses.replace(marked, provenance={**marked.provenance, "generator_precision": "bfloat16"})
    assert against_n({"real-mismatched": "real-mismatched"}, shapes_test, ns=(200,), known=[other])["fid"].iloc[0] \
        == pytest.approx(known.value("fid"))
    assert against_n({"real-mismatched": "real-mismatched"}, shapes_test, ns=(200,), known=[other],
                     generator_precision="bfloat16")["fid"].iloc[0] == 123.0
