"""The evaluators' training loop: loss goes down, resume equals an uninterrupted run, bad checkpoints."""
from __future__ import annotations

import pytest
import torch

from t2ibench.evaluators.training import TrainConfig, fit


def _problem(seed=0):
    torch.manual_seed(seed)
    x = torch.randn(64, 5)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0]) + 0.1
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    return model, (lambda idx: ((model(x[idx]).squeeze(1) - y[idx]) ** 2).mean())


def test_loss_decreases():
    model, loss = _problem()
    hist = fit(model, loss, 64, TrainConfig(epochs=30, batch_size=16, lr=1e-2), progress=False)
    assert hist[-1]["loss"] < 0.2 * hist[0]["loss"]


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path):
    cfg = TrainConfig(epochs=6, batch_size=16, lr=1e-2, seed=3)
    model_a, loss_a = _problem()
    fit(model_a, loss_a, 64, cfg, progress=False)

    ckpt = tmp_path / "ckpt.pt"
    model_b, loss_b = _problem()
    fit(model_b, loss_b, 64, TrainConfig(**{**cfg.__dict__, "epochs": 6}), checkpoint=ckpt, progress=False)
    # "interrupt" after 2 epochs: train a fresh model to epoch 2, then resume to 6 from its checkpoint
    ckpt2 = tmp_path / "ckpt2.pt"
    model_c, loss_c = _problem()
    fit(model_c, loss_c, 64, TrainConfig(**{**cfg.__dict__, "epochs": 2}), checkpoint=ckpt2, progress=False)
    state = torch.load(ckpt2, weights_only=True)
    state["config"]["epochs"] = 6  # the resumed command asks for 6 epochs
    torch.save(state, ckpt2)
    model_d, loss_d = _problem()
    hist = fit(model_d, loss_d, 64, cfg, checkpoint=ckpt2, progress=False)
    assert [h["epoch"] for h in hist] == [1, 2, 3, 4, 5, 6]
    for a, d in zip(model_a.state_dict().values(), model_d.state_dict().values()):
        assert torch.allclose(a, d, atol=1e-6)


def test_corrupt_or_foreign_checkpoint_is_a_clear_error(tmp_path):
    model, loss = _problem()
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00garbage")
    with pytest.raises(ValueError, match="unreadable or corrupt.*delete it"):
        fit(model, loss, 64, TrainConfig(epochs=1, batch_size=16), checkpoint=bad, progress=False)
    torch.save({"weights": torch.zeros(1)}, bad)
    with pytest.raises(ValueError, match="not a t2ibench evaluator checkpoint"):
        fit(model, loss, 64, TrainConfig(epochs=1, batch_size=16), checkpoint=bad, progress=False)


def test_a_checkpoint_of_other_settings_is_refused(tmp_path):
    ckpt = tmp_path / "c.pt"
    model, loss = _problem()
    fit(model, loss, 64, TrainConfig(epochs=1, batch_size=16), checkpoint=ckpt, progress=False)
    with pytest.raises(ValueError, match="another configuration"):
        fit(model, loss, 64, TrainConfig(epochs=2, batch_size=32), checkpoint=ckpt, progress=False)


def test_fewer_items_than_a_batch_trains_on_one_batch_with_a_warning():
    model, loss = _problem()
    with pytest.warns(UserWarning, match="fewer than one batch of 16; training on one batch of 8"):
        hist = fit(model, loss, 8, TrainConfig(epochs=2, batch_size=16), progress=False)
    assert len(hist) == 2
    with pytest.raises(ValueError, match="at least 2 training items"):
        fit(model, loss, 1, TrainConfig(batch_size=16), progress=False)
