"""The ``t2ibench`` command line.

    t2ibench eval --generator real --dataset shapes --metrics fid,is --out runs/real
    t2ibench eval --generator ./mygen.py:make --dataset shapes      (a plug-in from a file)
    t2ibench eval --images DIR --captions captions.csv --dataset cub --data-root data/cub
    t2ibench compare reference.json runs/real/result.json     (CI gate: exit 1 if a metric differs)
    t2ibench compare best.json runs/new/result.json --mode regress   (exit 1 if a metric got worse)
    t2ibench list generators|datasets|metrics|extractors
    t2ibench preview --dataset shapes --out shapes.png
    t2ibench train-classifier --out t2ibench/evaluators/weights
    t2ibench train-evaluators --dataset shapes --out t2ibench/evaluators/weights
    t2ibench human-sheet --generators attngan,dmgan,ktgan --n-captions 50 --out study   (raters' page + key)
    t2ibench human-score study/answers-*.csv --key study/key.json     (rank-1 ratios, mean ranks, agreement)

Bad input (an unknown name, a missing file, a wrong argument), failed writes (disk
full, permissions), a failed download and a plug-in generator that raises end with a
one-line ``error: ...`` and exit status 2, not a traceback (``--traceback`` or
``T2IBENCH_DEBUG=1`` shows it); Ctrl-C ends with one line and exit status 130.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from t2ibench import defaults


class ArgumentParser(argparse.ArgumentParser):
    """argparse with a one-line error: ``error: PROG: MESSAGE (see PROG --help)``, exit status 2."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when available, else ``cpu``; anything else is checked by torch."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        torch.device(device)
    except RuntimeError as e:
        raise ValueError(f"--device: {e}") from e
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"--device {device}: CUDA is not available on this machine; use --device cpu")
    return device


