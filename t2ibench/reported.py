"""The papers' reported numbers, as data: ``leaderboards/reported/*.csv``.

Each CSV file is one results table (or a figure's numbers) of one of the five papers,
transcribed by hand from the paper text, in long format: one line per row × metric cell.
The schema and the metric ids are described in ``leaderboards/reported/README.md``.

Columns, in this order (the header must match exactly):

``paper``             ktgan | sdn | cpgan | hdgan | grgan (the file name starts with it)
``table``             the table as printed: "Table VIII", "Table 3", "Figure 6"
``caption``           the caption as printed (empty where the extracted text lost it)
``dataset``           cub | coco | flowers (empty where the paper does not say)
``row``               the row label as printed
``kind``              own | variant | baseline | reference
``metric``            a lower-case metric id (``is``, ``fid``, ``rank1``, ``human_rank1``, ...)
``direction``         ↑ (higher is better) or ↓ (lower is better)
``direction_source``  printed (an arrow or a "higher is better" in the table/caption) | implied
``value``             the number as printed; empty for a dash or blank cell (never 0)
``pm``                the ± part as printed; empty when none
``unit``              % | fraction | score
``note``              anything a reader must know (contradictions, garbled extraction, ...)

>>> from t2ibench.reported import list_reported, load_reported
>>> df = load_reported("ktgan-table-4")          # doctest: +SKIP
>>> df.loc[df.row == "KT-GAN (Proposed)", ["dataset", "value", "pm"]]   # doctest: +SKIP
"""
from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import pandas as pd

#: Folder holding the transcribed tables, one ``<paper>-<table>.csv`` per table.
REPORTED_DIR = Path(__file__).resolve().parents[1] / "leaderboards" / "reported"

#: The exact header of every file.
COLUMNS = ("paper", "table", "caption", "dataset", "row", "kind", "metric", "direction",
           "direction_source", "value", "pm", "unit", "note")
PAPERS = frozenset({"ktgan", "sdn", "cpgan", "hdgan", "grgan"})
KINDS = frozenset({"own", "variant", "baseline", "reference"})
DIRECTIONS = frozenset({"↑", "↓"})
DIRECTION_SOURCES = frozenset({"printed", "implied"})
UNITS = frozenset({"%", "fraction", "score"})

_TABLE_ID = re.compile(r"^(ktgan|sdn|cpgan|hdgan|grgan)-(table|figure)-[0-9]+$")
_METRIC_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def _dir(directory: str | Path | None) -> Path:
    return REPORTED_DIR if directory is None else Path(directory)


def list_reported(directory: str | Path | None = None) -> list[str]:
    """The table ids (file stems, e.g. ``"ktgan-table-8"``) in ``directory``, sorted.

    ``directory`` defaults to :data:`REPORTED_DIR`.
    """
    return sorted(p.stem for p in _dir(directory).glob("*.csv"))


def _number(text: str, what: str, where: str) -> float:
    """``text`` as a finite float (``nan`` for an empty cell); ValueError naming ``where`` otherwise."""
    if text == "":
        return math.nan
    try:
        x = float(text)
    except ValueError:
        raise ValueError(f"{where}: {what} {text!r} is not a number "
                         "(leave the cell empty for a missing value)") from None
    if not math.isfinite(x):
        raise ValueError(f"{where}: {what} {text!r} is not a finite number (a missing value is an empty cell)")
    return x


