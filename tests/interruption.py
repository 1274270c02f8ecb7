"""Killing a training run in the middle of an epoch, for the resume tests of the zoo (the generic models in
``test_models_zoo.py`` and each seed model's own test file)."""
from __future__ import annotations

from collections.abc import Callable

import pytest

from models.common.data import GANTrainingData


def killed_in_epoch(monkeypatch, epoch: int, run: Callable[[], object]) -> None:
    """Call ``run()`` with the training data raising ``KeyboardInterrupt`` at the first batch of ``epoch``
    (0-based) — the process killed in the middle of training — and check that it did; the real batches are
    restored afterwards, so the next ``run()`` resumes from the last checkpoint."""
    real_batch = GANTrainingData.batch

    def dies(self, idx, e, device, *args):
        if e == epoch:
            raise KeyboardInterrupt
        return real_batch(self, idx, e, device, *args)

    monkeypatch.setattr(GANTrainingData, "batch", dies)
    with pytest.raises(KeyboardInterrupt):
        run()
    monkeypatch.setattr(GANTrainingData, "batch", real_batch)


def without_timings(history: list[dict]) -> list[dict]:
    """A training history with its wall and CPU seconds left out (the only fields a resumed run may change)."""
    return [{k: v for k, v in h.items() if k not in ("seconds", "cpu_seconds")} for h in history]
