"""Determinism (issue 5.3): same seed => the same images and metric values, bit for bit, whatever
the batch size; another seed => other values; a change of float32 kernels (as on another
machine) stays within the documented tolerance that ``t2ibench compare`` checks."""
from __future__ import annotations

import json

import pytest
import torch

from t2ibench import defaults, evaluate
from t2ibench.engine import aligned_chunks
from t2ibench.generators.base import run_aligned
from t2ibench.registry import load_generator
from t2ibench.result import EvalResult, compare_results

METRICS = ["is", "fid", "ssim", "r-precision", "rank1", "clipscore", "cmd"]
N = 120



@pytest.fixture(scope="module")
def attngan(shapes_test):
    return load_generator("attngan", dataset=shapes_test)


def _eval(gen, ds, **kw):
    kw = {"metrics": METRICS, "n_images": N, "seed": 0, "batch_size": 50, "progress": False,
          "generator_name": "attngan", **kw}
    return evaluate(gen, ds, **kw)


def _values(result) -> dict:
    return {k: (v["value"], v.get("std")) for k, v in result.metrics.items()}


@pytest.fixture(scope="module")
def reference(attngan, shapes_test):
    return _eval(attngan, shapes_test)


def test_same_seed_gives_identical_values_for_any_batch_size(reference, attngan, shapes_test):
    for batch_size in (50, 13):
        assert _values(_eval(attngan, shapes_test, batch_size=batch_size)) == _values(reference), batch_size


def test_another_seed_gives_other_values(reference, attngan, shapes_test):
    other = _eval(attngan, shapes_test, seed=1)
    for metric in ("is", "fid", "ssim", "clipscore", "cmd"):
        assert other.value(metric) != reference.value(metric), metric


def test_zoo_images_do_not_depend_on_how_captions_are_split(attngan, shapes_test):
    captions = [shapes_test.captions(i)[0] for i in range(60)]
    whole = attngan.generate(captions, seed=10)
    pieces = torch.cat([attngan.generate(captions[i:i + 13], seed=10 + i) for i in range(0, 60, 13)])
    assert torch.equal(whole, pieces)
    assert not torch.equal(whole, attngan.generate(captions, seed=11))


def test_run_aligned_computes_every_row_in_a_full_batch_at_its_key_position():
    seen = []

    def make_batch(rows):
        seen.append(list(rows))
        return torch.tensor(rows) * 10

    out = run_aligned(make_batch, n=9, seed=3, chunk=4)  # keys 3..11: [3] [4..7] [8..11]
    assert out.tolist() == [10 * j for j in range(9)]
    assert all(len(rows) == 4 for rows in seen)
    assert seen[0][3] == 0 and seen[1] == [1, 2, 3, 4] and seen[2] == [5, 6, 7, 8]


def test_aligned_chunks_do_not_depend_on_the_incoming_batches():
    images = torch.arange(23).view(23, 1, 1, 1)

    def chunks(batch):
        batches = ((s, min(s + batch, 23), images[s:s + batch]) for s in range(0, 23, batch))
        return [(a, b, x.flatten().tolist()) for a, b, x in aligned_chunks(batches, 5)]

    expected = [(s, min(s + 5, 23), list(range(s, min(s + 5, 23)))) for s in range(0, 23, 5)]
    assert chunks(1) == chunks(4) == chunks(23) == expected


def test_other_float32_kernels_stay_within_the_documented_tolerance(reference, attngan, shapes_test):
    """Turning oneDNN off swaps the convolution kernels, as another CPU would: the values move in the
    last float32 bits, and ``compare_results`` with the default tolerance accepts them."""
    torch.backends.mkldnn.enabled = False
    try:
        other = _eval(attngan, shapes_test)
    finally:
        torch.backends.mkldnn.enabled = True
    if _values(other) == _values(reference):
        pytest.skip("turning oneDNN off changes no float32 result on this machine; nothing to tolerate")
    rows = compare_results(other, reference)
    assert all(r["ok"] for r in rows), [r for r in rows if not r["ok"]]
    tight = compare_results(other, reference, rtol=1e-12, atol=0.0)
    assert not all(r["ok"] for r in tight)  # and the tolerance is what accepts the change


def test_compare_flags_a_real_change_and_refuses_other_runs(reference, tmp_path, capsys):
    from t2ibench.cli import main

    changed = EvalResult(**json.loads(reference.to_json()))
    changed.metrics["fid"]["value"] *= 1 + 10 * defaults.COMPARE_RTOL
    rows = {r["metric"]: r["ok"] for r in compare_results(changed, reference)}
    assert rows["fid"] is False and all(ok for m, ok in rows.items() if m != "fid")
    reference.save(tmp_path / "ref.json")
    changed.save(tmp_path / "new.json")
    assert main(["compare", str(tmp_path / "ref.json"), str(tmp_path / "ref.json")]) == 0
    assert main(["compare", str(tmp_path / "new.json"), str(tmp_path / "ref.json")]) == 1
    assert "differ: fid" in capsys.readouterr().out
    other_seed = EvalResult(**{**json.loads(reference.to_json()), "seed": 5})
    with pytest.raises(ValueError, match=r"different runs.*seed: 0 \(baseline\) vs 5 \(new\)"):
        compare_results(other_seed, reference)
