"""Every default of t2ibench in one place (the torch-fidelity habit).

Change a default here and every module, the CLI and ``benchmark.py`` follow.
Environment variables override the paths so that CI and users can redirect caches.
"""
from __future__ import annotations

import os
from pathlib import Path

#: Root of every on-disk cache (datasets, real-image statistics). ``T2IBENCH_CACHE`` overrides.
CACHE_DIR = Path(os.environ.get("T2IBENCH_CACHE", Path.home() / ".cache" / "t2ibench"))

#: Local file with Inception weights (torch-fidelity ``.pth`` or the TF-FID TorchScript pool3 file).
INCEPTION_WEIGHTS_ENV = "T2IBENCH_INCEPTION_WEIGHTS"
#: set to 1 (or pass --offline) to forbid every download; a missing file is then an error at once
OFFLINE_ENV = "T2IBENCH_OFFLINE"

#: The embedded dataset, used whenever no other dataset is named.
DATASET = "shapes"
IMAGE_SIZE = 64
SEED = 0

#: Images per call of a generator (``--batch-size``).
BATCH_SIZE = 50
#: Precision of a generator's forward pass (``--generator-precision``): "float32", or "float16" /
#: "bfloat16" under ``torch.autocast`` on the evaluation device (opt-in: faster on CUDA, and images
#: that differ from float32's by a fraction of a grey level; measured in the README's "Precision").
#: Feature extractors always run in float32, the precision of the references they reproduce.
GENERATOR_PRECISION = "float32"
GENERATOR_PRECISIONS = ("float32", "float16", "bfloat16")
#: Images per forward pass of a feature extractor and per paired-metric call, in chunks aligned
#: to the plan (0..49, 50..99, ...) whatever the generation batch size: float32 kernels round
#: differently for different batch shapes, so a fixed chunk keeps features bit-for-bit
#: independent of ``--batch-size``. Changing it changes features in the last float32 bits.
FEATURE_BATCH_SIZE = 50
#: Chunks of ``FEATURE_BATCH_SIZE`` generated images (with their paired real images) that a background
#: thread prepares ahead of feature extraction and the metrics (:class:`t2ibench.engine.Prefetched`).
PREFETCH_CHUNKS = 2
#: Python threads the pixel metrics (SSIM, MS-SSIM, FSIM) spread their chunks over
#: (:func:`t2ibench.metrics.gaussian_window.map_chunks`); ``None``: torch's intra-op thread count.
#: 1 by default: in an evaluation the other core is busy generating images and extracting features
#: anyway, and on this project's 2-core machine two workers gained little beside two busy processes
#: (SSIM on 300 RGB 64-px pairs, timed by hand: 24-28 ms against 26-28 ms with one; on idle cores
#: 20 ms against 25 ms; before the pooled scratch buffers two workers were 40% slower loaded).
#: Raise it on a machine with many free cores for a standalone call.
PIXEL_WORKERS: int | None = 1

#: Generated images per PNG shard of an image folder (t2ibench.image_store): the unit an
#: interrupted run resumes from.
SHARD_SIZE = 250

#: Sharded evaluation under torchrun (t2ibench.distributed): the process group's timeout in seconds, the
#: longest one rank waits for another (rank 0 building the real-image feature cache on a first run, and
#: computing the metrics); ``T2IBENCH_DIST_TIMEOUT`` overrides it.
DIST_TIMEOUT_S = 3600
DIST_TIMEOUT_ENV = "T2IBENCH_DIST_TIMEOUT"

#: Inception Score: number of splits (Salimans et al. 2016; StackGAN/AttnGAN code use 10).
IS_SPLITS = 10

#: ``is-stackgan``: StackGAN's IS code classifies whole batches of this many images and drops the rest.
IS_STACKGAN_BATCH_SIZE = 64
#: ``fid-dmgan``: DM-GAN's FID code loads images with ``DataLoader(batch_size=64, drop_last=True)``.
DMGAN_FID_BATCH_SIZE = 64

