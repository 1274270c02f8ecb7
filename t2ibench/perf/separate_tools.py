"""The separate-tools path: the metrics of one evaluation computed the way a user would without
t2ibench, each tool reading the PNGs itself.

* IS/FID/KID: one ``torch_fidelity.calculate_metrics`` call on the generated folder and the
  real folder, with the shapes classifier registered as its feature extractor
  (:func:`t2ibench.perf.peers.torch_fidelity_name`); its real-folder features come from
  torch-fidelity's own cache (``input2_cache_name``), filled by :func:`prepare`.
* CLIP-FID and CMD (GR-GAN Eq. 10): the CLIP-style model called directly as an open_clip user
  calls a CLIP (``embed_images`` / ``embed_texts`` of :mod:`t2ibench.evaluators.tiny_clip`, the
  counterparts of ``model.encode_image(preprocess(img))`` and ``model.encode_text(tokenize(t))``)
  and Fréchet distances by ``scipy.linalg.sqrtm`` (:func:`t2ibench.perf.frechet.scipy_sqrtm_frechet`).
* R-precision as the papers' code computes it (AttnGAN/DM-GAN ``sampling``): for each image its
  own caption and 99 captions of other classes drawn at random, cosine of the DAMSM embeddings,
  a hit when the own caption ranks first; mean of the hits. Its random distractors are its own
  (not t2ibench's draw), so it agrees within standard errors, not to round-off.
* SSIM, FSIM (luminance): ``piq.ssim`` / ``piq.fsim`` called per image pair, the real image of
  each pair read from the real folder by its key.
* MS-SSIM diversity (HDGAN Sec. 5.3): per class every pair of its images (or 400 random ones when
  there are more), plus 2000 random pairs overall, ``piq.multi_scale_ssim`` per pair with the
  scales that fit the image size.

Everything derived from real images or from the whole split's captions alone (real features,
the candidate-caption pool) is prepared once by :func:`prepare`, as the single pass reads it from
its on-disk cache: both sides time only the work on the generated images and their captions.
"""
from __future__ import annotations

import itertools
import math
import time

import numpy as np
import torch

from t2ibench import defaults
from t2ibench.features import load_extractor
from t2ibench.perf.frechet import scipy_sqrtm_frechet
from t2ibench.perf.peers import read_pngs, torch_fidelity_name

#: images decoded and encoded per call of a network in the user's loops
CHUNK = 250


