"""Build a rating sheet: ``sheet.html`` for the raters, ``key.json`` for the organiser, ``captions.txt``.

The captions are the first ``n`` entries of the dataset's evaluation plan
(:func:`t2ibench.engine.evaluation_plan` with the same seed), and each generator makes their
images exactly as an evaluation does: calls of at most ``batch_size`` captions, the call for plan
entries ``lo..hi`` with ``seed + lo`` (per-caption seed ``seed + k`` for entry ``k``; see
:mod:`t2ibench.generators.base`). So the raters judge the very images that
``t2ibench eval --seed S`` scores for those captions.

Per caption the generators' images are shown in an order drawn from a generator seeded
``[seed, 1]`` (one permutation per caption, in caption order), labelled A, B, C, ... (CPGAN
Sec. 4.3: the models' results "are presented to human subjects randomly for each test sample").

``key.json`` (format ``t2ibench-human-key/1``) holds what the page must not: for every caption
which label shows which generator, plus the plan (caption text, dataset image index and key,
per-caption seed), the dataset fingerprint, the protocol and its criteria, the sha256 of every
image as embedded and of ``sheet.html`` itself. The sheet id is the first 16 hex digits of the
sha256 of what the page shows (captions, labels, criteria and the embedded images in display
order): the same sheet always gets the same id, and the id reveals nothing the page does not.
"""
from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from t2ibench import __version__, defaults
from t2ibench.human.page import render_page
from t2ibench.human.protocols import LABELS, criteria_for
from t2ibench.io import atomic_write, check_writable, sha256_json, write_text

#: Format tag of ``key.json``.
KEY_FORMAT = "t2ibench-human-key/1"
#: The stream of the per-caption shuffle: ``np.random.default_rng([seed, SHUFFLE_STREAM])``.
SHUFFLE_STREAM = 1


@dataclass
class Sheet:
    """What :func:`build_sheet` wrote: the three files and the sheet id."""

    sheet_id: str
    page: Path
    key: Path
    captions: Path
    n_captions: int
    generators: list[str]


def check_generator_names(generators: Sequence[str]) -> list[str]:
    """The generator names as a list: at least 2, at most 26 (labels A-Z), each once."""
    if isinstance(generators, str):
        raise TypeError("generators: expected a list of names, got a str (split 'a,b,c' at the commas first)")
    names = [str(g).strip() for g in generators]
    if any(not n for n in names):
        raise ValueError("--generators: an empty name (two commas in a row?)")
    if len(names) < 2:
        raise ValueError(f"--generators: a sheet compares at least 2 generators, got {len(names)}: {names}")
    if len(names) > len(LABELS):
        raise ValueError(f"--generators: at most {len(LABELS)} generators fit the labels A-Z, got {len(names)}")
    seen = {n for n in names if names.count(n) > 1}
    if seen:
        raise ValueError(f"--generators: {', '.join(sorted(seen))} named more than once")
    return names


def png_bytes(image: torch.Tensor) -> bytes:
    """One uint8 ``[3, H, W]`` image as PNG bytes (lossless; deterministic)."""
    buf = io.BytesIO()
    Image.fromarray(image.permute(1, 2, 0).contiguous().numpy()).save(buf, format="PNG")
    return buf.getvalue()


def generate_for_plan(generator, name: str, plan, seed: int, batch_size: int = defaults.BATCH_SIZE) -> torch.Tensor:
    """The generator's images for ``plan``, made as the engine makes them (plan entry ``k`` with
    per-caption seed ``seed + k``, calls of at most ``batch_size`` captions)."""
    from t2ibench.generators.base import generate_checked

    out = []
    for lo in range(0, len(plan), batch_size):
        hi = min(lo + batch_size, len(plan))
        out.append(generate_checked(generator, name, plan[lo:hi], seed=seed + lo))
    return torch.cat(out)


