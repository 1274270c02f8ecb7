"""Train zoo models: ``python -m models.train NAME [NAME ...] [--config tiny|paper|code|paper-coco] [--ship]``.

For each model: build it from its config (:mod:`models.common.zoo`), load the dataset's
``train`` split and the zoo's own text encoder, train with :class:`models.common.trainer.GANTrainer`
(checkpoint + resume, per-epoch sample grids, loss curves in ``OUT/NAME/``), then export the
(EMA) generator as fp16 safetensors with a manifest — into ``models/weights/`` with
``--ship`` (what ``python benchmark.py`` scores), else into ``OUT/NAME/``. On ``shapes`` the
manifest records the conditioning check of :mod:`models.common.quality` (domain-classifier
accuracy on test captions, FID beside the ``noise`` row).

The shipped tiny checkpoints were made two at a time, each on one thread of a 2-core machine
(the budget rule of the tiny recipe: at most 30 minutes of training per model, ``TRAIN_BUDGET_MIN``)::

    OMP_NUM_THREADS=1 python -m models.train NAME --config tiny --ship     # for each zoo model

(``--all`` trains every model one after another.) ``--report`` prints the manifests' table and
draws the accuracy-vs-training-time curves (``leaderboards/zoo/accuracy_vs_time.png``).

Re-running an interrupted command resumes each model from ``OUT/NAME/checkpoint.safetensors``;
with more ``--epochs`` (or a config with more epochs) it trains a finished run further, exactly as a
run given those epochs from the start.
Multi-GPU: ``torchrun --nproc_per_node K -m models.train NAME --config paper --device cuda``.
"""
from __future__ import annotations

import argparse
import json
from itertools import accumulate
import sys
import time
from pathlib import Path

import torch

RUNS_DIR = "runs/zoo"
#: held-out shapes captions scored after every epoch (the accuracy-vs-training-time curve)
PROBE_N = 256
CURVES_PNG = "leaderboards/zoo/accuracy_vs_time.png"


