"""The CI gate on a committed baseline (issue 13, point 6): shipped checkpoints vs ``tests/baselines/shapes-gate``.

The baseline holds one ``<generator>.json`` per shipped checkpoint (every zoo model with ``shapes``
weights): every default metric, n = 300 captions of the ``shapes`` test split, seed 0, on the CPU, made by
``python -m t2ibench.gate write tests/baselines/shapes-gate`` (:mod:`t2ibench.gate`; the folder's README
says how to update it). Here the same checkpoints are evaluated the same way and compared with it by
:func:`t2ibench.compare.compare`: reproduce mode is the gate (every number within the cross-machine
tolerance: 1e-4 relative, 2 hits for the retrieval shares, ``defaults.COMPARE_*``); regress mode is shown
beside it. When the gate fails, the assertion message is compare's table of what moved.

**Coverage and cost.** Evaluating one checkpoint with every default metric at n = 300 took 10–13 s with
one thread on this 2-core machine (under load from other jobs; the metrics, not the generation, cost it:
MS-SSIM ~4 s, FSIM and FSIMc ~1.7 s each, the other ten together ~4 s, generation 0.5–2.6 s), so all ten
with every metric would cost ~2 min of the suite's ~20-minute budget on their own. The suite therefore
checks **every shipped checkpoint** and **every default metric**, but not every pair:

- :data:`FULL` (attngan, hdgan): every default metric — this guards the metrics' and evaluators' code,
  the engine and the dataset;
- the other eight: every default metric except :data:`PIXEL_ONLY` (FSIM, FSIMc, MS-SSIM: functions of
  the pixels alone, whose code the two full checkpoints already guard) — this guards each model's code and
  weights, and any change of their images moves SSIM (paired, pixel by pixel), FID/KID/IS and the text-image
  metrics, which stay in.

``python -m t2ibench.gate check`` compares all ten with every metric (the complete gate, ~2 min) where that
is wanted. Perturbations show that the gate catches what it is for: a shipped checkpoint's weights with 1 %
noise (a copy of the safetensors file), and a metric's code scaled by 1.01; regress mode, meant for a new
model against a baseline, lets both pass (they are within its seed-to-seed tolerance) and flags only a
large degradation.

Measured cost of this file, one thread, while two training jobs shared the 2 cores: 79 s in all — attngan
with every metric 12 s (+10 s computing the real-image feature cache, which the suite's other tests share),
hdgan 11 s, each of the other eight 2.6–4.2 s, the checkpoint perturbation 3.3 s, the two metric
perturbations 2.4 s each (they reread attngan's kept images instead of generating), the CLI check 2.4 s.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from t2ibench import defaults, gate
from t2ibench.compare import compare
from t2ibench.result import EvalResult

BASELINE = Path(__file__).resolve().parent / "baselines" / "shapes-gate"
BASELINED = sorted(p.stem for p in BASELINE.glob("*.json"))
FULL = ("attngan", "hdgan")
PIXEL_ONLY = ("fsim", "fsimc", "ms-ssim")
CHEAP_METRICS = [m for m in defaults.DEFAULT_METRICS if m not in PIXEL_ONLY]
#: the checkpoint perturbed in (b): the cheapest to generate (0.5 s for 300 images), a few metrics
PERTURBED = "gan-int-cls"
PERTURB_METRICS = ["is", "fid", "ssim", "clipscore", "r-precision"]


def _metrics(name: str):
    return None if name in FULL else CHEAP_METRICS


def _baseline(name: str) -> EvalResult:
    return EvalResult.load(gate.baseline_path(BASELINE, name))


@pytest.fixture(autouse=True)
def _quiet_small_n_warnings():
    """n = 300 is below the FID guidance and KID's subset size: the results record these warnings."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


@pytest.fixture(scope="module")
def kept_attngan(tmp_path_factory, shapes_test):
    """attngan's gate evaluation (every metric), its generated images kept for (c) to read back."""
    import warnings

    image_dir = tmp_path_factory.mktemp("gate") / "attngan-images"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return gate.evaluate_checkpoint("attngan", shapes_test, image_dir=image_dir), image_dir


