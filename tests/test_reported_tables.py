"""The papers' reported numbers (leaderboards/reported/*.csv) and their loader, t2ibench.reported.

The expected values below were typed from the paper texts in ../shared/papers/, not copied
from the CSV files, so that a transcription error in either place shows up here.
"""
from __future__ import annotations

import math
import re

import pytest

from t2ibench.reported import COLUMNS, REPORTED_DIR, list_reported, load_all_reported, load_reported

# table id -> (distinct rows, distinct metrics, lines = cells of the full grid)
EXPECTED_SHAPE = {
    "ktgan-table-1": (4, 3, 24),    # 4 methods x (IS, FID, Rank-1) x (CUB, COCO)
    "ktgan-table-2": (4, 3, 12),
    "ktgan-table-3": (4, 3, 24),
    "ktgan-table-4": (14, 1, 28),   # 14 methods x IS x (CUB, COCO)
    "ktgan-table-5": (7, 2, 28),    # 7 methods x (FID, Rank-1) x (CUB, COCO)
    "ktgan-table-6": (3, 1, 6),
    "ktgan-table-8": (6, 3, 18),
    "ktgan-table-9": (5, 3, 15),
    "ktgan-table-10": (4, 3, 12),
    "ktgan-table-11": (4, 3, 12),
    "ktgan-table-12": (5, 3, 15),
    "sdn-table-1": (4, 3, 21),      # CUB 4 methods + flowers 3 methods, x (IS, SSIM, FSIM)
    "sdn-table-2": (4, 2, 14),
    "sdn-table-3": (6, 1, 6),
    "cpgan-table-1": (11, 2, 22),
    "cpgan-table-2": (3, 1, 3),
    "cpgan-figure-6": (9, 2, 12),   # 9 bars x IS, plus the 3 gains the prose states
    "hdgan-table-1": (6, 1, 18),
    "hdgan-table-2": (2, 3, 6),
    "hdgan-table-3": (3, 2, 5),
    "hdgan-table-4": (3, 1, 9),
    "hdgan-table-5": (2, 3, 6),
    "hdgan-table-6": (4, 1, 4),
    "grgan-table-1": (7, 4, 28),
    "grgan-table-2": (10, 3, 30),
    "grgan-table-3": (4, 6, 24),
    "grgan-table-4": (6, 3, 18),
    "grgan-table-6": (3, 9, 27),
    "grgan-figure-3": (3, 9, 27),
}

