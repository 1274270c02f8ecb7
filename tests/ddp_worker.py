"""Run by tests/test_models_ddp.py under ``torchrun --nproc_per_node 2``: two CPU processes (gloo)
train gan-int-cls for two steps on different halves of each batch order; each rank writes its
generator parameters so the test can check that the gradient all-reduce kept them identical."""
from __future__ import annotations

import os
import sys

import torch

import models  # noqa: F401
from models.common.data import GANTrainingData
from models.common.text_encoder import FrozenTextEncoder
from models.common.trainer import GANTrainer
from models.common.zoo import MODELS
from t2ibench.data import load_dataset


def main(out: str) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    entry = MODELS.get("gan-int-cls")
    model = entry.build(entry.config("tiny", train={"batch_size": 8, "epochs": 1}))
    text_encoder = FrozenTextEncoder("shapes")
    data = GANTrainingData(load_dataset("shapes", split="train", n_train=64, n_test=64, progress=False),
                           text_encoder, model.image_sizes, seed=0)
    trainer = GANTrainer(model, data, out, progress=False)
    trainer.fit(steps_per_epoch=2)
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in model.generator.named_parameters()},
              os.path.join(out, f"rank{trainer.rank}.safetensors"))


if __name__ == "__main__":
    main(sys.argv[1])