#: FID/KID refuse fewer images than this: below it the 2048-d (or 512-d) covariance is
#: rank-deficient enough that the value is dominated by the small-sample bias.
FID_MIN_IMAGES = 50
#: FID/CLIP-FID/CMD below this many generated images carry a small-sample-bias warning in the
#: result: the FID authors' reference code (github.com/bioinf-jku/TTUR, README) "recommend[s]
#: using a minimum sample size of 10,000"; the papers use 30,000 (GR-GAN on COCO).
FID_GUIDANCE_IMAGES = 10_000
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
#: Inception Score splits of fewer images than this are degenerate (a 1-image split has IS = 1
#: by construction; a split of m images has IS <= m): the result says so.
IS_MIN_SPLIT_SIZE = 2
#: Improved precision and recall (Kynkäänniemi et al. 2019): k of the k-NN radius (the paper's
#: and torch-fidelity's ``prc_neighborhood``), and the rows per distance block (memory:
#: block x N float64).
PRC_NEIGHBORHOOD = 3
PRC_BATCH_SIZE = 1000

#: SSIM (SDN protocol, Wang et al. 2004): Gaussian window 11x11, sigma 1.5.
SSIM_KERNEL_SIZE = 11
SSIM_SIGMA = 1.5

#: MS-SSIM (HDGAN diversity protocol): scale weights of Wang et al. 2003.
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
MS_SSIM_PAIRS_PER_CLASS = 400
MS_SSIM_PAIRS_OVERALL = 2000

#: shapes: default sizes of the generated pool (train, test).
SHAPES_TRAIN = 10_000
SHAPES_TEST = 2_000

#: Number of images the main job evaluates per (generator, dataset) on shapes.
N_IMAGES = 2_000

#: Feature extractor used by a metric spec without ``@extractor``: per dataset, per kind of
#: network a metric needs ("image": IS/FID/KID; "damsm": R-precision; "vse": Rank-1;
#: "vs": VS-similarity; "clip": CMD, ITDis, CLIPScore, CLIP-FID, CLIP R-precision).
#: On ``shapes`` these are the embedded evaluators trained on it (stand-ins, named as such).
#: "classifier": the dataset's own IS classifier (``is-stackgan``; StackGAN's fine-tuned Inception on
#: CUB and Oxford-102); "imagenet-inception": torchvision's ImageNet Inception (``fid-dmgan``).
DEFAULT_EXTRACTORS = {
    "shapes": {"image": "shapes-classifier", "damsm": "damsm-shapes", "vse": "vse-shapes", "vs": "vs-shapes",
               "clip": "tiny-clip-shapes", "classifier": "shapes-classifier"},
    "cub": {"classifier": "inception-birds"},
    "flowers": {"classifier": "inception-flowers"},
}
FALLBACK_EXTRACTORS = {"image": "inception-v3-compat", "damsm": "damsm", "vse": "vse", "vs": "vs", "clip": "clip",
                       "classifier": "inception-v3-compat", "imagenet-inception": "inception-v3-imagenet"}

#: Open_clip model and pretrained tag of the ``clip`` extractor (GR-GAN's CMD uses ViT-B/32).
CLIP_MODEL = "ViT-B-32"
CLIP_PRETRAINED = "openai"

#: R-precision (DM-GAN code protocol): candidates per image and chunks.
R_PRECISION_CANDIDATES = 100
R_PRECISION_CHUNKS = 10
#: Rank-1 retrieval (KT-GAN): captions per fold, recall cut-offs.
RANK_FOLD_SIZE = 1000
RANK_KS = (1, 5, 10)
#: CLIPScore (Hessel et al. 2021): w in w * max(cos, 0).
CLIPSCORE_W = 2.5

#: Agreement expected between two runs of the same evaluation on different machines (other CPU
#: kernels, thread counts; ``t2ibench compare``). Measured (benchmarks/bench_determinism.py):
#: other oneDNN kernels move continuous metrics by at most 1.2e-5 relative, thread count by 3e-9,
#: batch size not at all, and the retrieval shares by no hit. Stated: relative 1e-4 (absolute 1e-6 near zero) for continuous
#: metrics, and COMPARE_HITS hits (value steps of 1/n_images) for retrieval shares, where one
#: image whose two best captions are within rounding of each other can flip.
COMPARE_RTOL = 1e-4
COMPARE_ATOL = 1e-6
COMPARE_HITS = 2

