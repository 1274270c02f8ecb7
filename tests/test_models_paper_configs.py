"""Every full-size config of the zoo trains (issue: "every `paper` config runs").

One real training step of every phase of every ``paper`` / ``code`` / ``paper-coco`` config, at
the config's full image size and widths, on tiny batches of real ``shapes`` images rendered at
that size (CUB is not available here), through ``models.train.train_model`` — the same path as
``python -m models.train`` — and the documented COCO command line on the real
``../shared/data/coco-mini`` images with a zoo text encoder trained by the documented command
(the DAMSM's ``cnn`` backbone as the stand-in for ImageNet Inception-v3). Slow: minutes on 2 cores.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import torch

import models  # noqa: F401  (registers the zoo)
from models.common.checkpoint import load_training_state
from models.common.trainer import CHECKPOINT
from models.common.zoo import MODELS, list_models
from models.train import train_model
from zoo_lists import OWN_TEST_FILE

FULL_SIZE = [(name, config) for name in list_models() if name not in OWN_TEST_FILE
             for config in MODELS.get(name).configs if config != "tiny"]
COCO = [(name, config) for name, config in FULL_SIZE if config == "paper-coco"]
#: train overrides that make every phase of a model last one epoch (the trainer then runs one step of each)
ONE_EPOCH_PER_PHASE = {"stackgan": {"stage1_epochs": 1, "epochs": 2}}
REPO = __import__("pathlib").Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("name", "config_name"), FULL_SIZE, ids=[f"{n}-{c}" for n, c in FULL_SIZE])
def test_full_size_config_takes_a_real_training_step_in_every_phase(name, config_name, tmp_path):
    entry = MODELS.get(name)
    train = {"batch_size": 2, **ONE_EPOCH_PER_PHASE.get(name, {"epochs": 1})}
    config = entry.config(config_name, dataset="shapes", train=train)
    torch.manual_seed(0)
    initial = entry.build(config)
    phases = [p.name for p in initial.phases()]

    manifest = train_model(name, config_name, out_dir=tmp_path, dataset="shapes", n_train=4, steps_per_epoch=1,
                           quality_n=0, probe_n=0, progress=False, overrides={"train": train})

    assert [h["phase"] for h in manifest["history"]] == phases, "one epoch of one step per phase"
    losses = [v for h in manifest["history"] for k, v in h.items() if k.endswith("_loss")]
    assert losses and all(math.isfinite(v) for v in losses)
    state = load_training_state(tmp_path / name / CHECKPOINT)
    for network in {"generator"} | ({"discriminators"} if len(initial.discriminators) else set()):
        before = getattr(initial, network).state_dict()
        after = state[network]
        moved = [k for k, v in before.items() if v.is_floating_point() and not torch.equal(v, after[k])]
        assert moved, f"{name} {config_name}: no weight of {network} changed in the step"
    # the exported generator makes images of the config's full size
    out = initial.generator.eval()(_encoded(2, config["text_dim"]), torch.randn(2, initial.noise_dim))
    assert [tuple(x.shape[-2:]) for x in out.images] == [(s, s) for s in initial.image_sizes]
    assert initial.image_sizes[-1] == config["image_size"] == entry.configs[config_name]["image_size"]


def _encoded(n: int, dim: int, words: int = 18):
    from models.common.text_encoder import EncodedText

    lengths = torch.tensor([words] * n)
    return EncodedText(torch.randn(n, dim), torch.randn(n, dim, words), torch.zeros(n, words, dtype=torch.bool),
                       lengths)


@pytest.fixture(scope="module")
def coco_text_encoder(tmp_path_factory, shared_dir):
    """The zoo text encoder for coco-mini, made by the command the README and ``models.train --help`` give."""
    out = tmp_path_factory.mktemp("damsm-coco")
    subprocess.run([sys.executable, "-m", "t2ibench.evaluators.damsm", "--dataset", "coco", "--data-root",
                    str(shared_dir / "data" / "coco-mini"), "--backbone", "cnn", "--out", str(out), "--seed", "1",
                    "--epochs", "1", "--no-progress"], check=True, cwd=REPO)
    return out / "damsm-coco.safetensors"


@pytest.mark.parametrize(("name", "config_name"), COCO, ids=[f"{n}-{c}" for n, c in COCO])
def test_coco_config_trains_on_real_coco_images_from_the_command_line(name, config_name, coco_text_encoder,
                                                                      shared_dir, tmp_path):
    cmd = [sys.executable, "-m", "models.train", name, "--config", config_name, "--data-root",
           str(shared_dir / "data" / "coco-mini"), "--text-encoder-weights", str(coco_text_encoder),
           "--max-steps", "2", "--out", str(tmp_path), "--no-progress"]
    workers = {"dmgan": 0}.get(name)            # one run with --workers, one with the config's 4 workers
    cmd += ["--workers", str(workers)] if workers is not None else []
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    manifest = json.loads((tmp_path / name / f"{name}-coco.json").read_text())
    assert manifest["dataset"]["name"] == "coco" and manifest["config"]["image_size"] == 256
    assert manifest["config"]["train"]["workers"] == (4 if workers is None else workers)
    assert manifest["text_encoder"]["backbone"].startswith("cnn")      # the stand-in, named
    assert all(math.isfinite(v) for h in manifest["history"] for k, v in h.items() if k.endswith("_loss"))
    assert (tmp_path / name / f"{name}-coco.safetensors").is_file()
