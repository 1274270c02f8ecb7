"""HDGAN's MS-SSIM diversity protocol scored as the images stream by (issue 15, point 3): the pairs are
drawn before any image exists, every chunking gives the whole-array values exactly, and only the images
that a pending pair needs are kept."""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
import torch

from t2ibench import evaluate
from t2ibench.engine import evaluation_plan
from t2ibench.metrics import ms_ssim, ms_ssim_diversity
from t2ibench.metrics.ms_ssim import MSSSIMDiversityStream

from toy import ToyDataset


def _images(n: int, classes: int, seed: int, size: int = 32) -> tuple[torch.Tensor, np.ndarray]:
    """``n`` noisy copies of ``classes`` base images (values spread out, so pairs differ) and their labels."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (classes, 3, size, size))
    labels = rng.integers(0, classes, n)
    noisy = np.clip(base[labels] + rng.integers(-70, 70, (n, 3, size, size)), 0, 255).astype(np.uint8)
    return torch.from_numpy(noisy), labels


def _reference_pairs(labels: np.ndarray, per_class: int, overall: int, seed: int) -> list[list[tuple[int, int]]]:
    """The protocol's draws written out plainly: per sorted class, then overall, every pair (i < j) of the
    group listed in row-major order, then ``rng.choice`` of ``k`` of them without replacement (all of
    them when ``k`` covers them), one ``default_rng(seed)`` for all draws."""
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(labels == c) for c in np.unique(labels)] + [np.arange(len(labels))]
    drawn = []
    for g, k in zip(groups, [per_class] * (len(groups) - 1) + [overall]):
        if g.size < 2:
            continue
        every = list(combinations(g.tolist(), 2))
        picked = every if k >= len(every) else [every[r] for r in np.sort(rng.choice(len(every), k, replace=False))]
        drawn.append(picked)
    return drawn


def test_pairs_are_drawn_before_any_image_as_the_protocol_draws_them():
    _, labels = _images(90, 4, seed=1)
    labels[labels == 3] = 2  # three classes left
    labels[7] = 9            # a class of one image: skipped, no draw
    stream = MSSSIMDiversityStream(90, labels, pairs_per_class=25, pairs_overall=60, seed=5)
    a, b = stream.pairs
    expected = _reference_pairs(labels, 25, 60, 5)
    assert list(zip(a.tolist(), b.tolist())) == [p for group in expected for p in group]
    assert (a < b).all() and stream.n_pairs == sum(len(g) for g in expected)


@pytest.mark.parametrize("variant", ["piq", "hdgan-code"])
def test_every_chunking_gives_the_whole_array_values_exactly(variant):
    images, labels = _images(140, 5, seed=2)
    kw = dict(pairs_per_class=30, pairs_overall=120, seed=3, variant=variant, batch_size=16)
    whole = ms_ssim_diversity(images, labels, **kw)
    for chunk in (1, 7, 50, 139):
        stream = MSSSIMDiversityStream(len(images), labels, **kw)
        for s in range(0, len(images), chunk):
            stream.update(images[s:s + chunk])
        assert stream.result() == whole, chunk
        assert stream.held == 0


def test_values_are_the_mean_ms_ssim_of_the_drawn_pairs():
    """An independent reduction: each drawn pair's MS-SSIM computed alone, means in float64."""
    images, labels = _images(60, 3, seed=4)
    got = ms_ssim_diversity(images, labels, pairs_per_class=20, pairs_overall=50, seed=1)
    groups = _reference_pairs(labels, 20, 50, 1)
    means = [np.mean([float(ms_ssim(images[i:i + 1], images[j:j + 1])) for i, j in g]) for g in groups]
    assert got["per_class"] == pytest.approx(dict(zip(range(3), means[:3])), rel=1e-6)
    assert got["ms_ssim_classwise"] == pytest.approx(np.mean(means[:3]), rel=1e-6)
    assert got["ms_ssim_overall"] == pytest.approx(means[3], rel=1e-6)


def test_only_images_that_a_pending_pair_needs_are_kept():
    n = 600
    images, labels = _images(n, 6, seed=6, size=16)
    stream = MSSSIMDiversityStream(n, labels, pairs_per_class=3, pairs_overall=5, seed=0, batch_size=4)
    a, b = stream.pairs
    touched = np.unique(np.concatenate([a, b])).size
    most = 0
    for s in range(0, n, 50):
        stream.update(images[s:s + 50])
        # an image is kept past its chunk only while a pair with a later image is pending
        waiting = {int(i) for i, j in zip(a, b) if i < s + 50 <= j}
        assert stream.held <= len(waiting) + 2 * 4 - 2  # + the pairs of an incomplete batch
        most = max(most, stream.held)
    assert stream.peak_held == most <= touched <= 2 * stream.n_pairs == 46
    assert stream.held == 0


def test_stream_errors_are_clear():
    images, labels = _images(10, 2, seed=7, size=16)
    stream = MSSSIMDiversityStream(10, labels, pairs_per_class=4, pairs_overall=4)
    stream.update(images[:6])
    with pytest.raises(ValueError, match="6 of the 10 images arrived"):
        stream.result()
    with pytest.raises(ValueError, match=r"\(3, 16, 12\) from image 6 on, after \(3, 16, 16\)"):
        stream.update(images[6:8, :, :, :12])
    with pytest.raises(ValueError, match="got 12 images, 2 more than the 10"):
        stream.update(torch.cat([images, images])[6:12])
    with pytest.raises(ValueError, match="class_ids: expected 10 labels"):
        MSSSIMDiversityStream(10, labels[:9])
    with pytest.raises(ValueError, match="n: expected a positive int"):
        MSSSIMDiversityStream(0)


def test_the_engine_keeps_no_image_beyond_the_pairs_needs(monkeypatch):
    from t2ibench import defaults
    from t2ibench.generators.reference import UniformNoise

    monkeypatch.setattr(defaults, "MS_SSIM_PAIRS_PER_CLASS", 4)
    monkeypatch.setattr(defaults, "MS_SSIM_PAIRS_OVERALL", 6)
    streams = []
    monkeypatch.setattr(MSSSIMDiversityStream, "result",
                        lambda self, _f=MSSSIMDiversityStream.result: streams.append(self) or _f(self))
    toy = ToyDataset(300)
    got = evaluate(UniformNoise(32), toy, metrics=["ms-ssim"], n_images=300, seed=2, progress=False)
    (stream,) = streams
    assert stream.n_pairs == 3 * 4 + 6 and stream.peak_held <= 2 * stream.n_pairs < 300
    images = UniformNoise(32).generate(["x"] * 300, seed=2)  # per-caption seeds: the run's images
    labels = np.array([toy.class_id(c.image_index) for c in evaluation_plan(toy, 300, 2)])
    whole = ms_ssim_diversity(images, labels, pairs_per_class=4, pairs_overall=6, seed=2)
    assert got.metrics["ms-ssim"]["value"] == whole["ms_ssim_classwise"]
    assert got.metrics["ms-ssim"]["ms_ssim_overall"] == whole["ms_ssim_overall"]
