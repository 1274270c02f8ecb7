"""Measure the papers' tables: evaluate what their specs need, then write each table (issue 13).

:func:`measure_tables` runs one evaluation per (generator, load options) that the chosen tables
need (:func:`~t2ibench.tables.specs.evaluations_needed`: e.g. ``hdgan`` at its 16 px side output
for HDGAN Table 2), each with every protocol the tables ask of it, on ``n_images`` captions of
the dataset's evaluation plan (one n and one seed for every table of a run, stated in each caption),
keeps the generated images under ``images_dir`` (an interrupted run reads them back, as the
leaderboard does), saves every result under ``<out>/results/`` and writes every table
(:func:`~t2ibench.tables.render.write_table`) under ``<out>/``. A generator without weights for the
dataset (a variant not trained yet) leaves its cells "not measured" and is named in the run info.
"""
from __future__ import annotations

import json
from pathlib import Path

from t2ibench.tables.specs import (PAPER_NAMES, TABLE_SPECS, evaluations_needed, get_spec, options_for,
                                   with_user_rows)


def resolve_table_ids(text: str | None) -> list[str]:
    """Table ids from ``--table``: ``all`` (every reported table), ``none``, or a comma list of ids —
    ``ktgan-table-1`` or the short ``ktgan-1`` (``cpgan-figure-6`` / ``cpgan-fig-6`` for figures).
    ``ValueError`` naming the unknown id and the known ones."""
    if text is None or text.strip() in ("", "all"):
        return sorted(TABLE_SPECS)
    if text.strip() == "none":
        return []
    ids = []
    for item in (t.strip() for t in text.split(",") if t.strip()):
        paper, _, rest = item.partition("-")
        candidates = [item, f"{paper}-table-{rest}", f"{paper}-figure-{rest.removeprefix('fig-')}"]
        found = next((c for c in candidates if c in TABLE_SPECS), None)
        if found is None:
            raise ValueError(f"--table: unknown table {item!r}; known: all, none, "
                             + ", ".join(sorted(TABLE_SPECS)) + f" (papers: {', '.join(PAPER_NAMES)})")
        if found not in ids:
            ids.append(found)
    return ids


def parse_table_row(text: str) -> tuple[str, str, str]:
    """``--table-row "TABLE:ROW LABEL=GENERATOR"`` -> ``(table id, row label, generator)``: a user's
    generator added as an extra row of a paper's table (:func:`~.specs.with_user_rows`). TABLE is an id
    as ``--table`` takes it (``hdgan-table-1`` or ``hdgan-1``); the label runs to the first ``=``; the
    generator is anything ``--generators`` takes (``examples/my_generator.py:make``). ``ValueError``
    naming what is wrong (no ``=``, no ``:`` after the table, an empty part, an unknown table)."""
    form = "expected TABLE:ROW LABEL=GENERATOR, e.g. 'hdgan-table-1:My GAN=examples/my_generator.py:make'"
    left, eq, generator = str(text).partition("=")
    if not eq:
        raise ValueError(f"--table-row {text!r}: no '=' before the generator; {form}")
    table, colon, label = left.partition(":")
    if not colon:
        raise ValueError(f"--table-row {text!r}: no ':' between the table and the row label; {form}")
    if not table.strip() or not label.strip() or not generator.strip():
        raise ValueError(f"--table-row {text!r}: the table, the row label and the generator must all be given; "
                         f"{form}")
    if table.strip() in ("all", "none") or "," in table:
        raise ValueError(f"--table-row {text!r}: name one table, not {table.strip()!r}; {form}")
    try:
        (table_id,) = resolve_table_ids(table.strip())
    except ValueError as e:
        raise ValueError(f"--table-row {text!r}: {str(e).removeprefix('--table: ')}") from None
    return table_id, label.strip(), generator.strip()


def _options_name(generator: str, options: dict) -> str:
    from t2ibench.io import safe_filename

    suffix = "".join(f"-{k}{v}" for k, v in sorted(options.items()))
    return safe_filename(generator + suffix)


