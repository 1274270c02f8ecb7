"""The papers' tables as specs: which generator is each row, which protocol is each column.

One :class:`TableSpec` per transcribed table of ``leaderboards/reported/`` (the ids of
:func:`t2ibench.reported.list_reported`), all kept here in one place (the torch-fidelity habit
of one module for every default). A spec says, for the paper's table:

- its **rows** (:class:`RowSpec`), each with the row label exactly as printed (and as stored in
  the reported CSV), the registered generator that *is* that row (a zoo model, one of its
  ablation variants ``model/variant``, or a reference row such as ``real``) with its load options,
  or ``None`` when nothing in the zoo is that row ("not in zoo": GAWWN, TAC-GAN, MirrorGAN, ...;
  KT-GAN's hyper-parameter settings for which no generator was trained);
- its **columns** (:class:`ColumnSpec`), one per reported metric id, each with the t2ibench
  metric spec that follows the paper's protocol and the evaluator it uses on ``shapes``, or
  ``None`` with the reason (human raters; no t2ibench protocol);
- its **kind** (``comparison``, ``ablation``, ``hyper-parameter``, ``human``) and, for ablation
  and hyper-parameter tables, its **base row**: the row the paper measures changes against
  (each row may name another base, :attr:`RowSpec.base`, where the paper compares it with
  another row).

**Datasets.** The papers report CUB, Oxford-102 and COCO; t2ibench measures on one dataset per
run (``shapes`` by default). A table with several reported datasets gets, per metric, its
reported columns (one per dataset, in the paper's order) followed by *one* measured column:
the same measurement stands beside every reported dataset column and is compared with each of
them separately (:meth:`TableSpec.measured_on`).

Example::

    from t2ibench.tables.specs import get_spec, evaluations_needed
    spec = get_spec("ktgan-table-2")
    [(r.label, r.generator) for r in spec.rows]
    evaluations_needed(["ktgan-table-2"])   # what the benchmark must evaluate
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from dataclasses import field as _field

#: The kinds of table. ``comparison``: models compared with each other; ``ablation``: the paper's
#: model with parts removed or added; ``hyper-parameter``: one model at several settings; ``human``:
#: a table of human ratings (every column comes from raters, :data:`HUMAN_REASON`).
KINDS = ("comparison", "ablation", "hyper-parameter", "human")

#: The reason of every column that needs human raters (KT-GAN Table VI, SDN Table 2, CPGAN Table 2).
HUMAN_REASON = "human rating (t2ibench human-sheet)"

#: Display names of the reported datasets (the ids of ``leaderboards/reported``); "" = not stated.
DATASET_NAMES = {"cub": "CUB", "coco": "COCO", "flowers": "Oxford-102", "shapes": "shapes",
                 "": "dataset not stated"}

PAPER_NAMES = {"ktgan": "KT-GAN", "sdn": "SDN", "cpgan": "CPGAN", "hdgan": "HDGAN", "grgan": "GR-GAN"}


@dataclass(frozen=True)
class ColumnSpec:
    """One reported metric of a table and how t2ibench measures it.

    Attributes:
        metric_id: the reported metric id (``leaderboards/reported/README.md``), e.g. ``"rank1"``.
        protocol: the t2ibench metric spec (``"name"`` or ``"name@extractor"``, parsed by
            :func:`t2ibench.protocols.parse_metric`) that follows the paper's protocol; ``None`` when
            t2ibench cannot measure the column (then ``reason`` says why).
        reason: why ``protocol`` is ``None`` (:data:`HUMAN_REASON` for rater columns); ``""`` otherwise.
        evaluator: the evaluator/extractor behind the protocol on ``shapes``, in words (names the
            extractor that ``parse_metric(protocol, "shapes")`` picks, and what it stands in for).
        label: the column head, e.g. ``"Rank-1"`` (the direction arrow and unit are added from the
            reported data when rendered).
        field: the key of the metric's result entry (``EvalResult.metrics[protocol]``) that holds the
            value this column shows (``"value"``; HDGAN's overall MS-SSIM: ``"ms_ssim_overall"``).
        std_field: the key of its ± part (``None``: no ± part).
        scale: factor from t2ibench's unit to the paper's (100 for shares printed in %).
        digits: decimals of a measured value when rendered.
        options: generator load options this column needs for every row (``{"side_output": 16}``:
            the smallest side output of a tiny zoo model on shapes; see :func:`options_for`).
        gain_of: ``(metric_id, row label)`` for a column the paper states as a difference: the measured
            value of row r is ``measured(r, metric_id) − measured(row label, metric_id)`` (CPGAN
            Figure 6's gains over AttnGAN⁺); nothing is evaluated for it directly.
    """

    metric_id: str
    protocol: str | None
    reason: str = ""
    evaluator: str = ""
    label: str = ""
    field: str = "value"
    std_field: str | None = "std"
    scale: float = 1.0
    digits: int = 3
    options: dict = _field(default_factory=dict)
    gain_of: tuple[str, str] | None = None

    def __post_init__(self):
        if self.protocol is None and not self.reason:
            raise ValueError(f"column {self.metric_id!r}: a column without a protocol needs the reason")
        if self.protocol is not None and self.reason:
            raise ValueError(f"column {self.metric_id!r}: a reason is only for a column without a protocol")

    @property
    def is_human(self) -> bool:
        return self.protocol is None and self.reason == HUMAN_REASON

    @property
    def scored(self) -> bool:
        """Whether the column can hold measured values: a t2ibench protocol, or human raters' scores
        (``benchmark.py --human-scores``, :mod:`t2ibench.tables.human_scores`)."""
        return self.protocol is not None or self.is_human


@dataclass(frozen=True)
class RowSpec:
    """One row of a paper's table and the generator that is that row.

    Attributes:
        label: the row label exactly as printed (and as in the reported CSV's ``row`` column).
        generator: the registered generator name (:func:`t2ibench.registry.list_generators`) that is
            this row, or ``None`` ("not in zoo").
        options: load options of the generator for every column (``load_generator(name, **options)``).
        note: what a reader must know about the mapping (why ``None``; which training budget; ...).
        base: for ablation and hyper-parameter tables, the label of the row this row's change is
            measured against (the table's base row, or another row where the paper compares with it);
            ``None``: no change is measured for this row (the base rows themselves).
        cell_options: per metric id, load options that replace the column's for this row (StackGAN's
            64² image in HDGAN Table 2 is its Stage-I output, another side output than HDGAN's).
        unmeasured: per metric id, why this row's cell cannot be measured although row and column can.
    """

    label: str
    generator: str | None
    options: dict = _field(default_factory=dict)
    note: str = ""
    base: str | None = None
    cell_options: dict = _field(default_factory=dict)
    unmeasured: dict = _field(default_factory=dict)

    def __post_init__(self):
        if self.generator is None and not self.note:
            raise ValueError(f"row {self.label!r}: a row without a generator needs a note saying why")


@dataclass(frozen=True)
class TableSpec:
    """One results table of a paper: rows, columns, kind and base row.

    Attributes:
        id: the reported table id (file stem), e.g. ``"ktgan-table-2"``.
        paper: ``ktgan`` | ``sdn`` | ``cpgan`` | ``hdgan`` | ``grgan``.
        title: a one-line title, e.g. ``"KT-GAN Table II: AATM variants"``.
        kind: one of :data:`KINDS`.
        columns: one :class:`ColumnSpec` per reported metric id, in the paper's order.
        rows: one :class:`RowSpec` per reported row label, in the paper's order.
        base_row: the label of the row the paper measures changes against (ablation and
            hyper-parameter tables), ``None`` otherwise.
        datasets: the reported datasets in the paper's column order (``""``: not stated).
        note: anything about the table as a whole.
    """

    id: str
    paper: str
    title: str
    kind: str
    columns: tuple[ColumnSpec, ...]
    rows: tuple[RowSpec, ...]
    base_row: str | None
    datasets: tuple[str, ...]
    note: str = ""

    def __post_init__(self):
        where = f"table spec {self.id!r}"
        if self.kind not in KINDS:
            raise ValueError(f"{where}: kind {self.kind!r} is not one of {KINDS}")
        labels = [r.label for r in self.rows]
        if len(set(labels)) != len(labels):
            raise ValueError(f"{where}: a row label is given twice")
        metric_ids = [c.metric_id for c in self.columns]
        if len(set(metric_ids)) != len(metric_ids):
            raise ValueError(f"{where}: a column is given twice")
        compared = self.kind in ("ablation", "hyper-parameter")
        if compared != (self.base_row is not None):
            raise ValueError(f"{where}: an ablation or hyper-parameter table has a base row, and only it")
        if self.base_row is not None and self.base_row not in labels:
            raise ValueError(f"{where}: base row {self.base_row!r} is not a row")
        for r in self.rows:
            if r.base is not None and (not compared or r.base not in labels or r.base == r.label):
                raise ValueError(f"{where}: row {r.label!r} has base {r.base!r}, which is not another row "
                                 "of an ablation or hyper-parameter table")
            for m in (*r.cell_options, *r.unmeasured):
                if m not in metric_ids:
                    raise ValueError(f"{where}: row {r.label!r} names unknown column {m!r}")
        for c in self.columns:
            if c.gain_of is not None and (c.gain_of[0] not in metric_ids or c.gain_of[1] not in labels):
                raise ValueError(f"{where}: column {c.metric_id!r} is a gain of an unknown column or row")
        if self.kind == "human" and not all(c.is_human for c in self.columns):
            raise ValueError(f"{where}: every column of a human table is a human rating")

    def row(self, label: str) -> RowSpec:
        for r in self.rows:
            if r.label == label:
                return r
        raise KeyError(f"{self.id}: no row {label!r}; rows: {[r.label for r in self.rows]}")

    def column(self, metric_id: str) -> ColumnSpec:
        for c in self.columns:
            if c.metric_id == metric_id:
                return c
        raise KeyError(f"{self.id}: no column {metric_id!r}; columns: {[c.metric_id for c in self.columns]}")

    def measured_on(self, dataset: str = "shapes") -> str:
        """The sentence saying how a measurement on ``dataset`` stands beside the reported columns."""
        name = DATASET_NAMES.get(dataset, dataset)
        reported = [DATASET_NAMES[d] for d in self.datasets]
        if len(reported) > 1:
            return (f"Measured on {name}: one measurement per metric, shown once beside the paper's "
                    f"{', '.join(reported[:-1])} and {reported[-1]} columns and compared with each separately.")
        if self.datasets == ("",):
            return f"Measured on {name}; the paper does not state the dataset of this table."
        return f"Measured on {name}, beside the paper's {reported[0]} values."

    def to_dict(self) -> dict:
        """The spec as plain JSON-able data (tuples become lists)."""
        return json.loads(json.dumps(asdict(self)))


# -- columns: one default per reported metric id --------------------------------------------------

_IS_SHAPES = ("shapes-classifier logits: the embedded 48-class shapes domain classifier, a stand-in for "
              "StackGAN's fine-tuned Inception-v3 (CUB, Oxford-102) and the ImageNet Inception-v3 (COCO; "
              "SDN uses it on CUB and Oxford-102 too)")
_FID_SHAPES = ("shapes-classifier penultimate features vs the real shapes test split: a stand-in for "
               "Inception-v3 pool3 (2048-d)")
_CLIP_SHAPES = ("tiny-clip-shapes: an embedded CLIP trained on shapes, a stand-in for GR-GAN's CLIP ViT-B/32; "
                "Fréchet distances of generated (f), real (r) and caption (l) embeddings")

#: The evaluator behind each protocol on ``shapes`` (names the extractor parse_metric picks there).
EVALUATORS_ON_SHAPES = {
    "is": _IS_SHAPES,
    "fid": _FID_SHAPES,
    "rank1": ("vse-shapes: a VSE++ model trained on shapes, a stand-in for KT-GAN's VSE++ trained on "
              "CUB/COCO; captions query the images generated for their 1,000-caption fold"),
    "r-precision-cpgan": ("damsm-shapes: a DAMSM with a small CNN image encoder trained on shapes, a stand-in "
                          "for the Inception-v3 DAMSM of AttnGAN/CPGAN; each image ranked against the 100 "
                          "captions of its batch"),
    "ssim": ("no network: the pixels of each generated image vs the real test image its caption was written "
             "for (Gaussian window 11x11, sigma 1.5)"),
    "fsim": ("no network: the pixels of each generated image vs the real test image its caption was written "
             "for (FSIM on luminance, Zhang et al. 2011)"),
    "ms-ssim": "no network: the pixels of random pairs of generated images",
    "vs-similarity": ("vs-shapes: HDGAN's visual-semantic linear maps over shapes-classifier features and "
                      "damsm-shapes sentence embeddings, trained on real shapes pairs (stand-ins)"),
    "cmd": _CLIP_SHAPES,
    "itdis": _CLIP_SHAPES,
}

_RETRIEVAL_REASON = ("recall of an image-text matcher (DAMSM, CLIP, ITM) retrieving real COCO pairs; "
                     "t2ibench scores generators and has no protocol that scores a matcher")

#: Tiny (shapes) side outputs of the zoo models that have several scales. Side output 16 px
#: stands for the paper's 64², 32 px for 128², the final 64 px image for 256²; StackGAN's tiny
#: Stage-I output is 32 px (the paper's 64² Stage-I image).
SIDE_64, SIDE_128 = {"side_output": 16}, {"side_output": 32}


def _col(metric_id: str, protocol: str | None, label: str, digits: int, **kw) -> ColumnSpec:
    if protocol is not None and "evaluator" not in kw:
        kw["evaluator"] = EVALUATORS_ON_SHAPES[protocol.partition("@")[0]]
    return ColumnSpec(metric_id, protocol, label=label, digits=digits, **kw)


def _layer(metric: str, protocol: str, label: str, layer: int) -> ColumnSpec:
    options = (SIDE_64, SIDE_128, {})[layer]
    where = ("the first stage's output (16 px on shapes: the paper's 64²)",
             "the second stage's output (32 px on shapes: the paper's 128²)",
             "the final image (64 px on shapes: the paper's 256²)")[layer]
    return _col(f"{metric}_layer{layer}", protocol, f"{label} Layer{layer}", 3, options=dict(options),
                evaluator=f"{EVALUATORS_ON_SHAPES[protocol]}; images: {where}")


#: The column of every reported metric id (a table's spec takes the ones it reports).
COLUMNS: dict[str, ColumnSpec] = {c.metric_id: c for c in [
    _col("is", "is", "IS", 2),
    _col("is_64px", "is", "IS 64²", 2, options=dict(SIDE_64),
         evaluator=f"{_IS_SHAPES}; images: the 64² output (16 px side output on shapes)"),
    _col("is_128px", "is", "IS 128²", 2, options=dict(SIDE_128),
         evaluator=f"{_IS_SHAPES}; images: the 128² output (32 px side output on shapes)"),
    _col("is_256px", "is", "IS 256²", 2,
         evaluator=f"{_IS_SHAPES}; images: the final 256² output (64 px on shapes)"),
    _col("is_gain_over_attngan_plus", "is", "IS gain over AttnGAN⁺", 2, gain_of=("is", "AttnGAN⁺"),
         evaluator=f"{_IS_SHAPES}; the measured IS of the row minus that of AttnGAN⁺"),
    _col("fid", "fid", "FID", 2),
    *[_layer(m, p, lbl, k) for m, p, lbl in (("fid", "fid", "FID"), ("itdis", "itdis", "ITDis"),
                                              ("cmd", "cmd", "CMD")) for k in range(3)],
    _col("rank1", "rank1", "Rank-1", 1, scale=100.0),
    _col("r_precision", "r-precision-cpgan", "R-precision", 2, scale=100.0),
    _col("ssim", "ssim", "SSIM", 4),
    _col("fsim", "fsim", "FSIM", 4),
    _col("ms_ssim", "ms-ssim", "MS-SSIM", 3, field="ms_ssim_overall", std_field="ms_ssim_overall_std",
         evaluator=(f"{EVALUATORS_ON_SHAPES['ms-ssim']}; the overall mean over random pairs "
                    "(result field ms_ssim_overall), as HDGAN's printed score")),
    _col("ms_ssim_classwise_std", "ms-ssim", "MS-SSIM inter-class std", 3, field="ms_ssim_classwise_std",
         std_field=None, evaluator=(f"{EVALUATORS_ON_SHAPES['ms-ssim']}; the population std across classes "
                                    "of the per-class mean MS-SSIM (result field ms_ssim_classwise_std)")),
    _col("vs_similarity", "vs-similarity", "VS-similarity", 3),
    _col("itdis", "itdis", "ITDis", 3),
    _col("cmd", "cmd", "CMD", 3),
    _col("human_rank1", None, "Human rank-1", 2, reason=HUMAN_REASON, evaluator="human raters", scale=100.0),
    _col("human_rank_quality", None, "Human rank (quality)", 2, reason=HUMAN_REASON, evaluator="human raters"),
    _col("human_rank_correlation", None, "Human rank (text correlation)", 2, reason=HUMAN_REASON,
         evaluator="human raters"),
    *[_col(f"{d}_r{k}", None, f"{'Image→text' if d == 'i2t' else 'Text→image'} R@{k}", 1,
           reason=_RETRIEVAL_REASON) for d in ("i2t", "t2i") for k in (1, 5, 10)],
]}


# -- rows --------------------------------------------------------------------------------------------


def _r(label: str, generator: str | None = None, note: str = "", **kw) -> RowSpec:
    return RowSpec(label, generator, note=note, **kw)


def _nz(label: str, what: str) -> RowSpec:
    """A row that no zoo model is: ``what`` names the model and says so."""
    return RowSpec(label, None, note=f"{what}: not in the zoo")


def _hp(label: str, switches: str) -> RowSpec:
    """A KT-GAN hyper-parameter setting without a trained generator."""
    return RowSpec(label, None, note=(f"KT-GAN with {switches} (models/ktgan/configs.py); no generator was "
                                      "trained at this setting"))


def _compared(rows: Iterable[RowSpec], base_row: str, bases: dict[str, str | None] | None = None):
    """``rows`` with their ``base`` set: ``bases[label]`` where given, else ``base_row`` (None for it)."""
    bases = bases or {}
    out = []
    for r in rows:
        base = bases.get(r.label, None if r.label == base_row else base_row)
        out.append(RowSpec(r.label, r.generator, r.options, r.note, base, r.cell_options, r.unmeasured))
    return tuple(out)


def _spec(id: str, title: str, kind: str, metrics: Iterable[str], rows: Iterable[RowSpec],
          datasets: Iterable[str], base_row: str | None = None, bases: dict | None = None,
          note: str = "") -> TableSpec:
    rows = tuple(rows)
    if base_row is not None:
        rows = _compared(rows, base_row, bases)
    return TableSpec(id=id, paper=id.split("-", 1)[0], title=title, kind=kind,
                     columns=tuple(COLUMNS[m] for m in metrics), rows=rows, base_row=base_row,
                     datasets=tuple(datasets), note=note)


_ABL_KT = "at the ablation budget of KT-GAN Tables I-III (models/ktgan/configs.py)"
_ABL_GR = "at the ablation budget of GR-GAN Tables 2, 4 and 6 (models/grgan/configs.py)"
_ABL_CP = "at the ablation budget of CPGAN Figure 6 (models/cpgan/configs.py)"
_ABL_HD = "at the ablation budget of HDGAN Tables 5 and 6 (models/hdgan/configs.py)"
_ABL_SDN = "at the ablation budget of SDN Table 3 (models/sdn/configs.py)"
_ZOO_ATTNGAN = ("the zoo's AttnGAN (its own tiny recipe, not the ablation budget of the other rows)")

_KT_FULL = RowSpec("", "ktgan/full", note=f"KT-GAN at the paper's chosen hyper-parameters, {_ABL_KT}")

_IS_FID_R1 = ("is", "fid", "rank1")

_SPECS: list[TableSpec] = [
    # ---- KT-GAN ------------------------------------------------------------------------------------
    _spec("ktgan-table-1", "KT-GAN Table I: module ablation (AttnGAN, +SDM, +AATM, KT-GAN)", "ablation",
          _IS_FID_R1, [
              _r("AttnGAN [35]", "ktgan/baseline", f"AttnGAN (no AATM, no SDM) {_ABL_KT}"),
              _r("AttnGAN+SDM", "ktgan/sdm", f"teacher, GTE and teacher-initialised student, no AATM, {_ABL_KT}"),
              _r("AttnGAN+AATM", "ktgan/aatm", f"AATM in B1 and B2, no SDM, {_ABL_KT}"),
              _r("KT-GAN", "ktgan/full", f"AATM + SDM, {_ABL_KT}"),
          ], ("cub", "coco"), base_row="AttnGAN [35]",
          note="Sec. IV-B states each row's gains over AttnGAN."),
    _spec("ktgan-table-2", "KT-GAN Table II: variants of the word feature update (Eq. 2)", "ablation",
          _IS_FID_R1, [
              _r("AttnGAN [35]", "ktgan/baseline", f"AttnGAN (no AATM, no SDM) {_ABL_KT}"),
              _r("AttnGAN+AATM (B₁)", "ktgan/aatm-b1", f"AATM in block B1 only, {_ABL_KT}"),
              _r("AttnGAN+AATM", "ktgan/aatm", f"AATM in B1 and B2, {_ABL_KT}"),
              _r("AttnGAN+AATM w/o Res", "ktgan/aatm-no-res", f"Eq. 2 without the residual term (β = 0), {_ABL_KT}"),
          ], ("cub",), base_row="AttnGAN [35]",
          bases={"AttnGAN+AATM": "AttnGAN+AATM (B₁)", "AttnGAN+AATM w/o Res": "AttnGAN+AATM"},
          note=("Bases follow Sec. IV-B: (B₁) against AttnGAN, AATM in B₁ and B₂ against AATM (B₁), "
                "w/o Res against AATM.")),
    _spec("ktgan-table-3", "KT-GAN Table III: variants of the SDM", "ablation", _IS_FID_R1, [
        _r("AttnGAN+AATM", "ktgan/aatm", f"AATM in B1 and B2, no SDM, {_ABL_KT}"),
        _r("AttnGAN+AATM+GTE", "ktgan/aatm-gte", f"the guided text encoder, student from scratch, {_ABL_KT}"),
        _r("AttnGAN+AATM*", "ktgan/aatm-teacher-init",
           f"student G and D initialised from the teacher, no GTE, {_ABL_KT}"),
        _r("KT-GAN", "ktgan/full", f"AATM + SDM, {_ABL_KT}"),
    ], ("cub", "coco"), base_row="AttnGAN+AATM", note="Sec. IV-B compares each variant with AttnGAN+AATM."),
    _spec("ktgan-table-4", "KT-GAN Table IV: IS of 14 methods", "comparison", ["is"], [
        _r("GAN-INT-CLS [25]", "gan-int-cls"),
        _r("StackGAN [41]", "stackgan"),
        _r("StackGAN++ [11]", "stackgan++"),
        _r("HDGAN [42]", "hdgan"),
        _r("AttnGAN [35]", "attngan"),
        _nz("AttnGAN+O.P.*[31]", "AttnGAN with an object pathway (Hinz et al.)"),
        _nz("Obj-GAN [17]", "Obj-GAN"),
        _nz("MirrorGAN [23]", "MirrorGAN"),
        _nz("ControlGAN [3]", "ControlGAN"),
        _nz("LeicaGAN [30]", "LeicaGAN"),
        _nz("SEGAN [13]", "SEGAN"),
        _nz("SD-GAN [10]", "SD-GAN"),
        _r("DM-GAN [22]", "dmgan"),
        _r("KT-GAN (Proposed)", "ktgan", "the zoo's KT-GAN (its full tiny recipe)"),
    ], ("cub", "coco")),
    _spec("ktgan-table-5", "KT-GAN Table V: FID and Rank-1 of 7 methods", "comparison", ["fid", "rank1"], [
        _r("StackGAN [41]", "stackgan"),
        _r("HDGAN [42]", "hdgan"),
        _r("AttnGAN [35]", "attngan"),
        _nz("SEGAN [13]", "SEGAN"),
        _nz("Obj-GAN [17]", "Obj-GAN"),
        _r("DM-GAN [22]", "dmgan"),
        _r("KT-GAN (Proposed)", "ktgan", "the zoo's KT-GAN (its full tiny recipe)"),
    ], ("cub", "coco")),
    _spec("ktgan-table-6", "KT-GAN Table VI: human perceptual test (rank-1 share)", "human", ["human_rank1"], [
        _r("AttnGAN [35]", "attngan"),
        _r("DMGAN [22]", "dmgan"),
        _r("KT-GAN", "ktgan", "the zoo's KT-GAN (its full tiny recipe)"),
    ], ("cub", "coco")),
    _spec("ktgan-table-8", "KT-GAN Table VIII: α, β of the AATM (AttnGAN+AATM)", "hyper-parameter", _IS_FID_R1, [
        _hp("α = 1.0, β = 1.0", "aatm_alpha=1.0, aatm_beta=1.0"),
        _r("α = 0.85, β = 0.9", "ktgan/aatm",
           f"AttnGAN+AATM at the paper's α = 0.85, β = 0.9 (the config's default), {_ABL_KT}"),
        _hp("α = 0.9, β = 0.85", "aatm_alpha=0.9, aatm_beta=0.85"),
        _hp("α = 0.5, β = 1.0", "aatm_alpha=0.5, aatm_beta=1.0"),
        _hp("α = 1.0, β = 0.5", "aatm_alpha=1.0, aatm_beta=0.5"),
        _hp("α = 0.5, β = 0.5", "aatm_alpha=0.5, aatm_beta=0.5"),
    ], ("cub",), base_row="α = 0.85, β = 0.9", note="The base row is the paper's chosen setting."),
    _spec("ktgan-table-9", "KT-GAN Table IX: focal γ of the SDL", "hyper-parameter", _IS_FID_R1, [
        _hp("γ = 0", "sdl_gamma=0.0"),
        _hp("γ = 0.5", "sdl_gamma=0.5"),
        _hp("γ = 1.0", "sdl_gamma=1.0"),
        RowSpec("γ = 2.0", _KT_FULL.generator, note=_KT_FULL.note),
        _hp("γ = 5.0", "sdl_gamma=5.0"),
    ], ("cub",), base_row="γ = 2.0", note="The base row is the paper's chosen setting."),
    _spec("ktgan-table-10", "KT-GAN Table X: β₀ of the SDL", "hyper-parameter", _IS_FID_R1, [
        _hp("β₀ = 1", "sdl_beta0=1.0"),
        _hp("β₀ = 2", "sdl_beta0=2.0"),
        RowSpec("β₀ = 5", _KT_FULL.generator, note=_KT_FULL.note),
        _hp("β₀ = 50", "sdl_beta0=50.0"),
    ], ("cub",), base_row="β₀ = 5", note="The base row is the paper's chosen setting."),
    _spec("ktgan-table-11", "KT-GAN Table XI: λ₃ (DAMSM loss weight)", "hyper-parameter", _IS_FID_R1, [
        _hp("λ₃ = 0", "damsm_lambda=0.0"),
        RowSpec("λ₃ = 5", _KT_FULL.generator, note=_KT_FULL.note),
        _hp("λ₃ = 10", "damsm_lambda=10.0"),
        _hp("λ₃ = 50", "damsm_lambda=50.0"),
    ], ("cub",), base_row="λ₃ = 5", note="The base row is the paper's chosen setting."),
    _spec("ktgan-table-12", "KT-GAN Table XII: η₀, η₁, η₂ (teacher perceptual losses)", "hyper-parameter",
          _IS_FID_R1, [
              _hp("η₀ = 0, η₁ = 0, η₂ = 0", "eta=[0, 0, 0]"),
              RowSpec("η₀ = 10⁻³, η₁ = 10⁻², η₂ = 10⁻¹", _KT_FULL.generator, note=_KT_FULL.note),
              _hp("η₀ = 10⁻¹, η₁ = 10⁻², η₂ = 10⁻³", "eta=[1e-1, 1e-2, 1e-3]"),
              _hp("η₀ = 10⁻¹, η₁ = 10⁻¹, η₂ = 10⁻¹", "eta=[1e-1, 1e-1, 1e-1]"),
              _hp("η₀ = 1.0, η₁ = 1.0, η₂ = 1.0", "eta=[1.0, 1.0, 1.0]"),
          ], ("cub",), base_row="η₀ = 10⁻³, η₁ = 10⁻², η₂ = 10⁻¹",
          note="The base row is the paper's chosen setting."),
    # ---- SDN ----------------------------------------------------------------------------------------
    _spec("sdn-table-1", "SDN Table 1: IS, SSIM and FSIM", "comparison", ["is", "ssim", "fsim"], [
        _r("our SDN", "sdn", "the zoo's SDN (its full tiny recipe)"),
        _r("StackGAN", "stackgan"),
        _nz("GAWWN", "GAWWN (Reed et al. 2016, what-where network)"),
        _r("GAN-INT-CLS", "gan-int-cls"),
    ], ("cub", "flowers"),
        note=("SDN computes IS with the ImageNet Inception-v3 (its footnote 2), unlike HDGAN/KT-GAN; on shapes "
              "every IS uses the same shapes classifier.")),
    _spec("sdn-table-2", "SDN Table 2: human ranks (quality, text correlation)", "human",
          ["human_rank_quality", "human_rank_correlation"], [
              _r("our SDN", "sdn", "the zoo's SDN (its full tiny recipe)"),
              _r("StackGAN", "stackgan"),
              _nz("GAWWN", "GAWWN (Reed et al. 2016, what-where network)"),
              _r("GAN-INT-CLS", "gan-int-cls"),
          ], ("cub", "flowers")),
    _spec("sdn-table-3", "SDN Table 3: loss ablation", "ablation", ["is"], [
        _r("Image space loss", "sdn/baseline", f"image space loss only (Eq. 2), {_ABL_SDN}"),
        _r("Stage-I loss", "sdn/stage1", f"Stage-I loss only (Eq. 1), {_ABL_SDN}"),
        _r("Stage-II loss", "sdn/stage2", f"Stage-II loss only (Eq. 3), {_ABL_SDN}"),
        _r("Stage-I & Stage-II loss", "sdn/joint", f"both losses together from the start, {_ABL_SDN}"),
        _r("Diverse synthesis loss", "sdn/diverse", f"n = 3 outputs, multiple-choice loss, {_ABL_SDN}"),
        _r("our SDN", "sdn/full", f"Stage-I then Stage-II, {_ABL_SDN}"),
    ], ("cub",), base_row="our SDN",
        note="Sec. 4.4 calls the other rows baseline schemes of SDN: each is compared with our SDN."),
    # ---- CPGAN --------------------------------------------------------------------------------------
    _spec("cpgan-table-1", "CPGAN Table 1: IS and R-precision on COCO", "comparison", ["is", "r_precision"], [
        _r("Reed [23]", "gan-int-cls", "Reed et al. 2016 (ICML) is GAN-INT-CLS"),
        _r("StackGAN [34]", "stackgan"),
        _nz("Infer [8]", "Hong et al. 2018, inferring semantic layout"),
        _nz("SD-GAN [32]", "SD-GAN"),
        _nz("MirrorGAN [21]", "MirrorGAN"),
        _nz("SEGAN [28]", "SEGAN"),
        _r("DMGAN [37]", "dmgan"),
        _r("AttnGAN [31]", "attngan"),
        _nz("objGAN[12]", "Obj-GAN"),
        _r("AttnGAN⁺", "cpgan/baseline", f"AttnGAN with hinge loss, truncated noise and batch 72, {_ABL_CP}"),
        _r("CPGAN (ours)", "cpgan", "the zoo's CPGAN (its full tiny recipe)"),
    ], ("coco",)),
    _spec("cpgan-table-2", "CPGAN Table 2: human rank-1 ratio", "human", ["human_rank1"], [
        _r("StackGAN [34]", "stackgan"),
        _r("AttnGAN [31]", "attngan"),
        _r("CPGAN (ours)", "cpgan", "the zoo's CPGAN (its full tiny recipe)"),
    ], ("coco",)),
    _spec("cpgan-figure-6", "CPGAN Figure 6: module ablation (IS)", "ablation", ["is", "is_gain_over_attngan_plus"], [
        _r("AttnGAN", "attngan", _ZOO_ATTNGAN),
        _r("AttnGAN⁺", "cpgan/baseline", f"AttnGAN with hinge loss, truncated noise and batch 72, {_ABL_CP}"),
        _r("MATE", "cpgan/mate", f"AttnGAN⁺ + MATE, {_ABL_CP}"),
        _r("OAIE", "cpgan/oaie", f"AttnGAN⁺ + OAIE, {_ABL_CP}"),
        _r("FGCD", "cpgan/fgcd", f"AttnGAN⁺ + FGCD, {_ABL_CP}"),
        _r("MATE + OAIE", "cpgan/mate-oaie", f"AttnGAN⁺ + MATE + OAIE, {_ABL_CP}"),
        _r("MATE + FGCD", "cpgan/mate-fgcd", f"AttnGAN⁺ + MATE + FGCD, {_ABL_CP}"),
        _r("OAIE + FGCD", "cpgan/oaie-fgcd", f"AttnGAN⁺ + OAIE + FGCD, {_ABL_CP}"),
        _r("CPGAN (MATE + OAIE + FGCD)", "cpgan/full", f"all three modules, {_ABL_CP}"),
    ], ("coco",), base_row="AttnGAN⁺",
        note=("The bars are drawn only; the text states the full model's IS and the single modules' gains over "
              "AttnGAN⁺ (Sec. 4.3), which is the base row.")),
    # ---- HDGAN --------------------------------------------------------------------------------------
    _spec("hdgan-table-1", "HDGAN Table 1: IS on three datasets", "comparison", ["is"], [
        _r("GAN-INT-CLS", "gan-int-cls"),
        _nz("GAWWN", "GAWWN (Reed et al. 2016, what-where network)"),
        _r("StackGAN", "stackgan"),
        _r("StackGAN++", "stackgan++"),
        _nz("TAC-GAN", "TAC-GAN (Dash et al. 2017)"),
        _r("HDGAN", "hdgan", "the zoo's HDGAN (its full tiny recipe)"),
    ], ("cub", "flowers", "coco")),
    _spec("hdgan-table-2", "HDGAN Table 2: IS per output scale", "comparison", ["is_64px", "is_128px", "is_256px"], [
        _r("StackGAN", "stackgan", "64²: its Stage-I output (32 px on shapes); 256²: its final image",
           cell_options={"is_64px": {"side_output": 32}},
           unmeasured={"is_128px": ("StackGAN has no 128² output (the paper does not say how its 128² images "
                                    "were made); the tiny StackGAN has stages of 32 and 64 px")}),
        _r("HDGAN", "hdgan", "one model's side outputs, as the paper (16/32/64 px on shapes)"),
    ], ("cub",)),
    _spec("hdgan-table-3", "HDGAN Table 3: MS-SSIM (diversity)", "comparison", ["ms_ssim", "ms_ssim_classwise_std"], [
        _r("StackGAN", "stackgan"),
        _nz("Prog.GAN", "Progressive GAN (Karras et al. 2018; the paper used 256² images from its authors)"),
        _r("HDGAN", "hdgan", "the zoo's HDGAN (its full tiny recipe)"),
    ], ("cub",)),
    _spec("hdgan-table-4", "HDGAN Table 4: VS-similarity", "comparison", ["vs_similarity"], [
        _r("StackGAN", "stackgan"),
        _r("Ground Truth", "real", "the real test image of each caption"),
        _r("HDGAN", "hdgan", "the zoo's HDGAN (its full tiny recipe)"),
    ], ("cub", "flowers", "coco")),
    _spec("hdgan-table-5", "HDGAN Table 5: local image loss ablation", "ablation", ["ms_ssim", "vs_similarity", "is"], [
        _r("No Local", "hdgan/no-local", f"side outputs 64 and 256 without the local image loss, {_ABL_HD}"),
        _r("With Local", "hdgan/d-64-256",
           ("side outputs 64 and 256 with the local image loss: Sec. 5.2 runs both columns with side outputs "
            f"64×64 and 256×256 (the printed values equal the full HDGAN's), {_ABL_HD}")),
    ], ("cub",), base_row="With Local"),
    _spec("hdgan-table-6", "HDGAN Table 6: nested-adversary ablation", "ablation", ["is"], [
        _r("256", "hdgan/d-256", f"a discriminator on the final output only, {_ABL_HD}"),
        _r("128, 256", "hdgan/d-128-256", f"discriminators on the 128 and 256 outputs, {_ABL_HD}"),
        _r("64, 256", "hdgan/d-64-256", f"discriminators on the 64 and 256 outputs, {_ABL_HD}"),
        _r("64, 128, 256", "hdgan/full", f"all three nested discriminators, {_ABL_HD}"),
    ], ("",), base_row="64, 128, 256", note="Sec. 5.1 removes parts of the nested supervision from the full model."),
    # ---- GR-GAN -------------------------------------------------------------------------------------
    _spec("grgan-table-1", "GR-GAN Table 1: IS, FID, ITDis, CMD on COCO", "comparison", ["is", "fid", "itdis", "cmd"], [
        _r("Attn-GAN [3]", "attngan"),
        _nz("Obj-GAN † [5]", "Obj-GAN"),
        _r("DM-GAN [8]", "dmgan"),
        _nz("OP-GAN [4]", "OP-GAN"),
        _r("CP-GAN [12]", "cpgan"),
        _nz("DALL-E † [20]", "DALL-E"),
        _r("GR-GAN", "grgan", "the zoo's GR-GAN (its full tiny recipe)"),
    ], ("coco",)),
    _spec("grgan-table-2", "GR-GAN Table 2: GRG and ITM ablation on two backbones", "ablation",
          ["fid", "itdis", "cmd"], [
        _r("Attn-GAN", "grgan/attngan-base", f"AttnGAN backbone, no consistency module, {_ABL_GR}"),
        _r("Attn-GAN +DA", "grgan/attngan-damsm", f"AttnGAN backbone with DAMSM (AttnGAN itself), {_ABL_GR}"),
        _r("Attn-GAN +DA +GRG", "grgan/attngan-damsm-grg", f"AttnGAN backbone, DAMSM, GRG, {_ABL_GR}"),
        _r("Attn-GAN +IT", "grgan/attngan-itm", f"AttnGAN backbone, ITM in place of DAMSM, {_ABL_GR}"),
        _r("Attn-GAN +IT +GRG", "grgan/attngan-itm-grg", f"AttnGAN backbone, ITM, GRG, {_ABL_GR}"),
        _r("DM-GAN", "grgan/dmgan-base", f"DM-GAN backbone, no consistency module, {_ABL_GR}"),
        _r("DM-GAN +DA", "grgan/dmgan-damsm", f"DM-GAN backbone with DAMSM (DM-GAN itself), {_ABL_GR}"),
        _r("DM-GAN +DA +GRG", "grgan/dmgan-damsm-grg", f"DM-GAN backbone, DAMSM, GRG, {_ABL_GR}"),
        _r("DM-GAN +IT", "grgan/dmgan-itm", f"DM-GAN backbone, ITM in place of DAMSM, {_ABL_GR}"),
        _r("DM-GAN +IT +GRG", "grgan/full", f"GR-GAN: DM-GAN backbone, ITM, GRG, {_ABL_GR}"),
    ], ("coco",), base_row="DM-GAN +DA",
        bases={"Attn-GAN": "Attn-GAN +DA", "Attn-GAN +DA": None, "Attn-GAN +DA +GRG": "Attn-GAN +DA",
               "Attn-GAN +IT": "Attn-GAN +DA", "Attn-GAN +IT +GRG": "Attn-GAN +IT",
               "DM-GAN +IT +GRG": "DM-GAN +IT"},
        note=("Bases follow Sec. 4.3 within each backbone: the module-less row and ITM against DAMSM (+DA); "
              "+GRG against the same row without GRG.")),
    _spec("grgan-table-3", "GR-GAN Table 3: image-text retrieval of the matchers", "comparison",
          ["i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10"], [
              _r("DAMSM", None, "a text-image matcher (AttnGAN's DAMSM), not a generator"),
              _r("CLIP-ViT", None, "a text-image matcher (CLIP ViT-B/32), not a generator"),
              _r("CLIP-Res", None, "a text-image matcher (CLIP RN101), not a generator"),
              _r("ITM", None, "GR-GAN's image-text matcher, not a generator"),
          ], ("coco",), note="The rows are retrieval models, not generators: nothing here is measured."),
    _spec("grgan-table-4", "GR-GAN Table 4: λ₁, λ₂ (ITM without GRG)", "hyper-parameter",
          ["fid", "itdis", "cmd"], [
        _r("λ₁ = 1, λ₂ = 1", "grgan/lambda-1-1", f"ITM without GRG, DM-GAN backbone, {_ABL_GR}"),
        _r("λ₁ = 2, λ₂ = 1", "grgan/lambda-2-1", f"ITM without GRG, DM-GAN backbone, {_ABL_GR}"),
        _r("λ₁ = 3, λ₂ = 1", "grgan/lambda-3-1", f"ITM without GRG, DM-GAN backbone, {_ABL_GR}"),
        _r("λ₁ = 4, λ₂ = 1", "grgan/dmgan-itm", f"the chosen λs: Table 2's DM-GAN +IT, {_ABL_GR}"),
        _r("λ₁ = 4, λ₂ = 2", "grgan/lambda-4-2", f"ITM without GRG, DM-GAN backbone, {_ABL_GR}"),
        _r("λ₁ = 5, λ₂ = 2", "grgan/lambda-5-2", f"ITM without GRG, DM-GAN backbone, {_ABL_GR}"),
    ], ("coco",), base_row="λ₁ = 4, λ₂ = 1", note="The base row is the paper's chosen setting."),
]

_ORDER_ROWS = [
    _r("I→S→W", "grgan/full", f"GR-GAN's order, {_ABL_GR}"),
    _r("I→W→S", "grgan/order-iws", f"word stage before sentence stage, {_ABL_GR}"),
    _r("S→W→I", "grgan/order-swi", f"image stage last, {_ABL_GR}"),
]
_ORDER_METRICS = [f"{m}_layer{k}" for k in range(3) for m in ("fid", "itdis", "cmd")]
_SPECS += [
    _spec("grgan-table-6", "GR-GAN Table 6: stage order (appendix)", "ablation", _ORDER_METRICS, _ORDER_ROWS,
          ("coco",), base_row="I→S→W", note="Layer k is the output of the k-th stage (Layer2: the final image)."),
    _spec("grgan-figure-3", "GR-GAN Figure 3: stage order (Sec. 4.3)", "ablation", _ORDER_METRICS, _ORDER_ROWS,
          ("coco",), base_row="I→S→W", note="The numbers of Table 6, printed inside Figure 3."),
]

#: Every table spec by reported table id.
TABLE_SPECS: dict[str, TableSpec] = {s.id: s for s in _SPECS}
assert len(TABLE_SPECS) == len(_SPECS), "a table id is given twice"


def get_spec(table_id: str) -> TableSpec:
    """The spec of reported table ``table_id`` (e.g. ``"ktgan-table-2"``); ``KeyError`` listing the known ids."""
    try:
        return TABLE_SPECS[table_id]
    except (KeyError, TypeError):
        raise KeyError(f"no table spec {table_id!r}; known: {', '.join(sorted(TABLE_SPECS))}") from None


def _specs(spec_ids: Iterable[str | TableSpec] | None) -> list[TableSpec]:
    """The specs of ``spec_ids`` (table ids, or :class:`TableSpec` objects such as :func:`with_user_rows`
    makes, taken as they are); ``None``: every table."""
    if isinstance(spec_ids, (str, TableSpec)):
        spec_ids = [spec_ids]
    return [i if isinstance(i, TableSpec) else get_spec(i) for i in (sorted(TABLE_SPECS) if spec_ids is None
                                                                     else spec_ids)]


#: The note of a row added by :func:`with_user_rows` (``{generator}`` is filled in).
USER_ROW_NOTE = ("a user's generator {generator}, added to the paper's rows (benchmark.py --table-row): measured "
                 "with this table's protocols; the paper reports nothing for it (“—”), so it is in no agreement "
                 "figure")


def with_user_rows(spec: TableSpec, rows: Iterable[tuple[str, str]]) -> TableSpec:
    """``spec`` with a user's generators appended as extra rows: ``rows`` are ``(row label, generator)``
    (any name :func:`t2ibench.registry.load_generator` takes: registered, entry point, ``module:callable``,
    ``path/file.py:callable``). Each row is measured in every column the table measures, shows "—" as
    reported, has no base row (no direction is judged for it) and, having no reported value, counts in
    no Kendall τ (:mod:`.agreement` pairs only rows with both). ``ValueError`` for an empty label or
    generator, or a label the table already has."""
    rows = list(rows)
    if not rows:
        return spec
    labels = [r.label for r in spec.rows]
    extra = []
    for label, generator in rows:
        if not isinstance(label, str) or not label.strip() or not isinstance(generator, str) or not generator.strip():
            raise ValueError(f"{spec.id}: a user row needs a label and a generator, got {label!r} = {generator!r}")
        label, generator = label.strip(), generator.strip()
        if label in labels:
            raise ValueError(f"{spec.id}: row {label!r} is already a row of the table; give your row another label")
        labels.append(label)
        extra.append(RowSpec(label, generator, note=USER_ROW_NOTE.format(generator=generator)))
    return TableSpec(id=spec.id, paper=spec.paper, title=spec.title, kind=spec.kind, columns=spec.columns,
                     rows=spec.rows + tuple(extra), base_row=spec.base_row, datasets=spec.datasets, note=spec.note)


# -- what the benchmark must evaluate -----------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One measurable cell: row ``row`` × column ``metric_id`` is ``protocol`` on ``generator`` loaded
    with ``options``; its value is the result entry's ``field`` (± ``std_field``)."""

    row: str
    metric_id: str
    generator: str
    options: dict
    protocol: str
    field: str
    std_field: str | None


def cell_options(row: RowSpec, column: ColumnSpec) -> dict:
    """The load options of one cell: the column's, then the row's, then the row's for this column."""
    return {**column.options, **row.options, **row.cell_options.get(column.metric_id, {})}


def cells(spec: TableSpec) -> list[Cell]:
    """The cells of ``spec`` that t2ibench measures, in row-major order: rows with a generator ×
    columns with a protocol, except a row's ``unmeasured`` cells and gain columns (computed)."""
    out = []
    for r in spec.rows:
        if r.generator is None:
            continue
        for c in spec.columns:
            if c.protocol is None or c.gain_of is not None or c.metric_id in r.unmeasured:
                continue
            out.append(Cell(r.label, c.metric_id, r.generator, cell_options(r, c), c.protocol, c.field, c.std_field))
    return out


def _options_key(options: dict) -> str:
    return json.dumps(options, sort_keys=True)


@dataclass(frozen=True)
class Evaluation:
    """One generation pass the benchmark runs: ``generator`` loaded with ``options``, scored with
    every metric spec of ``protocols`` (sorted)."""

    generator: str
    options: dict
    protocols: tuple[str, ...]


def evaluations_needed(spec_ids: Iterable[str | TableSpec] | None = None) -> list[Evaluation]:
    """The evaluations that fill every measurable cell of the tables ``spec_ids`` (ids or specs, e.g.
    with a user's rows; default all): one per (generator, options), sorted by generator then options."""
    need: dict[tuple[str, str], set[str]] = {}
    for spec in _specs(spec_ids):
        for c in cells(spec):
            need.setdefault((c.generator, _options_key(c.options)), set()).add(c.protocol)
    return [Evaluation(g, json.loads(o), tuple(sorted(p))) for (g, o), p in sorted(need.items())]


def generators_needed(spec_ids: Iterable[str] | None = None, include_human: bool = False) -> list[tuple[str, dict]]:
    """The ``(generator, options)`` pairs the tables ``spec_ids`` (default all) need measured, sorted.
    With ``include_human``, the generators of human-rated columns too (what a human sheet shows)."""
    pairs = {(e.generator, _options_key(e.options)) for e in evaluations_needed(spec_ids)}
    if include_human:
        for spec in _specs(spec_ids):
            if any(c.is_human for c in spec.columns):
                pairs |= {(r.generator, _options_key(r.options)) for r in spec.rows if r.generator}
    return [(g, json.loads(o)) for g, o in sorted(pairs)]


def metrics_needed(spec_ids: Iterable[str] | None = None) -> list[str]:
    """The t2ibench metric specs the tables ``spec_ids`` (default all) use, sorted."""
    return sorted({c.protocol for s in _specs(spec_ids) for c in s.columns if c.protocol is not None})


#: Side outputs of the tiny (shapes) zoo models and the paper-size outputs they stand for, per
#: model package (a variant ``model/x`` has its model's scales): HDGAN and GR-GAN 16/32/64 px for
#: 64²/128²/256², StackGAN's Stage-I 32 px for its 64² (configs ``tiny`` and ``paper``).
PAPER_SIDE_OUTPUTS = {"hdgan": {16: 64, 32: 128, 64: 256}, "grgan": {16: 64, 32: 128, 64: 256},
                      "stackgan": {32: 64, 64: 256}}


def options_for(generator: str, options: dict, dataset: str) -> dict:
    """Load options of a spec (written for the tiny models on ``shapes``) for a run on ``dataset``:
    on a real dataset the zoo models have the paper's sizes, so a ``side_output`` in px is mapped
    through :data:`PAPER_SIDE_OUTPUTS` (``ValueError`` when the model has no such scale)."""
    if dataset == "shapes" or "side_output" not in options:
        return dict(options)
    model = generator.split("/", 1)[0]
    sizes = PAPER_SIDE_OUTPUTS.get(model, {})
    if options["side_output"] not in sizes:
        raise ValueError(f"{generator}: no paper-size equivalent of side output {options['side_output']} px "
                         f"(known: {sizes or 'none'})")
    return {**options, "side_output": sizes[options["side_output"]]}


__all__ = ["KINDS", "HUMAN_REASON", "DATASET_NAMES", "PAPER_NAMES", "ColumnSpec", "RowSpec", "TableSpec",
           "COLUMNS", "EVALUATORS_ON_SHAPES", "TABLE_SPECS", "get_spec", "Cell", "cells", "cell_options",
           "Evaluation", "evaluations_needed", "generators_needed", "metrics_needed", "PAPER_SIDE_OUTPUTS",
           "options_for", "USER_ROW_NOTE", "with_user_rows"]
