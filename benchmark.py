#!/usr/bin/env python
"""Regenerate ``leaderboards/`` end to end: the main job of t2ibench.

For each dataset (default: the embedded ``shapes``, no download), every generator —
the reference rows ``real``, ``real-mismatched``, ``noise`` and every model of the zoo
that has weights for that dataset (``models/weights/``; ``--retrain`` first retrains the
zoo's tiny configs from scratch and ships the new weights there) — is evaluated in one
pass with every metric, and

    leaderboards/<dataset>/leaderboard.{md,csv,json,tex}   the table (mean ± std)
    leaderboards/<dataset>/metrics.png                     one bar chart per metric
    leaderboards/<dataset>/fid_kid_vs_n.{png,csv}          FID's bias with n beside KID (a few rows)
    leaderboards/<dataset>/samples/<generator>.png         captioned samples per row
    leaderboards/<dataset>/samples/all_generators.png      every row's images of the same captions
    leaderboards/<dataset>/results/<generator>.json        full results with provenance
    leaderboards/<dataset>/sanity/sanity.{md,csv,png}      the metric sanity suite (heat map)
    leaderboards/<dataset>/tables/<table>.{md,csv,json,tex}  each paper table: reported beside measured,
                                                            with its agreement (Kendall tau, directions)
    leaderboards/README.md                                 the index of every table and its agreement

are written (atomically). The generated images are kept as PNG shards in
``--images-dir`` (default ``runs/benchmark/<dataset>/<generator>-<run key>/``, the key
hashing the generator's weights and code, seed, dataset and caption plan), so an interrupted benchmark
rerun with the same command reads back what it had generated and generates only the rest.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from t2ibench import defaults
from t2ibench.cli import (ArgumentParser, add_generator_weights_args, add_run_args, check_weights_used,
                          comma_list, extractor_weights_from_args, generator_options_from_args, int_at_least,
                          load_dataset_from_args, resolve_device, run_cli)
from t2ibench.io import safe_filename


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(description=__doc__.replace("``", ""), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", default=defaults.DATASET,
                   help="comma-separated datasets to build leaderboards for (default %(default)s; real datasets "
                        "need --data-root)")
    p.add_argument("--generators", default=None,
                   help="comma-separated generators (default: the reference rows and every zoo model; the "
                        "ablation variants, e.g. hdgan/no-local, only when named here)")
    p.add_argument("--retrain", action="store_true",
                   help="first retrain every zoo model's tiny config from scratch on shapes and ship the weights "
                        "(python -m models.train --all --config tiny --ship: up to 30 min of training per model, one "
                        "model after another)")
    p.add_argument("--table", default="all",
                   help="the papers' tables to measure: 'all' (default), 'none', or comma-separated ids such as "
                        "ktgan-table-1 (short: ktgan-1), cpgan-figure-6, sdn-3 (python -c \"from t2ibench.tables "
                        "import TABLE_SPECS; print(sorted(TABLE_SPECS))\" lists them); written to "
                        "<out>/<dataset>/tables/ and indexed in <out>/README.md")
    p.add_argument("--table-row", action="append", default=[], metavar="TABLE:ROW LABEL=GENERATOR",
                   help="add your generator as an extra row of a paper's table, e.g. 'hdgan-table-1:My GAN="
                        "examples/my_generator.py:make' (repeatable; the generator as --generators takes it): "
                        "measured with the table's protocols, shown with '—' as reported and left out of the "
                        "agreement figures; the table must be one that --table measures")
    p.add_argument("--table-n-images", type=int_at_least(1), default=defaults.TABLE_N_IMAGES,
                   help="captions per generator for the tables (default %(default)s: every table of the default run "
                        "in about the time budget; stated in each table's caption)")
    p.add_argument("--human-scores", action="append", default=[], metavar="HUMAN-SCORES.JSON",
                   help="the human-scores.json of 't2ibench human-score' (repeatable): its rank-1 ratios or mean "
                        "ranks become the measured column of each human-rated table (KT-GAN VI, CPGAN 2, SDN 2) "
                        "whose zoo generators its sheet showed, exactly; without it those columns read 'human "
                        "rating'")
    p.add_argument("--no-leaderboard", action="store_true",
                   help="skip the leaderboard of every generator and metric and its FID/KID-against-n picture (only "
                        "the tables and the sanity suite)")
    p.add_argument("--fid-vs-n", default=",".join(defaults.FID_VS_N_GENERATORS),
                   help="generators of the FID/KID-against-n picture, <out>/<dataset>/fid_kid_vs_n.{png,csv} (default "
                        "%(default)s; 'none' skips it): each evaluated at n = 250, 500, 1000 captions of one plan below the "
                        "run's --n-images and at it (the leaderboard's result reused)")
    p.add_argument("--no-sanity", action="store_true",
                   help="skip the metric sanity suite (written to <out>/<dataset>/sanity/)")
    p.add_argument("--images-dir", default="runs/benchmark",
                   help="where the generated images are kept as PNG shards, per dataset and row; an interrupted run "
                        "resumes from them (default %(default)s)")
    add_run_args(p, out_default="leaderboards")
    add_generator_weights_args(p)
    return p


def run(args) -> int:
    from t2ibench.engine import evaluate, evaluation_plan, run_identity
    from t2ibench.io import sha256_json
    from t2ibench.image_store import ImageStore
    from t2ibench.generators.reference import REFERENCE_GENERATORS
    from t2ibench.leaderboard import write_leaderboard
    from t2ibench.plots import save_captioned_grid, save_metric_bars, save_model_grid
    from t2ibench.registry import list_generators, load_generator
    from t2ibench.sanity import run_sanity, write_sanity
    from t2ibench.io import write_text
    from t2ibench.sample_size import against_n, plot_against_n, sizes_up_to
    from t2ibench.tables.human_scores import load_human_scores
    from t2ibench.tables.measure import measure_tables, parse_table_row, resolve_table_ids

    from models.common.zoo import NoWeightsError, list_variants

    from t2ibench import distributed
    from t2ibench.io import check_writable

    # under torchrun every process runs this same sequence and each evaluation is sharded over them; only rank 0
    # prints and writes (the other ranks write their own image shards)
    device = distributed.setup(resolve_device(args.device))
    distributed.quiet_others()
    main = distributed.is_main()
    check_writable(args.out, "--out")  # before hours of work, not after them
    check_writable(args.images_dir, "--images-dir")
    if args.retrain:
        from models.train import main as train_zoo

        code = train_zoo(["--all", "--config", "tiny", "--ship", "--seed", str(args.seed), "--device", str(device)]
                         + (["--no-progress"] if args.no_progress else []))
        if code:
            return code
    table_ids = resolve_table_ids(args.table)  # a bad id fails before any work
    human_scores = load_human_scores(args.human_scores)  # so does a bad scores file
    user_rows = {}
    for text in args.table_row:  # so does a bad --table-row, and a generator that cannot be imported
        from t2ibench.registry import get_generator_factory
        from t2ibench.tables.specs import get_spec, with_user_rows

        table_id, label, generator = parse_table_row(text)
        if table_id not in table_ids:
            raise ValueError(f"--table-row {text!r}: table {table_id} is not measured by this run "
                             f"(--table {args.table}); add it to --table")
        get_generator_factory(generator)
        user_rows.setdefault(table_id, []).append((label, generator))
        with_user_rows(get_spec(table_id), user_rows[table_id])  # a label the table already has
    ablations = set(list_variants())  # the papers' ablation rows: name them with --generators
    names = comma_list(args.generators) or list(REFERENCE_GENERATORS) + [
        g for g in list_generators() if g not in REFERENCE_GENERATORS and g not in ablations]
    weights = extractor_weights_from_args(args)
    check_weights_used(weights, run_metrics(args, table_ids), comma_list(args.datasets))  # an ignored flag fails now
    # other weights for some zoo rows (--generator-weights NAME=PATH, a paper's release with --weights-format):
    # used by the leaderboard, the FID/KID-against-n picture and the tables alike
    generator_options = generator_options_from_args(args, sorted(set(names) | set(list_generators())))
    index = []
    for dataset_name in comma_list(args.datasets):
        dataset = distributed.main_first(lambda: load_dataset_from_args(args, dataset_name), "loading the dataset")
        out = Path(args.out) / dataset_name
        results, firsts = [], {}
        for name in ([] if args.no_leaderboard else names):
            try:
                generator = load_generator(name, dataset=dataset, device=device, **generator_options.get(name, {}))
            except NoWeightsError as e:
                print(f"skipping {name}: {e}", flush=True)
                continue
            n_images = args.n_images or len(dataset)
            key = sha256_json(run_identity(generator, name, dataset, evaluation_plan(dataset, n_images, args.seed),
                                           args.seed, args.generator_precision))[:12]
            image_dir = Path(args.images_dir) / dataset_name / f"{safe_filename(name)}-{key}"
            result = evaluate(generator, dataset, metrics=comma_list(args.metrics), n_images=n_images,
                              seed=args.seed, batch_size=args.batch_size, device=device, extractor_weights=weights,
                              progress=not args.no_progress, generator_name=name, allow_small_n=args.allow_small_n,
                              image_dir=image_dir, shard_size=args.shard_size,
                              generator_precision=args.generator_precision)
            plan = evaluation_plan(dataset, min(8, n_images), args.seed)  # the first images of the run, kept on disk
            if main:
                result.save(out / "results" / f"{safe_filename(name)}.json")
                firsts[name] = ImageStore.existing(image_dir).head(len(plan))
                save_captioned_grid(firsts[name], plan, out / "samples" / f"{safe_filename(name)}.png",
                                    title=f"{name} on {dataset_name}")
            print(result.summary(), flush=True)
            results.append(result)
        if results and main:
            title = f"{dataset_name} ({dataset.split} split, n={results[0].n_images}, seed={args.seed})"
            table = write_leaderboard(results, out, title)
            save_metric_bars(table, out / "metrics.png", title=title)
            # every row's images of the same first captions, one row per generator (the plan is shared)
            save_model_grid(firsts, [str(c) for c in plan], out / "samples" / "all_generators.png",
                            title=f"the same captions, every generator ({dataset_name}, seed {args.seed})")
            print(f"wrote {out}/leaderboard.md")
        # FID's covariance needs FID_MIN_IMAGES images: smaller sizes of the picture are left out, not errors
        ns = [n for n in sizes_up_to(args.n_images or len(dataset)) if n >= defaults.FID_MIN_IMAGES]
        # the picture belongs to the leaderboard (it reuses the leaderboard's results): not with --no-leaderboard
        curve_generators = [] if args.no_leaderboard or args.fid_vs_n == "none" else comma_list(args.fid_vs_n)
        if curve_generators and not ns:
            print(f"fid/kid against n skipped: the run's n ({args.n_images}) is below FID's minimum of "
                  f"{defaults.FID_MIN_IMAGES} images", flush=True)
        elif curve_generators:
            curve = against_n({g: load_generator(g, dataset=dataset, device=device, **generator_options[g])
                               if g in generator_options else g for g in curve_generators}, dataset, ns, seed=args.seed,
                              device=device,
                              extractor_weights=weights, progress=not args.no_progress, known=results,
                              generator_precision=args.generator_precision)
            if main:
                write_text(out / "fid_kid_vs_n.csv", curve.to_csv(index=False))
                plot_against_n(curve, out / "fid_kid_vs_n.png",
                               title=f"FID and KID against n ({dataset_name}, seed {args.seed})")
            print(f"wrote {out}/fid_kid_vs_n.png")
        if table_ids:
            tables = measure_tables(table_ids, dataset, out / "tables", n_images=args.table_n_images, seed=args.seed,
                                    device=device, images_dir=args.images_dir, batch_size=args.batch_size,
                                    extractor_weights=weights, progress=not args.no_progress,
                                    allow_small_n=args.allow_small_n, shard_size=args.shard_size,
                                    user_rows=user_rows, human_scores=human_scores,
                                    generator_options=generator_options, generator_precision=args.generator_precision)
            index.append((dataset_name, tables))
            print(f"wrote {len(tables)} tables to {out}/tables/")
        if not args.no_sanity:
            raw = run_sanity(dataset, list(defaults.SANITY_METRICS), n_images=defaults.SANITY_N_IMAGES,
                             seed=args.seed, device=device, progress=not args.no_progress, extractor_weights=weights)
            if main:
                write_sanity(raw, out / "sanity",
                             f"metric sanity on {dataset_name} (n={defaults.SANITY_N_IMAGES}, seed={args.seed})")
            print(f"wrote {out}/sanity/sanity.md")
    if index and main and table_ids == resolve_table_ids("all"):
        write_index(index, Path(args.out))
        print(f"wrote {args.out}/README.md")
    elif index:
        print(f"{args.out}/README.md indexes every table: not rewritten by a run of some of them")
    return 0


def run_metrics(args, table_ids: list[str]) -> list[str]:
    """Every metric spec this benchmark run computes: the leaderboard's, the FID/KID-against-n picture's, the
    tables' and the sanity suite's (what ``--weights`` entries may serve)."""
    from t2ibench.sample_size import AGAINST_N_METRICS
    from t2ibench.tables.specs import metrics_needed

    metrics = [] if args.no_leaderboard else list(comma_list(args.metrics) or defaults.DEFAULT_METRICS)
    if not args.no_leaderboard and args.fid_vs_n != "none":
        metrics += AGAINST_N_METRICS
    if table_ids:
        metrics += metrics_needed(table_ids)
    if not args.no_sanity:
        metrics += defaults.SANITY_METRICS
    return metrics


def write_index(index, out: Path) -> None:
    """``<out>/README.md``: per dataset, its leaderboard and every paper table with its agreement figures."""
    from t2ibench.io import write_text
    from t2ibench.tables import index_markdown

    lines = ["# t2ibench leaderboards", "",
             "Written by `python benchmark.py` (do not edit). Per dataset: the leaderboard of every generator and "
             "metric, and the five papers' tables, their reported values beside the values measured here.", ""]
    for dataset_name, tables in index:
        lines += [f"# {dataset_name}", "", f"Leaderboard: [{dataset_name}/leaderboard.md]({dataset_name}/leaderboard.md)",
                  "", index_markdown(tables, relative_to=out).replace("## ", "## " + dataset_name + ": ", 1)]
    write_text(out / "README.md", "\n".join(lines))


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # a bad argument: the one-line message is printed; --help exits 0
        if e.code == 2:
            return 2
        raise
    return run_cli(run, args)


if __name__ == "__main__":
    sys.exit(main())
