"""Read a sheet's key and the raters' answer CSVs, check them, and map labels to generators.

:func:`load_key` reads ``key.json`` (written by :mod:`t2ibench.human.sheet`); :func:`read_answers`
reads one or more answers CSVs (schema: :mod:`t2ibench.human.protocols`) against it and returns
:class:`Answers`, arrays indexed by (rater, caption, generator). Every problem is a ``ValueError``
naming the file and line: another sheet's answers (sheet id), missing columns, an unknown
criterion or label, a caption index outside the sheet, a rank that is not an integer in range,
a caption answered twice by one rater (in one file or across files), a ranking that is not a
permutation of 1..k, a best pick with more than one image.
"""
from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from t2ibench.human.protocols import CSV_COLUMNS, Criterion, criterion_from_dict


@dataclass
class Key:
    """A sheet's key: ``labels[i][label] -> generator`` for caption ``i``, and the sheet's settings."""

    path: Path
    sheet_id: str
    generators: list[str]
    labels: list[str]
    criteria: list[Criterion]
    captions: list[str]
    label_maps: list[dict[str, str]]
    dataset: dict
    seed: int
    protocol: str
    raw: dict = field(repr=False)

    @property
    def n_captions(self) -> int:
        return len(self.captions)


def load_key(path) -> Key:
    """Read and check ``key.json``."""
    from t2ibench.human.sheet import KEY_FORMAT

    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"--key {path}: no such file (give the key.json that human-sheet wrote)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"--key {path}: not a readable JSON key file ({e})") from None
    if not isinstance(raw, dict) or raw.get("format") != KEY_FORMAT:
        raise ValueError(f"--key {path}: not a t2ibench human-sheet key (expected \"format\": \"{KEY_FORMAT}\")")
    try:
        generators, labels = list(raw["generators"]), list(raw["labels"])
        criteria = [criterion_from_dict(c) for c in raw["criteria"]]
        captions = [c["text"] for c in raw["captions"]]
        maps = [dict(c["labels"]) for c in raw["captions"]]
        key = Key(path, str(raw["sheet_id"]), generators, labels, criteria, captions, maps, dict(raw["dataset"]),
                  int(raw["seed"]), str(raw["protocol"]), raw)
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"--key {path}: incomplete key file ({type(e).__name__}: {e})") from None
    for i, m in enumerate(maps):
        if sorted(m) != sorted(labels) or sorted(m.values()) != sorted(generators):
            raise ValueError(f"--key {path}: caption {i} does not map the labels {labels} onto the generators "
                             f"{generators} one to one")
    return key


@dataclass
class Answers:
    """Checked answers of every rater, by generator (not label).

    ``raters``: ids in order of first appearance. ``picks[criterion]``: int ``[raters, captions]``,
    the index (into ``key.generators``) of the picked generator, -1 where unanswered (pick
    criteria). ``ranks[criterion]``: float ``[raters, captions, generators]``, the rank given, NaN
    where unanswered (rank criteria). ``files``: the files read; ``rows``: rows read."""

    key: Key
    raters: list[str]
    picks: dict[str, np.ndarray]
    ranks: dict[str, np.ndarray]
    files: list[str]
    rows: int

    def answered(self, criterion: str) -> np.ndarray:
        """bool ``[raters, captions]``: which (rater, caption) answered ``criterion``."""
        if criterion in self.picks:
            return self.picks[criterion] >= 0
        return ~np.isnan(self.ranks[criterion]).any(axis=2)

    def as_ranks(self, criterion: str) -> np.ndarray:
        """``[raters, captions, generators]`` ranks of any criterion: a best pick is a ranking whose
        picked image is 1 and the k − 1 others tie at the mid-rank (k + 2) / 2; NaN where unanswered."""
        if criterion in self.ranks:
            return self.ranks[criterion]
        p = self.picks[criterion]
        k = len(self.key.generators)
        r = np.full(p.shape + (k,), np.nan)
        r[p >= 0] = (k + 2) / 2
        rr, cc = np.nonzero(p >= 0)
        r[rr, cc, p[rr, cc]] = 1.0
        return r


