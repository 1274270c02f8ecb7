"""Time one training step of every zoo model's ``tiny`` config on real ``shapes`` batches and
extrapolate the full training time on this machine (epochs × steps per epoch × seconds per step).

    python benchmarks/bench_zoo_training.py --threads 2 --steps 10

The shipped manifests record each run's own wall time (``train_time_s``), measured as the
runs were made (two models at a time, one thread each); this script measures a model alone
with the threads you give it, so both numbers can be compared. Not a test: timings depend
on the machine.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time

import torch


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2, help="torch threads (default %(default)s)")
    p.add_argument("--steps", type=int, default=10, help="timed steps per model after 2 warm-up steps")
    p.add_argument("--models", default=None, help="comma-separated zoo models (default: all)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    import models  # noqa: F401  (registers the zoo)
    from models.common.data import GANTrainingData
    from models.common.text_encoder import FrozenTextEncoder
    from models.common.trainer import GANTrainer
    from models.common.zoo import MODELS, list_models, weights_path
    from models.train import training_minutes
    from t2ibench.data import load_dataset
    from t2ibench.evaluators.training import epoch_order

    text_encoder = FrozenTextEncoder("shapes")
    train = load_dataset("shapes", split="train")
    print(f"| model | phase | s/step ({args.threads} threads) | steps/epoch | epochs | estimated training | "
          f"recorded (threads) |\n|---|---|---:|---:|---:|---:|---:|")
    scratch = tempfile.mkdtemp(prefix="t2ibench-bench-zoo-")  # the trainer's run folder; nothing is written to it
    for name in (args.models.split(",") if args.models else list_models()):
        entry = MODELS.get(name)
        config = entry.config("tiny")
        torch.manual_seed(0)
        model = entry.build(config)
        model.text_encoder = text_encoder
        data = GANTrainingData(train, text_encoder, model.image_sizes, 0, config["train"], model.batch_extras)
        trainer = GANTrainer(model, data, scratch, progress=False)
        bs = config["train"]["batch_size"]
        order, steps = epoch_order(len(train), 0, 0), len(train) // bs
        manifest = weights_path(name, "shapes").with_suffix(".json")
        recorded = ""
        if manifest.is_file():
            m = json.loads(manifest.read_text())
            recorded = f"{training_minutes(m['history'])[-1]:.1f} min ({m['torch_threads']})"
        total = 0.0
        for index, phase in enumerate(trainer.phases):   # every phase at its own step cost (StackGAN's Stage-II)
            trainer.enter_phase(index)
            model.train()
            times = []
            for s in range(args.steps + 2):
                batch = data.batch(order[s * bs:(s + 1) * bs], 0, "cpu")
                t0 = time.perf_counter()
                trainer.step(batch, torch.randn(bs, model.noise_dim))
                times.append(time.perf_counter() - t0)
            per_step = sorted(times[2:])[len(times[2:]) // 2]
            total += per_step * steps * phase.epochs
            print(f"| `{name}` | {phase.name} | {per_step:.3f} | {steps} | {phase.epochs} | "
                  f"{per_step * steps * phase.epochs / 60:.1f} min | |", flush=True)
        print(f"| `{name}` | all | | | | {total / 60:.1f} min | {recorded} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
