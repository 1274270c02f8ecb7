"""The ``t2ibench`` command line.

    t2ibench eval --generator real --dataset shapes --metrics fid,is --out runs/real
    t2ibench compare runs/real/result.json reference.json     (CI gate: exit 1 if a metric differs)
    t2ibench list generators|datasets|metrics|extractors
    t2ibench preview --dataset shapes --out shapes.png
    t2ibench train-classifier --out t2ibench/evaluators/weights
    t2ibench train-evaluators --dataset shapes --out t2ibench/evaluators/weights

Bad input (an unknown name, a missing file, a wrong argument) and failed writes (disk
full, permissions) end with a one-line ``error: ...`` and exit status 2, not a traceback.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from t2ibench import defaults


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


def add_run_args(p: argparse.ArgumentParser, out_default: str | None, out_help: str | None = None) -> None:
    """Arguments shared by ``t2ibench eval``, ``t2ibench sanity`` and ``benchmark.py``."""
    p.add_argument("--device", default="auto", help="torch device: auto (cuda if available), cpu, cuda, cuda:1 ...")
    p.add_argument("--seed", type=int, default=defaults.SEED, help="run seed: plan, noise, subsets (default %(default)s)")
    p.add_argument("--out", default=out_default, help=out_help or "output folder (default %(default)s)")
    p.add_argument("--n-images", type=int, default=None,
                   help="captions to generate for per evaluation (default: the whole test split)")
    p.add_argument("--batch-size", type=int, default=defaults.BATCH_SIZE, help="images per batch (default %(default)s)")
    p.add_argument("--metrics", default=None,
                   help="comma-separated metric specs, e.g. 'fid,is,ssim' or 'fid@inception-v3-compat' "
                        f"(default: {','.join(defaults.DEFAULT_METRICS)})")
    p.add_argument("--inception-weights", default=os.environ.get(defaults.INCEPTION_WEIGHTS_ENV),
                   help="local Inception weights: torch-fidelity's .pth or the TF-FID TorchScript pool3 file "
                        f"(default: ${defaults.INCEPTION_WEIGHTS_ENV}, else torch-fidelity's download)")
    p.add_argument("--weights", action="append", default=[], metavar="EXTRACTOR=PATH",
                   help="local weights of a feature extractor or evaluator, e.g. damsm=runs/damsm-cub.safetensors "
                        "(repeatable)")
    p.add_argument("--data-root", default=None, help="folder of a real dataset in its standard layout (cub, flowers, coco)")
    p.add_argument("--image-size", type=int, default=None, help="dataset image size in pixels (default: the dataset's)")
    p.add_argument("--shard-size", type=int, default=defaults.SHARD_SIZE,
                   help="generated images per PNG shard, the unit an interrupted run resumes from "
                        "(default %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.add_argument("--offline", action="store_true",
                   help=f"forbid every download (as ${defaults.OFFLINE_ENV}=1): weights must be local files")
    p.add_argument("--allow-small-n", action="store_true",
                   help=f"compute metrics with fewer images than they need for a stable estimate (FID: "
                        f"{defaults.FID_MIN_IMAGES}) instead of stopping; the result records a warning")


def extractor_weights_from_args(args) -> dict[str, str] | None:
    """``{extractor: path}`` from ``--inception-weights`` and ``--weights NAME=PATH``."""
    weights = {"inception-v3-compat": args.inception_weights} if args.inception_weights else {}
    for item in args.weights:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--weights: expected EXTRACTOR=PATH, got {item!r}")
        weights[name] = path
    return weights or None


def comma_list(text: str | None) -> list[str] | None:
    return None if text is None else [m.strip() for m in text.split(",") if m.strip()]


def load_dataset_from_args(args, name: str, split: str = "test"):
    from t2ibench.data import load_dataset

    kwargs = {"root": args.data_root} if args.data_root else {}
    if name == "shapes":  # the only dataset that generates (and shows a progress bar) when first loaded
        kwargs["progress"] = not getattr(args, "no_progress", False)
    return load_dataset(name, split=split, image_size=args.image_size, **kwargs)


def _cmd_eval(args) -> int:
    from t2ibench.engine import evaluate
    from t2ibench.io import safe_filename
    from t2ibench.plots import save_captioned_grid
    from t2ibench.registry import load_generator

    device = resolve_device(args.device)
    dataset = load_dataset_from_args(args, args.dataset, args.split)
    generator = load_generator(args.generator, dataset=dataset, device=device)
    weights = extractor_weights_from_args(args)
    out = Path(args.out) if args.out else Path("runs/eval") / safe_filename(args.generator) / dataset.name
    result = evaluate(generator, dataset, metrics=comma_list(args.metrics), n_images=args.n_images, seed=args.seed,
                      batch_size=args.batch_size, device=device, extractor_weights=weights,
                      progress=not args.no_progress, generator_name=args.generator,
                      allow_small_n=args.allow_small_n, image_dir=None if args.no_images else out / "images",
                      shard_size=args.shard_size)
    result.save(out / "result.json")
    from t2ibench.engine import evaluation_plan
    from t2ibench.generators.base import generate_checked
    from t2ibench.image_store import ImageStore

    plan = evaluation_plan(dataset, min(16, result.n_images), args.seed)
    images = (generate_checked(generator, args.generator, plan, seed=args.seed) if args.no_images
              else ImageStore.existing(out / "images").head(len(plan)))
    save_captioned_grid(images, plan, out / "samples.png", title=f"{args.generator} on {dataset.name}")
    print(result.summary())
    kept = "" if args.no_images else f", and the {result.n_images} generated images in {out / 'images'}"
    print(f"wrote {out / 'result.json'}, {out / 'samples.png'}{kept}")
    return 0


def _cmd_compare(args) -> int:
    from t2ibench.result import EvalResult, compare_results

    results = []
    for path in (args.result, args.reference):
        try:
            results.append(EvalResult.load(path))
        except (OSError, ValueError, TypeError) as e:
            raise ValueError(f"{path}: not a readable t2ibench result.json ({type(e).__name__}: {e})") from None
    rows = compare_results(*results, rtol=args.rtol, hits=args.hits)
    print(f"{'metric':<28} {'value':>14} {'reference':>14} {'tolerance':>10}")
    for r in rows:
        value = "missing" if r["value"] is None else f"{r['value']:.8g}"
        print(f"{r['metric']:<28} {value:>14} {r['reference']:>14.8g} {r['tolerance']:>10.2g}"
              f"  {'ok' if r['ok'] else 'DIFFERS'}")
    bad = [r["metric"] for r in rows if not r["ok"]]
    print(f"{len(rows) - len(bad)} of {len(rows)} metrics agree" + (f"; differ: {', '.join(bad)}" if bad else ""))
    return 1 if bad else 0


def _cmd_list(args) -> int:
    from t2ibench.data import list_datasets
    from t2ibench.features import list_extractors
    from t2ibench.protocols import list_metrics
    from t2ibench.registry import list_generators

    listing = {"generators": list_generators, "datasets": list_datasets, "metrics": list_metrics,
               "extractors": list_extractors}
    for kind in [args.kind] if args.kind else listing:
        print(f"{kind}:")
        for name in listing[kind]():
            print(f"  {name}")
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
    from t2ibench.sanity import run_sanity, write_sanity

    device = resolve_device(args.device)
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
        extra = ({"backbone": args.damsm_backbone, "inception_weights": args.inception_weights}
                 if name == "damsm" else {})
        manifest = module.train(out, dataset=args.dataset, seed=args.seed, device=device, epochs=args.epochs,
                                data_root=args.data_root, progress=not args.no_progress, checkpoint=checkpoint,
                                **extra)
        print(f"{name}: wrote {out}/{manifest['name']}.safetensors and .json (held-out recall in the manifest)",
              flush=True)
    return 0


def _cmd_train_classifier(argv: list[str]) -> int:
    from t2ibench.evaluators.shapes_classifier import main as train_main

    return train_main(argv) or 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="t2ibench", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("eval", help="evaluate one generator on one dataset and write result.json + samples.png",
                       description="Generate one image per caption of the test split, extract features once and "
                                   "compute every requested metric; writes OUT/result.json, OUT/samples.png and the "
                                   "generated images as PNG shards in OUT/images/ (rerun the same command after an "
                                   "interruption to resume: finished shards are read back, not regenerated).")
    p.add_argument("--generator", required=True,
                   help="registered name (see 't2ibench list generators'), entry point, or 'module:callable'")
    p.add_argument("--dataset", default=defaults.DATASET, help="dataset name (default %(default)s)")
    p.add_argument("--split", default="test", help="dataset split to evaluate on (default %(default)s)")
    p.add_argument("--no-images", action="store_true",
                   help="do not keep the generated images in OUT/images (PNG shards; an interrupted run resumes "
                        "from them when the same command is run again)")
    add_run_args(p, out_default=None, out_help="output folder (default runs/eval/GENERATOR/DATASET: one folder per "
                                                "generator and dataset, so that kept images never meet another run's)")
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser("sanity", help="the metric sanity suite: each metric's response to controlled degradations",
                       description="Evaluate real test images under controlled changes (blur, pixel noise, colour "
                                   "swap, shuffled captions, one colour word changed) and uniform noise; write "
                                   "OUT/sanity.{md,csv,png} (the PNG is a heat map of metric x degradation).")
    p.add_argument("--dataset", default=defaults.DATASET, help="dataset (default %(default)s)")
    add_run_args(p, out_default="runs/sanity")
    p.set_defaults(func=_cmd_sanity)

    p = sub.add_parser("compare", help="check a result against a reference result within the cross-machine "
                                       "tolerance (exit 1 if a metric differs): a CI gate",
                       description="Compare every metric of REFERENCE with RESULT (two result.json files of the "
                                   "same generator, dataset, n_images and seed). Tolerance: relative --rtol for "
                                   "continuous metrics, --hits hits for retrieval shares (R-precision, Rank-1). "
                                   "Exit status 0 when all agree, 1 when one differs or is missing, 2 on bad "
                                   "input.")
    p.add_argument("result", help="the result.json to check")
    p.add_argument("reference", help="the reference result.json")
    p.add_argument("--rtol", type=float, default=defaults.COMPARE_RTOL,
                   help="relative tolerance of continuous metrics (default %(default)s)")
    p.add_argument("--hits", type=int, default=defaults.COMPARE_HITS,
                   help="tolerance of retrieval shares, in hits (default %(default)s)")
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser("list", help="list registered generators, datasets, metrics or feature extractors")
    p.add_argument("kind", nargs="?", choices=["generators", "datasets", "metrics", "extractors"])
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
                   help="DAMSM image backbone: AttnGAN's ImageNet Inception-v3 (needs --inception-weights; the "
                        "default on real datasets) or a small CNN trained from scratch (the default on shapes)")
    p.add_argument("--inception-weights", default=None,
                   help="torchvision ImageNet inception_v3 weights for the DAMSM 'inception' backbone")
    p.add_argument("--out", default="t2ibench/evaluators/weights", help="output folder (default %(default)s)")
    p.add_argument("--seed", type=int, default=defaults.SEED)
    p.add_argument("--epochs", type=int, default=None, help="epochs (default: each evaluator's own)")
    p.add_argument("--device", default="auto")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_train_evaluators)

    sub.add_parser("train-classifier", add_help=False,
                   help="train the embedded shapes domain classifier (see its --help)")
    return parser


def run_cli(func, args) -> int:
    """Run ``func(args)``; report bad input as ``error: ...`` with exit status 2.

    Set ``T2IBENCH_DEBUG=1`` to get the full traceback instead.
    """
    previous = os.environ.get(defaults.OFFLINE_ENV)
    if getattr(args, "offline", False):
        os.environ[defaults.OFFLINE_ENV] = "1"
    try:
        return func(args)
    except (ValueError, TypeError, OSError) as e:
        if os.environ.get("T2IBENCH_DEBUG"):
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:  # --offline lasts for this command, not for the rest of a process that called main()
        if previous is None:
            os.environ.pop(defaults.OFFLINE_ENV, None)
        else:
            os.environ[defaults.OFFLINE_ENV] = previous


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["train-classifier"]:
        return _cmd_train_classifier(argv[1:])
    args = build_parser().parse_args(argv)
    return run_cli(args.func, args)


if __name__ == "__main__":
    sys.exit(main())
