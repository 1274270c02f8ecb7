"""Train zoo models: ``python -m models.train NAME [NAME ...] [--config tiny|paper] [--ship]``.

For each model: build it from its config (:mod:`models.common.zoo`), load the dataset's
``train`` split and the zoo's own text encoder, train with :class:`models.common.trainer.GANTrainer`
(checkpoint + resume, per-epoch sample grids, loss curves in ``OUT/NAME/``), then export the
(EMA) generator as fp16 safetensors with a manifest — into ``models/weights/`` with
``--ship`` (what ``python benchmark.py`` scores), else into ``OUT/NAME/``. On ``shapes`` the
manifest records the conditioning check of :mod:`models.common.quality` (domain-classifier
accuracy on test captions, FID beside the ``noise`` row).

The shipped tiny checkpoints were made with::

    python -m models.train --all --config tiny --ship

Re-running an interrupted command resumes each model from ``OUT/NAME/checkpoint.safetensors``.
Multi-GPU: ``torchrun --nproc_per_node K -m models.train NAME --config paper --device cuda``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

RUNS_DIR = "runs/zoo"


def train_model(name: str, config_name: str = "tiny", out_dir=RUNS_DIR, ship: bool = False, seed: int = 0,
                device: str = "cpu", epochs: int | None = None, data_root=None, progress: bool = True,
                quality_n: int = 1000, max_steps: int | None = None, text_encoder_weights=None,
                amp: bool = True, command: str | None = None, overrides: dict | None = None,
                n_train: int | None = None) -> dict:
    """Train ``name`` with config ``config_name``, export its generator, return the manifest.

    ``max_steps`` caps the steps per epoch, ``overrides`` changes config keys and ``n_train``
    shrinks the ``shapes`` train split (and its test split to 64 images; smoke tests); ``quality_n=0``
    skips the conditioning check.
    """
    import models  # noqa: F401  (registers the zoo)
    from models.common.checkpoint import save_generator
    from models.common.data import GANTrainingData
    from models.common.quality import quality_report
    from models.common.text_encoder import ZOO_WEIGHTS_DIR, FrozenTextEncoder
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
    config = entry.config(config_name, **overrides)
    ds_name = config["dataset"]
    kwargs = {"image_size": config["image_size"]}
    if ds_name != "shapes":
        if data_root is None:
            raise ValueError(f"{name} config {config_name!r} trains on {ds_name!r}: pass --data-root")
        kwargs["root"] = data_root
    elif n_train is not None:
        kwargs.update(n_train=n_train, n_test=64, progress=False)
    train_ds = load_dataset(ds_name, split="train", **kwargs)
    test_ds = load_dataset(ds_name, split="test", **kwargs)
    text_encoder = FrozenTextEncoder(ds_name, weights=text_encoder_weights, device=device)
    if config["text_dim"] != text_encoder.dim:
        raise ValueError(f"{name}: config text_dim {config['text_dim']} != the text encoder's width {text_encoder.dim}")

    torch.manual_seed(seed)
    model = entry.build(config)
    model.text_encoder = text_encoder
    run_dir = Path(out_dir) / name
    captions = evaluation_plan(test_ds, SAMPLE_GRID, seed)
    trainer = GANTrainer(model, GANTrainingData(train_ds, text_encoder, model.image_sizes, seed), run_dir,
                         device=device, seed=seed, progress=progress,
                         sample_text=(captions, text_encoder.encode(captions)), amp=amp)
    t_train = time.time()
    history = trainer.fit(max_steps=max_steps)
    train_time = time.time() - t_train
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
        "command": command or f"python -m models.train {name} --config {config_name} --seed {seed}",
        "seed": seed, "device": str(device), "epochs": config["train"]["epochs"],
        "dataset": {"name": ds_name, "image_size": config["image_size"], "n_train": len(train_ds),
                    "train_fingerprint": train_ds.fingerprint},
    }
    if quality_n and ds_name == "shapes":
        # measure exactly what was saved: the fp16 file, read back through the public loader path
        from models.common.zoo import load_pretrained

        write_json(path.with_suffix(".json"), manifest)
        shipped = load_pretrained(name, test_ds, device=device, weights=path,
                                  text_encoder_weights=text_encoder_weights)
        manifest["quality"] = quality_report(shipped, test_ds, n_images=quality_n, seed=seed)
    manifest.update(run_info(t0, history, train_time_s=train_time))
    write_json(path.with_suffix(".json"), manifest)
    return manifest


def report(folder=None) -> str:
    """A markdown table of the shipped zoo weights in ``folder`` (default ``models/weights/``), read from
    their manifests: training time and threads, epochs, and the conditioning check on shapes."""
    from models.common.text_encoder import ZOO_WEIGHTS_DIR

    folder = Path(folder or ZOO_WEIGHTS_DIR)
    rows = ["| model | config | epochs | train time (threads) | class accuracy (chance 0.021) | FID | FID of noise |",
            "|---|---|---:|---:|---:|---:|---:|"]
    for path in sorted(folder.glob("*-shapes.json")):
        m = json.loads(path.read_text())
        if "model" not in m:
            continue  # the zoo's text encoder
        q = m.get("quality", {})
        rows.append(f"| `{m['model']}` | {m['config_name']} | {m['epochs']} | {m['train_time_s'] / 60:.1f} min "
                    f"({m['torch_threads']}) | {q.get('class_accuracy', float('nan')):.3f} | {q.get('fid', float('nan')):.1f} "
                    f"| {q.get('fid_noise', float('nan')):.1f} |")
    return "\n".join(rows)


def main(argv=None) -> int:
    import models  # noqa: F401
    from models.common.zoo import list_models

    p = argparse.ArgumentParser(prog="python -m models.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="*", help=f"zoo models to train ({', '.join(list_models())})")
    p.add_argument("--all", action="store_true", help="train every zoo model, one after another")
    p.add_argument("--config", default="tiny", help="config name: tiny (shapes, 64 px, CPU; default) or paper")
    p.add_argument("--out", default=RUNS_DIR, help="run folder: OUT/NAME/ holds checkpoint, samples, loss curves "
                                                   "(default %(default)s)")
    p.add_argument("--ship", action="store_true", help="export the trained generators into models/weights/ (what "
                                                        "benchmark.py scores) instead of OUT/NAME/")
    p.add_argument("--seed", type=int, default=0, help="seed of initialisation, data order and noise (default 0)")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--epochs", type=int, default=None, help="override the config's number of epochs")
    p.add_argument("--data-root", default=None, help="folder of your copy of the dataset (not needed for shapes)")
    p.add_argument("--quality-n", type=int, default=1000,
                   help="test captions for the conditioning check on shapes (0 skips it; default %(default)s)")
    p.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    p.add_argument("--report", action="store_true", help="print a markdown table of the shipped weights' manifests "
                                                          "(training time, conditioning check) and exit")
    args = p.parse_args(argv)
    if args.report:
        print(report())
        return 0
    names = list_models() if args.all else args.names
    if not names:
        p.error("name at least one model, or pass --all")
    unknown = [n for n in names if n not in list_models()]
    if unknown:
        p.error(f"unknown zoo model(s) {', '.join(unknown)}; known: {', '.join(list_models())}")
    for name in names:
        cmd = f"python -m models.train {name} --config {args.config} --seed {args.seed}" + (
            " --ship" if args.ship else "") + (f" --epochs {args.epochs}" if args.epochs else "")
        try:
            manifest = train_model(name, args.config, args.out, args.ship, args.seed, args.device, args.epochs,
                                   args.data_root, not args.no_progress, args.quality_n, amp=not args.no_amp,
                                   command=cmd)
        except ValueError as e:
            print(f"error: {name}: {e}", file=sys.stderr)
            return 2
        if manifest:
            print(json.dumps({k: manifest.get(k) for k in ("name", "sha256", "train_time_s", "quality")}, indent=2),
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
