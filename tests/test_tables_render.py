"""Agreement figures (t2ibench.tables.agreement) and the rendered tables (t2ibench.tables.render/writers).

Kendall τ and the direction verdicts are checked against values worked out by hand in the comments.
"""
from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from scipy import stats

from t2ibench.reported import list_reported, load_reported
from t2ibench.tables.agreement import kendall_tau, table_agreement, verdict
from t2ibench.tables.cells import collect_measured, measured_cells
from t2ibench.tables.render import FORMATS, build_table, index_markdown, write_table
from t2ibench.tables.specs import COLUMNS, RowSpec, TableSpec, cells, get_spec
from t2ibench.tables.writers import latex_escape, md_escape, to_latex, to_markdown

RUN = {"dataset": "shapes", "n": 300, "seed": 7,
       "stand_ins": ["shapes-classifier for Inception-v3", "vse-shapes for VSE++"]}


def synthetic(spec_id: str) -> dict:
    """A deterministic measured value for every measurable cell: (mean, std) in t2ibench units."""
    spec = get_spec(spec_id)
    return {(c.row, c.metric_id): (0.1 + 0.07 * i, 0.01) for i, c in enumerate(cells(spec))}


# -- Kendall τ ---------------------------------------------------------------------------------------------


def test_kendall_tau_by_hand_without_ties():
    # pairs of (1,2,3,4) vs (1,3,2,4): (1,2) C, (1,3) C, (1,4) C, (2,3) D, (2,4) C, (3,4) C -> C = 5, D = 1
    # tau = (C - D) / (n (n - 1) / 2) = 4 / 6
    tau, p, n, reason = kendall_tau([1, 2, 3, 4], [1, 3, 2, 4])
    assert (n, reason) == (4, "")
    assert tau == pytest.approx(4 / 6, abs=1e-12)
    ref = stats.kendalltau([1, 2, 3, 4], [1, 3, 2, 4])
    assert tau == pytest.approx(ref.statistic) and p == pytest.approx(ref.pvalue)
    assert kendall_tau([1, 2, 3, 4], [40, 30, 20, 10])[0] == pytest.approx(-1.0)


def test_kendall_tau_b_by_hand_with_a_tie():
    # x = (1, 1, 2, 3), y = (1, 2, 3, 4): pair (1,2) tied in x only (T_x = 1), the other 5 concordant
    # tau_b = (C - D) / sqrt((C + D + T_x)(C + D + T_y)) = 5 / sqrt(6 * 5)
    tau, _, n, _ = kendall_tau([1, 1, 2, 3], [1, 2, 3, 4])
    assert n == 4 and tau == pytest.approx(5 / math.sqrt(30), abs=1e-12)
    assert tau == pytest.approx(stats.kendalltau([1, 1, 2, 3], [1, 2, 3, 4], variant="b").statistic)


def test_kendall_tau_undefined_cases_say_why():
    tau, p, n, reason = kendall_tau([1.0, math.nan, 3.0], [2.0, 5.0, math.nan])  # one pair has both
    assert math.isnan(tau) and math.isnan(p) and n == 1 and "fewer than 2" in reason
    assert kendall_tau([], [])[2] == 0
    tau, _, n, reason = kendall_tau([2, 2, 2], [1, 2, 3])
    assert math.isnan(tau) and n == 3 and "reported values" in reason
    tau, _, _, reason = kendall_tau([1, 2, 3], [5, 5, 5])
    assert math.isnan(tau) and "measured values" in reason
    with pytest.raises(ValueError):
        kendall_tau([1, 2], [1, 2, 3])


def test_direction_verdicts_by_hand():
    assert verdict(+0.3, "↑") == "better"     # IS up: better
    assert verdict(-0.3, "↑") == "worse"
    assert verdict(+2.0, "↓") == "worse"      # FID up: worse
    assert verdict(-2.0, "↓") == "better"
    assert verdict(0.0, "↓") == "same"
    assert verdict(0.004, "↑", tol=0.01) == "same"
    assert verdict(math.nan, "↑") is None and verdict(None, "↓") is None
    with pytest.raises(ValueError):
        verdict(1.0, "up")