def train_model(name: str, config_name: str = "tiny", out_dir=RUNS_DIR, ship: bool = False, seed: int = 0,
                device: str = "cpu", epochs: int | None = None, data_root=None, progress: bool = True,
                quality_n: int = 1000, max_steps: int | None = None, text_encoder_weights=None,
                amp: bool = True, command: str | None = None, overrides: dict | None = None,
                n_train: int | None = None, steps_per_epoch: int | None = None, dataset: str | None = None,
                probe_n: int = PROBE_N) -> dict:
    """Train ``name`` with config ``config_name``, export its generator, return the manifest.

    ``max_steps`` caps the steps of this run (the cut epoch is saved as finished: a smoke run),
    ``steps_per_epoch`` the steps of every epoch; ``dataset`` trains on another dataset than the
    config's (with ``data_root``); ``overrides`` changes config keys; ``n_train`` shrinks the
    ``shapes`` train split (and its test split to 64 images; smoke tests); ``quality_n=0`` skips
    the conditioning check; ``probe_n`` held-out shapes captions are scored after every epoch
    (0: no probe) for the accuracy-vs-training-time curve.
    """
    import models  # noqa: F401  (registers the zoo)
    from models.common.checkpoint import save_generator
    from models.common.data import GANTrainingData
    from models.common.init_from import initialise
    from models.common.quality import accuracy_probe
    from models.common.text_encoder import ZOO_WEIGHTS_DIR, text_encoder_for
    from models.common.trainer import SAMPLE_GRID, GANTrainer
    from models.common.zoo import MODELS, weights_path
    from t2ibench.data import load_dataset
    from t2ibench.engine import evaluation_plan
    from t2ibench.evaluators.training import run_info
    from t2ibench.io import write_json

    t0 = time.time()
    entry = MODELS.get(name)
    overrides = dict(overrides or {})
    if epochs is not None:
        overrides.setdefault("train", {})["epochs"] = int(epochs)
    if dataset is not None:
        overrides["dataset"] = dataset
    config = entry.config(config_name, **overrides)
    ds_name = config["dataset"]
    kwargs = {"image_size": config["image_size"]}
    if ds_name != "shapes":
        if data_root is None:
            raise ValueError(f"{name} config {config_name!r} trains on {ds_name!r}: pass --data-root")
        kwargs["root"] = data_root
    elif n_train is not None:
        kwargs.update(n_train=n_train, n_test=64, progress=False)
    train_split, test_split = config.get("splits", ("train", "test")) if ds_name == "shapes" else ("train", "test")
    train_ds = load_dataset(ds_name, split=train_split, **kwargs)
    test_ds = load_dataset(ds_name, split=test_split, **kwargs)
    text_encoder = text_encoder_for(config, ds_name, weights=text_encoder_weights, device=device)
    if config["text_dim"] != text_encoder.dim:
        raise ValueError(f"{name}: config text_dim {config['text_dim']} != the text encoder's width {text_encoder.dim}")
    # a model with a text encoder of its own in its generator (KT-GAN's guided one) sizes it by the zoo text
    # encoder's tokenizer: its config's vocab_size / max_len None are filled in here (and so saved with it)
    for key in ("vocab_size", "max_len"):
        if key in config:
            value = getattr(text_encoder.tokenizer, key)
            if config[key] is None:
                config[key] = value
            elif config[key] != value:
                raise ValueError(f"{name}: config {key} {config[key]} != the text encoder's tokenizer's {value}")

    torch.manual_seed(seed)
    model = entry.build(config)
    model.text_encoder = text_encoder
    pretrained = model.load_pretrained_parts(ds_name, device=device)
    run_dir = Path(out_dir) / name
    init_report = [] if (run_dir / "checkpoint.safetensors").exists() else initialise(
        model, config["train"].get("init_from"), ds_name)
    captions = evaluation_plan(test_ds, SAMPLE_GRID, seed)
    probe = (accuracy_probe(test_ds, text_encoder, model.noise_dim, probe_n, seed)
             if ds_name == "shapes" and probe_n else None)
    data = GANTrainingData(train_ds, text_encoder, model.image_sizes, seed, config["train"], model.batch_extras)
    trainer = GANTrainer(model, data, run_dir, device=device, seed=seed, progress=progress,
                         sample_text=(captions, text_encoder.encode(captions)), amp=amp, probe=probe,
                         init_report=init_report)
    history = trainer.fit(steps_per_epoch=steps_per_epoch, max_steps=max_steps)
    # the training time of the whole run, resumed parts included: the sum of its epochs' wall times (each
    # epoch's steps; the held-out probe and the sample grid after it are not training)
    train_time = training_minutes(history)[-1] * 60 if history else 0.0
    if trainer.rank != 0:
        return {}

    export_dir = ZOO_WEIGHTS_DIR if ship else run_dir
    path = weights_path(name, ds_name, export_dir)
    generator = trainer.sampling_generator()
    digest = save_generator(generator.state_dict(), path, config)
    manifest = {
        "name": f"{name}-{ds_name}", "model": name, "paper": entry.paper, "config_name": config_name,
        "weights_file": path.name, "sha256": digest, "dtype": "float16", "config": config,
        "text_encoder": text_encoder.describe(), "text_encoder_sha256": text_encoder.sha256,
        "init_from": trainer.init_report, "pretrained": pretrained,
        "command": command or f"python -m models.train {name} --config {config_name} --seed {seed}",
        "seed": seed, "device": str(device), "epochs": config["train"]["epochs"],
        "dataset": {"name": ds_name, "image_size": config["image_size"], "n_train": len(train_ds),
                    "train_fingerprint": train_ds.fingerprint},
    }
    if quality_n and ds_name == "shapes":
        write_json(path.with_suffix(".json"), manifest)
        from t2ibench import distributed

        with distributed.local_only():  # rank 0 alone: the other ranks have returned
            manifest["quality"] = check_quality(name, path, test_ds, quality_n, seed, device, text_encoder_weights)
    manifest.update(run_info(t0, history, train_time_s=train_time))
    write_json(path.with_suffix(".json"), manifest)
    return manifest


