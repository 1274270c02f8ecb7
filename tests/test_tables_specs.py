"""Table specs (t2ibench.tables.specs): every reported table, row and column mapped, honestly.

The hand-picked mappings below were read from the paper texts in ../shared/papers/ and the variant
descriptions in models/*/configs.py, not copied from the specs.
"""
from __future__ import annotations

import re
from collections import Counter

import pytest

import models  # noqa: F401  (registers the zoo)
from models.common.stages import stage_sizes
from models.common.zoo import MODELS, list_variants
from t2ibench.protocols import parse_metric
from t2ibench.registry import list_generators
from t2ibench.reported import list_reported, load_reported
from t2ibench.tables.specs import (HUMAN_REASON, PAPER_SIDE_OUTPUTS, TABLE_SPECS, ColumnSpec, RowSpec, TableSpec,
                                   cells, evaluations_needed, generators_needed, get_spec, metrics_needed, options_for)

TABLE_IDS = list_reported()


def test_every_reported_table_has_a_spec_and_no_other():
    assert len(TABLE_IDS) == 29
    assert sorted(TABLE_SPECS) == TABLE_IDS


@pytest.mark.parametrize("table_id", TABLE_IDS)
def test_rows_columns_and_datasets_are_the_reported_ones(table_id):
    spec, df = get_spec(table_id), load_reported(table_id)
    labels = [r.label for r in spec.rows]
    counts = Counter(labels)
    assert all(n == 1 for n in counts.values()), f"a row label twice: {counts}"
    # every reported row exactly once, none absent from the data, in the paper's order
    assert labels == list(dict.fromkeys(df["row"]))
    assert [c.metric_id for c in spec.columns] == list(dict.fromkeys(df["metric"]))
    assert list(spec.datasets) == list(dict.fromkeys(df["dataset"]))
    assert spec.paper == table_id.split("-")[0]


def test_every_generator_is_registered_and_every_variant_row_belongs_to_its_paper():
    registered = set(list_generators())
    for spec in TABLE_SPECS.values():
        for r in spec.rows:
            if r.generator is None:
                assert r.note, f"{spec.id} {r.label!r}: no generator and no note"
                continue
            assert r.generator in registered, f"{spec.id} {r.label!r}: {r.generator!r} is not registered"
            if "/" in r.generator:  # an ablation variant is a row of its own paper's tables only
                assert r.generator.split("/")[0] == spec.paper, (spec.id, r.label, r.generator)


def test_every_ablation_variant_of_the_zoo_is_a_row_of_some_table():
    used = {r.generator for s in TABLE_SPECS.values() for r in s.rows}
    assert set(list_variants()) - used == set()


def test_every_protocol_parses_on_shapes_and_its_evaluator_names_the_extractor():
    for spec in TABLE_SPECS.values():
        for c in spec.columns:
            if c.protocol is None:
                assert c.reason, (spec.id, c.metric_id)
                continue
            m = parse_metric(c.protocol, "shapes")
            if m.kind is None:
                assert "no network" in c.evaluator, (spec.id, c.metric_id)
            else:
                assert m.extractor in c.evaluator, (spec.id, c.metric_id, m.extractor)


def test_each_paper_column_uses_its_papers_protocol():
    assert get_spec("cpgan-table-1").column("r_precision").protocol == "r-precision-cpgan"
    assert get_spec("ktgan-table-5").column("rank1").protocol == "rank1"
    assert get_spec("grgan-table-1").column("cmd").protocol == "cmd"
    assert get_spec("grgan-table-1").column("itdis").protocol == "itdis"
    assert get_spec("sdn-table-1").column("ssim").protocol == "ssim"
    assert get_spec("sdn-table-1").column("fsim").protocol == "fsim"
    ms = get_spec("hdgan-table-3").column("ms_ssim")
    assert (ms.protocol, ms.field) == ("ms-ssim", "ms_ssim_overall")  # HDGAN prints the overall score
    assert get_spec("hdgan-table-3").column("ms_ssim_classwise_std").field == "ms_ssim_classwise_std"
    assert get_spec("hdgan-table-4").column("vs_similarity").protocol == "vs-similarity"
    # shares printed in %: measured shares are scaled by 100
    assert get_spec("ktgan-table-1").column("rank1").scale == 100.0
    assert get_spec("cpgan-table-1").column("r_precision").scale == 100.0
    # human raters and matcher retrieval have no protocol
    for tid in ("ktgan-table-6", "sdn-table-2", "cpgan-table-2"):
        spec = get_spec(tid)
        assert spec.kind == "human"
        assert all(c.protocol is None and c.reason == HUMAN_REASON for c in spec.columns)
    assert all(c.protocol is None and "matcher" in c.reason for c in get_spec("grgan-table-3").columns)


