"""(b) Inception feature extraction (images/s) and FID on the same folders of PNGs:
t2ibench's ``inception-v3-compat`` vs ``torch_fidelity.calculate_metrics``.

Both sides use the TF-FID TorchScript file (``inception-2015-12-05-pool3.torchscript.pt``):
ours through ``load_extractor("inception-v3-compat", weights=FILE)`` over the decoded PNGs in
chunks of ``defaults.FEATURE_BATCH_SIZE``, then ``frechet_distance``; torch-fidelity through the
same module registered as its feature extractor (:func:`t2ibench.perf.peers.torch_fidelity_name`),
reading the two folders with its own DataLoader (its defaults: batch 64, up to 4 workers), and
its own FID (``scipy.linalg.sqrtm``). Inputs: ``n`` generated PNGs and the first ``n`` real test
images; the rate counts both folders' images. Without the weights file the row is skipped with
the reason.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from t2ibench import defaults
from t2ibench.features import load_extractor
from t2ibench.metrics import frechet_distance, gaussian_statistics
from t2ibench.perf.peers import read_pngs, torch_fidelity_name
from t2ibench.perf.rows import agreement, best_of, make_row, skipped_row
from t2ibench.perf.settings import TOLERANCES

WEIGHTS_FILE = "inception-2015-12-05-pool3.torchscript.pt"
PEER = "torch_fidelity.calculate_metrics(fid=True), same TorchScript module registered"


def default_weights() -> Path | None:
    """The TorchScript file: ``$T2IBENCH_INCEPTION_WEIGHTS`` if it names one, else ``../shared/weights``
    or ``shared/weights`` beside the current directory; ``None`` when absent."""
    env = os.environ.get(defaults.INCEPTION_WEIGHTS_ENV)
    candidates = [Path(env)] if env else []
    candidates += [Path("..") / "shared" / "weights" / WEIGHTS_FILE, Path("shared") / "weights" / WEIGHTS_FILE]
    return next((p for p in candidates if p.is_file()), None)


def ours(extractor, fake_files, real_files) -> float:
    """FID of the two file lists with t2ibench: decode, extract in fixed chunks, Fréchet distance."""
    def features(files):
        chunks = []
        for s in range(0, len(files), defaults.FEATURE_BATCH_SIZE):
            chunks.append(extractor(read_pngs(files[s:s + defaults.FEATURE_BATCH_SIZE]))["pool3"].cpu().numpy())
        return np.concatenate(chunks)

    return frechet_distance(*gaussian_statistics(features(fake_files)), *gaussian_statistics(features(real_files)))


def peer(name: str, fake_dir, real_dir, device: str) -> float:
    import torch_fidelity

    out = torch_fidelity.calculate_metrics(input1=str(fake_dir), input2=str(real_dir), fid=True,
                                           feature_extractor=name, cuda=device.startswith("cuda"),
                                           cache=False, verbose=False)
    return out["frechet_inception_distance"]


def measure(sizes: dict, device: str, folders, weights, progress) -> list[dict]:
    """One row: extraction rate and FID of both sides on ``folders`` (an :class:`ImageFolders`
    holding ``sizes["inception_images"]`` generated and real images)."""
    n = sizes["inception_images"]
    case = f"{n}+{n} PNGs"
    if weights is None:
        return [skipped_row("inception", case, f"{WEIGHTS_FILE} not found (set ${defaults.INCEPTION_WEIGHTS_ENV} or "
                                               f"put it in ../shared/weights/)")]
    extractor = load_extractor("inception-v3-compat", device=device, weights=str(weights))
    name = torch_fidelity_name(extractor)
    fake_files = folders.fake_files()[:n]
    real_files = [folders.real_file(k) for k in folders.real_keys[:n]]
    progress(f"inception {case}: t2ibench")
    t_ours, v_ours, _ = best_of(lambda: ours(extractor, fake_files, real_files))
    progress(f"inception {case}: torch-fidelity")
    t_peer, v_peer, _ = best_of(lambda: peer(name, folders.fake, folders.real, device))
    return [make_row("inception", case, items=2 * n, ours_name="t2ibench inception-v3-compat (TorchScript file)",
                     ours_s=t_ours, peer_name=PEER, peer_s=t_peer,
                     values=[agreement("fid", v_ours, v_peer, **TOLERANCES["fid"])])]
