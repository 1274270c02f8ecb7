"""The human-rating kit (``t2ibench human-sheet`` / ``human-score``; issue 13, point 5).

1. End to end in a real headless browser (Debian's Chromium driven by Selenium): build a sheet,
   answer it by clicking, download the CSV, score it, and get the ratios the clicks imply.
2. Constructed answers whose ratios, mean ranks, Kendall's W and Krippendorff's α are worked out
   by hand (in the comments), and α on Krippendorff's (2011) textbook example.
3. The page never names a generator and embeds the images the key says; bad inputs give clear errors.
"""
from __future__ import annotations

import base64
import csv
import io
import json
import math
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest

from t2ibench.cli import main
from t2ibench.human.agreement import kendall_w, krippendorff_alpha
from t2ibench.human.answers import load_key, read_answers
from t2ibench.human.protocols import CSV_COLUMNS
from t2ibench.human.score import score_answers

from human_answers import write_answers, write_key

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
GENERATORS = ["real", "noise", "real-mismatched"]
N_CAPTIONS = 4
DATA_URI = re.compile(r"data:image/png;base64,[A-Za-z0-9+/=]+")


@pytest.fixture(scope="module")
def sheet_dir(tmp_path_factory, shapes_test) -> Path:
    """A sheet of the three cheap reference rows for 4 shapes captions, built through the CLI."""
    out = tmp_path_factory.mktemp("human-sheet")
    rc = main(["human-sheet", "--generators", ",".join(GENERATORS), "--n-captions", str(N_CAPTIONS), "--out",
               str(out), "--seed", "3", "--device", "cpu", "--no-progress"])
    assert rc == 0
    return out


def labels_of(key: dict, caption: int) -> dict[str, str]:
    """generator -> label on ``caption``."""
    return {g: lab for lab, g in key["captions"][caption]["labels"].items()}


# -- 1. the real browser --------------------------------------------------------------------------------


@pytest.fixture()
def browser(tmp_path):
    """Headless Chromium (Debian's package) driven by Selenium through the system chromedriver; downloads go
    to ``tmp_path / 'downloads'``."""
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip("no chromium/chromedriver installed: apt-get install chromium chromium-driver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed: pip install -e '.[test]' (or pip install selenium)")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1600", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False,
                                              "download.directory_upgrade": True})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.downloads = downloads
    try:
        yield driver
    finally:
        driver.quit()


def _click(driver, caption: int, criterion: str, label: str) -> None:
    from selenium.webdriver.common.by import By

    button = driver.find_element(
        By.CSS_SELECTOR, f'button.choice[data-caption="{caption}"][data-criterion="{criterion}"][data-label="{label}"]')
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
    button.click()


def _message(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, "message").text


def _wait_for_file(folder: Path, name: str, timeout: float = 30.0) -> Path:
    path = folder / name
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() and not list(folder.glob("*.crdownload")) and path.stat().st_size > 0:
            return path
        time.sleep(0.1)
    raise AssertionError(f"{name} was not downloaded into {folder} within {timeout:.0f} s "
                         f"(found: {sorted(p.name for p in folder.iterdir())})")