#: ``t2ibench compare --mode regress`` (t2ibench/compare.py): how much worse than the baseline a
#: metric may be before it is a regression. Measured basis: attngan on shapes, seeds 0-4 at n=500
#: and 0-2 at n=2000 (the whole test split), every pair compared both ways. Another seed also draws
#: other captions and other R-precision candidates, so this overstates the noise between two
#: models evaluated at the same seed, the intended use.
#: With a std recorded over k >= 2 units (chunks, folds, splits, images, classes): STD_FACTOR
#: standard errors of the mean, max(the two stds) / sqrt(k) (a retrieval share at least its
#: binomial error sqrt(p(1-p)/n)). Two equally good results differ by sqrt(2) SE on average, so
#: 3 SE is 2.1 SEs of the difference: a one-sided false alarm about 1.7% of the time per metric
#: (at 2 SE, 4 of the 20 seed pairs at n=500 failed SSIM or CLIPScore; at 3 SE one did, and one
#: of the 6 at n=2000 failed R-precision).
COMPARE_REGRESS_STD_FACTOR = 3.0
#: Without a std (FID, CLIP-FID, CMD, ITDis): max(RTOL * sqrt(REGRESS_N / n_images) * |baseline|,
#: ATOL). Their seed-to-seed spread falls as 1/sqrt(n): FID's largest change between seeds was
#: 3.1% at n=500 and 1.6% at n=2000, CMD's 1.6% and ITDis' 2.0% at n=2000. So 2% at 2000 images
#: (4% at 500, 0.5% at 30000). At n=500 CMD and ITDis moved by up to 7.6% and 16% between seeds
#: (other images and captions drawn): more than this, so at small n compare at the same seed or
#: raise --regress-rtol. ITDis (a difference of two distances) can be near zero, where a relative
#: tolerance is tight: ATOL (in the metric's own units) is the floor there.
COMPARE_REGRESS_RTOL = 0.02
COMPARE_REGRESS_N = 2000
COMPARE_REGRESS_ATOL = 1e-3
#: A std more than STD_GROWTH times the baseline's is a regression too (quality became erratic),
#: when it is a std over at least STD_MIN_UNITS units (images, classes; or of an unstated count,
#: KID's): a std over k units is itself uncertain by about 1/sqrt(2k), so one over 10 chunks or 2
#: folds doubles by chance (R-precision's 10-chunk std and Rank-1's 2-fold std did, between seeds).
COMPARE_REGRESS_STD_GROWTH = 2.0
COMPARE_REGRESS_STD_MIN_UNITS = 20

#: Metrics computed when none are named.
DEFAULT_METRICS = ("is", "fid", "kid", "ssim", "fsim", "fsimc", "ms-ssim", "r-precision", "rank1",
                   "vs-similarity", "clipscore", "cmd", "itdis")

#: Captions per generator of the papers' tables (``benchmark.py --table``): one n for every table of a run,
#: chosen so that the default run's ~60 evaluations fit the benchmark's time budget on 2 CPU cores.
TABLE_N_IMAGES = 500

#: The rows of the benchmark's FID/KID-against-n picture (``benchmark.py --fid-vs-n``): a reference row with
#: zero true distance in distribution (its FID is bias alone) and three zoo models of the leaderboard.
FID_VS_N_GENERATORS = ("real-mismatched", "gan-int-cls", "attngan", "ktgan")

#: Metric sanity suite (``t2ibench sanity``): metrics and captions per row.
SANITY_METRICS = ("is", "fid", "ssim", "fsim", "r-precision", "rank1", "vs-similarity", "clipscore", "cmd", "itdis")
SANITY_N_IMAGES = 500


def env_bool(name: str) -> bool | None:
    """The environment variable ``name`` as a boolean (1/true/yes/on, 0/false/no/off), ``None`` when unset."""
    v = os.environ.get(name, "").strip().lower()
    if not v:
        return None
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"${name}: expected 1/0 (true/false), got {v!r}")


class DownloadForbidden(ValueError):
    """A download was needed while ``$T2IBENCH_OFFLINE`` (``--offline``) forbids downloads."""


def check_download_allowed(what: str, how_to_avoid: str) -> None:
    """Raise :class:`DownloadForbidden` before ``what`` is downloaded when ``$T2IBENCH_OFFLINE`` forbids it."""
    if env_bool(OFFLINE_ENV):
        raise DownloadForbidden(f"{what} would be downloaded, but downloads are forbidden (${OFFLINE_ENV}=1 or "
                           f"--offline); {how_to_avoid}")
