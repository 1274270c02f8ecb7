"""Human raters' scores as the measured column of the papers' human tables (``benchmark.py --human-scores``;
issue 13, point 5 wired into point 3): hand-made answers whose ratios and ranks are worked out by hand, the
table's Kendall τ-b against scipy, and the files that must not fill a table."""
from __future__ import annotations

import json

import pytest
from scipy import stats

from human_answers import write_answers, write_key
from t2ibench.human.report import write_scores
from t2ibench.human.score import score_answers
from t2ibench.tables.human_scores import human_measured, load_human_scores
from t2ibench.tables.measure import measure_tables
from t2ibench.tables.specs import get_spec

KTGAN_MAPS = [{"A": "attngan", "B": "dmgan", "C": "ktgan"}, {"A": "ktgan", "B": "attngan", "C": "dmgan"}]


def _scores_file(folder, maps, answers, protocol, generators, dataset="shapes"):
    folder.mkdir(parents=True, exist_ok=True)
    key = write_key(folder, maps, protocol=protocol, generators=generators, dataset=dataset)
    scores = score_answers([write_answers(folder / "answers.csv", answers, maps)], key, resamples=0)
    return write_scores(scores, folder)["json"]


@pytest.fixture()
def ktgan_scores(tmp_path):
    """3 raters x 2 captions, best picks: r1 ktgan, ktgan; r2 ktgan, dmgan; r3 attngan, ktgan ->
    KT-GAN 4/6 = 66.67 %, DM-GAN 1/6 = 16.67 %, AttnGAN 1/6 = 16.67 %."""
    picks = {"r1": ("ktgan", "ktgan"), "r2": ("ktgan", "dmgan"), "r3": ("attngan", "ktgan")}
    answers = {r: {i: {"best": g} for i, g in enumerate(p)} for r, p in picks.items()}
    return _scores_file(tmp_path / "ktgan-study", KTGAN_MAPS, answers, "ktgan", ["attngan", "dmgan", "ktgan"])


def test_rank1_ratios_fill_ktgan_table_6_with_tau_against_scipy(tmp_path, ktgan_scores, shapes_test, capsys):
    (table,) = measure_tables(["ktgan-table-6"], shapes_test, tmp_path / "tables", n_images=50, seed=0,
                              progress=False, human_scores=load_human_scores([ktgan_scores]))
    measured = {v["row"]: v for v in table.values if v["source"] == "measured"}
    assert measured["KT-GAN"]["value"] == pytest.approx(100 * 4 / 6)
    assert measured["DMGAN [22]"]["value"] == pytest.approx(100 / 6)
    assert measured["AttnGAN [35]"]["value"] == pytest.approx(100 / 6)
    assert measured["KT-GAN"]["text"] == "66.67"
    # reported CUB 21.46 / 33.74 / 44.80 and COCO 19.27 / 35.10 / 45.63 (AttnGAN, DM-GAN, KT-GAN)
    for dataset, reported in (("cub", [21.46, 33.74, 44.80]), ("coco", [19.27, 35.10, 45.63])):
        tau = next(a for a in table.agreement.columns if a.dataset == dataset)
        expected = stats.kendalltau(reported, [100 / 6, 100 / 6, 400 / 6], variant="b").statistic
        assert tau.n == 3 and tau.tau == pytest.approx(expected)
    assert "ktgan-study" not in table.caption and "human-scores.json (sheet handmade0000" in table.caption
    assert "3 raters" in table.caption
    assert (tmp_path / "tables" / "ktgan-table-6.png").is_file()  # a figure now that the column has values
    md = (tmp_path / "tables" / "ktgan-table-6.md").read_text()
    assert "| 66.67 |" in md and "human rating" not in md.split("\n\n")[1]