def check_quality(name: str, path, test_ds, n_images: int = 1000, seed: int = 0, device: str = "cpu",
                  text_encoder_weights=None) -> dict:
    """The conditioning check of :func:`models.common.quality.quality_report` on exactly what was saved: the
    fp16 weights file ``path``, read back through the public loader."""
    from models.common.quality import quality_report
    from models.common.zoo import load_pretrained

    shipped = load_pretrained(name, test_ds, device=device, weights=path, text_encoder_weights=text_encoder_weights)
    return quality_report(shipped, test_ds, n_images=n_images, seed=seed)


def recheck(names, n_images: int = 1000, device: str = "cpu") -> None:
    """Re-run the conditioning check of the shipped tiny weights of ``names`` (their manifests' seed and
    test split) and store it in their manifests with the date (``quality_checked``): for manifests written
    before the check measured R-precision. Training records are left as they are."""
    import datetime

    from models.common.zoo import weights_path
    from t2ibench.data import load_dataset
    from t2ibench.io import write_json

    for name in names:
        path = weights_path(name, "shapes")
        manifest = json.loads(path.with_suffix(".json").read_text())
        config = manifest["config"]
        test_ds = load_dataset("shapes", split=config.get("splits", ("train", "test"))[1],
                               image_size=config["image_size"])
        manifest["quality"] = check_quality(name, path, test_ds, n_images, manifest["seed"], device)
        manifest["quality_checked"] = datetime.date.today().isoformat()
        write_json(path.with_suffix(".json"), manifest)
        print(f"{name}: {manifest['quality']}", flush=True)


#: the tiny recipe's targets (issue 11): shapes-classifier accuracy on 1000 test captions, within
#: TRAIN_BUDGET_MIN minutes of training on this machine's CPU
ACCURACY_TARGETS = {"attngan": 0.5, "dmgan": 0.5}
ACCURACY_FLOOR = 0.25
TRAIN_BUDGET_MIN = 30


def accuracy_target(model: str) -> float:
    return ACCURACY_TARGETS.get(model, ACCURACY_FLOOR)


def training_minutes(history: list[dict]) -> list[float]:
    """Minutes of training after each epoch of a run's ``history``, the one definition of a model's training
    time (the manifest's ``train_time_s`` is the last): the running sum of the epochs' CPU times
    (``cpu_seconds``: the training process, all its threads — on one thread the time the epoch takes on a
    quiet machine, however many other jobs share it), or of their wall times for epochs recorded before
    the trainer measured CPU time (an upper bound: the wall time counts the other jobs' share too)."""
    return list(accumulate(r.get("cpu_seconds", r["seconds"]) / 60 for r in history))


def probe_curve(manifest: dict) -> tuple[list[float], list[float]]:
    """``(minutes of training after each epoch, probe accuracy after it)`` from a manifest's history."""
    history = manifest.get("history", [])
    minutes = training_minutes(history)
    points = [(t, r["probe_class_accuracy"]) for t, r in zip(minutes, history) if "probe_class_accuracy" in r]
    return [t for t, _ in points], [a for _, a in points]


def minutes_to_target(manifest: dict, last: int = 3) -> float | None:
    """Training minutes at which the probe curve would reach the model's target, by a straight line through
    its ``last`` points (least squares); ``None`` when the curve is flat (slope <= 1e-6 per minute) or falling
    there, or too short."""
    import numpy as np

    t, a = probe_curve(manifest)
    if len(t) < 2:
        return None
    t, a = np.array(t[-last:]), np.array(a[-last:])
    slope, intercept = np.polyfit(t, a, 1)
    return None if slope <= 1e-6 else float((accuracy_target(manifest["model"]) - intercept) / slope)


def shipped_manifests(folder) -> list[Path]:
    """The ``*-shapes.json`` manifests in ``folder`` and its model sub-folders (ablation variants), sorted
    by model name."""
    return sorted(Path(folder).rglob("*-shapes.json"), key=lambda p: p.relative_to(folder).as_posix())