N = None  # no ± part printed
# (table id, row, metric, dataset, value, pm), typed from the paper texts
SPOT = [
    # KT-GAN
    ("ktgan-table-1", "AttnGAN+SDM", "is", "coco", 29.02, 0.17),
    ("ktgan-table-1", "AttnGAN+SDM", "fid", "cub", 18.21, N),
    ("ktgan-table-1", "AttnGAN+SDM", "rank1", "coco", 24.4, N),
    ("ktgan-table-1", "AttnGAN [35]", "is", "cub", 4.36, 0.03),
    ("ktgan-table-2", "AttnGAN+AATM w/o Res", "fid", "cub", 22.17, N),
    ("ktgan-table-2", "AttnGAN [35]", "is", "cub", 4.36, 0.02),
    ("ktgan-table-3", "AttnGAN+AATM*", "is", "coco", 29.28, 0.60),
    ("ktgan-table-4", "HDGAN [42]", "is", "coco", 11.86, 0.18),
    ("ktgan-table-4", "SD-GAN [10]", "is", "cub", 4.67, 0.09),
    ("ktgan-table-4", "LeicaGAN [30]", "is", "cub", 4.62, 0.06),
    ("ktgan-table-4", "AttnGAN [35]", "is", "coco", 25.89, 0.19),
    ("ktgan-table-5", "HDGAN [42]", "rank1", "coco", 19.9, N),
    ("ktgan-table-5", "StackGAN [41]", "fid", "coco", 74.05, N),
    ("ktgan-table-6", "DMGAN [22]", "human_rank1", "coco", 35.10, N),
    ("ktgan-table-8", "α = 0.9, β = 0.85", "fid", "cub", 20.33, N),
    ("ktgan-table-9", "γ = 0", "fid", "cub", 17.22, N),
    ("ktgan-table-10", "β₀ = 50", "is", "cub", 4.63, 0.06),
    ("ktgan-table-11", "λ₃ = 10", "is", "cub", 4.87, 0.06),
    ("ktgan-table-11", "λ₃ = 10", "rank1", "cub", 33.1, N),
    ("ktgan-table-12", "η₀ = 1.0, η₁ = 1.0, η₂ = 1.0", "fid", "cub", 19.94, N),
    # SDN
    ("sdn-table-1", "our SDN", "is", "cub", 6.89, 0.06),
    ("sdn-table-1", "our SDN", "ssim", "flowers", 0.2174, N),
    ("sdn-table-1", "GAWWN", "fsim", "cub", 0.5653, N),
    ("sdn-table-1", "StackGAN", "is", "flowers", 3.54, 0.07),
    ("sdn-table-2", "GAWWN", "human_rank_correlation", "cub", 2.48, 1.10),
    ("sdn-table-2", "StackGAN", "human_rank_quality", "flowers", 1.87, 0.75),
    ("sdn-table-2", "our SDN", "human_rank_correlation", "flowers", 1.77, 0.78),
    ("sdn-table-3", "Stage-II loss", "is", "cub", 4.77, 0.05),
    ("sdn-table-3", "Diverse synthesis loss", "is", "cub", 6.84, 0.05),
    # CPGAN
    ("cpgan-table-1", "Infer [8]", "is", "coco", 11.46, 0.09),
    ("cpgan-table-1", "objGAN[12]", "r_precision", "coco", 91.05, N),
    ("cpgan-table-1", "AttnGAN⁺", "is", "coco", 38.12, 0.68),
    ("cpgan-table-1", "AttnGAN⁺", "r_precision", "coco", 92.58, N),
    ("cpgan-table-2", "StackGAN [34]", "human_rank1", "coco", 7.94, N),
    ("cpgan-table-2", "CPGAN (ours)", "human_rank1", "coco", 63.73, N),
    ("cpgan-figure-6", "CPGAN (MATE + OAIE + FGCD)", "is", "coco", 52.73, N),
    ("cpgan-figure-6", "FGCD", "is_gain_over_attngan_plus", "coco", 9.8, N),
    # HDGAN
    ("hdgan-table-1", "GAWWN", "is", "cub", 3.60, 0.07),
    ("hdgan-table-1", "TAC-GAN", "is", "flowers", 3.45, 0.05),
    ("hdgan-table-1", "HDGAN", "is", "flowers", 3.45, 0.07),
    ("hdgan-table-2", "HDGAN", "is_128px", "cub", 3.85, 0.04),
    ("hdgan-table-2", "StackGAN", "is_128px", "cub", 3.35, 0.02),
    ("hdgan-table-3", "Prog.GAN", "ms_ssim", "cub", 0.225, N),
    ("hdgan-table-4", "Ground Truth", "vs_similarity", "flowers", 0.336, 0.138),
    ("hdgan-table-4", "HDGAN", "vs_similarity", "cub", 0.259, 0.159),
    ("hdgan-table-6", "128, 256", "is", "", 3.99, 0.04),
    # GR-GAN
    ("grgan-table-1", "OP-GAN [4]", "fid", "coco", 24.70, N),
    ("grgan-table-1", "OP-GAN [4]", "cmd", "coco", 11.99, N),
    ("grgan-table-1", "DALL-E † [20]", "is", "coco", 17.90, N),
    ("grgan-table-2", "DM-GAN +DA +GRG", "fid", "coco", 25.83, N),
    ("grgan-table-3", "CLIP-Res", "t2i_r5", "coco", 78.20, N),
    ("grgan-table-3", "ITM", "i2t_r10", "coco", 92.7, N),
    ("grgan-table-4", "λ₁ = 5, λ₂ = 2", "cmd", "coco", 10.02, N),
    ("grgan-table-6", "S→W→I", "fid_layer1", "coco", 69.33, N),
    ("grgan-figure-3", "S→W→I", "itdis_layer2", "coco", 0.92, N),
]