def test_table_agreement_of_ktgan_table_2_by_hand():
    spec = get_spec("ktgan-table-2")
    # measured IS, FID, Rank-1 (share) per row; reported (CUB): IS 4.36 4.70 4.74 4.49, FID 23.98 20.76 20.40 22.17,
    # Rank-1 27.9 29.0 29.4 28.3
    m = {"AttnGAN [35]": (3.0, 40.0, 0.20), "AttnGAN+AATM (B₁)": (3.5, 35.0, 0.25),
         "AttnGAN+AATM": (3.4, 30.0, 0.30), "AttnGAN+AATM w/o Res": (3.2, 33.0, 0.22)}
    measured = {(row, k): (v[i], None) for row, v in m.items() for i, k in enumerate(("is", "fid", "rank1"))}
    a = table_agreement(spec, load_reported(spec.id), measured)
    tau = {c.column: c for c in a.columns}
    # IS: reported order 4.36 < 4.49 < 4.70 < 4.74 -> rows (A, W, B1, AATM); measured 3.0 < 3.2 < 3.4 < 3.5 ->
    # (A, W, AATM, B1): one discordant pair (B1, AATM) of 6: tau = (5 - 1) / 6
    assert tau["is"].tau == pytest.approx(4 / 6) and tau["is"].n == 4 and tau["is"].dataset == "cub"
    # FID and Rank-1 keep the reported order exactly except FID (W 33 vs B1 35): reported W 22.17 > B1 20.76,
    # measured W 33 < B1 35 -> one discordant pair: 4/6
    assert tau["fid"].tau == pytest.approx(4 / 6)
    assert tau["rank1"].tau == pytest.approx(1.0)
    ch = {(c.row, c.column): c for c in a.changes}
    # B1 against AttnGAN: IS +0.34 reported (better) vs +0.5 measured (better)
    c = ch[("AttnGAN+AATM (B₁)", "is")]
    assert (c.base, c.reported, c.measured, c.match) == ("AttnGAN [35]", "better", "better", True)
    assert c.reported_change == pytest.approx(0.34) and c.measured_change == pytest.approx(0.5)
    # AATM against B1 (Sec. IV-B): IS +0.04 reported (better), measured 3.4 - 3.5 = -0.1 (worse): no match
    c = ch[("AttnGAN+AATM", "is")]
    assert (c.base, c.reported, c.measured, c.match) == ("AttnGAN+AATM (B₁)", "better", "worse", False)
    # w/o Res against AATM: FID 22.17 - 20.40 = +1.77 (↓ metric: worse); measured 33 - 30 = +3 (worse)
    c = ch[("AttnGAN+AATM w/o Res", "fid")]
    assert (c.reported, c.measured, c.match) == ("worse", "worse", True)
    # Rank-1 in %: 0.22 - 0.30 = -0.08 share -> -8 points
    assert ch[("AttnGAN+AATM w/o Res", "rank1")].measured_change == pytest.approx(-8.0)
    assert len(a.changes) == 9 and a.counted == 9
    assert a.matches == sum(c.match for c in a.changes) == 8
    assert a.share == pytest.approx(8 / 9)


def _toy_reported(cells_: dict) -> pd.DataFrame:
    """A reported DataFrame in load_reported's schema: {(row, metric): value} on CUB, IS ↑ and FID ↓."""
    arrows = {"is": "↑", "fid": "↓"}
    return pd.DataFrame([{"paper": "ktgan", "table": "Table X", "caption": "toy", "dataset": "cub", "row": r,
                          "kind": "variant", "metric": m, "direction": arrows[m], "direction_source": "implied",
                          "value": v, "pm": math.nan, "unit": "score", "note": ""} for (r, m), v in cells_.items()])


def test_a_change_the_paper_reports_as_none_is_not_counted():
    spec = TableSpec("ktgan-table-99", "ktgan", "toy", "hyper-parameter", (COLUMNS["is"], COLUMNS["fid"]),
                     (RowSpec("A", "ktgan/full"), RowSpec("B", "ktgan/aatm", base="A"),
                      RowSpec("C", "ktgan/sdm", base="A")), "A", ("cub",))
    reported = _toy_reported({("A", "is"): 4.0, ("B", "is"): 4.0, ("C", "is"): 4.5,
                              ("A", "fid"): 20.0, ("B", "fid"): 19.0, ("C", "fid"): math.nan})
    measured = {("A", "is"): (2.0, None), ("B", "is"): (2.5, None), ("C", "is"): (2.1, None),
                ("A", "fid"): (30.0, None), ("B", "fid"): (30.0, None), ("C", "fid"): (10.0, None)}
    a = table_agreement(spec, reported, measured)
    ch = {(c.row, c.column): c for c in a.changes}
    # B vs A, IS: the paper prints 4.0 both times -> "same": no direction claimed, not counted
    assert (ch[("B", "is")].reported, ch[("B", "is")].measured, ch[("B", "is")].match) == ("same", "better", None)
    assert "no change" in ch[("B", "is")].reason
    # C vs A, IS: +0.5 (better) and measured +0.1 (better): counted, a match
    assert ch[("C", "is")].match is True
    # B vs A, FID: -1 (better, ↓) but measured 30 -> 30 ("same"): counted, not a match
    assert (ch[("B", "fid")].reported, ch[("B", "fid")].measured, ch[("B", "fid")].match) == ("better", "same", False)
    # C vs A, FID: blank in the paper -> not counted
    assert ch[("C", "fid")].match is None and "missing" in ch[("C", "fid")].reason
    assert (a.matches, a.counted) == (1, 2)
    # a tolerance makes a small measured change "same"
    a = table_agreement(spec, reported, measured, same_tol=0.2)
    assert ({(c.row, c.column): c.measured for c in a.changes}[("C", "is")], a.matches, a.counted) == ("same", 0, 2)