def _int(text: str, what: str, where: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{where}: {what} {text!r} is not an integer") from None
    if not math.isfinite(value) or value != int(value):
        raise ValueError(f"{where}: {what} {text!r} is not an integer")
    return int(value)


def _read_rows(path: Path):
    """Yield ``(line number, row dict)`` of one answers CSV, after checking its header."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet may add a byte-order mark
    except FileNotFoundError:
        raise ValueError(f"{path}: no such answers file") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a UTF-8 text file (expected the CSV the sheet downloaded)") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise ValueError(f"{path}: empty file; expected the header {','.join(CSV_COLUMNS)} and one row per answer")
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; expected the header "
                         f"{','.join(CSV_COLUMNS)} (found {','.join(header)})")
    reader.fieldnames = header
    for row in reader:
        line = reader.line_num
        if None in row:
            raise ValueError(f"{path} line {line}: more fields than the header's {len(header)}")
        values = {c: (row.get(c) or "").strip() for c in CSV_COLUMNS}
        if not any(values.values()):
            continue  # a blank line
        yield line, values


def read_answers(paths, key: Key) -> Answers:
    """Read every answers CSV in ``paths`` against ``key`` (see the module docstring for the checks)."""
    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    if not paths:
        raise ValueError("no answers file given")
    kinds = {c.id: c.kind for c in key.criteria}
    labels = set(key.labels)
    k, n = len(key.labels), key.n_captions
    gen_index = {g: j for j, g in enumerate(key.generators)}
    groups: dict[tuple, list] = {}  # (rater, caption, criterion) -> [(label, rank, where)]
    raters: list[str] = []
    first_file: dict[tuple, str] = {}
    rows = 0
    for path in paths:
        file_groups: set[tuple] = set()
        for line, v in _read_rows(path):
            where = f"{path} line {line}"
            rows += 1
            if v["sheet_id"] != key.sheet_id:
                raise ValueError(f"{where}: sheet_id {v['sheet_id']!r} is not the sheet of {key.path} "
                                 f"({key.sheet_id!r}): these answers belong to another sheet")
            if not v["rater"]:
                raise ValueError(f"{where}: empty rater id")
            caption = _int(v["caption_index"], "caption_index", where)
            if not 0 <= caption < n:
                raise ValueError(f"{where}: caption_index {caption} is outside the sheet (0..{n - 1})")
            if v["criterion"] not in kinds:
                raise ValueError(f"{where}: unknown criterion {v['criterion']!r}; this sheet asks "
                                 f"{', '.join(kinds)}")
            if v["label"] not in labels:
                raise ValueError(f"{where}: unknown label {v['label']!r}; this sheet's labels are "
                                 f"{', '.join(key.labels)}")
            rank = _int(v["rank"], "rank", where)
            group = (v["rater"], caption, v["criterion"])
            if group in first_file and group not in file_groups:
                raise ValueError(f"{where}: rater {v['rater']!r} answered caption {caption} ({v['criterion']}) "
                                 f"twice: also in {first_file[group]}")
            first_file.setdefault(group, str(path))
            file_groups.add(group)
            groups.setdefault(group, []).append((v["label"], rank, where))
            if v["rater"] not in raters:
                raters.append(v["rater"])
    if not groups:
        raise ValueError(f"no answers in {', '.join(map(str, paths))} (only a header?)")

    r_index = {r: i for i, r in enumerate(raters)}
    picks = {c: np.full((len(raters), n), -1, dtype=np.int64) for c, kind in kinds.items() if kind == "pick"}
    ranks = {c: np.full((len(raters), n, k), np.nan) for c, kind in kinds.items() if kind == "rank"}
    for (rater, caption, criterion), entries in groups.items():
        what = f"rater {rater!r}, caption {caption} ({criterion})"
        label_map = key.label_maps[caption]
        if kinds[criterion] == "pick":
            if len(entries) > 1:
                raise ValueError(f"{entries[1][2]}: {what} answered twice (first at {entries[0][2]}); a best pick "
                                 "is one row")
            label, rank, where = entries[0]
            if rank != 1:
                raise ValueError(f"{where}: {what}: the picked image has rank {rank}; a best pick is rank 1")
            picks[criterion][r_index[rater], caption] = gen_index[label_map[label]]
        else:
            seen: dict[str, str] = {}
            for label, rank, where in entries:
                if label in seen:
                    raise ValueError(f"{where}: {what} answered twice: label {label} again (first at {seen[label]})")
                seen[label] = where
            got = sorted(rank for _, rank, _ in entries)
            if got != list(range(1, k + 1)) or len(seen) != k:
                raise ValueError(f"{entries[0][2]}: {what}: ranks {got} are not a permutation of 1..{k} over the "
                                 f"labels {', '.join(key.labels)} (got labels {', '.join(sorted(seen))})")
            for label, rank, _ in entries:
                ranks[criterion][r_index[rater], caption, gen_index[label_map[label]]] = rank
    return Answers(key, raters, picks, ranks, [str(p) for p in paths], rows)


__all__ = ["Key", "Answers", "load_key", "read_answers"]