def test_baseline_covers_every_shipped_checkpoint_with_every_default_metric(shapes_test):
    assert BASELINED == sorted(gate.gate_generators()), (
        "the shipped checkpoints and tests/baselines/shapes-gate differ: add or remove baselines with "
        "python -m t2ibench.gate write tests/baselines/shapes-gate --generators NAME (see its README)")
    for name in BASELINED:
        b = _baseline(name)
        assert (b.generator, b.n_images, b.seed) == (name, gate.N_IMAGES, gate.SEED)
        assert list(b.metrics) == list(defaults.DEFAULT_METRICS)
        assert b.dataset["name"] == "shapes" and b.dataset["fingerprint"] == shapes_test.fingerprint, (
            "the shapes test split changed (its fingerprint): every number moves with it; rewrite the baseline")
        assert b.provenance["gate"]["checkpoint"]["weights_sha256"]  # what the failure hint compares with
    assert set(FULL) <= set(BASELINED) and PERTURBED in BASELINED


@pytest.mark.parametrize("name", BASELINED)
def test_gate_unchanged_checkpoint_passes(name, shapes_test, kept_attngan):
    """(a) Each shipped checkpoint, evaluated again, agrees with its baseline in both modes."""
    metrics = _metrics(name)
    new = kept_attngan[0] if name == "attngan" else gate.evaluate_checkpoint(name, shapes_test, metrics=metrics)
    baseline = _baseline(name)
    for mode in ("reproduce", "regress"):
        comparison = compare(baseline, new, mode=mode, metrics=metrics)
        assert comparison.ok, "\n" + gate.report(name, comparison, baseline, new)
        assert {r["verdict"] for r in comparison.rows} == {"ok"}
        assert [r["metric"] for r in comparison.rows] == list(metrics or defaults.DEFAULT_METRICS)