def _fd(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return scipy_sqrtm_frechet(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _clip_model(device: str):
    from t2ibench.evaluators.tiny_clip import load_tiny_clip

    return load_tiny_clip(None, device=device, dataset="shapes")[0]


def _clip_images(model, files) -> np.ndarray:
    from t2ibench.evaluators.tiny_clip import embed_images

    device = next(model.parameters()).device
    return torch.cat([embed_images(model, read_pngs(files[s:s + CHUNK]).to(device))
                      for s in range(0, len(files), CHUNK)]).numpy()


def _damsm_images(damsm, files) -> np.ndarray:
    out = damsm.roles["image"]
    return torch.cat([damsm(read_pngs(files[s:s + CHUNK]))[out].cpu() for s in range(0, len(files), CHUNK)]).numpy()


def _damsm_texts(damsm, captions) -> np.ndarray:
    out = damsm.roles["text"]
    return damsm.encode_text(list(captions), outputs=[out])[out].numpy()


def prepare(folders, dataset, device: str, cache_root) -> dict:
    """Real-side references of the peer path: torch-fidelity's cache of the real folder's
    classifier features, CLIP embeddings of every real image, DAMSM embeddings of every caption of
    the split with its image's class (the R-precision candidate pool)."""
    import torch_fidelity

    # registered once: torch-fidelity names its cache files after the extractor, so the timed calls
    # must use this same name to read the real folder's cache back instead of recomputing it
    classifier = torch_fidelity_name(load_extractor("shapes-classifier", device=device))
    real_cache = f"t2ibench-perf-{dataset.name}-{dataset.split}-{dataset.fingerprint[:12]}-shapes-classifier"
    # isc caches the logits, fid the features KID reads too: the real folder's two cache files
    torch_fidelity.calculate_metrics(input1=str(folders.real), input2=str(folders.real), isc=True, fid=True,
                                     feature_extractor=classifier,
                                     input1_cache_name=real_cache, input2_cache_name=real_cache,
                                     cache_root=str(cache_root), cuda=device.startswith("cuda"), verbose=False)
    real_clip = _clip_images(_clip_model(device), [folders.real_file(k) for k in folders.real_keys])
    pool, pool_classes = [], []
    for i in range(len(dataset)):
        for t in dataset.captions(i):
            pool.append(t)
            pool_classes.append(dataset.class_id(i))
    damsm = load_extractor("damsm-shapes", device=device)
    return {"classifier": classifier, "real_cache": real_cache, "cache_root": str(cache_root), "real_clip": real_clip,
            "pool": _damsm_texts(damsm, pool), "pool_classes": np.asarray(pool_classes)}


def torch_fidelity_metrics(folders, refs: dict, n: int, seed: int, device: str) -> dict:
    """IS, FID, KID of the generated folder by one torch-fidelity call (the shapes classifier)."""
    import torch_fidelity

    out = torch_fidelity.calculate_metrics(
        input1=str(folders.fake), input2=str(folders.real), isc=True, fid=True, kid=True,
        feature_extractor=refs["classifier"], isc_splits=defaults.IS_SPLITS,
        kid_subsets=defaults.KID_SUBSETS, kid_subset_size=min(defaults.KID_SUBSET_SIZE, n, len(folders.real_keys)),
        rng_seed=seed, input2_cache_name=refs["real_cache"], cache_root=refs["cache_root"],
        cuda=device.startswith("cuda"), verbose=False)
    return {"is": out["inception_score_mean"], "fid": out["frechet_inception_distance"],
            "kid": out["kernel_inception_distance_mean"]}


def clip_metrics(fake_files, captions, refs: dict, device: str) -> dict:
    """CLIP-FID (raw embeddings) and CMD = FD(f, r) + |FD(f, l) - FD(r, l)| (unit embeddings)."""
    from t2ibench.evaluators.tiny_clip import embed_texts

    model = _clip_model(device)
    fake = _clip_images(model, fake_files)
    text = _unit(embed_texts(model, list(captions)).numpy())
    real = refs["real_clip"]
    f, r = _unit(fake), _unit(real)
    fd_fr, fd_fl, fd_rl = _fd(f, r), _fd(f, text), _fd(r, text)
    return {"clip-fid": _fd(fake, real), "cmd": fd_fr + abs(fd_fl - fd_rl)}


def r_precision_papers(fake_files, captions, classes, refs: dict, seed: int, device: str) -> dict:
    """R-precision with 99 random other-class distractors per image; ``se``: binomial standard error."""
    damsm = load_extractor("damsm-shapes", device=device)
    img = _unit(_damsm_images(damsm, fake_files).astype(np.float64))
    own = _unit(_damsm_texts(damsm, captions).astype(np.float64))
    pool, pool_classes = _unit(refs["pool"].astype(np.float64)), refs["pool_classes"]
    rng = np.random.default_rng(seed)
    need = defaults.R_PRECISION_CANDIDATES - 1
    hits = np.empty(len(img), dtype=bool)
    for i, c in enumerate(classes):
        others = rng.choice(np.flatnonzero(pool_classes != c), size=need, replace=False)
        hits[i] = (pool[others] @ img[i] < own[i] @ img[i]).all()
    p = float(hits.mean())
    return {"value": p, "se": math.sqrt(max(p * (1 - p), 1e-12) / len(hits))}


def piq_paired(fake_files, real_files, device: str) -> dict:
    """Mean SSIM and FSIM (luminance) over the pairs, piq called per pair."""
    import piq

    ssim, fsim = [], []
    for f, r in zip(fake_files, real_files):
        x, y = (read_pngs([p]).float().to(device) for p in (f, r))
        ssim.append(piq.ssim(x, y, data_range=255.0, kernel_size=defaults.SSIM_KERNEL_SIZE,
                             kernel_sigma=defaults.SSIM_SIGMA).item())
        fsim.append(piq.fsim(x, y, data_range=255.0, chromatic=False).item())
    return {"ssim": float(np.mean(ssim)), "fsim": float(np.mean(fsim))}


def _pairs(rng, n: int, k: int) -> list[tuple[int, int]]:
    """Every unordered pair of ``n`` items when there are at most ``k``, else ``k`` distinct random ones."""
    if n * (n - 1) // 2 <= k:
        return list(itertools.combinations(range(n), 2))
    chosen = set()
    while len(chosen) < k:
        i, j = sorted(rng.choice(n, size=2, replace=False).tolist())
        chosen.add((i, j))
    return sorted(chosen)


def ms_ssim_per_pair(x: torch.Tensor, y: torch.Tensor) -> float:
    """piq's MS-SSIM of one pair (uint8 ``[3, H, W]``) with the scales that fit the size
    (the published weights, the coarsest dropped; piq renormalises them)."""
    import piq

    from t2ibench.metrics.ms_ssim import ms_ssim_scales

    k = defaults.SSIM_KERNEL_SIZE
    scales = ms_ssim_scales(min(x.shape[-2:]), k)
    return piq.multi_scale_ssim(x[None].float(), y[None].float(), data_range=255.0, kernel_size=k,
                                kernel_sigma=defaults.SSIM_SIGMA,
                                scale_weights=torch.tensor(defaults.MS_SSIM_WEIGHTS[:scales], device=x.device)).item()


def ms_ssim_diversity_piq(fake_files, classes, seed: int, device: str) -> dict:
    """HDGAN's class-wise MS-SSIM (mean over classes of the per-class pair means) and the overall
    mean over random pairs; ``sampled``: whether some class had more pairs than the protocol's 400
    (then its pairs are this path's own random draw); ``se``: the standard errors."""
    images = read_pngs(fake_files).to(device)
    classes = np.asarray(classes)
    rng = np.random.default_rng(seed)
    per_class, sampled = [], False
    for c in np.unique(classes):
        idx = np.flatnonzero(classes == c)
        if idx.size < 2:
            continue
        pairs = _pairs(rng, idx.size, defaults.MS_SSIM_PAIRS_PER_CLASS)
        sampled |= len(pairs) < idx.size * (idx.size - 1) // 2
        per_class.append(np.mean([ms_ssim_per_pair(images[idx[i]], images[idx[j]]) for i, j in pairs]))
    overall = [ms_ssim_per_pair(images[i], images[j]) for i, j in _pairs(rng, len(images), defaults.MS_SSIM_PAIRS_OVERALL)]
    return {"classwise": float(np.mean(per_class)), "classwise_se": float(np.std(per_class) / math.sqrt(len(per_class))),
            "sampled": sampled, "overall": float(np.mean(overall)),
            "overall_se": float(np.std(overall) / math.sqrt(len(overall)))}


def evaluate_separately(folders, dataset, refs: dict, seed: int, device: str) -> dict:
    """Every metric of the comparison by the separate tools: ``{metric: value}``, plus ``"_se"``
    (standard errors of the metrics whose random draws are this path's own) and ``"_seconds"``
    (wall time of each tool)."""
    captions = [str(c) for c in folders.plan]
    classes = [dataset.class_id(c.image_index) for c in folders.plan]
    fake_files = folders.fake_files()
    real_files = [folders.real_file(dataset.key(c.image_index)) for c in folders.plan]
    out, se, seconds = {}, {}, {}

    def tool(name, fn):
        t0 = time.perf_counter()
        value = fn()
        seconds[name] = time.perf_counter() - t0
        return value

    out.update(tool("torch-fidelity", lambda: torch_fidelity_metrics(folders, refs, len(fake_files), seed, device)))
    out.update(tool("clip", lambda: clip_metrics(fake_files, captions, refs, device)))
    rp = tool("r-precision", lambda: r_precision_papers(fake_files, captions, classes, refs, seed, device))
    out["r-precision"], se["r-precision"] = rp["value"], rp["se"]
    out.update(tool("piq ssim+fsim", lambda: piq_paired(fake_files, real_files, device)))
    ms = tool("piq ms-ssim", lambda: ms_ssim_diversity_piq(fake_files, classes, seed, device))
    out["ms-ssim"], out["ms-ssim overall"] = ms["classwise"], ms["overall"]
    se["ms-ssim overall"] = ms["overall_se"]
    if ms["sampled"]:
        se["ms-ssim"] = ms["classwise_se"]
    return {**out, "_se": se, "_seconds": seconds}