def test_gain_columns_are_computed_from_the_source_column():
    spec = get_spec("cpgan-figure-6")
    measured = {(c.row, c.metric_id): (10.0 + i, 0.3) for i, c in enumerate(cells(spec))}
    meas = measured_cells(spec, measured)
    base, mate = measured[("AttnGAN⁺", "is")][0], measured[("MATE", "is")][0]
    g = meas[("MATE", "is_gain_over_attngan_plus")]
    assert g.value == pytest.approx(mate - base) and g.std == pytest.approx(math.hypot(0.3, 0.3))
    assert meas[("AttnGAN⁺", "is_gain_over_attngan_plus")].value == 0.0
    a = table_agreement(spec, load_reported(spec.id), measured)
    gains = [c for c in a.changes if c.column == "is_gain_over_attngan_plus" and c.match is not None]
    # reported gains of MATE, OAIE, FGCD (8.9, 2.5, 9.8) are the changes against AttnGAN⁺ themselves
    assert sorted((c.row, c.reported_change) for c in gains) == [("FGCD", 9.8), ("MATE", 8.9), ("OAIE", 2.5)]
    assert all(c.measured == "better" and c.match for c in gains)
    with pytest.raises(ValueError, match="not a measurable cell"):
        measured_cells(spec, {("MATE", "is_gain_over_attngan_plus"): (1.0, None)})


def test_measured_mapping_is_validated():
    spec = get_spec("ktgan-table-4")
    with pytest.raises(ValueError, match="not a measurable cell"):
        measured_cells(spec, {("Obj-GAN [17]", "is"): (1.0, 0.1)})   # not in zoo
    with pytest.raises(ValueError, match="not a measurable cell"):
        measured_cells(spec, {("KT-GAN", "is"): (1.0, 0.1)})         # a label of another table
    with pytest.raises(ValueError, match="expected"):
        measured_cells(spec, {("KT-GAN (Proposed)", "is"): "4.8"})
    m = measured_cells(spec, {("KT-GAN (Proposed)", "is"): (math.nan, None), ("HDGAN [42]", "is"): 3.0})
    assert m[("KT-GAN (Proposed)", "is")].status == "not measured"
    assert m[("HDGAN [42]", "is")].value == 3.0 and m[("HDGAN [42]", "is")].std is None
    assert m[("SEGAN [13]", "is")].status == "not in zoo"


def test_collect_measured_reads_each_columns_field():
    spec = get_spec("hdgan-table-3")
    entries = {"ms-ssim": {"value": 0.5, "std": 0.1, "ms_ssim_overall": 0.25, "ms_ssim_overall_std": 0.05,
                           "ms_ssim_classwise_std": 0.02}}
    seen = []

    def lookup(generator, options, protocol):
        seen.append((generator, options, protocol))
        return entries[protocol] if generator == "hdgan" else None

    measured = collect_measured(spec, lookup)
    assert measured[("HDGAN", "ms_ssim")] == (0.25, 0.05)
    assert measured[("HDGAN", "ms_ssim_classwise_std")] == (0.02, None)
    assert measured[("StackGAN", "ms_ssim")] is None
    assert ("stackgan", {}, "ms-ssim") in seen and not any(g is None for g, _, _ in seen)


# -- rendering ------------------------------------------------------------------------------------------------


