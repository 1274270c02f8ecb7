"""Hand-made human-rating keys and answer files (the formats of ``t2ibench human-sheet`` and the page's
CSV download), for tests whose scores are worked out by hand."""
from __future__ import annotations

import json
from pathlib import Path

from t2ibench.human.protocols import CSV_COLUMNS


def write_key(folder: Path, label_maps: list[dict[str, str]], protocol: str = "all",
              generators=("g1", "g2", "g3"), dataset: str = "shapes") -> Path:
    """A key.json for three ``generators`` with the given label -> generator map per caption."""
    from dataclasses import asdict

    from t2ibench.human.protocols import criteria_for

    key = {"format": "t2ibench-human-key/1", "sheet_id": "handmade0000", "page": "sheet.html",
           "sheet_sha256": "0" * 64, "protocol": protocol, "criteria": [asdict(c) for c in criteria_for(protocol)],
           "generators": list(generators), "labels": ["A", "B", "C"],
           "dataset": {"name": dataset, "split": "test", "image_size": 64, "fingerprint": "x"}, "seed": 0,
           "n_captions": len(label_maps),
           "captions": [{"caption_index": i, "text": f"caption {i}", "labels": m} for i, m in enumerate(label_maps)]}
    path = folder / "key.json"
    path.write_text(json.dumps(key))
    return path


def write_answers(path: Path, answers: dict, label_maps: list[dict[str, str]], sheet_id: str = "handmade0000"):
    """answers: {rater: {caption: {"best": generator, "quality": [generators best..worst], ...}}} -> CSV."""
    rows = [",".join(CSV_COLUMNS)]
    for rater, by_caption in answers.items():
        for caption, by_criterion in by_caption.items():
            label = {g: lab for lab, g in label_maps[caption].items()}
            for criterion, what in by_criterion.items():
                order = [what] if isinstance(what, str) else what
                rows += [f"{rater},{sheet_id},{caption},{criterion},{label[g]},{r}" for r, g in enumerate(order, 1)]
    path.write_text("\n".join(rows) + "\n")
    return path
