"""``t2ibench compare`` as a gate (issue 10.2): reproduce mode (two-sided, the same run) and
regress mode (one-sided by each metric's direction, across generators), metric selection,
protocol and extractor checks, the table and the exit codes. Results are built directly."""
from __future__ import annotations

import copy
import math

import pytest

from t2ibench import defaults
from t2ibench.cli import main
from t2ibench.compare import Comparison, NotComparable, compare
from t2ibench.result import EvalResult, compare_results

N = 500
CLASSIFIER = {"name": "shapes-classifier", "outputs": ["features", "logits"], "weights_id": "9e04" + "0" * 60,
              "resize_mode": "bilinear-antialias-64", "stand_in": True}
DAMSM = {"name": "damsm-shapes", "outputs": ["global"], "weights_id": "bac4" + "0" * 60,
         "resize_mode": "bilinear-antialias-64", "stand_in": True}


def _metrics() -> dict:
    return {
        "fid": {"value": 47.8, "std": None, "n_fake": N, "n_real": 2000, "metric": "fid",
                "extractor": "shapes-classifier", "higher_is_better": False, "counts_hits": False},
        "is": {"value": 10.96, "std": 0.97, "splits": 10, "metric": "is", "extractor": "shapes-classifier",
               "higher_is_better": True, "counts_hits": False},
        "ssim": {"value": 0.28, "std": 0.14, "n": N, "metric": "ssim", "extractor": None,
                 "higher_is_better": True, "counts_hits": False},
        "r-precision": {"value": 0.478, "std": 0.092, "n": N, "n_candidates": 100, "n_chunks": 10,
                        "hit_rate": 0.478, "chunk_values": [0.478] * 10, "candidates": "other-classes",
                        "protocol": "DM-GAN code: own caption + 99 pool captions", "metric": "r-precision",
                        "extractor": "damsm-shapes", "higher_is_better": True, "counts_hits": True},
    }


def _result(generator="attngan", seed=0, n=N, **changes) -> EvalResult:
    """A result; ``changes``: ``{metric: {field: value}}`` merged into its metric entries."""
    metrics = _metrics()
    for name, fields in changes.items():
        metrics[name].update(fields)
    return EvalResult(generator=generator, n_images=n, seed=seed, metrics=metrics,
                      dataset={"name": "shapes", "split": "test", "n": 2000, "image_size": 64, "fingerprint": "e7ea"},
                      extractors={"shapes-classifier": dict(CLASSIFIER), "damsm-shapes": dict(DAMSM)})


def _rows(c: Comparison) -> dict:
    return {r["metric"]: r for r in c.rows}