def build_sheet(generators: Sequence[str], out, n_captions: int = 50, dataset="shapes", seed: int = defaults.SEED,
                protocol: str = "all", device: str = "cpu", batch_size: int = defaults.BATCH_SIZE) -> Sheet:
    """Write ``out/sheet.html``, ``out/key.json`` and ``out/captions.txt`` for ``generators``.

    dataset: a name (its test split is loaded) or a loaded dataset. Refuses to overwrite a
    ``key.json`` of another sheet in ``out`` (raters may hold that sheet; its key would be lost).
    """
    from t2ibench.engine import evaluation_plan
    from t2ibench.registry import load_generator

    names = check_generator_names(generators)
    criteria = criteria_for(protocol)
    if not isinstance(n_captions, int) or isinstance(n_captions, bool) or n_captions < 1:
        raise ValueError(f"--n-captions: expected a positive integer, got {n_captions!r}")
    if isinstance(dataset, str):
        from t2ibench.data import load_dataset

        dataset = load_dataset(dataset, split="test")
    out = check_writable(out, "--out")
    plan = evaluation_plan(dataset, n_captions, seed)

    images = {}
    for name in names:  # one generator in memory at a time
        generator = load_generator(name, dataset=dataset, device=device)
        images[name] = generate_for_plan(generator, name, plan, seed, batch_size)
        del generator

    k = len(names)
    labels = list(LABELS[:k])
    rng = np.random.default_rng([seed, SHUFFLE_STREAM])
    rows, shown = [], []
    for index, caption in enumerate(plan):
        order = [names[j] for j in rng.permutation(k)]  # order[j]: the generator shown as labels[j]
        pngs = [png_bytes(images[name][index]) for name in order]
        shown.append(pngs)
        rows.append({"caption_index": index, "text": str(caption), "image_index": caption.image_index,
                     "image_key": dataset.key(caption.image_index), "seed": seed + index,
                     "labels": dict(zip(labels, order)),
                     "image_sha256": {lab: hashlib.sha256(p).hexdigest() for lab, p in zip(labels, pngs)}})
    criteria_fields = [asdict(c) for c in criteria]
    sheet_id = sha256_json({"captions": [r["text"] for r in rows], "labels": labels,
                            "criteria": [(c.id, c.kind, c.prompt) for c in criteria],
                            "images": [[r["image_sha256"][lab] for lab in labels] for r in rows]})[:16]

    key_path = out / "key.json"
    if key_path.exists():
        try:
            old = json.loads(key_path.read_text()).get("sheet_id")
        except (OSError, ValueError, AttributeError):
            old = None
        if old != sheet_id:
            raise ValueError(f"--out {out}: {key_path} is the key of another sheet ({old or 'unreadable'}; this one is "
                             f"{sheet_id}); raters may be answering it and its key would be lost: give another --out "
                             "or move that folder away first")

    page_text = render_page(sheet_id, [r["text"] for r in rows], shown, labels, criteria)
    page_bytes = page_text.encode("utf-8")
    page_path = out / "sheet.html"
    with atomic_write(page_path, "wb") as f:
        f.write(page_bytes)
    captions_path = out / "captions.txt"
    write_text(captions_path, "".join(" ".join(r["text"].split()) + "\n" for r in rows))
    key = {
        "format": KEY_FORMAT,
        "sheet_id": sheet_id,
        "page": page_path.name,
        "sheet_sha256": hashlib.sha256(page_bytes).hexdigest(),
        "created_by": f"t2ibench {__version__}",
        "protocol": protocol,
        "criteria": criteria_fields,
        "generators": names,
        "labels": labels,
        "dataset": {"name": dataset.name, "split": dataset.split, "image_size": dataset.image_size,
                    "fingerprint": dataset.fingerprint},
        "seed": int(seed),
        "batch_size": int(batch_size),
        "shuffle": f"numpy.random.default_rng([seed, {SHUFFLE_STREAM}]).permutation(k), one per caption in order",
        "n_captions": n_captions,
        "captions": rows,
    }
    with atomic_write(key_path, "w") as f:
        f.write(json.dumps(key, indent=2, ensure_ascii=False) + "\n")
    return Sheet(sheet_id, page_path, key_path, captions_path, n_captions, names)


__all__ = ["KEY_FORMAT", "Sheet", "build_sheet", "check_generator_names", "generate_for_plan", "png_bytes"]