def report(folder=None) -> str:
    """A markdown table of the shipped zoo weights in ``folder`` (default ``models/weights/``), read from
    their manifests: training time (:func:`training_minutes` of the history) and threads, epochs,
    the conditioning check on shapes against the tiny recipe's target, and — for a model below its target
    — the training time a straight line through its last three probe points would need to reach it."""
    from models.common.text_encoder import ZOO_WEIGHTS_DIR

    folder = Path(folder or ZOO_WEIGHTS_DIR)
    rows = ["| model | config | epochs | train time (threads) | class accuracy (chance 0.021) | target | "
            "time to target (extrapolated) | FID | FID of noise | R-precision | R-precision of real-mismatched |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for path in shipped_manifests(folder):
        m = json.loads(path.read_text())
        if "model" not in m or "/" in m["model"] or "history" not in m:
            continue  # a text encoder or a stand-in; an ablation variant (the variants table); a run still checked
        q = m.get("quality", {})
        accuracy, target = q.get("class_accuracy", float("nan")), accuracy_target(m["model"])
        minutes, probes = probe_curve(m)
        trained = training_minutes(m["history"])[-1]
        if accuracy >= target:
            reach = "reached"
        elif len(minutes) < 2:
            reach = "no curve"
        else:
            need = minutes_to_target(m)
            reach = ("flat: not by more time" if need is None else f"≈ {need:.0f} min" if need > trained else
                     f"past it on the 256 held-out captions ({probes[-1]:.2f})")
        rows.append(f"| `{m['model']}` | {m['config_name']} | {m['epochs']} | {trained:.1f} min "
                    f"({m['torch_threads']}) | {accuracy:.3f} | {target:.2f} | {reach} | "
                    f"{q.get('fid', float('nan')):.1f} | {q.get('fid_noise', float('nan')):.1f} | "
                    f"{q.get('r_precision', float('nan')):.3f} | {q.get('r_precision_mismatched', float('nan')):.3f} |")
    return "\n".join(rows)


def variants_table(folder=None) -> str:
    """A markdown table of every registered ablation variant: the paper table whose row it is, what it
    changes, its config overrides, its tiny budget (epochs) and, once its tiny weights are shipped in
    ``folder`` (default ``models/weights/``), its training time and conditioning check from the manifest
    (class accuracy, FID, R-precision on 1000 test captions; "not yet" otherwise). Below the table, each
    paper table's budget: its rows' epochs, how many rows are shipped and their CPU time in all."""
    from models.common.text_encoder import ZOO_WEIGHTS_DIR
    from models.common.zoo import MODELS, list_variants, weights_path

    folder = Path(folder or ZOO_WEIGHTS_DIR)
    rows = ["| variant | paper table | row | overrides | tiny epochs | train time | class accuracy | FID | R-precision |",
            "|---|---|---|---|---:|---:|---:|---:|---:|"]
    budgets: dict[str, dict] = {}
    for name in sorted(list_variants(), key=lambda n: (MODELS.get(n).variant.table, n)):
        entry = MODELS.get(name)
        epochs = entry.config("tiny")["train"]["epochs"]
        budget = budgets.setdefault(entry.variant.table, {"epochs": set(), "rows": 0, "shipped": 0, "minutes": 0.0})
        budget["epochs"].add(epochs)
        budget["rows"] += 1
        overrides = ", ".join(f"`{k}={json.dumps(v)}`" for k, v in entry.variant.overrides.items() if k != "train")
        manifest = weights_path(name, "shapes", folder).with_suffix(".json")
        m = json.loads(manifest.read_text()) if manifest.is_file() else {}
        if "history" in m:           # written last, after the conditioning check
            q, minutes = m.get("quality", {}), training_minutes(m["history"])[-1]
            budget["shipped"] += 1
            budget["minutes"] += minutes
            measured = (f"{minutes:.1f} min | {q.get('class_accuracy', float('nan')):.3f} | "
                        f"{q.get('fid', float('nan')):.1f} | {q.get('r_precision', float('nan')):.3f}")
        else:
            measured = "not yet | | |"
        rows.append(f"| `{name}` | {entry.variant.table} | {entry.variant.description} | {overrides or '—'} | "
                    f"{epochs} | {measured} |")
    rows.append("")
    for table, b in budgets.items():
        rows.append(f"- {table}: {'/'.join(map(str, sorted(b['epochs'])))} tiny epochs a row; {b['shipped']} of "
                    f"{b['rows']} rows shipped, {b['minutes']:.1f} min of CPU time in all")
    rows.append(f"- all tables: {sum(b['shipped'] for b in budgets.values())} of {len(list_variants())} rows "
                f"shipped, {sum(b['minutes'] for b in budgets.values()):.1f} min of CPU time in all")
    return "\n".join(rows)


def plot_curves(folder=None, out=None) -> Path | None:
    """Class accuracy on held-out captions after every epoch against training time, one line per shipped
    model (from the ``probe_class_accuracy`` of its manifest's history), with the targets of the tiny
    recipe; written to ``out`` (default ``leaderboards/zoo/accuracy_vs_time.png``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from models.common.text_encoder import ZOO_WEIGHTS_DIR
    from t2ibench.plots import save_figure

    lines = []
    for path in shipped_manifests(folder or ZOO_WEIGHTS_DIR):
        m = json.loads(path.read_text())
        if "model" in m and "/" not in m["model"] and probe_curve(m)[0]:   # zoo models, not their variants
            lines.append((m["model"], *probe_curve(m), m.get("quality", {}).get("class_accuracy")))
    if not lines:
        return None
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for model, x, y, final in lines:
        ax.plot(x, y, marker="o", ms=3, label=f"{model} (final {final:.2f} on 1000)" if final is not None else model)
    ax.axvline(TRAIN_BUDGET_MIN, color="grey", ls="--", lw=1)
    ax.text(TRAIN_BUDGET_MIN, 0, f" budget {TRAIN_BUDGET_MIN} min", fontsize=7, color="grey")
    for target, text in ((max(ACCURACY_TARGETS.values()), "target AttnGAN, DM-GAN"), (ACCURACY_FLOOR, "floor, every model"),
                         (1 / 48, "chance")):
        ax.axhline(target, color="grey", ls=":", lw=1)
        ax.text(0, target, text, fontsize=7, va="bottom", color="grey")
    ax.set_xlabel("training time (min: CPU time of one thread; wall time for runs recorded before it was measured)")
    ax.set_ylabel(f"shapes-classifier accuracy, {PROBE_N} held-out captions")
    ax.set_title("tiny zoo on shapes: does the model draw the caption's colour and shape?")
    ax.legend(fontsize=7)
    out = Path(out or CURVES_PNG)
    save_figure(fig, out)
    return out


def main(argv=None) -> int:
    import models  # noqa: F401
    from models.common.zoo import list_models, list_variants

    p = argparse.ArgumentParser(prog="python -m models.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="*", help=f"zoo models to train ({', '.join(list_models())})")
    p.add_argument("--all", action="store_true", help="train every zoo model, one after another")
    p.add_argument("--config", default="tiny",
                   help="config name: tiny (shapes, 64 px, 2 CPU cores; default), paper (the paper's CUB setting at "
                        "full size, for a GPU), code (the released code where it differs from the paper: stackgan, "
                        "hdgan), paper-coco (attngan, dmgan)")
    p.add_argument("--out", default=RUNS_DIR, help="run folder: OUT/NAME/ holds checkpoint, samples, loss curves "
                                                   "(default %(default)s)")
    p.add_argument("--ship", action="store_true", help="export the trained generators into models/weights/ (what "
                                                        "benchmark.py scores) instead of OUT/NAME/")
    p.add_argument("--seed", type=int, default=0, help="seed of initialisation, data order and noise (default 0)")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--epochs", type=int, default=None, help="override the config's number of epochs")
    p.add_argument("--data-root", default=None, help="folder of your copy of the dataset (not needed for shapes)")
    p.add_argument("--dataset", default=None, help="train on this dataset instead of the config's (shapes, cub, "
                                                   "flowers, coco; with --data-root)")
    p.add_argument("--text-encoder-weights", default=None, metavar="PATH",
                   help="the zoo text encoder to condition on (a DAMSM .safetensors with its manifest; default "
                        "models/weights/damsm-<dataset>.safetensors). Make one for a real dataset with: python -m "
                        "t2ibench.evaluators.damsm --dataset coco --data-root DATA --backbone cnn --out DIR --seed 1; "
                        "or AttnGAN's released DAMSM: TEXT_ENCODER.pth,CAPTIONS.pickle, e.g. "
                        "DAMSMencoders/bird/text_encoder200.pth,data/birds/captions.pickle")
    p.add_argument("--max-steps", type=int, default=None, metavar="N",
                   help="stop after N training steps in all (a smoke run: the cut epoch counts as done)")
    p.add_argument("--workers", type=int, default=None, metavar="K",
                   help="DataLoader workers decoding real images (default: the config's, 0 for shapes)")
    p.add_argument("--probe-n", type=int, default=PROBE_N,
                   help="held-out shapes captions scored by the shapes classifier after every epoch, for the "
                        "accuracy-vs-training-time curve (0: none; default %(default)s)")
    p.add_argument("--quality-n", type=int, default=1000,
                   help="test captions for the conditioning check on shapes (0 skips it; default %(default)s)")
    p.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    p.add_argument("--report", action="store_true", help="print a markdown table of the shipped weights' manifests "
                                                          "(training time, conditioning check), draw their "
                                                          "accuracy-vs-training-time curves and exit")
    p.add_argument("--variants", action="store_true",
                   help="print a markdown table of the ablation variants (paper table, row, overrides, budget) and exit")
    p.add_argument("--recheck", action="store_true",
                   help="re-run the conditioning check (class accuracy, FID beside noise, R-precision beside "
                        "real-mismatched) of the named models' shipped tiny weights, update their manifests and exit")
    p.add_argument("--curves", default=CURVES_PNG, metavar="PNG",
                   help="with --report: where the curves go (default %(default)s)")
    args = p.parse_args(argv)
    if args.variants:
        print(variants_table())
        return 0
    if args.report:
        print(report())
        plot_curves(out=args.curves)
        return 0
    for flag in ("max_steps", "workers"):
        if getattr(args, flag) is not None and getattr(args, flag) < (1 if flag == "max_steps" else 0):
            p.error(f"--{flag.replace('_', '-')}: expected a positive number, got {getattr(args, flag)}")
    names = list_models() if args.all else args.names
    if not names:
        p.error("name at least one model, or pass --all")
    unknown = [n for n in names if n not in list_models(variants=True)]
    if unknown:
        p.error(f"unknown zoo model(s) {', '.join(unknown)}; known: {', '.join(list_models())}; ablation variants: "
                f"{', '.join(list_variants()) or '(none)'}")
    if args.recheck:
        recheck(names, args.quality_n or 1000, args.device)
        return 0
    for name in names:
        cmd = f"python -m models.train {name} --config {args.config} --seed {args.seed}" + (
            " --ship" if args.ship else "") + (f" --epochs {args.epochs}" if args.epochs else "") + (
            f" --dataset {args.dataset}" if args.dataset else "") + (
            f" --max-steps {args.max_steps}" if args.max_steps else "")
        overrides = {"train": {"workers": args.workers}} if args.workers is not None else None
        try:
            manifest = train_model(name, args.config, args.out, args.ship, args.seed, args.device, args.epochs,
                                   args.data_root, not args.no_progress, args.quality_n, amp=not args.no_amp,
                                   command=cmd, max_steps=args.max_steps,
                                   text_encoder_weights=args.text_encoder_weights, dataset=args.dataset,
                                   overrides=overrides, probe_n=args.probe_n)
        except ValueError as e:
            message = str(e)
            print(f"error: {message if message.startswith(name + ':') else f'{name}: {message}'}", file=sys.stderr)
            return 2
        if manifest:
            print(json.dumps({k: manifest.get(k) for k in ("name", "sha256", "train_time_s", "quality")}, indent=2),
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