def _perturbed_copy(name: str, folder: Path, scale: float) -> Path:
    """A copy of shipped checkpoint ``name`` whose every float tensor has Gaussian noise of ``scale`` times
    its own std added (seed 0), with a manifest carrying the new sha256: what a retrained or corrupted
    checkpoint looks like to the benchmark."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file

    from models.common.zoo import weights_path
    from t2ibench.io import sha256_file

    src, out = weights_path(name, "shapes"), folder / f"{name}-shapes.safetensors"
    with safe_open(str(src), framework="pt") as f:
        metadata, state = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    g = torch.Generator().manual_seed(0)
    for key, v in state.items():
        if v.is_floating_point() and v.numel() > 1:
            state[key] = (v.float() + scale * v.float().std() * torch.randn(v.shape, generator=g)).to(v.dtype)
    save_file(state, str(out), metadata=metadata)
    manifest = json.loads(src.with_suffix(".json").read_text())
    out.with_suffix(".json").write_text(json.dumps({**manifest, "sha256": sha256_file(out)}))
    return out


def _row(table: str, metric: str) -> str:
    return next(line for line in table.splitlines() if line.split()[:1] == [metric])


def test_gate_fails_naming_the_metrics_when_a_shipped_checkpoint_is_perturbed(tmp_path, shapes_test):
    """(b) 1 % weight noise in a copy of a shipped checkpoint: reproduce mode fails and its table names the
    metrics that moved; regress mode (seed-to-seed tolerance) lets so small a change pass; 30 % noise degrades
    the images enough for regress mode to fail too."""
    from t2ibench.registry import load_generator

    baseline = _baseline(PERTURBED)
    verdicts = {}
    for scale in (0.01, 0.3):
        folder = tmp_path / f"noise-{scale}"
        folder.mkdir()
        generator = load_generator(PERTURBED, dataset=shapes_test, weights=_perturbed_copy(PERTURBED, folder, scale))
        new = gate.evaluate_checkpoint(PERTURBED, shapes_test, metrics=PERTURB_METRICS, generator=generator)
        for mode in ("reproduce", "regress"):
            comparison = compare(baseline, new, mode=mode, metrics=PERTURB_METRICS)
            verdicts[scale, mode] = comparison
        text = gate.report(PERTURBED, verdicts[scale, "reproduce"], baseline, new)
        assert "its weights changed since the baseline was made" in text, text
    small = verdicts[0.01, "reproduce"]
    assert not small.ok and small.exit_code == 1
    moved = small.names("DIFFERS")
    assert {"fid", "ssim"} <= set(moved), small.table()
    table = small.table()
    for metric in moved:
        assert "DIFFERS" in _row(table, metric) and "moved beyond the tolerance" in _row(table, metric)
    assert table.splitlines()[-1].startswith("FAIL (reproduce)") and ", ".join(moved) in table.splitlines()[-1]
    assert verdicts[0.01, "regress"].ok, verdicts[0.01, "regress"].table()
    large = verdicts[0.3, "regress"]
    assert not large.ok and {"fid", "ssim", "is"} <= set(large.names("REGRESSED")), large.table()
    assert "REGRESSED" in _row(large.table(), "fid")


@pytest.mark.parametrize("metric, function", [("ssim", "ssim"), ("fid", "frechet_distance")])
def test_gate_fails_naming_the_metric_when_its_code_is_perturbed(metric, function, kept_attngan, monkeypatch,
                                                                  shapes_test):
    """(c) One metric's function scaled by 1.01, recomputed from attngan's kept images (read back, not
    generated): reproduce mode fails naming exactly that metric; regress mode lets 1 % pass and flags 20 %
    in the worse direction."""
    import t2ibench.metrics as metrics_module

    _, image_dir = kept_attngan
    baseline = _baseline("attngan")
    original = getattr(metrics_module, function)
    compared = [metric, "is", "ssim" if metric != "ssim" else "fid"]  # the perturbed one and two bystanders
    results = {}
    for factor in (1.01, 0.8 if metric == "ssim" else 1.2):  # the worse direction: lower SSIM, higher FID
        monkeypatch.setattr(metrics_module, function, lambda *a, f=factor, **k: original(*a, **k) * f)
        results[factor] = gate.evaluate_checkpoint("attngan", shapes_test, metrics=compared, image_dir=image_dir)
        assert results[factor].provenance["images"]["shards_read_back"] == results[factor].provenance["images"][
            "shards"]  # only the metrics were recomputed
    monkeypatch.setattr(metrics_module, function, original)

    small = compare(baseline, results[1.01], mode="reproduce", metrics=compared)
    assert small.names("DIFFERS") == [metric], small.table()
    row = _row(small.table(), metric)
    assert "DIFFERS" in row and "+1.00%" in row
    assert compare(baseline, results[1.01], mode="regress", metrics=compared).ok
    large = max(results) if metric == "fid" else min(results)
    regressed = compare(baseline, results[large], mode="regress", metrics=compared)
    assert regressed.names("REGRESSED") == [metric], regressed.table()
    # and unperturbed, the same kept images reproduce the baseline exactly as (a) did
    again = gate.evaluate_checkpoint("attngan", shapes_test, metrics=compared, image_dir=image_dir)
    assert compare(baseline, again, mode="reproduce", metrics=compared).ok


def test_gate_cli_check_reports_a_table_and_exit_status(tmp_path, capsys, monkeypatch):
    """``python -m t2ibench.gate check``: exit 0 when nothing moved, 1 with the table when something did."""
    baseline = json.loads(gate.baseline_path(BASELINE, PERTURBED).read_text())
    assert gate.main(["check", str(BASELINE), "--generators", PERTURBED, "--metrics", "ssim,is"]) == 0
    assert "PASS (reproduce)" in capsys.readouterr().out
    baseline["metrics"]["ssim"]["value"] *= 1.001  # a baseline 0.1 % off: the rerun "moved"
    (tmp_path / f"{PERTURBED}.json").write_text(json.dumps(baseline))
    assert gate.main(["check", str(tmp_path), "--metrics", "ssim,is"]) == 1
    out = capsys.readouterr().out
    assert "DIFFERS" in _row(out.split("\n", 1)[1], "ssim") and "gate: FAIL" in out
    assert "same weights and model code as when the baseline was made" in out
    assert gate.main(["check", str(tmp_path / "none")]) == 2