def test_render_not_in_zoo_missing_cells_units_and_statuses():
    spec = get_spec("ktgan-table-5")
    measured = synthetic(spec.id)
    measured[("KT-GAN (Proposed)", "rank1")] = (0.329, 0.012)
    measured[("HDGAN [42]", "fid")] = None
    t = build_table(spec, load_reported(spec.id), measured, RUN)
    f = t.frame.set_index("Row")
    assert list(t.frame.columns[:2]) == ["Row", "Generator"]
    assert f.loc["SEGAN [13]", "Generator"] == "not in zoo"
    assert f.loc["SEGAN [13]", "FID ↓ · shapes · measured"] == "not in zoo"
    assert f.loc["SEGAN [13]", "FID ↓ · CUB · reported"] == "18.17"              # reported values are kept
    assert f.loc["Obj-GAN [17]", "FID ↓ · CUB · reported"] == "—"                # a dash in the paper
    assert f.loc["StackGAN [41]", "Rank-1 (%) ↑ · COCO · reported"] == "—"
    assert f.loc["KT-GAN (Proposed)", "Rank-1 (%) ↑ · shapes · measured"] == "32.9 ± 1.2"  # share -> %
    assert f.loc["HDGAN [42]", "FID ↓ · shapes · measured"] == "not measured"
    # layout: per metric the reported datasets in the paper's order, then one measured column
    assert list(t.frame.columns[2:5]) == ["FID ↓ · CUB · reported", "FID ↓ · COCO · reported",
                                          "FID ↓ · shapes · measured"]
    for text in ("n = 300", "seed 7", "protocol rank1", "vse-shapes", "shapes-classifier for Inception-v3",
                 "Measured on shapes: one measurement per metric"):
        assert text in t.caption


def test_render_absent_reported_cells_and_unmeasurable_cells():
    t = build_table(get_spec("sdn-table-1"), load_reported("sdn-table-1"), synthetic("sdn-table-1"), RUN)
    f = t.frame.set_index("Row")
    assert f.loc["GAWWN", "SSIM ↑ · Oxford-102 · reported"] == "—"     # the paper has no flowers row for GAWWN
    assert f.loc["our SDN", "SSIM ↑ · CUB · reported"] == "0.316"
    t = build_table(get_spec("hdgan-table-2"), load_reported("hdgan-table-2"), synthetic("hdgan-table-2"), RUN)
    f = t.frame.set_index("Row")
    assert f.loc["StackGAN", "IS 128² ↑ · shapes · measured"] == "n/a"
    assert any("no 128² output" in n for n in t.notes)
    t = build_table(get_spec("ktgan-table-6"), load_reported("ktgan-table-6"), {}, RUN)
    assert set(t.frame.iloc[:, -1]) == {"human rating"}
    assert "human rating (t2ibench human-sheet)" in t.caption


def test_latex_escaping():
    assert latex_escape("a_b 100% & #1") == r"a\_b 100\% \& \#1"
    assert latex_escape("{x}~^\\$") == r"\{x\}\textasciitilde{}\textasciicircum{}\textbackslash{}\$"
    assert latex_escape("IS ↑ ± λ₁ = 10⁻³") == (
        r"IS \ensuremath{\uparrow} \ensuremath{\pm} \ensuremath{\lambda}\textsubscript{1} = "
        r"10\textsuperscript{\ensuremath{-}}\textsuperscript{3}")
    assert md_escape("AttnGAN+AATM* | a_b") == r"AttnGAN+AATM\* \| a\_b"


def test_latex_of_a_rendered_table_is_escaped_ascii(tmp_path):
    run = {**RUN, "stand_ins": ["my_model 100% & #1"]}
    t = write_table(get_spec("ktgan-table-2"), load_reported("ktgan-table-2"), synthetic("ktgan-table-2"), run,
                    tmp_path)
    tex = (tmp_path / "ktgan-table-2.tex").read_text(encoding="utf-8")
    assert r"my\_model 100\% \& \#1" in tex and "my_model" not in tex
    assert r"Rank-1 (\%) \ensuremath{\uparrow}" in tex
    assert r"\toprule" in tex and r"\bottomrule" in tex and r"\label{tab:ktgan-table-2}" in tex
    assert t.files["tex"] == str(tmp_path / "ktgan-table-2.tex")


@pytest.mark.parametrize("table_id", list_reported())
def test_every_table_renders_and_its_latex_is_plain_ascii(table_id):
    spec = get_spec(table_id)
    t = build_table(spec, load_reported(table_id), synthetic(table_id), RUN)
    assert list(t.frame["Row"]) == [r.label for r in spec.rows]
    tex = to_latex(t)
    assert tex.isascii(), sorted({ch for ch in tex if not ch.isascii()})
    md = to_markdown(t)
    assert md.count("\n| ") >= len(spec.rows) + 1