# (table, row label as printed, generator) — the paper's meaning of the row
HAND_PICKED = [
    ("ktgan-table-2", "AttnGAN+AATM (B₁)", "ktgan/aatm-b1"),
    ("ktgan-table-2", "AttnGAN+AATM w/o Res", "ktgan/aatm-no-res"),
    ("ktgan-table-1", "AttnGAN [35]", "ktgan/baseline"),
    ("ktgan-table-1", "AttnGAN+SDM", "ktgan/sdm"),
    ("ktgan-table-3", "AttnGAN+AATM*", "ktgan/aatm-teacher-init"),
    ("ktgan-table-3", "AttnGAN+AATM+GTE", "ktgan/aatm-gte"),
    ("ktgan-table-4", "KT-GAN (Proposed)", "ktgan"),
    ("ktgan-table-4", "SEGAN [13]", None),
    ("ktgan-table-4", "AttnGAN+O.P.*[31]", None),
    ("ktgan-table-8", "α = 0.85, β = 0.9", "ktgan/aatm"),
    ("ktgan-table-9", "γ = 0", None),
    ("ktgan-table-9", "γ = 2.0", "ktgan/full"),
    ("hdgan-table-6", "256", "hdgan/d-256"),
    ("hdgan-table-6", "64, 128, 256", "hdgan/full"),
    ("hdgan-table-5", "No Local", "hdgan/no-local"),
    ("hdgan-table-4", "Ground Truth", "real"),
    ("hdgan-table-1", "TAC-GAN", None),
    ("grgan-table-4", "λ₁ = 2, λ₂ = 1", "grgan/lambda-2-1"),
    ("grgan-table-4", "λ₁ = 4, λ₂ = 1", "grgan/dmgan-itm"),
    ("grgan-table-2", "DM-GAN +IT +GRG", "grgan/full"),
    ("grgan-table-2", "Attn-GAN", "grgan/attngan-base"),
    ("grgan-table-6", "S→W→I", "grgan/order-swi"),
    ("grgan-table-1", "OP-GAN [4]", None),
    ("sdn-table-3", "Stage-I loss", "sdn/stage1"),
    ("sdn-table-3", "Image space loss", "sdn/baseline"),
    ("sdn-table-1", "GAWWN", None),
    ("cpgan-figure-6", "MATE + FGCD", "cpgan/mate-fgcd"),
    ("cpgan-figure-6", "AttnGAN⁺", "cpgan/baseline"),
    ("cpgan-table-1", "Reed [23]", "gan-int-cls"),
    ("cpgan-table-1", "objGAN[12]", None),
    ("grgan-table-3", "ITM", None),
]


@pytest.mark.parametrize("table_id, label, generator", HAND_PICKED)
def test_hand_picked_rows_map_to_what_the_paper_means(table_id, label, generator):
    assert get_spec(table_id).row(label).generator == generator


def test_variant_descriptions_agree_with_the_mapping():
    """The zoo's own description of a variant names the paper table the spec puts it in."""
    for tid, label, gen in HAND_PICKED:
        if gen and "/" in gen:
            table = MODELS.get(gen).variant.table  # e.g. "KT-GAN Table II"
            assert table.split()[0].replace("-", "").lower() == tid.split("-")[0]


def test_hdgan_table_2_side_outputs_per_cell():
    spec = get_spec("hdgan-table-2")
    by_cell = {(c.row, c.metric_id): (c.generator, c.options) for c in cells(spec)}
    assert by_cell[("HDGAN", "is_64px")] == ("hdgan", {"side_output": 16})
    assert by_cell[("HDGAN", "is_128px")] == ("hdgan", {"side_output": 32})
    assert by_cell[("HDGAN", "is_256px")] == ("hdgan", {})
    assert by_cell[("StackGAN", "is_64px")] == ("stackgan", {"side_output": 32})  # its Stage-I image
    assert ("StackGAN", "is_128px") not in by_cell  # StackGAN has no 128² output
    assert by_cell[("StackGAN", "is_256px")] == ("stackgan", {})


def test_side_outputs_are_scales_of_the_tiny_models_and_map_to_the_paper_sizes():
    def scales(name, which):
        c = MODELS.get(name).configs[which]
        if name == "hdgan":
            return list(c["side_sizes"])
        if name == "stackgan":
            return [c["stage1_size"], c["image_size"]]
        return list(stage_sizes(c["init_ups"], c["stages"], c["image_size"]))

    for name, mapping in PAPER_SIDE_OUTPUTS.items():
        assert dict(zip(scales(name, "tiny"), scales(name, "paper"))) == mapping
    for e in evaluations_needed():
        if "side_output" in e.options:
            model = e.generator.split("/")[0]
            assert e.options["side_output"] in scales(model, "tiny")[:-1], e
    assert options_for("grgan/order-iws", {"side_output": 16}, "coco") == {"side_output": 64}
    assert options_for("stackgan", {"side_output": 32}, "cub") == {"side_output": 64}
    assert options_for("hdgan", {"side_output": 16}, "shapes") == {"side_output": 16}
    with pytest.raises(ValueError, match="no paper-size equivalent"):
        options_for("attngan", {"side_output": 16}, "cub")