def _cli(tmp_path, capsys, baseline, new, *args):
    baseline.save(tmp_path / "base.json")
    new.save(tmp_path / "new.json")
    code = main(["compare", str(tmp_path / "base.json"), str(tmp_path / "new.json"), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


# -- regress mode -------------------------------------------------------------------------------------

def test_regress_passes_an_improvement_and_fails_a_regression(tmp_path, capsys):
    base = _result()
    better = compare(base, _result(fid={"value": 40.0}, ssim={"value": 0.35}), mode="regress")
    assert better.verdict == "ok" and better.exit_code == 0
    assert _rows(better)["fid"]["verdict"] == "better" and _rows(better)["ssim"]["verdict"] == "better"
    worse = compare(base, _result(fid={"value": 52.0}), mode="regress")
    assert worse.verdict == "regressed" and worse.exit_code == 1 and worse.names("REGRESSED") == ["fid"]
    assert "regressed: fid" in worse.summary()
    # lower is better for FID, higher for SSIM: the direction comes from the result
    assert compare(base, _result(ssim={"value": 0.2}), mode="regress").names("REGRESSED") == ["ssim"]
    code, out, _ = _cli(tmp_path, capsys, base, _result(fid={"value": 52.0}), "--mode", "regress")
    assert code == 1
    fid_line = next(line for line in out.splitlines() if line.startswith("fid "))
    assert "REGRESSED" in fid_line and "FAIL (regress)" in out and "regressed: fid" in out


def test_reproduce_mode_fails_an_improvement_that_regress_mode_passes():
    base, new = _result(), _result(fid={"value": 47.8 * 0.95})
    assert compare(base, new).names("DIFFERS") == ["fid"]
    assert compare(base, new, mode="regress").verdict == "ok"


def test_regress_tolerates_noise_within_the_documented_tolerance():
    base = _result()
    # FID has no std: COMPARE_REGRESS_RTOL at COMPARE_REGRESS_N images, scaled by sqrt(N_ref / n)
    rel = defaults.COMPARE_REGRESS_RTOL * math.sqrt(defaults.COMPARE_REGRESS_N / N)
    rows = _rows(compare(base, _result(fid={"value": 47.8 * (1 + 0.9 * rel)}), mode="regress"))
    assert rows["fid"]["verdict"] == "ok" and rows["fid"]["tolerance"] == pytest.approx(rel * 47.8)
    assert _rows(compare(base, _result(fid={"value": 47.8 * (1 + 1.1 * rel)}), mode="regress"))["fid"]["verdict"] \
        == "REGRESSED"
    # SSIM's std is over its N images: STD_FACTOR standard errors
    se = 0.14 / math.sqrt(N)
    rows = _rows(compare(base, _result(ssim={"value": 0.28 - 0.9 * defaults.COMPARE_REGRESS_STD_FACTOR * se}),
                         mode="regress"))
    assert rows["ssim"]["verdict"] == "ok"
    assert rows["ssim"]["tolerance"] == pytest.approx(defaults.COMPARE_REGRESS_STD_FACTOR * se)


def test_regress_retrieval_tolerance_is_in_whole_hits():
    row = _rows(compare(_result(), _result(), mode="regress"))["r-precision"]
    assert row["counts_hits"] and row["tolerance"] * N == pytest.approx(row["tolerance_hits"])
    # 3 SE of max(chunk SE 0.092/sqrt(10), binomial sqrt(p(1-p)/n)), rounded up to hits
    se = max(0.092 / math.sqrt(10), math.sqrt(0.478 * 0.522 / N))
    assert row["tolerance_hits"] == math.ceil(defaults.COMPARE_REGRESS_STD_FACTOR * se * N)


def test_regress_works_across_generators_and_seeds():
    base, new = _result(generator="attngan", seed=0), _result(generator="my-new-gan", seed=3)
    c = compare(base, new, mode="regress")
    assert c.verdict == "ok" and len(c.rows) == 4
    with pytest.raises(NotComparable, match="generator: 'attngan' \\(baseline\\) vs 'my-new-gan' \\(new\\)"):
        compare(base, new, mode="reproduce")


@pytest.mark.parametrize("change, words", [
    ({"n": 1000}, "n_images: 500 (baseline) vs 1000 (new)"),
    ({"dataset": {"fingerprint": "other"}}, "dataset.fingerprint"),
    ({"dataset": {"split": "train"}}, "dataset.split"),
])
def test_regress_needs_the_same_dataset_and_n_images(change, words):
    new = _result(n=change.get("n", N))
    if "dataset" in change:
        new.dataset.update(change["dataset"])
    with pytest.raises(NotComparable, match=words.replace("(", "\\(").replace(")", "\\)")):
        compare(_result(), new, mode="regress")


def test_regress_fails_a_tripled_std_even_with_the_same_value(tmp_path, capsys):
    c = compare(_result(), _result(ssim={"std": 0.42}), mode="regress")
    row = _rows(c)["ssim"]
    assert row["verdict"] == "REGRESSED" and "std grew 3.0x" in row["note"]
    code, out, _ = _cli(tmp_path, capsys, _result(), _result(ssim={"std": 0.42}), "--mode", "regress")
    assert code == 1 and "std grew 3.0x" in out
    # a std that shrank, or grew less than the limit, is no regression
    assert compare(_result(), _result(ssim={"std": 0.05}), mode="regress").verdict == "ok"
    assert compare(_result(), _result(ssim={"std": 0.25}), mode="regress").verdict == "ok"


def test_regress_does_not_gate_the_growth_of_a_std_over_few_units():
    # R-precision's std is over 10 chunks: too noisy itself to gate its growth
    row = _rows(compare(_result(), _result(**{"r-precision": {"std": 0.25}}), mode="regress"))["r-precision"]
    assert "std grew" not in row["note"]


def test_a_nan_new_value_is_a_regression():
    assert compare(_result(), _result(fid={"value": float("nan")}), mode="regress").names("REGRESSED") == ["fid"]


# -- protocol and extractor checks (both modes) ---------------------------------------------------------

@pytest.mark.parametrize("mode", ["regress", "reproduce"])
@pytest.mark.parametrize("field, value", [("weights_id", "ffff" + "0" * 60), ("resize_mode", "bicubic-299"),
                                          ("name", "inception")])
def test_another_extractor_is_not_comparable(mode, field, value):
    new = _result()
    new.extractors["shapes-classifier"][field] = value
    with pytest.raises(NotComparable, match=f"extractor 'shapes-classifier' .*{field}"):
        compare(_result(), new, mode=mode)


def test_cli_refuses_another_weights_id_with_exit_2(tmp_path, capsys):
    new = _result()
    new.extractors["damsm-shapes"]["weights_id"] = "ffff" + "0" * 60
    code, out, err = _cli(tmp_path, capsys, _result(), new, "--mode", "regress")
    assert code == 2 and err.startswith("error: ") and "weights_id" in err and "damsm-shapes" in err
    assert "Traceback" not in err
    # ... unless the metrics using it are not compared
    code, _, _ = _cli(tmp_path, capsys, _result(), new, "--mode", "regress", "--metrics", "fid,ssim")
    assert code == 0


@pytest.mark.parametrize("metric, fields, words", [
    ("r-precision", {"n_candidates": 50}, "'n_candidates' is 100 \\(baseline\\) vs 50"),
    ("r-precision", {"protocol": "CPGAN code"}, "'protocol'"),
    ("fid", {"extractor": "inception-v3-compat"}, "'extractor'"),
    ("is", {"splits": 1}, "'splits'"),
    ("fid", {"higher_is_better": True}, "'higher_is_better'"),
])
def test_another_protocol_is_not_comparable(metric, fields, words):
    with pytest.raises(NotComparable, match=f"metric '{metric}': protocol field {words}"):
        compare(_result(), _result(**{metric: fields}), mode="regress")


# -- reproduce mode ------------------------------------------------------------------------------------

def test_reproduce_passes_identical_results_and_fails_a_moved_metric(tmp_path, capsys):
    base = _result()
    assert compare(base, _result()).verdict == "ok"
    moved = _result(fid={"value": 47.8 * (1 + 10 * defaults.COMPARE_RTOL)})
    c = compare(base, moved)
    assert c.verdict == "differs" and c.names("DIFFERS") == ["fid"]
    code, out, _ = _cli(tmp_path, capsys, base, moved)
    assert code == 1 and "DIFFERS" in out and "differ: fid" in out
    # within the cross-machine tolerance: ok; one hit of R-precision is within COMPARE_HITS
    assert compare(base, _result(fid={"value": 47.8 * (1 + 0.5 * defaults.COMPARE_RTOL)})).verdict == "ok"
    assert compare(base, _result(**{"r-precision": {"value": 0.478 + 1 / N}})).verdict == "ok"
    assert compare(base, _result(**{"r-precision": {"value": 0.478 + 3 / N}})).names("DIFFERS") == ["r-precision"]


def test_reproduce_checks_the_std_too():
    c = compare(_result(), _result(ssim={"std": 0.14 * (1 + 10 * defaults.COMPARE_RTOL)}))
    assert c.names("DIFFERS") == ["ssim"] and "std" in _rows(c)["ssim"]["note"]


def test_reproduce_is_symmetric_so_the_old_argument_order_keeps_its_verdict():
    a, b = _result(), _result(fid={"value": 47.8 * (1 + 0.99 * defaults.COMPARE_RTOL)})
    assert compare(a, b).verdict == compare(b, a).verdict == "ok"
    rows = compare_results(b, a)  # the older API: (result, reference)
    assert all(r["ok"] for r in rows) and rows[0]["value"] == b.value("fid") and rows[0]["reference"] == 47.8


# -- metric selection ----------------------------------------------------------------------------------

def test_metrics_selects_which_metrics_are_compared(tmp_path, capsys):
    worse = _result(fid={"value": 60.0})
    c = compare(_result(), worse, mode="regress", metrics=["ssim", "is"])
    assert [r["metric"] for r in c.rows] == ["ssim", "is"] and c.verdict == "ok"
    assert compare(_result(), worse, mode="regress", metrics="fid").names("REGRESSED") == ["fid"]
    code, out, _ = _cli(tmp_path, capsys, _result(), worse, "--mode", "regress", "--metrics", "ssim,is")
    assert code == 0 and "fid" not in out


def test_a_chosen_metric_missing_from_a_result_is_exit_2(tmp_path, capsys):
    new = _result()
    del new.metrics["ssim"]
    with pytest.raises(NotComparable, match="'ssim' is not in the new result"):
        compare(_result(), new, metrics=["fid", "ssim"])
    code, _, err = _cli(tmp_path, capsys, _result(), new, "--metrics", "fid,ssim")
    assert code == 2 and "'ssim' is not in the new result" in err
    code, _, err = _cli(tmp_path, capsys, _result(), new, "--metrics", "fid,clipscore", "--mode", "regress")
    assert code == 2 and "'clipscore' is not in the baseline result" in err


def test_an_unchosen_metric_in_only_one_result_is_a_skipped_row():
    base, new = _result(), _result()
    del new.metrics["ssim"]
    new.metrics["kid"] = {"value": 0.4, "std": 0.03, "metric": "kid", "extractor": "shapes-classifier",
                          "higher_is_better": False, "counts_hits": False}
    for mode in ("reproduce", "regress"):
        c = compare(base, new, mode=mode)
        rows = _rows(c)
        assert c.verdict == "ok" and c.exit_code == 0
        assert rows["ssim"]["verdict"] == "skipped" and rows["ssim"]["note"] == "only in baseline"
        assert rows["kid"]["verdict"] == "skipped" and rows["kid"]["note"] == "only in new"
        assert "2 skipped: ssim (only in baseline), kid (only in new)" in c.summary()


def test_no_metric_in_common_is_not_comparable():
    new = _result()
    new.metrics = {"kid": {"value": 0.4, "std": None, "metric": "kid", "extractor": "shapes-classifier",
                           "higher_is_better": False, "counts_hits": False}}
    with pytest.raises(NotComparable, match="no metric is in both results"):
        compare(_result(), new)


# -- the table and bad input ---------------------------------------------------------------------------

def test_cli_table_shows_every_metric_with_its_verdict(tmp_path, capsys):
    new = _result(fid={"value": 40.0}, ssim={"value": 0.2})
    del new.metrics["is"]
    code, out, _ = _cli(tmp_path, capsys, _result(), new, "--mode", "regress")
    assert code == 1
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("metric"))
    for word in ("baseline", "new", "change", "change %", "tolerance", "verdict"):
        assert word in header
    line = {ln.split()[0]: ln for ln in lines[2:-1]}
    assert "better" in line["fid"] and "-16.32%" in line["fid"]
    assert "REGRESSED" in line["ssim"] and "skipped" in line["is"] and "only in baseline" in line["is"]
    assert " ok" in line["r-precision"] and "hits" in line["r-precision"]
    assert lines[-1].startswith("FAIL (regress): 3 metrics compared;")
    code, out, _ = _cli(tmp_path, capsys, _result(), _result())
    assert code == 0 and out.splitlines()[-1] == "PASS (reproduce): 4 metrics compared; 4 ok"


@pytest.mark.parametrize("kwargs, words", [
    ({"mode": "strict"}, "mode: expected one of reproduce, regress"),
    ({"rtol": -1.0}, "rtol: expected a finite number >= 0"),
    ({"hits": 1.5}, "hits: expected a whole number"),
    ({"std_growth": 0.5}, "std_growth: expected a finite number >= 1"),
    ({"metrics": []}, "metrics: no metric named"),
])
def test_bad_arguments_are_value_errors(kwargs, words):
    with pytest.raises(ValueError, match=words):
        compare(_result(), _result(), **kwargs)


def test_a_result_without_numeric_values_is_a_value_error(tmp_path, capsys):
    bad = _result()
    bad.metrics["fid"] = copy.deepcopy(bad.metrics["fid"])
    bad.metrics["fid"]["value"] = "47.8"
    with pytest.raises(ValueError, match="new result: metric 'fid' has no numeric 'value'"):
        compare(_result(), bad)
    (tmp_path / "junk.json").write_text("[1, 2]")
    assert main(["compare", str(tmp_path / "junk.json"), str(tmp_path / "junk.json")]) == 2
    assert "not a readable t2ibench result.json" in capsys.readouterr().err
