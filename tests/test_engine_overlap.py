"""The engine's producer thread (issue 15, point 2): generation, shard read-back and real-image
decoding run ahead of feature extraction and the metrics, with the sequential loop's results bit for bit,
the producer's errors re-raised as they are, and nothing left running or half-written when the loop stops."""
from __future__ import annotations

import threading

import pytest
import torch

from t2ibench import engine, evaluate
from t2ibench.generators.reference import UniformNoise


METRICS = ["fid@toy", "kid@toy", "is@toy", "ssim", "ms-ssim"]


pytestmark = pytest.mark.usefixtures("few_ms_ssim_pairs")  # tests/conftest.py


class InLine:
    """The sequential loop: the same items, produced in the caller's thread when asked for."""

    def __init__(self, items, depth):
        self.items = items

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def __iter__(self):
        with torch.inference_mode():
            yield from self.items


def _producers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "t2ibench-producer"]


def test_the_producer_thread_gives_the_sequential_results_bit_for_bit(toy, monkeypatch):
    kw = dict(metrics=METRICS, n_images=130, batch_size=7, seed=3, progress=False)
    overlapped = evaluate(UniformNoise(32), toy, **kw)
    monkeypatch.setattr(engine, "Prefetched", InLine)
    sequential = evaluate(UniformNoise(32), toy, **kw)
    assert overlapped.metrics == sequential.metrics
    assert overlapped.provenance["distinct_images"] == sequential.provenance["distinct_images"] == 130


class Failing(UniformNoise):
    """Noise that fails with ``error`` on the call that starts at plan entry ``at``; records its calls."""

    def __init__(self, at, error):
        super().__init__(32)
        self.at, self.error, self.calls = at, error, []

    def generate(self, captions, seed=0):
        self.calls.append(seed)
        if seed == self.at:
            raise self.error
        return super().generate(captions, seed)


@pytest.mark.parametrize("error", [ValueError("caption 40 is not in my vocabulary"), OSError("weights file gone")])
def test_a_producer_error_reaches_the_caller_as_it_was_raised(toy, error):
    gen = Failing(40, error)
    with pytest.raises(type(error)) as got:
        evaluate(gen, toy, metrics=["ssim"], n_images=60, batch_size=10, seed=0, progress=False)
    assert got.value is error and str(got.value) == str(error)
    assert any(f.name == "generate" for f in __import__("traceback").extract_tb(got.value.__traceback__))
    assert not _producers()


def test_an_error_in_the_loop_stops_the_producer(toy, monkeypatch):
    from t2ibench import defaults
    from t2ibench.metrics.ms_ssim import MSSSIMDiversityStream

    def broken(self, images):
        raise RuntimeError("metric broke on the first chunk")

    monkeypatch.setattr(MSSSIMDiversityStream, "update", broken)
    gen = Failing(None, None)
    with pytest.raises(RuntimeError, match="metric broke on the first chunk"):
        evaluate(gen, toy, metrics=["ms-ssim"], n_images=60, batch_size=10, seed=0, progress=False)
    assert not _producers()
    # the loop took one chunk (5 calls of 10 images); the producer ran at most its queue plus one chunk ahead
    assert len(gen.calls) <= 5 * (2 + defaults.PREFETCH_CHUNKS)


def test_an_interrupted_loop_keeps_the_finished_shards_and_resumes(toy, tmp_path, monkeypatch):
    from t2ibench.metrics.ms_ssim import MSSSIMDiversityStream

    kw = dict(metrics=["ssim", "ms-ssim"], n_images=60, batch_size=10, seed=0, progress=False,
              image_dir=tmp_path / "images", shard_size=20, generator_name="noise-32", reuse_images=True)
    reference = evaluate(UniformNoise(32), toy, **{**kw, "image_dir": None})
    update, seen = MSSSIMDiversityStream.update, []

    def interrupted(self, images):
        seen.append(len(images))
        if sum(seen) > 50:  # Ctrl-C while the loop works on the second chunk
            raise KeyboardInterrupt
        update(self, images)

    monkeypatch.setattr(MSSSIMDiversityStream, "update", interrupted)
    with pytest.raises(KeyboardInterrupt):
        evaluate(UniformNoise(32), toy, **kw)
    assert not _producers()
    shards = sorted(p.name for p in (tmp_path / "images").glob("shard-*"))
    assert shards[:3] == ["shard-00000", "shard-00001", "shard-00002"][:len(shards)] and len(shards) >= 2
    assert not list((tmp_path / "images").glob(".shard-*"))  # nothing half-written
    monkeypatch.setattr(MSSSIMDiversityStream, "update", update)
    resumed = evaluate(UniformNoise(32), toy, **kw)
    assert resumed.provenance["images"]["shards_read_back"] == len(shards)
    assert resumed.metrics == reference.metrics


def test_prefetched_alone():
    with engine.Prefetched(iter(range(10)), depth=3) as items:
        assert list(items) == list(range(10))
    with pytest.raises(ValueError, match="depth"):
        engine.Prefetched(iter(()), depth=0)


def test_the_producer_thread_runs_on_the_callers_cuda_device(monkeypatch):
    """Under torchrun each rank's main thread sets cuda:LOCAL_RANK; the current CUDA device is per
    thread, so the producer sets the same one before producing (no GPU here: torch.cuda's calls are
    recorded instead of run)."""
    calls = []
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 3)
    monkeypatch.setattr(torch.cuda, "set_device", lambda d: calls.append((threading.current_thread().name, d)))
    with engine.Prefetched(iter([1, 2]), depth=1) as items:
        assert list(items) == [1, 2]
    assert calls == [("t2ibench-producer", 3)]
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: False)  # CPU runs never touch CUDA
    with engine.Prefetched(iter([1]), depth=1) as items:
        assert list(items) == [1]
    assert len(calls) == 1