def test_hyper_parameter_rows_without_generator_name_an_existing_switch():
    keys = set(MODELS.get("ktgan").config("tiny"))
    for tid in ("ktgan-table-8", "ktgan-table-9", "ktgan-table-10", "ktgan-table-11", "ktgan-table-12"):
        spec = get_spec(tid)
        assert spec.kind == "hyper-parameter"
        for r in spec.rows:
            if r.generator is None:
                switches = re.findall(r"([a-z_0-9]+)=", r.note)
                assert switches and set(switches) <= keys, (tid, r.label, r.note)


def test_base_rows():
    expected = {"ktgan-table-1": "AttnGAN [35]", "ktgan-table-2": "AttnGAN [35]", "ktgan-table-3": "AttnGAN+AATM",
                "ktgan-table-9": "γ = 2.0", "sdn-table-3": "our SDN", "cpgan-figure-6": "AttnGAN⁺",
                "hdgan-table-5": "With Local", "hdgan-table-6": "64, 128, 256", "grgan-table-2": "DM-GAN +DA",
                "grgan-table-4": "λ₁ = 4, λ₂ = 1", "grgan-table-6": "I→S→W"}
    for tid, base in expected.items():
        assert get_spec(tid).base_row == base
    for spec in TABLE_SPECS.values():
        if spec.kind in ("ablation", "hyper-parameter"):
            assert spec.base_row is not None and spec.row(spec.base_row).base is None
        else:
            assert spec.base_row is None and all(r.base is None for r in spec.rows)
    # GR-GAN Table 2 compares within each backbone (Sec. 4.3)
    t2 = get_spec("grgan-table-2")
    assert t2.row("Attn-GAN +IT +GRG").base == "Attn-GAN +IT"
    assert t2.row("Attn-GAN +DA").base is None
    assert t2.row("DM-GAN +IT").base == "DM-GAN +DA"
    assert get_spec("ktgan-table-2").row("AttnGAN+AATM w/o Res").base == "AttnGAN+AATM"


def test_needed_generators_and_metrics():
    assert generators_needed(["ktgan-table-2"]) == [("ktgan/aatm", {}), ("ktgan/aatm-b1", {}),
                                                    ("ktgan/aatm-no-res", {}), ("ktgan/baseline", {})]
    assert metrics_needed(["ktgan-table-2"]) == ["fid", "is", "rank1"]
    assert generators_needed(["ktgan-table-6"]) == []  # human ratings: nothing to evaluate
    assert generators_needed(["ktgan-table-6"], include_human=True) == [("attngan", {}), ("dmgan", {}), ("ktgan", {})]
    assert generators_needed("grgan-table-3") == [] and metrics_needed("grgan-table-3") == []
    e = {(x.generator, tuple(sorted(x.options.items()))): x.protocols for x in evaluations_needed(["hdgan-table-5"])}
    assert e == {("hdgan/no-local", ()): ("is", "ms-ssim", "vs-similarity"),
                 ("hdgan/d-64-256", ()): ("is", "ms-ssim", "vs-similarity")}
    # the gain column of CPGAN Figure 6 is computed, never evaluated
    assert {c.metric_id for c in cells(get_spec("cpgan-figure-6"))} == {"is"}
    everything = metrics_needed()
    assert "r-precision-cpgan" in everything and "rank1" in everything and None not in everything


def test_get_spec_error_lists_the_known_ids():
    with pytest.raises(KeyError, match="known: .*ktgan-table-1"):
        get_spec("ktgan-table-7")


def test_specs_refuse_inconsistent_definitions():
    col = ColumnSpec("is", "is")
    rows = (RowSpec("A", "attngan"), RowSpec("B", "dmgan"))
    with pytest.raises(ValueError, match="base row"):
        TableSpec("x-table-1", "ktgan", "t", "ablation", (col,), rows, None, ("cub",))
    with pytest.raises(ValueError, match="is not a row"):
        TableSpec("x-table-1", "ktgan", "t", "ablation", (col,), rows, "C", ("cub",))
    with pytest.raises(ValueError, match="twice"):
        TableSpec("x-table-1", "ktgan", "t", "comparison", (col,), rows + (RowSpec("A", None, note="n"),), None,
                  ("cub",))
    with pytest.raises(ValueError, match="kind"):
        TableSpec("x-table-1", "ktgan", "t", "survey", (col,), rows, None, ("cub",))
    with pytest.raises(ValueError, match="needs a note"):
        RowSpec("C", None)
    with pytest.raises(ValueError, match="needs the reason"):
        ColumnSpec("fid", None)


def test_measured_on_says_one_measurement_stands_beside_every_dataset():
    assert "CUB and COCO" in get_spec("ktgan-table-1").measured_on("shapes")
    assert "compared with each separately" in get_spec("hdgan-table-1").measured_on("shapes")
    assert "does not state" in get_spec("hdgan-table-6").measured_on("shapes")