def measure_tables(table_ids, dataset, out_dir, *, n_images: int, seed: int, device: str = "cpu",
                   images_dir="runs/benchmark", batch_size: int | None = None, extractor_weights=None,
                   progress: bool = True, allow_small_n: bool = False, shard_size: int | None = None,
                   user_rows=None, human_scores=(), generator_options=None,
                   generator_precision: str | None = None) -> list:
    """Evaluate and write the tables ``table_ids`` on ``dataset`` (a loaded dataset); returns their
    :class:`~t2ibench.tables.render.RenderedTable` list (each with ``files``). Writes
    ``out_dir/<id>.{md,csv,json,tex}``, its figure ``out_dir/<id>.png`` (:mod:`.figures`) and ``out_dir/results/<generator>[-<option><value>].json``.

    ``user_rows``: ``{table id: [(row label, generator), ...]}``, a user's generators added to those tables
    as extra rows (:func:`~.specs.with_user_rows`; ``benchmark.py --table-row``, parsed by
    :func:`parse_table_row`); every table named must be one of ``table_ids``. ``human_scores``:
    :class:`~.human_scores.HumanScores` (``benchmark.py --human-scores``) that fill the human-rated tables
    whose generators they rated (:func:`~.human_scores.human_measured`; a file left out is printed with why).
    ``generator_options``: ``{generator: factory keywords}`` added when a table's generator is loaded (other
    weights, e.g. a paper's released checkpoint: ``benchmark.py --generator-weights`` / ``--weights-format``).
    ``generator_precision``: as :func:`t2ibench.engine.evaluate`'s (``None``: the default, float32)."""
    from models.common.zoo import NoWeightsError
    from t2ibench import defaults, distributed
    from t2ibench.engine import evaluate, evaluation_plan, run_identity
    from t2ibench.io import sha256_json
    from t2ibench.registry import load_generator
    from t2ibench.reported import load_reported
    from t2ibench.tables.cells import collect_measured
    from t2ibench.tables.figures import plot_table
    from t2ibench.tables.human_scores import human_measured
    from t2ibench.tables.render import write_table

    out_dir = Path(out_dir)
    unknown = sorted(set(user_rows or {}) - set(table_ids))
    if unknown:
        raise ValueError(f"user rows for {', '.join(unknown)}, which this run does not measure (it measures "
                         f"{', '.join(table_ids) or 'no table'}): add them to --table")
    specs = {t: with_user_rows(get_spec(t), (user_rows or {}).get(t, ())) for t in table_ids}
    results, missing = {}, []
    for ev in evaluations_needed(list(specs.values())):
        options = {**options_for(ev.generator, ev.options, dataset.name),
                   **(generator_options or {}).get(ev.generator, {})}
        key = (ev.generator, json.dumps(ev.options, sort_keys=True))
        try:
            generator = load_generator(ev.generator, dataset=dataset, device=device, **options)
        except NoWeightsError as e:
            print(f"tables: {ev.generator} not measured: {e}", flush=True)
            missing.append(ev.generator)
            continue
        name = _options_name(ev.generator, ev.options)
        identity = run_identity(generator, ev.generator, dataset, evaluation_plan(dataset, n_images, seed), seed,
                                generator_precision or defaults.GENERATOR_PRECISION)
        result = evaluate(generator, dataset, metrics=list(ev.protocols), n_images=n_images, seed=seed,
                          batch_size=batch_size or defaults.BATCH_SIZE, device=device,
                          extractor_weights=extractor_weights, progress=progress, generator_name=name,
                          allow_small_n=allow_small_n,
                          image_dir=Path(images_dir) / dataset.name / "tables" / f"{name}-{sha256_json(identity)[:12]}",
                          shard_size=shard_size or defaults.SHARD_SIZE, generator_precision=generator_precision)
        if distributed.is_main():  # under torchrun every rank evaluates its part; rank 0 alone writes
            result.save(out_dir / "results" / f"{name}.json")
        print(result.summary(), flush=True)
        results[key] = result
    if not distributed.is_main():
        return []

    def lookup(generator: str, options: dict, protocol: str):
        result = results.get((generator, json.dumps(options, sort_keys=True)))
        return None if result is None else result.metrics.get(protocol)

    tables = []
    for table_id in table_ids:
        spec = specs[table_id]
        needed = {r.generator for r in spec.rows if r.generator}
        run = {"dataset": dataset.name, "n": n_images, "seed": seed,
               "stand_ins": sorted(_stand_ins(needed, results, dataset.name)),
               "not_measured": sorted(needed & set(missing))}
        measured = collect_measured(spec, lookup)
        human, used, skipped = human_measured(spec, human_scores, dataset.name)
        if used:
            run["human_scores"] = used
        for reason in skipped:
            print(f"tables: {table_id}: human scores {reason}: not used", flush=True)
        measured.update(human)
        table = write_table(spec, load_reported(table_id), measured, run, out_dir)
        figure = plot_table(table, out_dir / f"{table_id}.png")
        if figure is not None:
            table.files["png"] = str(figure)
        tables.append(table)
    return tables


def _stand_ins(generators: set[str], results: dict, dataset_name: str) -> set[str]:
    """The stand-ins behind the measured rows: every pretrained part a generator's manifest names as
    a stand-in (a network trained on the dataset in place of the paper's download)."""
    from models.common.zoo import weights_path

    names = set()
    for generator in generators:
        if not any(g == generator for g, _ in results):
            continue
        manifest = weights_path(generator, dataset_name).with_suffix(".json")
        if manifest.is_file():
            for part in json.loads(manifest.read_text()).get("pretrained", []):
                if "stand-in" in part.get("description", ""):
                    names.add(f"{generator}: {part['role']} = {part['weights']}")
    return names