# (table id, row, metric, dataset): cells printed as a dash or left blank
MISSING = [
    ("ktgan-table-4", "Obj-GAN [17]", "is", "cub"),
    ("ktgan-table-5", "StackGAN [41]", "rank1", "coco"),
    ("cpgan-table-1", "SD-GAN [32]", "r_precision", "coco"),
    ("cpgan-figure-6", "MATE", "is", "coco"),
    ("hdgan-table-1", "HDGAN", "is", "coco"),
    ("hdgan-table-4", "HDGAN", "vs_similarity", "flowers"),
    ("hdgan-table-5", "No Local", "is", "cub"),
    ("grgan-table-1", "DALL-E † [20]", "itdis", "coco"),
]


def _cell(table_id, row, metric, dataset):
    df = load_reported(table_id)
    hit = df[(df.row == row) & (df.metric == metric) & (df.dataset == dataset)]
    assert len(hit) == 1, f"{table_id}: {len(hit)} lines for row={row!r} metric={metric!r} dataset={dataset!r}"
    return hit.iloc[0]


def test_every_table_present():
    assert set(list_reported()) == set(EXPECTED_SHAPE)
    assert list_reported() == sorted(list_reported())


@pytest.mark.parametrize("table_id", sorted(EXPECTED_SHAPE))
def test_table_shape(table_id):
    df = load_reported(table_id)
    n_rows, n_metrics, n_lines = EXPECTED_SHAPE[table_id]
    assert list(df.columns) == list(COLUMNS)
    assert df.row.nunique() == n_rows
    assert df.metric.nunique() == n_metrics
    assert len(df) == n_lines
    assert df.paper.nunique() == 1 and table_id.startswith(df.paper.iloc[0] + "-")
    assert df.table.nunique() == 1 and df.caption.nunique() == 1


def test_spot_check_covers_every_paper():
    per_paper = {}
    for tid, *_ in SPOT:
        per_paper[tid.split("-")[0]] = per_paper.get(tid.split("-")[0], 0) + 1
    assert len(SPOT) >= 40
    assert set(per_paper) == {"ktgan", "sdn", "cpgan", "hdgan", "grgan"}
    assert min(per_paper.values()) >= 6


@pytest.mark.parametrize("table_id,row,metric,dataset,value,pm", SPOT)
def test_spot_values(table_id, row, metric, dataset, value, pm):
    cell = _cell(table_id, row, metric, dataset)
    assert cell.value == pytest.approx(value, abs=1e-9)
    if pm is None:
        assert math.isnan(cell.pm)
    else:
        assert cell.pm == pytest.approx(pm, abs=1e-9)


@pytest.mark.parametrize("table_id,row,metric,dataset", MISSING)
def test_missing_cells_stay_missing(table_id, row, metric, dataset):
    cell = _cell(table_id, row, metric, dataset)
    assert math.isnan(cell.value) and math.isnan(cell.pm)


def test_schema_sets_and_units():
    df = load_all_reported()
    assert set(df.kind) <= {"own", "variant", "baseline", "reference"}
    assert set(df.direction) <= {"↑", "↓"}
    assert set(df.direction_source) <= {"printed", "implied"}
    assert set(df.unit) <= {"%", "fraction", "score"}
    assert set(df.dataset) <= {"cub", "coco", "flowers", ""}
    # metrics with a fixed direction and unit wherever they occur
    fixed = {"is": ("↑", "score"), "fid": ("↓", "score"), "rank1": ("↑", "%"), "human_rank1": ("↑", "%"),
             "r_precision": ("↑", "%"), "ms_ssim": ("↓", "score"), "cmd": ("↓", "score"),
             "itdis": ("↓", "score")}
    for metric, (direction, unit) in fixed.items():
        sub = df[df.metric == metric]
        assert len(sub) and set(sub.direction) == {direction} and set(sub.unit) == {unit}, metric
    # every metric id is documented in the README
    readme = (REPORTED_DIR / "README.md").read_text(encoding="utf-8")
    for metric in set(df.metric):
        assert f"`{metric}`" in readme, metric
    for tid in list_reported():
        assert f"{tid}.csv" in readme, tid


def test_grgan_table6_and_figure3_agree():
    t6 = load_reported("grgan-table-6").set_index(["row", "metric"]).value
    f3 = load_reported("grgan-figure-3").set_index(["row", "metric"]).value
    assert t6.sort_index().equals(f3.sort_index())