def test_a_sheet_of_other_generators_fills_only_its_own_table(tmp_path, ktgan_scores, shapes_test, capsys):
    """The KT-GAN study (attngan, dmgan, ktgan) is not CPGAN Table 2's (stackgan, attngan, cpgan): CPGAN's
    column stays 'human rating' and the run says why; a CPGAN study fills it."""
    maps = [{"A": "stackgan", "B": "attngan", "C": "cpgan"}]
    cpgan = _scores_file(tmp_path / "cpgan-study", maps, {"r1": {0: {"best": "cpgan"}}, "r2": {0: {"best": "attngan"}}},
                         "cpgan", ["stackgan", "attngan", "cpgan"])
    files = load_human_scores([ktgan_scores, cpgan])
    tables = measure_tables(["cpgan-table-2", "ktgan-table-6"], shapes_test, tmp_path / "tables", n_images=50,
                            seed=0, progress=False, human_scores=files)
    by_id = {t.spec.id: {v["row"]: v["value"] for v in t.values if v["source"] == "measured"} for t in tables}
    assert by_id["cpgan-table-2"] == {"StackGAN [34]": 0.0, "AttnGAN [31]": 50.0, "CPGAN (ours)": 50.0}
    assert by_id["ktgan-table-6"]["KT-GAN"] == pytest.approx(100 * 4 / 6)
    out = capsys.readouterr().out
    assert "tables: cpgan-table-2: human scores" in out and "needs exactly attngan, cpgan, stackgan" in out
    # without scores the column is 'human rating' and the index says none were given
    (bare,) = measure_tables(["cpgan-table-2"], shapes_test, tmp_path / "bare", n_images=50, seed=0, progress=False)
    assert {v["text"] for v in bare.values if v["source"] == "measured"} == {"human rating"}
    assert not (tmp_path / "bare" / "cpgan-table-2.png").exists()


def test_mean_ranks_fill_sdn_table_2(tmp_path):
    """Two raters, one caption, SDN's two rank criteria: quality sdn 1, stackgan 2, gan-int-cls 3 by both
    (std 0); correlation r1 sdn, gan-int-cls, stackgan and r2 stackgan, sdn, gan-int-cls -> ranks sdn 1, 2; stackgan
    3, 1 -> sdn 1.5 ± 0.707, stackgan 2.0 ± 1.414 (the sample std, ddof 1, as the scorer's)."""
    maps = [{"A": "sdn", "B": "stackgan", "C": "gan-int-cls"}]
    quality = ["sdn", "stackgan", "gan-int-cls"]
    answers = {"r1": {0: {"quality": quality, "correlation": ["sdn", "gan-int-cls", "stackgan"]}},
               "r2": {0: {"quality": quality, "correlation": ["stackgan", "sdn", "gan-int-cls"]}}}
    path = _scores_file(tmp_path, maps, answers, "sdn", ["sdn", "stackgan", "gan-int-cls"])
    measured, used, skipped = human_measured(get_spec("sdn-table-2"), load_human_scores([path]), "shapes")
    assert not skipped and len(used) == 1
    assert measured[("our SDN", "human_rank_quality")] == (1.0, 0.0)
    assert measured[("GAN-INT-CLS", "human_rank_quality")] == (3.0, 0.0)
    assert measured[("our SDN", "human_rank_correlation")] == pytest.approx((1.5, 2 ** -0.5))
    assert measured[("StackGAN", "human_rank_correlation")] == pytest.approx((2.0, 2 ** 0.5))
    assert ("GAWWN", "human_rank_quality") not in measured  # not in the zoo: never a number
    # rated on another dataset: not used for a shapes table
    _, used, skipped = human_measured(get_spec("sdn-table-2"), load_human_scores([path]), "cub")
    assert not used and "rated on shapes, this table is measured on cub" in skipped[0]


def test_two_files_rating_the_same_cell_and_bad_files_are_errors(tmp_path, ktgan_scores, benchmark_script, capsys):
    copy = tmp_path / "copy" / "human-scores.json"
    copy.parent.mkdir()
    copy.write_text(ktgan_scores.read_text())
    with pytest.raises(ValueError, match="is rated in both .* score the answers together"):
        human_measured(get_spec("ktgan-table-6"), load_human_scores([ktgan_scores, copy]), "shapes")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "something-else"}))
    for path, message in ((bad, "format 'something-else', expected 't2ibench-human-scores/1'"),
                          (tmp_path / "absent.json", "no such file")):
        code = benchmark_script.main(["--human-scores", str(path), "--table", "ktgan-6", "--no-leaderboard",
                                      "--no-sanity", "--out", str(tmp_path / "lb"), "--no-progress"])
        assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "lb").exists() or not any((tmp_path / "lb").rglob("*.md"))