def load_reported(table_id: str, directory: str | Path | None = None) -> pd.DataFrame:
    """One transcribed table as a DataFrame, validated against the schema.

    Args:
        table_id: a file stem from :func:`list_reported`, e.g. ``"hdgan-table-4"``.
        directory: where the CSV files are (default :data:`REPORTED_DIR`).

    Returns:
        a DataFrame with the columns of :data:`COLUMNS`, in that order: ``value`` and ``pm``
        as float64 (NaN for an empty cell: a dash or blank in the paper, or no ± part), every
        other column as str. One row per line of the file.

    Raises:
        FileNotFoundError: no such table (the message lists the ids that exist).
        ValueError: the file breaks the schema; the message names the file, the line (1 is the
            header) and the problem: a header other than :data:`COLUMNS`, a line with the wrong
            number of fields, a ``paper`` that is not the file's, an empty ``table``/``row``/
            ``metric``, a ``kind``/``direction``/``direction_source``/``unit`` outside its set, a
            metric id that is not lower-case ``[a-z0-9_]``, a ``value``/``pm`` that is neither
            empty nor a finite number, a ``pm`` without a value, or a (dataset, row, metric)
            cell given twice.
    """
    if not isinstance(table_id, str) or not _TABLE_ID.match(table_id):
        raise ValueError(f"reported table id {table_id!r} is not of the form <paper>-table-<n> or "
                         f"<paper>-figure-<n> with paper in {sorted(PAPERS)}")
    folder = _dir(directory)
    path = folder / f"{table_id}.csv"
    if not path.is_file():
        raise FileNotFoundError(f"no reported table {table_id!r} in {folder} "
                                f"(have: {', '.join(list_reported(folder))})")
    paper_of_file = table_id.split("-", 1)[0]

    records: list[dict] = []
    seen: dict[tuple[str, str, str], int] = {}
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or tuple(header) != COLUMNS:
            raise ValueError(f"{path}: line 1: header {header!r} is not the schema's {list(COLUMNS)!r}")
        for fields in reader:
            where = f"{path}: line {reader.line_num}"
            if len(fields) != len(COLUMNS):
                raise ValueError(f"{where}: {len(fields)} fields, the schema has {len(COLUMNS)}")
            rec = dict(zip(COLUMNS, fields))
            if rec["paper"] != paper_of_file:
                raise ValueError(f"{where}: paper {rec['paper']!r} is not the file's paper {paper_of_file!r}")
            for col in ("table", "row", "metric"):
                if not rec[col].strip():
                    raise ValueError(f"{where}: empty {col}")
            for col, allowed in (("kind", KINDS), ("direction", DIRECTIONS),
                                 ("direction_source", DIRECTION_SOURCES), ("unit", UNITS)):
                if rec[col] not in allowed:
                    raise ValueError(f"{where}: {col} {rec[col]!r} is not one of {sorted(allowed)}")
            if not _METRIC_ID.match(rec["metric"]):
                raise ValueError(f"{where}: metric id {rec['metric']!r} is not lower-case [a-z0-9_]")
            rec["value"] = _number(rec["value"], "value", where)
            rec["pm"] = _number(rec["pm"], "pm", where)
            if math.isnan(rec["value"]) and not math.isnan(rec["pm"]):
                raise ValueError(f"{where}: a ± part ({rec['pm']}) without a value")
            key = (rec["dataset"], rec["row"], rec["metric"])
            if key in seen:
                raise ValueError(f"{where}: cell (dataset={key[0]!r}, row={key[1]!r}, metric={key[2]!r}) "
                                 f"already given on line {seen[key]}")
            seen[key] = reader.line_num
            records.append(rec)
    df = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    df["value"] = df["value"].astype("float64")
    df["pm"] = df["pm"].astype("float64")
    return df


def load_all_reported(directory: str | Path | None = None) -> pd.DataFrame:
    """Every table of ``directory`` in one DataFrame: :func:`load_reported`'s columns plus
    ``table_id`` (the file stem) first."""
    frames = []
    for tid in list_reported(directory):
        df = load_reported(tid, directory)
        df.insert(0, "table_id", tid)
        frames.append(df)
    if not frames:
        return pd.DataFrame(columns=["table_id", *COLUMNS])
    return pd.concat(frames, ignore_index=True)


__all__ = ["REPORTED_DIR", "COLUMNS", "KINDS", "DIRECTIONS", "DIRECTION_SOURCES", "UNITS", "PAPERS",
           "list_reported", "load_reported", "load_all_reported"]