def test_output_is_byte_identical_and_json_round_trips(tmp_path):
    spec = get_spec("cpgan-figure-6")
    args = (spec, load_reported(spec.id), synthetic(spec.id), RUN)
    first = write_table(*args, tmp_path / "a")
    write_table(*args, tmp_path / "b")
    write_table(*args, tmp_path / "a")  # rewriting in place changes nothing either
    for fmt in FORMATS:
        a = (tmp_path / "a" / f"{spec.id}.{fmt}").read_bytes()
        assert a == (tmp_path / "b" / f"{spec.id}.{fmt}").read_bytes(), fmt
        assert a
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [f"{spec.id}.{f}" for f in sorted(FORMATS)]
    loaded = json.loads((tmp_path / "a" / f"{spec.id}.json").read_text(encoding="utf-8"))
    assert loaded == first.to_dict()
    assert loaded["caption"] == first.caption and loaded["run"]["seed"] == 7
    assert loaded["agreement"]["matches"] == first.agreement.matches
    assert loaded["agreement"]["counted"] == first.agreement.counted
    assert loaded["header"] == list(first.frame.columns) and loaded["rows"] == first.frame.values.tolist()
    missing = [v for v in loaded["values"] if v["source"] == "reported" and v["row"] == "MATE" and v["metric"] == "is"]
    assert missing == [{"row": "MATE", "metric": "is", "dataset": "coco", "source": "reported", "value": None,
                        "std": None, "text": "—"}]
    md = (tmp_path / "a" / f"{spec.id}.md").read_text(encoding="utf-8")
    assert "**Rank agreement**" in md and "**Direction of changes**" in md


def test_run_info_is_validated():
    spec = get_spec("ktgan-table-2")
    for bad, msg in (({"n": 10, "seed": 0}, "dataset"), ({**RUN, "n": 0}, "positive"),
                     ({**RUN, "seed": "0"}, "seed"), ({**RUN, "stand_ins": "x"}, "stand_ins")):
        with pytest.raises(ValueError, match=msg):
            build_table(spec, load_reported(spec.id), {}, bad)
    t = build_table(spec, load_reported(spec.id), {}, {"dataset": "cub", "n": 5, "seed": 1, "stand-ins": ["s"],
                                                       "evaluators": {"fid": "inception-v3-compat pool3"}})
    assert t.run["stand_ins"] == ["s"] and "inception-v3-compat pool3" in t.caption
    assert "· CUB · measured" in t.frame.columns[-1]


def test_index_markdown_lists_agreement_and_links(tmp_path):
    out = tmp_path / "leaderboards" / "shapes" / "tables"
    results = [write_table(get_spec(i), load_reported(i), synthetic(i), RUN, out)
               for i in ("ktgan-table-2", "hdgan-table-1", "sdn-table-2")]
    text = index_markdown(results, relative_to=tmp_path / "leaderboards")
    lines = [ln for ln in text.splitlines() if ln.startswith("| ")][1:]
    assert len(lines) == 3
    kt = results[0].agreement
    assert f"| {kt.matches}/{kt.counted} |" in lines[0]
    assert "[md](shapes/tables/ktgan-table-2.md)" in lines[0] and "[tex](shapes/tables/ktgan-table-2.tex)" in lines[0]
    assert "IS: CUB" in lines[0] and "(n=4)" in lines[0]
    assert "Oxford-102" in lines[1] and "| — |" in lines[1]           # a comparison table: no directions
    assert "human rating" in lines[2]
    assert text == index_markdown(results, relative_to=tmp_path / "leaderboards")


def test_figure_of_reported_against_measured(tmp_path):
    """One panel per measurable column: a PNG for a measured table; nothing for a human-rating table."""
    from PIL import Image

    from t2ibench.tables.figures import _pairs, plot_table

    spec = get_spec("ktgan-table-5")
    t = build_table(spec, load_reported(spec.id), synthetic(spec.id), RUN)
    path = plot_table(t, tmp_path / "ktgan-table-5.png")
    with Image.open(path) as im:
        assert im.format == "PNG" and im.width > 800
    # the points are the rows with both a reported and a measured value, per reported dataset
    fid = _pairs(t, "fid")
    reported = load_reported(spec.id)
    expected = {r.label for r in spec.rows if r.generator} & set(
        reported[(reported.metric == "fid") & (reported.dataset == "cub") & reported.value.notna()].row)
    assert {p[0] for p in fid["cub"]} == expected and expected
    human = build_table(get_spec("ktgan-table-6"), load_reported("ktgan-table-6"), {}, RUN)
    assert plot_table(human, tmp_path / "human.png") is None and not (tmp_path / "human.png").exists()
