"""The project's CI gate: the shipped checkpoints on a small ``shapes`` run against a committed baseline.

Every zoo model with shipped ``shapes`` weights (``models/weights/<name>-shapes.safetensors``; the
ablation variants excluded) is evaluated with every default metric (``defaults.DEFAULT_METRICS``) on
:data:`N_IMAGES` captions of the ``shapes`` test split at seed :data:`SEED`, on the CPU, and each
result is compared with the committed baseline ``<folder>/<generator>.json`` by
:func:`t2ibench.compare.compare` — reproduce mode: every metric within the cross-machine tolerance
(``defaults.COMPARE_RTOL`` relative, ``COMPARE_ATOL`` near zero, ``COMPARE_HITS`` hits for the
retrieval shares). So a change to a metric, an evaluator, the engine, the dataset or a model's code or
weights that moves any number fails, with the table of what moved. ::

    python -m t2ibench.gate write tests/baselines/shapes-gate    # (re)make the baseline (~2 min, 2 cores)
    python -m t2ibench.gate check tests/baselines/shapes-gate    # evaluate again and compare: exit 1 on a move
    python -m t2ibench.gate check tests/baselines/shapes-gate --generators hdgan --metrics fid,ssim

The test suite runs the same comparison on a cheaper selection (``tests/test_ci_gate.py`` says which).
A baseline records, besides the result, the checkpoint it was made from (``provenance.gate``: the
weights' and the model code's sha256), so a failure says whether the checkpoint itself changed since.
Volatile provenance (time, seconds, cache paths) is left out, so that a deliberately rewritten baseline
differs in git only where numbers or versions changed.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from t2ibench.compare import Comparison, compare
from t2ibench.io import safe_filename
from t2ibench.result import EvalResult

DATASET = "shapes"
N_IMAGES = 300
SEED = 0
#: provenance entries that differ from run to run or machine to machine: not kept in a baseline
VOLATILE = ("seconds", "time", "cache")


def gate_generators() -> list[str]:
    """The shipped checkpoints: zoo models (not their ablation variants) with weights for ``shapes``."""
    from t2ibench.registry import list_generators

    try:
        from models.common.zoo import MODELS, has_weights
    except ModuleNotFoundError:  # installed without the zoo: nothing shipped to gate
        return []
    list_generators()  # imports the zoo, which registers its models
    return [n for n in MODELS.names() if "/" not in n and has_weights(n, DATASET)]


def baseline_path(folder, generator: str) -> Path:
    return Path(folder) / f"{safe_filename(generator)}.json"


def evaluate_checkpoint(name: str, dataset=None, metrics=None, generator=None, image_dir=None) -> EvalResult:
    """``name`` evaluated the gate's way (``metrics`` default: every default metric). ``generator``: an
    already loaded generator to evaluate under ``name`` (e.g. one with perturbed weights);
    ``image_dir``: keep the generated images there (a later call with the same folder reads them back)."""
    from t2ibench.data import load_dataset
    from t2ibench.engine import evaluate
    from t2ibench.registry import load_generator

    dataset = load_dataset(DATASET, split="test", progress=False) if dataset is None else dataset
    generator = load_generator(name, dataset=dataset, device="cpu") if generator is None else generator
    result = evaluate(generator, dataset, metrics=metrics, n_images=N_IMAGES, seed=SEED, device="cpu",
                      progress=False, generator_name=name, image_dir=image_dir)
    result.provenance = {k: v for k, v in result.provenance.items() if k not in VOLATILE}
    fingerprint = getattr(generator, "fingerprint", None)
    result.provenance["gate"] = {"command": "python -m t2ibench.gate write", "dataset": DATASET,
                                 "n_images": N_IMAGES, "seed": SEED,
                                 "checkpoint": fingerprint if isinstance(fingerprint, dict) else None}
    return result


def write_baseline(folder, generators=None, progress: bool = True) -> list[Path]:
    """Evaluate ``generators`` (default: :func:`gate_generators`) with every default metric and write
    ``<folder>/<generator>.json``; returns the paths written."""
    import warnings

    from t2ibench.data import load_dataset

    dataset = load_dataset(DATASET, split="test", progress=progress)
    written = []
    for name in generators or gate_generators():
        with warnings.catch_warnings():  # the small-n warnings are kept in the result's "warnings"
            warnings.simplefilter("ignore", UserWarning)
            result = evaluate_checkpoint(name, dataset)
        path = baseline_path(folder, name)
        result.save(path)
        written.append(path)
        if progress:
            print(f"wrote {path}", flush=True)
    return written


def checkpoint_note(baseline: EvalResult, new: EvalResult) -> str:
    """A line saying whether the checkpoint (weights, model code) differs from the baseline's."""
    old = (baseline.provenance.get("gate") or {}).get("checkpoint")
    now = (new.provenance.get("gate") or {}).get("checkpoint")
    if not old or not now:
        return ""
    changed = [k.replace("_sha256", "") for k in sorted(set(old) | set(now)) if old.get(k) != now.get(k)]
    if not changed:
        return f"{new.generator}: same weights and model code as when the baseline was made"
    return (f"{new.generator}: its {' and '.join(changed)} changed since the baseline was made: if that was "
            f"deliberate, rewrite the baseline (python -m t2ibench.gate write) and commit it saying why")