def int_at_least(low: int):
    """An argparse type: an integer ``>= low`` (argparse names the option in its error)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {value}")
        return value
    parse.__name__ = f"integer >= {low}"
    return parse


def add_common_args(p: argparse.ArgumentParser) -> None:
    """``--traceback``, shared by every subcommand that runs work."""
    p.add_argument("--traceback", action="store_true",
                   help="on an error, show the full Python traceback instead of one line")


def add_run_args(p: argparse.ArgumentParser, out_default: str | None, out_help: str | None = None) -> None:
    """Arguments shared by ``t2ibench eval``, ``t2ibench sanity`` and ``benchmark.py``."""
    p.add_argument("--device", default="auto", help="torch device: auto (cuda if available), cpu, cuda, cuda:1 ...")
    p.add_argument("--seed", type=int_at_least(0), default=defaults.SEED,
                   help="run seed: plan, noise, subsets (default %(default)s)")
    p.add_argument("--out", default=out_default, help=out_help or "output folder (default %(default)s)")
    p.add_argument("--n-images", type=int_at_least(1), default=None,
                   help="captions to generate for per evaluation (default: the whole test split)")
    p.add_argument("--batch-size", type=int_at_least(1), default=defaults.BATCH_SIZE,
                   help="images per batch (default %(default)s)")
    p.add_argument("--metrics", default=None,
                   help="comma-separated metric specs, e.g. 'fid,is,ssim' or 'fid@inception-v3-compat' "
                        f"(default: {','.join(defaults.DEFAULT_METRICS)})")
    p.add_argument("--inception-weights", default=os.environ.get(defaults.INCEPTION_WEIGHTS_ENV),
                   help="local Inception weights: torch-fidelity's .pth or the TF-FID TorchScript pool3 file "
                        f"(default: ${defaults.INCEPTION_WEIGHTS_ENV}, else torch-fidelity's download)")
    p.add_argument("--weights", action="append", default=[], metavar="EXTRACTOR=PATH",
                   help="local weights of a feature extractor or evaluator, e.g. damsm=runs/damsm-cub.safetensors, "
                        "or AttnGAN's released DAMSM with its vocabulary: damsm=DAMSMencoders/bird/text_encoder200.pth,"
                        "data/birds/captions.pickle (repeatable)")
    p.add_argument("--data-root", default=None, help="folder of a real dataset in its standard layout (cub, flowers, coco)")
    p.add_argument("--image-size", type=int_at_least(1), default=None,
                   help="dataset image size in pixels (default: the dataset's)")
    p.add_argument("--shard-size", type=int_at_least(1), default=defaults.SHARD_SIZE,
                   help="generated images per PNG shard, the unit an interrupted run resumes from "
                        "(default %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.add_argument("--offline", action="store_true",
                   help=f"forbid every download (as ${defaults.OFFLINE_ENV}=1): weights must be local files")
    p.add_argument("--allow-small-n", action="store_true",
                   help=f"compute metrics with fewer images than they need for a stable estimate (FID: "
                        f"{defaults.FID_MIN_IMAGES}) instead of stopping; the result records a warning")
    add_common_args(p)


def extractor_weights_from_args(args) -> dict[str, str] | None:
    """``{extractor: path}`` from ``--inception-weights`` and ``--weights NAME=PATH``."""
    weights = {"inception-v3-compat": args.inception_weights} if args.inception_weights else {}
    for item in args.weights:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--weights: expected EXTRACTOR=PATH, got {item!r}")
        weights[name] = path
    return weights or None


def check_weights_used(weights: dict | None, metrics: list[str], dataset_names: str | list[str]) -> None:
    """``ValueError`` for a ``--weights`` / ``--inception-weights`` entry that no metric of the run reads on any of
    ``dataset_names`` (e.g. ``--weights damsm=…`` on ``shapes``, whose R-precision reads ``damsm-shapes``):
    a flag that would otherwise be ignored without a word."""
    from t2ibench.protocols import parse_metric

    names = [dataset_names] if isinstance(dataset_names, str) else list(dataset_names)
    used = {parse_metric(m, d).extractor for d in names for m in metrics} - {None}
    unused = sorted(set(weights or {}) - used)
    if unused:
        flags = ", ".join("--inception-weights" if u == "inception-v3-compat" and "inception-v3-compat" in weights
                          else f"--weights {u}=…" for u in unused)
        raise ValueError(f"{flags}: no metric of this run reads the extractor {', '.join(map(repr, unused))} on "
                         f"{', '.join(names)}; its metrics read {', '.join(sorted(used)) or 'no extractor'}. Name it "
                         f"in the metric (e.g. --metrics r-precision@{unused[0]}) or drop the flag")


#: ``--flag`` -> the generator factory's keyword it fills (:func:`generator_options_from_args`)
GENERATOR_OPTIONS = {"generator_weights": "weights", "weights_format": "format",
                     "generator_text_encoder": "text_encoder_weights"}


def add_generator_weights_args(p: argparse.ArgumentParser) -> None:
    """``--generator-weights``, ``--weights-format``, ``--generator-text-encoder``: other
    weights for a zoo generator than its shipped ones — a file of its own, or a paper's released checkpoint
    (``t2ibench eval`` and ``benchmark.py``; each ``NAME=VALUE``, repeatable, NAME one of the run's generators);
    and ``--generator-precision`` (every generator of the run)."""
    p.add_argument("--generator-weights", action="append", default=[], metavar="NAME=PATH",
                   help="weights of zoo generator NAME instead of its shipped ones: a zoo .safetensors, or a paper's "
                        "released file with --weights-format NAME=FORMAT (repeatable)")
    p.add_argument("--weights-format", action="append", default=[], metavar="NAME=FORMAT",
                   help="the released format of NAME's --generator-weights, e.g. attngan-release ('t2ibench list "
                        "formats' lists them, with the files each reads and what it refuses)")
    p.add_argument("--generator-precision", choices=defaults.GENERATOR_PRECISIONS, default=defaults.GENERATOR_PRECISION,
                   help="the generators' forward pass: float32 (default), or float16 (CUDA only) / bfloat16 under "
                        "torch.autocast (faster on CUDA; images differ from float32's by a fraction of a grey level: README "
                        "'Precision'); feature extractors always run in float32")
    p.add_argument("--generator-text-encoder", action="append", default=[], metavar="NAME=FILES",
                   help="the text encoder NAME reads: with --weights-format, the release's DAMSM and its vocabulary, "
                        "e.g. attngan=DAMSMencoders/bird/text_encoder200.pth,data/birds/captions.pickle; else "
                        "another zoo text encoder (as models.train's --text-encoder-weights)")


def generator_options_from_args(args, names) -> dict[str, dict]:
    """``{generator name: factory keywords}`` from the :func:`add_generator_weights_args` flags; each flag's
    NAME must be one of ``names`` (the run's generators), at most once per flag."""
    options: dict[str, dict] = {}
    for flag, keyword in GENERATOR_OPTIONS.items():
        for item in getattr(args, flag, None) or []:
            name, sep, value = item.partition("=")
            dashed = "--" + flag.replace("_", "-")
            if not sep or not name or not value:
                raise ValueError(f"{dashed}: expected NAME=VALUE, got {item!r}")
            if name not in names:
                raise ValueError(f"{dashed} {item!r}: {name!r} is not a generator of this run "
                                 f"({', '.join(names)})")
            if keyword in options.get(name, {}):
                raise ValueError(f"{dashed}: {name!r} is given twice")
            options.setdefault(name, {})[keyword] = value
    for name, kwargs in options.items():
        if "format" in kwargs and "weights" not in kwargs:
            raise ValueError(f"--weights-format {name}=...: give the released file with --generator-weights "
                             f"{name}=PATH")
    return options


def comma_list(text: str | None) -> list[str] | None:
    return None if text is None else [m.strip() for m in text.split(",") if m.strip()]


def load_dataset_from_args(args, name: str, split: str = "test"):
    from t2ibench.data import load_dataset

    kwargs = {"root": args.data_root} if args.data_root else {}
    if name == "shapes":  # the only dataset that generates (and shows a progress bar) when first loaded
        if args.data_root:
            raise ValueError(f"--data-root {args.data_root}: the shapes dataset is generated, not read from a "
                             f"folder; --data-root is for cub, flowers and coco")
        kwargs["progress"] = not getattr(args, "no_progress", False)
    return load_dataset(name, split=split, image_size=args.image_size, **kwargs)


def _eval_out(args, dataset) -> Path:
    """``--out``, else ``runs/eval/GENERATOR/DATASET`` (``folder-NAME`` for ``--images``)."""
    from t2ibench.io import safe_filename

    if args.out:
        return Path(args.out)
    who = safe_filename(args.generator) if args.generator else "folder-" + safe_filename(Path(args.images).name)
    return Path("runs/eval") / who / dataset.name


def _cmd_eval(args) -> int:
    from t2ibench.io import check_writable

    if bool(args.generator) == bool(args.images):
        raise ValueError("give either --generator NAME or --images DIR (with --captions FILE), not both or neither")
    if bool(args.images) != bool(args.captions):
        raise ValueError("--images DIR and --captions FILE go together: the captions file says which image was made "
                         "for which caption")
    # other weights for the generator (a paper's released checkpoint...): checked before any work
    options = generator_options_from_args(args, [args.generator] if args.generator else []).get(args.generator, {})
    from t2ibench import distributed

    device = distributed.setup(resolve_device(args.device))  # under torchrun: one part of the plan per process
    distributed.quiet_others()
    dataset = distributed.main_first(lambda: load_dataset_from_args(args, args.dataset, args.split),
                                     "loading the dataset")
    out = _eval_out(args, dataset)
    check_writable(out, "--out")  # before any work: a computed run must not be lost at the end
    args.resume_hint = None if args.no_images or args.images else out / "images"
    weights = extractor_weights_from_args(args)
    check_weights_used(weights, comma_list(args.metrics) or list(defaults.DEFAULT_METRICS), dataset.name)
    common = dict(metrics=comma_list(args.metrics), seed=args.seed, batch_size=args.batch_size, device=device,
                  extractor_weights=weights, progress=not args.no_progress, allow_small_n=args.allow_small_n)
    if args.images:
        from t2ibench.generators.image_folder import evaluate_image_folder

        if args.n_images is not None:
            raise ValueError("--n-images: with --images every image of the captions file is scored; drop it")
        result = evaluate_image_folder(args.images, args.captions, dataset, **common)
        generator, name = None, result.generator
    else:
        from t2ibench.engine import evaluate
        from t2ibench.registry import load_generator

        name = args.generator
        generator = load_generator(name, dataset=dataset, device=device, **options)
        result = evaluate(generator, dataset, n_images=args.n_images, generator_name=name,
                          image_dir=None if args.no_images else out / "images", shard_size=args.shard_size,
                          reuse_images=args.reuse_images, generator_precision=args.generator_precision, **common)
    if not distributed.is_main():  # rank 0 writes the result and the samples
        return 0
    result.save(out / "result.json")
    _save_samples(args, result, generator, name, dataset, out)
    print(result.summary())
    kept = "" if args.no_images or args.images else f", and the {result.n_images} generated images in {out / 'images'}"
    print(f"wrote {out / 'result.json'}, {out / 'samples.png'}{kept}")
    return 0


def _save_samples(args, result, generator, name: str, dataset, out: Path) -> None:
    """``OUT/samples.png``: the first 16 images of the run with their captions, read back where kept."""
    from t2ibench.engine import evaluation_plan
    from t2ibench.generators.base import generate_checked, generator_autocast
    from t2ibench.image_store import ImageStore
    from t2ibench.plots import save_captioned_grid

    if args.images:
        import torch

        from t2ibench.data.image_files import open_rgb, to_uint8_tensor
        from t2ibench.generators.image_folder import read_captions_file

        # the folder was checked (and every file hashed) by the evaluation: read only the first rows
        rows = read_captions_file(args.captions)[:16]
        plan = [r.caption for r in rows]
        images = torch.stack([to_uint8_tensor(open_rgb(Path(args.images) / r.file)) for r in rows])
    else:
        plan = evaluation_plan(dataset, min(16, result.n_images), args.seed)
        if args.no_images:  # generated again, as the evaluation generated them
            with generator_autocast(result.provenance["generator_precision"], result.provenance["device"]):
                images = generate_checked(generator, name, plan, seed=args.seed)
        else:
            images = ImageStore.existing(out / "images").head(len(plan))
    save_captioned_grid(images, plan, out / "samples.png", title=f"{name} on {dataset.name}")


def _cmd_compare(args) -> int:
    from t2ibench.compare import compare

    metrics = comma_list(args.metrics)
    if metrics is not None and not metrics:
        raise ValueError("--metrics: no metric named (give e.g. --metrics fid,is)")
    result = compare(args.baseline, args.new, mode=args.mode, metrics=metrics, rtol=args.rtol, atol=args.atol,
                     hits=args.hits, regress_rtol=args.regress_rtol, regress_atol=args.regress_atol,
                     std_factor=args.std_factor, std_growth=args.std_growth)
    print(f"{args.mode}: {args.new} (new) against {args.baseline} (baseline)")
    print(result.table())
    return result.exit_code


def _cmd_list(args) -> int:
    from t2ibench.data import list_datasets
    from t2ibench.features import describe_extractors, list_extractors
    from t2ibench.protocols import list_metrics
    from t2ibench.registry import list_generators

    try:
        from models.common.released import describe_formats, list_formats
    except ModuleNotFoundError as e:  # installed without the zoo: no released formats
        if e.name != "models":
            raise
        describe_formats, list_formats = dict, list

    listing = {"generators": list_generators, "datasets": list_datasets, "metrics": list_metrics,
               "extractors": list_extractors, "formats": list_formats}
    for kind in [args.kind] if args.kind else listing:
        print(f"{kind}:")
        # the published weights each extractor accepts; the files each released format reads
        details = describe_extractors() if kind == "extractors" else describe_formats() if kind == "formats" else {}
        for name in listing[kind]():
            print(f"  {name}")
            for line in details.get(name, ()):
                print(f"    {line}")
    return 0


def _cmd_preview(args) -> int:
    from t2ibench.plots import save_captioned_grid

    ds = load_dataset_from_args(args, args.dataset, args.split)
    n = min(args.n, len(ds))
    images = ds.images(range(n))
    save_captioned_grid(images, [ds.captions(i)[0] for i in range(n)], args.out, title=repr(ds))
    print(f"wrote {args.out} ({n} images of {ds!r})")
    return 0


def _cmd_sanity(args) -> int:
    from t2ibench.io import check_writable
    from t2ibench.sanity import run_sanity, write_sanity

    device = resolve_device(args.device)
    check_writable(args.out, "--out")
    dataset = load_dataset_from_args(args, args.dataset)
    metrics = comma_list(args.metrics) or list(defaults.SANITY_METRICS)
    n = args.n_images or defaults.SANITY_N_IMAGES
    raw = run_sanity(dataset, metrics, n_images=n, seed=args.seed, device=device, progress=not args.no_progress,
                     extractor_weights=extractor_weights_from_args(args))
    norm = write_sanity(raw, args.out, f"metric sanity on {dataset.name} (n={n}, seed={args.seed})")
    print(norm.round(2).to_string())
    print(f"wrote {args.out}/sanity.md, sanity.csv, sanity.png")
    return 0


def _cmd_train_evaluators(args) -> int:
    import importlib

    from t2ibench.evaluators import TRAINERS

    only = comma_list(args.only) or list(TRAINERS)
    for name in only:
        if name not in TRAINERS:
            raise ValueError(f"--only: unknown evaluator {name!r}; known: {', '.join(TRAINERS)}")
    device = resolve_device(args.device)
    out = Path(args.out)
    for name in [n for n in TRAINERS if n in only]:
        module = importlib.import_module(TRAINERS[name])
        checkpoint = out / "checkpoints" / f"{name}-{args.dataset}.pt"
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        extra = ({"backbone": args.damsm_backbone, "inception_weights": args.imagenet_inception_weights}
                 if name == "damsm" else {})
        manifest = module.train(out, dataset=args.dataset, seed=args.seed, device=device, epochs=args.epochs,
                                data_root=args.data_root, progress=not args.no_progress, checkpoint=checkpoint,
                                **extra)
        print(f"{name}: wrote {out}/{manifest['name']}.safetensors and .json (held-out recall in the manifest)",
              flush=True)
    return 0


def _cmd_human_sheet(args) -> int:
    from t2ibench.human.sheet import build_sheet

    device = resolve_device(args.device)
    dataset = load_dataset_from_args(args, args.dataset)
    sheet = build_sheet(comma_list(args.generators) or [], args.out, n_captions=args.n_captions, dataset=dataset,
                        seed=args.seed, protocol=args.protocol, device=device)
    print(f"sheet {sheet.sheet_id}: {sheet.n_captions} captions x {len(sheet.generators)} generators "
          f"({', '.join(sheet.generators)}), protocol {args.protocol}")
    print(f"wrote {sheet.page} (send this page to the raters), {sheet.captions}, and {sheet.key} (keep this key "
          f"away from the raters; 't2ibench human-score ANSWERS.csv ... --key {sheet.key}' scores their answers)")
    return 0


def _cmd_human_score(args) -> int:
    from t2ibench.human.report import to_markdown, write_scores
    from t2ibench.human.score import score_answers
    from t2ibench.io import check_writable

    out = check_writable(args.out or Path(args.key).parent, "--out")
    scores = score_answers(args.answers, args.key, resamples=args.bootstrap, seed=args.seed)
    files = write_scores(scores, out)
    print(to_markdown(scores), end="")
    print(f"wrote {', '.join(str(f) for f in files.values())}")
    return 0


def _cmd_train_classifier(argv: list[str]) -> int:
    from t2ibench.evaluators.shapes_classifier import main as train_main

    return train_main(argv) or 0


def build_parser() -> argparse.ArgumentParser:
    from t2ibench import __version__

    parser = ArgumentParser(prog="t2ibench", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"t2ibench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("eval", help="evaluate one generator on one dataset and write result.json + samples.png",
                       description="Generate one image per caption of the test split, extract features once and "
                                   "compute every requested metric; writes OUT/result.json, OUT/samples.png and the "
                                   "generated images as PNG shards in OUT/images/ (rerun the same command after an "
                                   "interruption to resume: finished shards are read back, not regenerated).")
    p.add_argument("--generator", default=None,
                   help="registered name (see 't2ibench list generators'), entry point, 'module:callable' (the "
                        "current directory is importable) or 'path/to/file.py:callable'")
    p.add_argument("--images", default=None, metavar="DIR",
                   help="score a folder of images generated elsewhere instead of a generator (needs --captions)")
    p.add_argument("--captions", default=None, metavar="FILE",
                   help="with --images: CSV (header file,caption[,image_key]) or JSONL of the same keys, one row "
                        "per image; image_key is the dataset image the caption was written for (without it only "
                        "metrics that need no dataset image run)")
    p.add_argument("--reuse-images", action="store_true",
                   help="read back the kept images of a generator that has no fingerprint (no source file, no "
                        "'fingerprint' attribute); only when it is certainly unchanged")
    p.add_argument("--dataset", default=defaults.DATASET, help="dataset name (default %(default)s)")
    p.add_argument("--split", default="test", help="dataset split to evaluate on (default %(default)s)")
    p.add_argument("--no-images", action="store_true",
                   help="do not keep the generated images in OUT/images (PNG shards; an interrupted run resumes "
                        "from them when the same command is run again)")
    add_run_args(p, out_default=None, out_help="output folder (default runs/eval/GENERATOR/DATASET: one folder per "
                                                "generator and dataset, so that kept images never meet another run's)")
    add_generator_weights_args(p)
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser("sanity", help="the metric sanity suite: each metric's response to controlled degradations",
                       description="Evaluate real test images under controlled changes (blur, pixel noise, colour "
                                   "swap, shuffled captions, one colour word changed) and uniform noise; write "
                                   "OUT/sanity.{md,csv,png} (the PNG is a heat map of metric x degradation).")
    p.add_argument("--dataset", default=defaults.DATASET, help="dataset (default %(default)s)")
    add_run_args(p, out_default="runs/sanity")
    p.set_defaults(func=_cmd_sanity)

    p = sub.add_parser("compare", help="compare NEW with BASELINE, metric by metric: a reproducibility check "
                                       "(--mode reproduce) or a regression gate (--mode regress); exit 1 on a "
                                       "difference/regression",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="""\
Compare the metrics of two result.json files and print a table (metric, baseline, new, change,
tolerance, verdict) and a one-line summary. Metrics: --metrics, default those of BASELINE; a named
metric missing from either file is exit 2; unnamed, a metric in only one file is a 'skipped' row.

--mode reproduce (default): NEW reruns BASELINE's run (same generator, n_images, seed, dataset
  fingerprint) on another machine or version; each value, and the std when both have one, must
  agree both ways within the cross-machine tolerance: max(--rtol x value, --atol), or --hits hits
  (steps of 1/n_images) for retrieval shares (R-precision, Rank-1). Verdicts: ok / DIFFERS.
--mode regress: a gate for a new model (any generator, any seed) against a baseline such as the
  current best, on the same dataset and n_images. One-sided, by each metric's direction: worse by
  more than its tolerance is REGRESSED, better by more is 'better'. Tolerance: --std-factor
  standard errors (std / sqrt(units the std is over); retrieval shares at least the binomial
  error), else (FID, CMD, ITDis: no std) max(--regress-rtol x sqrt({n}/n_images) x baseline,
  --regress-atol); never below the cross-machine tolerance. A std grown more than --std-growth
  times (a std over >= {u} images/classes) is REGRESSED too.

Not comparable (exit 2, never a pass): other run fields than the mode allows, or a compared
metric's protocol fields (protocol, extractor, splits, ...) or its extractor's name, weights_id
or resize_mode differ. Exit status: 0 all ok/better/skipped, 1 REGRESSED or DIFFERS, 2 not
comparable or bad input.

Argument order: BASELINE first, then NEW. (Before regress mode existed it read RESULT
REFERENCE; reproduce mode is symmetric, so such commands keep their verdict. In regress mode the
order matters.)""".format(n=defaults.COMPARE_REGRESS_N, u=defaults.COMPARE_REGRESS_STD_MIN_UNITS))
    p.add_argument("baseline", help="the baseline result.json (the reference, the current best)")
    p.add_argument("new", help="the result.json to check")
    p.add_argument("--mode", choices=["reproduce", "regress"], default="reproduce",
                   help="reproduce: two-sided, same run; regress: one-sided by direction, any generator "
                        "(default %(default)s)")
    p.add_argument("--metrics", default=None,
                   help="comma-separated metrics to compare (default: the baseline's; a named one missing "
                        "from either result is exit 2)")
    p.add_argument("--rtol", type=float, default=defaults.COMPARE_RTOL,
                   help="cross-machine relative tolerance of continuous metrics (default %(default)s)")
    p.add_argument("--atol", type=float, default=defaults.COMPARE_ATOL,
                   help="cross-machine absolute tolerance near zero (default %(default)s)")
    p.add_argument("--hits", type=int, default=defaults.COMPARE_HITS,
                   help="cross-machine tolerance of retrieval shares, in hits (default %(default)s)")
    p.add_argument("--std-factor", type=float, default=defaults.COMPARE_REGRESS_STD_FACTOR,
                   help="regress: standard errors a metric with a std may worsen by (default %(default)s)")
    p.add_argument("--regress-rtol", type=float, default=defaults.COMPARE_REGRESS_RTOL,
                   help="regress: relative tolerance of a metric without std (default %(default)s)")
    p.add_argument("--regress-atol", type=float, default=defaults.COMPARE_REGRESS_ATOL,
                   help="regress: absolute tolerance of a metric without std, near zero (default %(default)s)")
    p.add_argument("--std-growth", type=float, default=defaults.COMPARE_REGRESS_STD_GROWTH,
                   help="regress: a std more than this many times the baseline's is a regression "
                        "(default %(default)s)")
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser("list", help="list registered generators, datasets, metrics, feature extractors or the "
                                    "released weights formats of the zoo's generators")
    p.add_argument("kind", nargs="?", choices=["generators", "datasets", "metrics", "extractors", "formats"])
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("preview", help="save a grid of dataset images with their first caption")
    p.add_argument("--dataset", default=defaults.DATASET)
    p.add_argument("--split", default="test")
    p.add_argument("--n", type=int, default=16, help="number of images (default %(default)s)")
    p.add_argument("--out", default="preview.png", help="PNG file to write (default %(default)s)")
    p.add_argument("--data-root", default=None)
    p.add_argument("--image-size", type=int, default=None)
    p.set_defaults(func=_cmd_preview)

    p = sub.add_parser("train-evaluators", help="train the text-image evaluators (DAMSM, VSE++, CLIP stand-in, VS maps)",
                       description="Train the evaluators that text-image metrics need on a dataset's train split "
                                   "and write OUT/<name>-<dataset>.safetensors + .json manifests (sha256, command, "
                                   "seed, dataset fingerprint, held-out retrieval recall). Interrupted training "
                                   "resumes from OUT/checkpoints/ when the same command is run again.")
    p.add_argument("--dataset", default=defaults.DATASET, help="dataset to train on (default %(default)s)")
    p.add_argument("--data-root", default=None, help="folder of a real dataset (cub, flowers, coco)")
    p.add_argument("--only", default=None, help="comma-separated subset of: damsm,vse,clip,vs (default: all)")
    p.add_argument("--damsm-backbone", choices=["cnn", "inception"], default=None,
                   help="DAMSM image backbone: AttnGAN's ImageNet Inception-v3 (needs --imagenet-inception-weights; the "
                        "default on real datasets) or a small CNN trained from scratch (the default on shapes)")
    p.add_argument("--imagenet-inception-weights", default=None,
                   help="torchvision ImageNet inception_v3 weights (inception_v3_google-*.pth) for the DAMSM "
                        "'inception' backbone; not the FID Inception of 'eval --inception-weights'")
    p.add_argument("--out", default="t2ibench/evaluators/weights", help="output folder (default %(default)s)")
    p.add_argument("--seed", type=int, default=defaults.SEED)
    p.add_argument("--epochs", type=int, default=None, help="epochs (default: each evaluator's own)")
    p.add_argument("--device", default="auto")
    p.add_argument("--no-progress", action="store_true")
    add_common_args(p)
    p.set_defaults(func=_cmd_train_evaluators)

    p = sub.add_parser("human-sheet", help="a rating sheet for human raters: one offline HTML page + key.json",
                       description="Write OUT/sheet.html: per caption of the evaluation plan, the images of every "
                                   "generator side by side in an order shuffled per caption (labelled A, B, C, ..., "
                                   "never named); raters pick the best image (KT-GAN Table VI, CPGAN Table 2) and/or "
                                   "rank them by quality and by agreement with the text (SDN Table 2) by clicking, "
                                   "and download their answers as CSV. The page is self-contained (images embedded, "
                                   "no server, no network). OUT/key.json says which label is which generator; "
                                   "OUT/captions.txt lists the captions.")
    p.add_argument("--generators", required=True,
                   help="comma-separated generators to compare (2 to 26; names as 't2ibench list generators', "
                        "entry points or 'module:callable')")
    p.add_argument("--n-captions", type=int_at_least(1), default=50,
                   help="captions on the sheet: the first N of the evaluation plan (default %(default)s)")
    p.add_argument("--out", required=True, help="folder for sheet.html, key.json and captions.txt")
    p.add_argument("--dataset", default=defaults.DATASET, help="dataset (default %(default)s)")
    p.add_argument("--seed", type=int_at_least(0), default=defaults.SEED,
                   help="run seed: caption plan, per-caption generator seeds, image order (default %(default)s)")
    p.add_argument("--protocol", choices=["ktgan", "sdn", "cpgan", "all"], default="all",
                   help="questions per caption: ktgan/cpgan pick the best image; sdn ranks the images by quality "
                        "and by agreement with the text; all asks all three (default %(default)s)")
    p.add_argument("--device", default="auto", help="torch device: auto (cuda if available), cpu, cuda, cuda:1 ...")
    p.add_argument("--data-root", default=None, help="folder of a real dataset (cub, flowers, coco)")
    p.add_argument("--image-size", type=int_at_least(1), default=None,
                   help="dataset image size in pixels (default: the dataset's)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    add_common_args(p)
    p.set_defaults(func=_cmd_human_sheet)

    p = sub.add_parser("human-score", help="score the raters' answers of a sheet: rank-1 ratios, mean ranks, "
                                           "bootstrap intervals, inter-rater agreement",
                       description="Check the answer CSVs downloaded from a sheet against its key.json, map labels "
                                   "to generators and compute per generator the rank-1 ratio (KT-GAN, CPGAN) and "
                                   "the mean rank +- std per criterion (SDN), with percentile 95% bootstrap "
                                   "intervals (captions and raters resampled), and the inter-rater agreement "
                                   "(Kendall's W with tie correction, Krippendorff's alpha ordinal). Writes "
                                   "OUT/human-scores.{md,csv,json,tex} and prints the table.")
    p.add_argument("answers", nargs="+", help="answer CSVs downloaded from the sheet (one or more raters each)")
    p.add_argument("--key", required=True, help="the sheet's key.json")
    p.add_argument("--out", default=None, help="output folder (default: the key's folder)")
    p.add_argument("--bootstrap", type=int_at_least(0), default=1000,
                   help="bootstrap resamples for the 95%% intervals; 0: none (default %(default)s)")
    p.add_argument("--seed", type=int_at_least(0), default=defaults.SEED, help="bootstrap seed (default %(default)s)")
    add_common_args(p)
    p.set_defaults(func=_cmd_human_score)

    sub.add_parser("train-classifier", add_help=False,
                   help="train the embedded shapes domain classifier (see its --help)")
    return parser


def run_cli(func, args) -> int:
    """Run ``func(args)``; every failure the user can cause ends in one line on stderr.

    Bad input, failed writes and downloads (``ValueError``/``TypeError``/``OSError``) and a
    plug-in generator that raises (:class:`t2ibench.registry.PluginError`): ``error: ...``,
    exit status 2. Ctrl-C: one line saying how to resume, exit status 130. ``--traceback``
    or ``T2IBENCH_DEBUG=1`` re-raises instead, with the full traceback.
    """
    from t2ibench.distributed import rank_label
    from t2ibench.registry import PluginError

    previous = os.environ.get(defaults.OFFLINE_ENV)
    if getattr(args, "offline", False):
        os.environ[defaults.OFFLINE_ENV] = "1"
    debug = getattr(args, "traceback", False) or bool(os.environ.get("T2IBENCH_DEBUG"))
    try:
        return func(args)
    except (ValueError, TypeError, OSError, PluginError) as e:
        if debug:
            raise
        hint = " (rerun with --traceback for the plug-in's traceback)" if isinstance(e, PluginError) else ""
        print(f"error{rank_label()}: {e}{hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if debug:
            raise
        kept = getattr(args, "resume_hint", None)
        resume = (f"the complete image shards in {kept} are kept: rerun the same command to resume from them"
                  if kept else "nothing was written; rerun the command to start again")
        print(f"\ninterrupted (Ctrl-C): {resume}", file=sys.stderr)
        return 130
    finally:  # --offline lasts for this command, not for the rest of a process that called main()
        if previous is None:
            os.environ.pop(defaults.OFFLINE_ENV, None)
        else:
            os.environ[defaults.OFFLINE_ENV] = previous


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["train-classifier"]:
        return _cmd_train_classifier(argv[1:])
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # a bad argument: the one-line message is printed; --help/--version exit 0
        if e.code == 2:
            return 2
        raise
    return run_cli(args.func, args)


if __name__ == "__main__":
    sys.exit(main())