def test_sheet_answered_in_a_real_browser_scores_as_clicked(browser, sheet_dir, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    key = json.loads((sheet_dir / "key.json").read_text())
    sheet_id = key["sheet_id"]
    browser.get((sheet_dir / "sheet.html").as_uri())
    WebDriverWait(browser, 20).until(lambda d: d.execute_script("return document.body.dataset.ready") == "true")
    assert browser.find_element(By.ID, "sheet-id").text == sheet_id
    assert len(browser.find_elements(By.CSS_SELECTOR, "section.caption")) == N_CAPTIONS
    # every image is shown (a decoded PNG, not a broken one)
    assert browser.execute_script(
        "return Array.from(document.images).every(function (i) { return i.complete && i.naturalWidth > 0; })")

    download = browser.find_element(By.ID, "download")
    download.click()  # no rater id yet
    assert "rater id" in _message(browser)
    browser.find_element(By.ID, "rater").send_keys("r1")
    download.click()  # nothing answered: 4 captions x 3 questions missing
    assert "Not every caption is answered yet (12 answers missing)" in _message(browser)
    assert "caption 1:" in _message(browser)

    for i in range(N_CAPTIONS):
        lab = labels_of(key, i)
        if i == 0:  # a changed pick and a cleared ranking leave only the final answer
            _click(browser, 0, "best", lab["noise"])
            _click(browser, 0, "quality", lab["noise"])
            browser.find_element(By.CSS_SELECTOR, 'button.clear[data-caption="0"][data-criterion="quality"]').click()
        _click(browser, i, "best", lab["real"])
        _click(browser, i, "quality", lab["real"])
        _click(browser, i, "quality", lab["real-mismatched"])  # the last one (noise) is ranked by the page
        if i != 2:
            _click(browser, i, "correlation", lab["real"])
            _click(browser, i, "correlation", lab["noise"])
    download.click()  # one question left: the page names it
    assert "(1 answer missing): caption 3: “Rank by agreement with the caption” incomplete (0 of 3 ranked)" in (
        _message(browser))
    assert browser.find_elements(By.CSS_SELECTOR, "section.caption.missing")[0].get_attribute("data-caption") == "2"
    _click(browser, 2, "correlation", labels_of(key, 2)["real"])
    _click(browser, 2, "correlation", labels_of(key, 2)["noise"])
    assert browser.find_element(By.ID, "progress").text == f"{N_CAPTIONS} of {N_CAPTIONS} captions answered"
    download.click()
    first = _wait_for_file(browser.downloads, f"answers-{sheet_id}-r1.csv")
    assert "Downloaded" in _message(browser)

    # the answers survive a reload (kept in the browser's local storage under the sheet id)
    browser.refresh()
    WebDriverWait(browser, 20).until(lambda d: d.execute_script("return document.body.dataset.ready") == "true")
    assert browser.find_element(By.ID, "progress").text == f"{N_CAPTIONS} of {N_CAPTIONS} captions answered"
    download = browser.find_element(By.ID, "download")

    # a second rater on the same page disagrees on one best pick only
    rater = browser.find_element(By.ID, "rater")
    assert rater.get_attribute("value") == "r1"
    rater.clear()
    rater.send_keys("r2")
    _click(browser, 0, "best", labels_of(key, 0)["real-mismatched"])
    download.click()
    second = _wait_for_file(browser.downloads, f"answers-{sheet_id}-r2.csv")

    rows = list(csv.DictReader(io.StringIO(first.read_text())))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == N_CAPTIONS * (1 + 3 + 3)
    assert {r["sheet_id"] for r in rows} == {sheet_id} and {r["rater"] for r in rows} == {"r1"}

    out = tmp_path / "scores"
    assert main(["human-score", str(first), str(second), "--key", str(sheet_dir / "key.json"), "--out", str(out),
                 "--bootstrap", "200"]) == 0
    scores = json.loads((out / "human-scores.json").read_text())
    by = {c["id"]: {g["generator"]: g for g in c["generators"]} for c in scores["criteria"]}
    # best: r1 picked real 4/4, r2 real 3/4 and real-mismatched once -> 7/8, 0/8, 1/8
    assert by["best"]["real"]["rank1_ratio"] == pytest.approx(7 / 8)
    assert by["best"]["noise"]["rank1_ratio"] == 0
    assert by["best"]["real-mismatched"]["rank1_ratio"] == pytest.approx(1 / 8)
    for generator, rank in {"real": 1, "real-mismatched": 2, "noise": 3}.items():
        assert by["quality"][generator]["mean_rank"] == rank and by["quality"][generator]["std"] == 0
    for generator, rank in {"real": 1, "noise": 2, "real-mismatched": 3}.items():
        assert by["correlation"][generator]["mean_rank"] == rank
    agreement = {c["id"]: c["agreement"] for c in scores["criteria"]}
    assert agreement["quality"]["kendall_w"] == pytest.approx(1.0)
    assert agreement["correlation"]["krippendorff_alpha_ordinal"] == pytest.approx(1.0)
    # best: W = 1 on three captions and 0.25 on the disputed one (worked out in test_hand_two_raters_one_dispute)
    assert agreement["best"]["kendall_w"] == pytest.approx((3 + 0.25) / 4)
    assert agreement["best"]["krippendorff_alpha_ordinal"] == pytest.approx(41 / 64)
    for suffix in ("md", "csv", "tex"):
        assert (out / f"human-scores.{suffix}").read_text().count("real-mismatched") >= 1
    assert "| real | 87.50 |" in (out / "human-scores.md").read_text()


# -- 2. constructed answers, worked out by hand ----------------------------------------------------------


MAPS = [{"A": "g1", "B": "g2", "C": "g3"}, {"A": "g3", "B": "g1", "C": "g2"}]


def _by(scores: dict) -> dict:
    return {c["id"]: {g["generator"]: g for g in c["generators"]} for c in scores["criteria"]}


def test_hand_three_raters_in_perfect_agreement(tmp_path):
    """3 raters, 2 captions (labels shuffled differently), identical answers: ratios 100/0/0 %, mean ranks
    1, 2, 3 with std 0, W = 1 and α = 1 for every criterion, degenerate bootstrap intervals."""
    key = write_key(tmp_path, MAPS)
    same = {"best": "g1", "quality": ["g1", "g2", "g3"], "correlation": ["g1", "g3", "g2"]}
    path = write_answers(tmp_path / "a.csv", {r: {0: same, 1: same} for r in ("r1", "r2", "r3")}, MAPS)
    scores = score_answers([path], key, resamples=100, seed=0)
    by = _by(scores)
    assert [by["best"][g]["rank1_ratio"] for g in ("g1", "g2", "g3")] == [1.0, 0.0, 0.0]
    assert by["best"]["g1"]["ci95"] == [1.0, 1.0]
    assert [by["quality"][g]["mean_rank"] for g in ("g1", "g2", "g3")] == [1.0, 2.0, 3.0]
    assert [by["correlation"][g]["mean_rank"] for g in ("g1", "g2", "g3")] == [1.0, 3.0, 2.0]
    assert by["quality"]["g2"]["std"] == 0.0
    for c in scores["criteria"]:
        assert c["agreement"]["kendall_w"] == pytest.approx(1.0)
        assert c["agreement"]["kendall_w_captions"] == 2
        assert c["agreement"]["krippendorff_alpha_ordinal"] == pytest.approx(1.0)
    assert scores["raters"] == ["r1", "r2", "r3"]


def test_hand_three_raters_disagreeing(tmp_path):
    """One caption, three raters.

    quality ranks (g1, g2, g3): r1 (1, 2, 3), r2 (1, 3, 2), r3 (2, 1, 3). Rank sums 4, 6, 8, mean
    m(n+1)/2 = 6, S = 4 + 0 + 4 = 8, no ties: W = 12·8 / (3²·(3³ − 3)) = 96/216 = 4/9. Mean ranks 4/3,
    2, 8/3; sample std of (1, 1, 2) = sqrt(1/3), of (2, 3, 1) = 1. Krippendorff's α (ordinal), units
    g1 {1,1,2}, g2 {2,3,1}, g3 {3,2,3}: coincidences o11 = 1, o12 = 1.5, o13 = 0.5, o22 = 0, o23 = 1.5,
    o33 = 1, so n1 = n2 = n3 = 3, n = 9; δ²(1,2) = δ²(2,3) = 3² = 9, δ²(1,3) = (9 − 3)² = 36;
    Σ o δ² = 2(1.5·9 + 1.5·9 + 0.5·36) = 90, Σ n n δ² = 2(81 + 81 + 324) = 972;
    α = 1 − 8·90/972 = 7/27.

    best picks g1, g1, g2: as rankings with ties (picked 1, others 2.5): rank sums 4.5, 6, 7.5, S = 4.5;
    one tie group of 2 per rater, T = 2³ − 2 = 6, Σ T = 18; W = 12·4.5 / (9·24 − 3·18) = 54/162 = 1/3.
    Ratios 2/3, 1/3, 0. α: units g1 {1,1,x}, g2 {x,x,1}, g3 {x,x,x} (x = not picked): o11 = 1, o1x = 2,
    oxx = 4, n1 = 3, nx = 6, n = 9; α = 1 − 8·(2·2)/(2·3·6) = 1/9.
    """
    maps = MAPS[:1]
    key = write_key(tmp_path, maps)
    answers = {"r1": {0: {"best": "g1", "quality": ["g1", "g2", "g3"], "correlation": ["g1", "g2", "g3"]}},
               "r2": {0: {"best": "g1", "quality": ["g1", "g3", "g2"], "correlation": ["g1", "g2", "g3"]}},
               "r3": {0: {"best": "g2", "quality": ["g2", "g1", "g3"], "correlation": ["g1", "g2", "g3"]}}}
    scores = score_answers([write_answers(tmp_path / "a.csv", answers, maps)], key, resamples=0)
    by = _by(scores)
    agreement = {c["id"]: c["agreement"] for c in scores["criteria"]}
    assert [by["best"][g]["rank1_ratio"] for g in ("g1", "g2", "g3")] == pytest.approx([2 / 3, 1 / 3, 0])
    assert agreement["best"]["kendall_w"] == pytest.approx(1 / 3)
    assert agreement["best"]["krippendorff_alpha_ordinal"] == pytest.approx(1 / 9)
    assert [by["quality"][g]["mean_rank"] for g in ("g1", "g2", "g3")] == pytest.approx([4 / 3, 2, 8 / 3])
    assert [by["quality"][g]["std"] for g in ("g1", "g2", "g3")] == pytest.approx([math.sqrt(1 / 3), 1,
                                                                                    math.sqrt(1 / 3)])
    assert agreement["quality"]["kendall_w"] == pytest.approx(4 / 9)
    assert agreement["quality"]["krippendorff_alpha_ordinal"] == pytest.approx(7 / 27)
    assert agreement["correlation"]["kendall_w"] == pytest.approx(1.0)
    assert by["best"]["g1"]["ci95"] is None  # --bootstrap 0


def test_hand_two_raters_one_dispute():
    """Two raters pick the best of three on four captions and differ once (as in the browser test).

    Disputed caption: r1 ranks (1, 2.5, 2.5), r2 (2.5, 1, 2.5); rank sums 3.5, 3.5, 5 around m(n+1)/2 = 4:
    S = 1.5, Σ T = 2·6 = 12, W = 12·1.5/(4·24 − 2·12) = 18/72 = 1/4; the three others: W = 1.
    α over the 12 (caption, generator) units: o11 = 6, o1x = 2, oxx = 14, n1 = 8, nx = 16, n = 24:
    α = 1 − 23·(2·2)/(2·8·16) = 1 − 92/256 = 41/64.
    """
    disputed = np.array([[1, 2.5, 2.5], [2.5, 1, 2.5]])
    assert kendall_w(disputed) == pytest.approx(1 / 4)
    assert kendall_w(np.array([[1, 2.5, 2.5], [1, 2.5, 2.5]])) == pytest.approx(1.0)
    units = np.array([[1, 2.5, 2.5] * 4, [2.5, 1, 2.5] + [1, 2.5, 2.5] * 3])
    assert krippendorff_alpha(units, "ordinal") == pytest.approx(41 / 64)


def test_kendall_w_textbook_properties():
    # perfect agreement of 3 judges on 4 objects; complete reversal of 2 judges -> rank sums all equal -> 0
    assert kendall_w([[1, 2, 3, 4]] * 3) == pytest.approx(1.0)
    assert kendall_w([[1, 2, 3, 4], [4, 3, 2, 1]]) == pytest.approx(0.0)
    # r̄_s = (mW − 1)/(m − 1): two judges, W = (1 + ρ)/2 with Spearman's ρ
    from scipy.stats import spearmanr

    a, b = [1, 2, 3, 4, 5], [2, 1, 4, 3, 5]
    assert kendall_w([a, b]) == pytest.approx((1 + spearmanr(a, b)[0]) / 2)
    assert math.isnan(kendall_w([[1, 2, 3]]))  # one judge


def test_krippendorff_alpha_textbook_example_c():
    """Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", example C: 4 observers, 12 units,
    values 1-5, missing data; published α: nominal 0.743, ordinal 0.815, interval 0.849."""
    nan = np.nan
    data = [[1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
            [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan]]
    assert krippendorff_alpha(data, "nominal") == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha(data, "ordinal") == pytest.approx(0.815, abs=5e-4)
    assert krippendorff_alpha(data, "interval") == pytest.approx(0.849, abs=5e-4)
    assert math.isnan(krippendorff_alpha([[1, nan], [nan, 2]]))  # no unit coded twice


def test_bootstrap_interval_holds_the_estimate_and_is_seeded(tmp_path):
    rng = np.random.default_rng(7)
    maps = [dict(zip("ABC", rng.permutation(["g1", "g2", "g3"]).tolist())) for _ in range(12)]
    key = write_key(tmp_path, maps, protocol="cpgan")
    answers = {f"r{r}": {c: {"best": str(rng.choice(["g1", "g1", "g2", "g3"]))} for c in range(12)} for r in range(5)}
    path = write_answers(tmp_path / "a.csv", answers, maps)
    one = score_answers([path], key, resamples=300, seed=1)
    assert one == score_answers([path], key, resamples=300, seed=1)
    assert [c["id"] for c in one["criteria"]] == ["best"]
    for g in one["criteria"][0]["generators"]:
        lo, hi = g["ci95"]
        assert lo <= g["rank1_ratio"] <= hi and hi - lo > 0
    assert sum(g["rank1_ratio"] for g in one["criteria"][0]["generators"]) == pytest.approx(1.0)


# -- 3. the page hides the key; bad input --------------------------------------------------------------------


def _page_text_without_images_and_captions(page: str, key: dict) -> str:
    text = DATA_URI.sub("", page)
    for c in key["captions"]:
        text = text.replace(c["text"], "")
    return text


def test_page_names_no_generator_and_embeds_what_the_key_says(sheet_dir, shapes_test):
    import hashlib

    from PIL import Image

    from t2ibench.registry import list_generators

    page = (sheet_dir / "sheet.html").read_text()
    key = json.loads((sheet_dir / "key.json").read_text())
    stripped = _page_text_without_images_and_captions(page, key).lower()
    for name in set(GENERATORS) | set(list_generators()):  # none of the zoo's names either
        assert name.lower() not in stripped, f"the page names generator {name!r}"
    assert "http://" not in stripped and "https://" not in stripped and "<link" not in stripped
    assert "<script src" not in stripped  # self-contained
    assert key["sheet_sha256"] == hashlib.sha256((sheet_dir / "sheet.html").read_bytes()).hexdigest()
    assert key["sheet_id"] in page and key["generators"] == GENERATORS
    assert (sheet_dir / "captions.txt").read_text().splitlines() == [c["text"] for c in key["captions"]]

    # the image shown under real's label is the dataset image of the caption; noise's is not
    sections = page.split('<section class="caption"')[1:]
    assert len(sections) == N_CAPTIONS
    for i, section in enumerate(sections):
        shown = dict(re.findall(r'<figure data-label="([A-Z])"><img alt="image [A-Z]" src="data:image/png;base64,'
                                r'([A-Za-z0-9+/=]+)"', section))
        label = labels_of(key, i)
        decoded = {g: np.asarray(Image.open(io.BytesIO(base64.b64decode(shown[lab])))) for g, lab in label.items()}
        truth = shapes_test.image(key["captions"][i]["image_index"]).permute(1, 2, 0).numpy()
        assert np.array_equal(decoded["real"], truth)
        assert not np.array_equal(decoded["noise"], truth)
        assert key["captions"][i]["image_sha256"][label["real"]] == hashlib.sha256(
            base64.b64decode(shown[label["real"]])).hexdigest()


def test_sheet_images_are_the_evaluation_images(sheet_dir, shapes_test):
    """The sheet's captions are the evaluation plan's first n, and each image is what the engine generates."""
    from t2ibench.engine import evaluation_plan
    from t2ibench.human.sheet import generate_for_plan
    from t2ibench.registry import load_generator

    key = json.loads((sheet_dir / "key.json").read_text())
    plan = evaluation_plan(shapes_test, N_CAPTIONS, 3)
    assert [c["text"] for c in key["captions"]] == [str(c) for c in plan]
    assert [c["image_index"] for c in key["captions"]] == [c.image_index for c in plan]
    noise = load_generator("noise", dataset=shapes_test)
    one_call = noise.generate(plan, seed=3)
    assert np.array_equal(generate_for_plan(noise, "noise", plan, 3, batch_size=1).numpy(), one_call.numpy())


def test_sheet_refuses_to_overwrite_another_sheets_key(sheet_dir, shapes_test):
    from t2ibench.human.sheet import build_sheet

    before = (sheet_dir / "key.json").read_bytes()
    with pytest.raises(ValueError, match="key of another sheet"):
        build_sheet(["real", "noise"], sheet_dir, n_captions=2, dataset=shapes_test, seed=3)
    assert (sheet_dir / "key.json").read_bytes() == before


@pytest.mark.parametrize("argv, message", [
    (["--generators", "real"], "at least 2 generators"),
    (["--generators", "real,real"], "named more than once"),
    (["--generators", "real,no-such-model"], "unknown generator 'no-such-model'"),
    (["--generators", "real,noise", "--protocol", "kt"], "invalid choice"),
    (["--generators", "real,noise", "--n-captions", "0"], "expected an integer >= 1"),
])
def test_human_sheet_bad_arguments(tmp_path, capsys, argv, message):
    assert main(["human-sheet", "--out", str(tmp_path / "s"), "--no-progress", *argv]) == 2
    assert message in capsys.readouterr().err


HEADER = ",".join(CSV_COLUMNS)
GOOD = ["r1,handmade0000,0,best,A,1", "r1,handmade0000,0,quality,A,1", "r1,handmade0000,0,quality,B,2",
        "r1,handmade0000,0,quality,C,3"]


@pytest.mark.parametrize("lines, message", [
    (["rater,sheet_id,caption_index,criterion,label", "r1,handmade0000,0,best,A"], "missing column(s) rank"),
    ([HEADER, "r1,othersheet,0,best,A,1"], "belong to another sheet"),
    ([HEADER, "r1,handmade0000,0,best,D,1"], "unknown label 'D'"),
    ([HEADER, "r1,handmade0000,0,beauty,A,1"], "unknown criterion 'beauty'"),
    ([HEADER, "r1,handmade0000,5,best,A,1"], "caption_index 5 is outside the sheet (0..1)"),
    ([HEADER, "r1,handmade0000,0,best,A,first"], "rank 'first' is not an integer"),
    ([HEADER, "r1,handmade0000,0,best,A,2"], "a best pick is rank 1"),
    ([HEADER, *GOOD, "r1,handmade0000,0,best,B,1"], "answered twice"),
    ([HEADER, *GOOD, "r1,handmade0000,0,quality,A,1"], "answered twice: label A again"),
    ([HEADER, "r1,handmade0000,0,quality,A,1", "r1,handmade0000,0,quality,B,1", "r1,handmade0000,0,quality,C,3"],
     "are not a permutation of 1..3"),
    ([HEADER, "r1,handmade0000,0,quality,A,1", "r1,handmade0000,0,quality,B,2"], "not a permutation of 1..3"),
    ([HEADER], "no answers"),
    ([], "empty file"),
])
def test_malformed_answers_are_clear_errors(tmp_path, lines, message):
    key = load_key(write_key(tmp_path, MAPS, protocol="all"))
    path = tmp_path / "answers.csv"
    path.write_text("\n".join(lines) + ("\n" if lines else ""))
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        read_answers([path], key)
    assert str(path) in str(info.value)


def test_a_caption_answered_in_two_files_is_an_error(tmp_path):
    key = load_key(write_key(tmp_path, MAPS))
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("\n".join([HEADER, *GOOD]) + "\n")
    b.write_text("\n".join([HEADER, "r1,handmade0000,0,best,C,1"]) + "\n")
    with pytest.raises(ValueError, match=r"rater 'r1' answered caption 0 \(best\) twice: also in .*a\.csv"):
        read_answers([a, b], key)
    assert read_answers([a], key).picks["best"][0, 0] == 0  # label A of caption 0 is g1


def test_human_score_cli_errors_are_one_line(tmp_path, capsys):
    key = write_key(tmp_path, MAPS)
    bad = tmp_path / "other.csv"
    bad.write_text("\n".join([HEADER, "r1,othersheet,0,best,A,1"]) + "\n")
    assert main(["human-score", str(bad), "--key", str(key)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "another sheet" in err
    (tmp_path / "notkey.json").write_text("{}")
    assert main(["human-score", str(bad), "--key", str(tmp_path / "notkey.json")]) == 2
    assert "not a t2ibench human-sheet key" in capsys.readouterr().err
    assert main(["human-score", str(tmp_path / "missing.csv"), "--key", str(key)]) == 2
    assert "no such answers file" in capsys.readouterr().err


def test_scores_table_formats(tmp_path):
    key = write_key(tmp_path, MAPS, protocol="sdn")
    same = {"quality": ["g2", "g1", "g3"], "correlation": ["g1", "g3", "g2"]}
    path = write_answers(tmp_path / "a.csv", {"r1": {0: same, 1: same}, "r2": {0: same, 1: same}}, MAPS)
    out = tmp_path / "out"
    assert main(["human-score", str(path), "--key", str(key), "--out", str(out), "--bootstrap", "50"]) == 0
    md = (out / "human-scores.md").read_text()
    assert "| g2 | 1.00 ± 0.00 | [1.00, 1.00] | 3.00 ± 0.00 | [3.00, 3.00] |" in md
    assert "SDN Sec. 4.2, Table 2 (quality rank)" in md
    rows = list(csv.reader(io.StringIO((out / "human-scores.csv").read_text())))
    assert rows[0] == ["Generator", "Quality rank ↓ (mean ± std)", "Quality rank 95% CI",
                       "Correlation rank ↓ (mean ± std)", "Correlation rank 95% CI"]
    tex = (out / "human-scores.tex").read_text()
    assert r"\begin{tabular}{lrrrr}" in tex and r"\ensuremath{\pm}" in tex
    doc = json.loads((out / "human-scores.json").read_text())
    assert doc["table"]["rows"] == rows[1:] and doc["format"] == "t2ibench-human-scores/1"
    first = [(out / f"human-scores.{s}").read_bytes() for s in ("md", "csv", "json", "tex")]
    assert main(["human-score", str(path), "--key", str(key), "--out", str(out), "--bootstrap", "50"]) == 0
    assert first == [(out / f"human-scores.{s}").read_bytes() for s in ("md", "csv", "json", "tex")]