def report(name: str, comparison: Comparison, baseline: EvalResult | None = None, new: EvalResult | None = None
           ) -> str:
    """The readable text of one gate comparison: a title line, compare's table and a checkpoint note."""
    lines = [f"gate: {name} on {DATASET} (n={N_IMAGES}, seed={SEED}), {comparison.mode} mode", comparison.table()]
    note = checkpoint_note(baseline, new) if baseline is not None and new is not None else ""
    return "\n".join(lines + ([note] if note else []))


def check(folder, generators=None, metrics=None, mode: str = "reproduce") -> list[tuple[str, Comparison, str]]:
    """Evaluate ``generators`` (default: every baseline in ``folder``) and compare each with its baseline;
    returns ``(generator, comparison, report text)`` per generator."""
    import warnings

    from t2ibench.data import load_dataset

    names = generators or sorted(p.stem for p in Path(folder).glob("*.json"))
    if not names:
        raise ValueError(f"{folder}: no baseline <generator>.json; make them with: python -m t2ibench.gate write "
                         f"{folder}")
    dataset = load_dataset(DATASET, split="test", progress=False)
    out = []
    for name in names:
        path = baseline_path(folder, name)
        if not path.is_file():
            raise ValueError(f"no baseline for {name!r}: {path} does not exist")
        baseline = EvalResult.load(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            new = evaluate_checkpoint(baseline.generator, dataset, metrics=metrics)
        comparison = compare(baseline, new, mode=mode, metrics=metrics)
        out.append((name, comparison, report(name, comparison, baseline, new)))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m t2ibench.gate", description=__doc__.split("\n\n")[0])
    p.add_argument("action", choices=["write", "check"], help="write the baseline, or check against it")
    p.add_argument("folder", nargs="?", default="tests/baselines/shapes-gate",
                   help="the baseline folder (default %(default)s)")
    p.add_argument("--generators", default=None, help="comma-separated checkpoints (default: every shipped one)")
    p.add_argument("--metrics", default=None, help="check: comma-separated metrics (default: every one)")
    p.add_argument("--mode", choices=["reproduce", "regress"], default="reproduce", help="check: compare's mode")
    args = p.parse_args(argv)
    generators = [g.strip() for g in args.generators.split(",") if g.strip()] if args.generators else None
    try:
        if args.action == "write":
            if args.metrics:
                raise ValueError("--metrics: a baseline always holds every default metric")
            write_baseline(args.folder, generators)
            return 0
        metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
        failed = 0
        for _, comparison, text in check(args.folder, generators, metrics, args.mode):
            print(text + "\n", flush=True)
            failed += not comparison.ok
        print(f"gate: {'FAIL' if failed else 'PASS'} ({failed} of the checked generators moved)")
        return 1 if failed else 0
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