def test_cross_table_consistency_as_printed():
    # KT-GAN's AttnGAN baseline: Table I prints CUB IS ± 0.03 and COCO IS ± 0.47,
    # Table IV ± 0.02 and ± 0.19 (kept as printed, noted)
    assert _cell("ktgan-table-1", "AttnGAN [35]", "is", "coco").pm == pytest.approx(0.47)
    assert _cell("ktgan-table-4", "AttnGAN [35]", "is", "coco").pm == pytest.approx(0.19)
    assert "0.19" in _cell("ktgan-table-1", "AttnGAN [35]", "is", "coco").note
    # GR-GAN: the full model in Table 1 is the last row of the ablation (Table 2)
    for metric, value in (("fid", 22.58), ("itdis", 0.80), ("cmd", 8.04)):
        assert _cell("grgan-table-1", "GR-GAN", metric, "coco").value == pytest.approx(value)
        assert _cell("grgan-table-2", "DM-GAN +IT +GRG", metric, "coco").value == pytest.approx(value)


def test_unknown_table_id():
    with pytest.raises(FileNotFoundError, match="ktgan-table-7"):
        load_reported("ktgan-table-7")
    with pytest.raises(ValueError, match="not of the form"):
        load_reported("../../etc/passwd")


GOOD_LINE = ["ktgan", "Table I", "", "cub", "KT-GAN", "own", "is", "↑", "printed", "4.85", "0.04", "score", ""]


def _write(tmp_path, lines, name="ktgan-table-99"):
    import csv

    with open(tmp_path / f"{name}.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        for ln in lines:
            w.writerow(ln)
    return name


def test_loader_reads_a_directory(tmp_path):
    blank = GOOD_LINE[:4] + ["Obj-GAN", "baseline"] + GOOD_LINE[6:9] + ["", "", "score", "printed '-'"]
    name = _write(tmp_path, [COLUMNS, GOOD_LINE, blank])
    assert list_reported(tmp_path) == [name]
    df = load_reported(name, directory=tmp_path)
    assert df.value.tolist()[0] == 4.85 and math.isnan(df.value.tolist()[1]) and math.isnan(df.pm.tolist()[1])


def _with(**changes):
    line = list(GOOD_LINE)
    for col, v in changes.items():
        line[COLUMNS.index(col)] = v
    return line


@pytest.mark.parametrize("lines,line_no,problem", [
    ([list(COLUMNS[:-1]), GOOD_LINE[:-1]], 1, "header"),
    ([[c.upper() for c in COLUMNS], GOOD_LINE], 1, "header"),
    ([COLUMNS, GOOD_LINE, _with(kind="ours")], 3, "kind 'ours'"),
    ([COLUMNS, _with(direction="up")], 2, "direction 'up'"),
    ([COLUMNS, _with(direction_source="guessed")], 2, "direction_source 'guessed'"),
    ([COLUMNS, _with(unit="percent")], 2, "unit 'percent'"),
    ([COLUMNS, _with(value="4.85 ± 0.04")], 2, "value '4.85 ± 0.04' is not a number"),
    ([COLUMNS, _with(value="32.9%")], 2, "is not a number"),
    ([COLUMNS, _with(value="-")], 2, "is not a number"),
    ([COLUMNS, _with(value="nan")], 2, "not a finite number"),
    ([COLUMNS, _with(pm="±0.04")], 2, "pm '±0.04'"),
    ([COLUMNS, _with(value="", pm="0.04")], 2, "without a value"),
    ([COLUMNS, _with(paper="sdn")], 2, "paper 'sdn'"),
    ([COLUMNS, _with(metric="Rank-1")], 2, "metric id 'Rank-1'"),
    ([COLUMNS, _with(row="")], 2, "empty row"),
    ([COLUMNS, GOOD_LINE + ["extra"]], 2, "14 fields"),
    ([COLUMNS, GOOD_LINE, GOOD_LINE], 3, "already given on line 2"),
])
def test_loader_rejects_malformed(tmp_path, lines, line_no, problem):
    name = _write(tmp_path, lines)
    with pytest.raises(ValueError) as err:
        load_reported(name, directory=tmp_path)
    msg = str(err.value)
    assert f"{name}.csv" in msg
    assert f"line {line_no}:" in msg
    assert re.search(re.escape(problem), msg), msg
