"""The single evaluation pass: captions -> generator -> images -> extractors -> metrics.

:func:`evaluate` generates every image once, streams batches, runs each feature
extractor once over each batch and hands the features to every metric that needs them.
Features of the real test split are computed once per (dataset fingerprint, extractor,
weights sha256, resize mode) and cached on disk (:func:`real_features`).

Evaluation plan (:func:`evaluation_plan`): the test images in a seeded random order
(cycled when ``n_images`` exceeds the split), one caption drawn uniformly from each
image's captions. Generated image ``k`` is produced with the per-caption seed
``seed + k`` (see :mod:`t2ibench.generators.base`), so results do not depend on the
batch size. Paired metrics compare image ``k`` with the real image its caption came
from, resized (bilinear, antialiased) to the generated size when the sizes differ.

Overlap and memory: a background thread (:class:`Prefetched`) generates the images (or reads
image shards back) and fetches the paired real images up to ``defaults.PREFETCH_CHUNKS`` chunks
ahead of the feature extractors and metrics; features go into float32 arrays allocated once; no
image outlives its chunk except those a streaming metric still needs
(:meth:`t2ibench.protocols.MetricProtocol.image_stream`: MS-SSIM's pending pairs).
"""
from __future__ import annotations

import contextlib
import hashlib
import queue
import sys
import threading
import time
import warnings
from collections.abc import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from t2ibench.imageops import resize_antialiased
from t2ibench import defaults, distributed
from t2ibench.data import Caption, CaptionedImageDataset, load_dataset
from t2ibench.feature_cache import cached_arrays
from t2ibench.features import FeatureExtractor, load_extractor
from t2ibench.generators.base import generate_checked, generator_autocast
from t2ibench.image_store import ImageStore
from t2ibench.io import sha256_json
from t2ibench.protocols import Collected, MetricProtocol, parse_metric
from t2ibench.registry import load_generator
from t2ibench.result import EvalResult, package_versions

#: Bump when the cached real-feature format or the plan changes.
ENGINE_VERSION = 2


def evaluation_plan(dataset: CaptionedImageDataset, n_images: int, seed: int) -> list[Caption]:
    """The ``n_images`` captions to generate for, as :class:`Caption` (text + image index)."""
    if not isinstance(n_images, (int, np.integer)) or isinstance(n_images, bool) or n_images < 1:
        raise ValueError(f"n_images: expected a positive int, got {n_images!r}")
    if len(dataset) == 0:
        raise ValueError(f"dataset {dataset.name}[{dataset.split}] has no images")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(dataset))
    plan = []
    for k in range(int(n_images)):
        index = int(order[k % len(dataset)])
        captions = dataset.captions(index)
        if not captions:
            raise ValueError(f"dataset {dataset.name}[{dataset.split}]: image {dataset.key(index)!r} has no captions")
        plan.append(Caption(captions[int(rng.integers(len(captions)))], index))
    return plan


def _batches(n: int, batch_size: int):
    for start in range(0, n, batch_size):
        yield start, min(start + batch_size, n)


def real_features(dataset: CaptionedImageDataset, extractor: FeatureExtractor,
                  batch_size: int = defaults.FEATURE_BATCH_SIZE,
                  progress: bool = True, log: list | None = None) -> dict[str, np.ndarray]:
    """Features ``{output: float32 [len(dataset), D]}`` of every real image, cached on disk.

    Every output that serves a metric role (``extractor.roles``) is computed and cached, whatever
    metrics the current call asks for, so one cache file serves every later metric set; dense
    outputs such as DAMSM's region features are dropped. The cache file
    (:mod:`t2ibench.feature_cache`, ``CACHE_DIR/stats/``) is keyed by the dataset fingerprint,
    the extractor's name, weights id and resize mode; a file that cannot be read, holds another
    number of images, or holds NaN/Inf is an error naming it (delete it to recompute), never a
    silent wrong number. log: a list that gets the :class:`~t2ibench.feature_cache.CacheUse`.
    """
    kept = _role_outputs(extractor)
    key = {"dataset": dataset.fingerprint, "extractor": extractor.name, "outputs": kept,
           "weights": extractor.weights_id, "resize": extractor.resize_mode, "v": ENGINE_VERSION}

    def build():
        rows: dict[str, np.ndarray] = {}
        bar = tqdm(total=len(dataset), desc=f"real {dataset.name}[{dataset.split}] -> {extractor.name}",
                   unit="img", disable=not progress)
        requested, extractor.requested = extractor.requested, frozenset(kept)
        decoded = ((start, stop, dataset.images(range(start, stop)))
                   for start, stop in _batches(len(dataset), batch_size))
        try:
            with torch.inference_mode(), Prefetched(decoded, defaults.PREFETCH_CHUNKS) as prefetched:
                for start, stop, images in prefetched:  # the next batches decoded while this one is extracted
                    out = extractor(images)
                    for k in kept:
                        _put_rows(rows, k, len(dataset), start, out[k])
                    bar.update(stop - start)
            bar.close()
        finally:
            extractor.requested = requested
        return rows

    def check(feats):
        if any(len(v) != len(dataset) for v in feats.values()):
            return (f"hold a different number of images than {dataset.name}[{dataset.split}] ({len(dataset)})")
        return None

    feats, use = cached_arrays("stats", f"{dataset.name}-{dataset.split}-{extractor.name}", key,
                               f"real-image features of {dataset.name}[{dataset.split}] by {extractor.name!r}",
                               build, check, names=kept)
    if log is not None:
        log.append(use)
    return feats


def _put_rows(rows: dict, key, n: int, start: int, value: torch.Tensor) -> None:
    """Write the features ``value`` ``[B, D]`` into rows ``start .. start+B-1`` of the float32 array
    ``rows[key]`` ``[n, D]``, allocated on first use: one copy of each feature matrix, filled in
    place (a list of chunks joined at the end needs twice the memory at its peak)."""
    value = value.detach().cpu().numpy()
    if key not in rows:
        rows[key] = np.empty((n, *value.shape[1:]), dtype=np.float32)
    rows[key][start:start + len(value)] = value


def _role_outputs(extractor: FeatureExtractor) -> list[str]:
    """The outputs any metric can read (those named by a role), in the extractor's order."""
    used = set(extractor.roles.values())
    return [k for k in extractor.outputs if k in used]


def _requested_outputs(extractor: FeatureExtractor) -> list[str]:
    """The outputs this evaluation's metrics read (``extractor.requested``, else every role output)."""
    return [k for k in _role_outputs(extractor) if extractor.wanted(k)]


def _resolve_roles(metric: MetricProtocol, extractor: FeatureExtractor) -> dict[str, tuple[str, str]]:
    if metric.text_roles and not callable(getattr(extractor, "encode_text", None)):
        raise ValueError(f"metric {metric.name!r} compares images with captions; feature extractor "
                         f"{extractor.name!r} encodes images only (it needs a text-image encoder such as "
                         f"a DAMSM, VSE++ or CLIP model)")
    keys = {}
    for role in set(metric.fake_roles) | set(metric.real_roles) | set(metric.text_roles):
        if role not in extractor.roles:
            hint = getattr(extractor, "missing_role_hint", None)
            extra = hint(role) if callable(hint) else ""
            raise ValueError(f"metric {metric.name!r} needs the {role!r} output, which feature extractor "
                             f"{extractor.name!r} (weights {extractor.weights_id[:16]}) does not provide; "
                             f"it provides {dict(extractor.roles) or 'none'}" + (f"; {extra}" if extra else ""))
        keys[role] = (extractor.name, extractor.roles[role])
    return keys


def run_identity(generator, generator_name: str, dataset: CaptionedImageDataset, plan: Sequence[Caption],
                 seed: int, precision: str = defaults.GENERATOR_PRECISION) -> dict:
    """What makes two runs' generated images the same: the key of an image folder's manifest.

    ``generator_fingerprint`` (:func:`t2ibench.generators.fingerprint.generator_fingerprint`):
    the generator's declared ``fingerprint`` (zoo models: sha256 of weights and source), else
    the sha256 of its source files, named weights files, modules' tensors and settings, so
    that an edited or retrained plug-in is told apart; ``None`` when nothing identifies it.
    ``generator_precision`` only when it is not float32 (the images differ; float32 runs keep the
    identity they had before precisions existed).
    """
    from t2ibench.generators.fingerprint import generator_fingerprint
    from t2ibench.registry import get_generator_factory

    try:  # the factory's file counts too (module:callable, file.py:callable, entry points)
        factory = get_generator_factory(generator_name)
    except Exception:  # noqa: BLE001 — a name that no longer resolves: the generator's own class still counts
        factory = None
    return {"generator": generator_name, "generator_fingerprint": generator_fingerprint(generator, factory),
            "dataset": dataset.name, "split": dataset.split, "dataset_fingerprint": dataset.fingerprint,
            "seed": int(seed), "plan_sha256": sha256_json([[str(c), c.image_index] for c in plan]),
            **({"generator_precision": precision} if precision != "float32" else {})}


def generated_batches(generator, generator_name: str, plan: Sequence[Caption], seed: int, batch_size: int,
                      store: ImageStore | None = None, progress: bool = True, span: tuple[int, int] | None = None,
                      autocast=contextlib.nullcontext):
    """Yield ``(start, stop, uint8 images)`` over the plan, consecutive from entry 0 (from ``span[0]`` to
    ``span[1]`` when a span is given: this rank's part, :func:`t2ibench.distributed.plan_span`, whose
    ends are shard boundaries when there is a store).

    Image ``k`` is generated with per-caption seed ``seed + k``, in calls of at most ``batch_size``
    captions. Without a ``store`` each call's images are yielded as they come; with one, a
    complete shard is read back from disk instead of generated, a new shard is written
    (atomically) before its images are yielded, and each shard is yielded whole. Every image of
    a run must have the same size (the first one's): a generator whose size changes is an error
    naming it. ``autocast``: a factory of the context each generator call runs in
    (:func:`t2ibench.generators.base.generator_autocast`).
    """
    begin, end = span or (0, len(plan))
    bar = tqdm(total=end - begin, desc=f"{generator_name}", unit="img", disable=not progress)
    first_shape = None

    def same_size(images: torch.Tensor, start: int) -> torch.Tensor:
        nonlocal first_shape
        first_shape = first_shape or tuple(images.shape[1:])
        if tuple(images.shape[1:]) != first_shape:
            raise ValueError(f"generator {generator_name!r} returned {tuple(images.shape[1:])} images from plan entry "
                             f"{start} on, after {first_shape} images before; expected one size for the whole run")
        return images

    def generate(lo: int, hi: int):
        for start, stop in _batches(hi - lo, batch_size):
            with autocast():
                images = generate_checked(generator, generator_name, plan[lo + start:lo + stop], seed=seed + lo + start)
            yield lo + start, lo + stop, same_size(images, lo + start)

    def shards():
        for shard, lo, hi in store.shard_ranges():
            if not begin <= lo < end:  # another rank's shard
                continue
            if store.is_complete(shard):
                images = same_size(store.read(shard, plan[lo:hi]), lo)
            else:
                images = torch.cat([x for _, _, x in generate(lo, hi)])
                store.write(shard, images, plan[lo:hi])
            yield lo, hi, images

    for start, stop, images in (generate(begin, end) if store is None else shards()):
        yield start, stop, images
        bar.update(stop - start)
    bar.close()


def aligned_chunks(batches, size: int):
    """Regroup ``(start, stop, images)`` batches of consecutive plan entries into chunks
    ``[k·size, (k+1)·size)`` (the last one shorter), whatever the incoming batch sizes; the
    first batch's start must be a multiple of ``size``.

    Feature extractors and paired metrics run on these chunks: float32 kernels round
    differently for different batch shapes, so fixed chunks are what makes features, and
    therefore metrics, bit-for-bit independent of the generation batch size.
    """
    buffer, first = [], None
    for start, stop, images in batches:
        first = start if first is None else first
        buffer.append(images)
        have = sum(len(b) for b in buffer)
        while have >= size:
            joined = torch.cat(buffer)
            yield first, first + size, joined[:size]
            buffer, first, have = [joined[size:]], first + size, have - size
    if buffer and sum(len(b) for b in buffer):
        joined = torch.cat(buffer)
        yield first, first + len(joined), joined


class Prefetched:
    """``with Prefetched(items, depth) as it: for x in it: ...`` — ``items`` (an iterator) run in a
    background thread under ``torch.inference_mode``, up to ``depth`` items ahead of the loop, so that
    producing the next items (generating images, reading image shards back, decoding real images) and
    consuming these (feature extraction, metrics) overlap: torch releases the GIL in its kernels.

    An exception raised while producing is re-raised in the loop, the same object (type, message,
    traceback). Leaving the ``with`` block early (an error or ``KeyboardInterrupt`` in the loop) stops
    the thread after the item it is producing and closes ``items`` there, so nothing runs behind the
    caller's back (an image shard being written is finished, atomically, before the caller goes on; a
    second Ctrl-C leaves at once, and a half-written shard is a temporary folder the next run removes).

    Measured (2 CPU cores shared with other jobs, load ~10, so indicative): a default evaluation of
    ``stackgan`` at n = 500 took 507 and 639 s with the loop in one thread, 211 and 194 s with this
    producer (torch's default 2 intra-op threads in both threads), 454 and 540 s with the producer
    limited to 1 thread; the generator's many small ops (a per-caption LSTM) ran 10-20x slower in the
    main thread's OpenMP team than in the producer's on these cores. Same values in every mode.
    """

    _DONE = object()

    def __init__(self, items, depth: int):
        if depth < 1:
            raise ValueError(f"depth: expected a positive int, got {depth!r}")
        self._items, self._queue, self._stop = items, queue.Queue(maxsize=depth), threading.Event()
        self._thread = threading.Thread(target=self._run, name="t2ibench-producer", daemon=True)
        # the current CUDA device is per thread: a new thread starts on cuda:0, where each torchrun rank
        # must keep its own cuda:LOCAL_RANK (t2ibench.distributed.setup sets it in the main thread)
        self._cuda_device = torch.cuda.current_device() if torch.cuda.is_initialized() else None

    def _put(self, entry) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            if self._cuda_device is not None:
                torch.cuda.set_device(self._cuda_device)
            with torch.inference_mode():
                for item in self._items:
                    if not self._put((item, None)):
                        break
                else:
                    self._put((self._DONE, None))
        except BaseException as e:  # noqa: BLE001 — handed to the caller's thread, re-raised there as it is
            self._put((None, e))
        finally:
            close = getattr(self._items, "close", None)
            if callable(close):
                close()

    def __enter__(self):
        self._thread.start()
        return self

    def __iter__(self):
        while True:
            item, error = self._queue.get()
            if error is not None:
                raise error
            if item is self._DONE:
                return
            yield item

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _with_real_images(chunks, dataset: CaptionedImageDataset, plan: Sequence[Caption], paired: bool):
    """``(start, stop, images, real)``: each chunk with, for paired metrics, the real images its
    captions were written for, resized to the generated size (``None`` without paired metrics)."""
    for start, stop, images in chunks:
        real = (_resize_to(dataset.images([c.image_index for c in plan[start:stop]]), images.shape[-2:])
                if paired else None)
        yield start, stop, images, real


def _warn(notes: list[str], message: str) -> None:
    """Record ``message`` in the result's ``warnings`` and issue it as a ``UserWarning``."""
    notes.append(message)
    warnings.warn(message, UserWarning, stacklevel=3)


def _metric_protocols(metrics, dataset: CaptionedImageDataset, plan, notes: list[str]) -> dict[str, MetricProtocol]:
    """``{spec: protocol}`` of the requested metrics (a list, or one comma-separated string)."""
    default = metrics is None
    if isinstance(metrics, str):
        metrics = [m.strip() for m in metrics.split(",") if m.strip()]
    metrics = list(defaults.DEFAULT_METRICS if default else metrics)
    if not metrics or not all(isinstance(m, str) for m in metrics):
        raise ValueError(f"metrics: expected a non-empty list of metric names (or 'fid,ssim'), got {metrics!r}")
    protocols = {spec: parse_metric(spec, dataset.name) for spec in metrics}
    if plan is None or all(c.image_index >= 0 for c in plan):
        return protocols
    keyed = [spec for spec, p in protocols.items() if p.needs_image_keys]
    if keyed and not default:
        raise ValueError(f"metrics {', '.join(keyed)} compare each image with the dataset image its caption was "
                         f"written for, but the captions have no image keys; give every caption its image key, "
                         f"or leave these metrics out")
    if keyed:
        _warn(notes, f"the captions have no image keys (dataset images), so only unpaired metrics ran: "
                     f"{', '.join(keyed)} left out")
    return {spec: p for spec, p in protocols.items() if spec not in keyed}


def _check_read_back(store: ImageStore, generator_name: str, reuse_images: bool) -> int:
    """The number of complete shards ``store`` will read back instead of generating, said on stderr.

    A generator that nothing identifies (fingerprint ``None``) gets its kept images only with
    ``reuse_images``: otherwise an edited generator would be scored with its old images.
    """
    done = store.completed()
    if not done:
        return 0
    if store.identity.get("generator_fingerprint") is None and not reuse_images:
        raise ValueError(f"image folder {store.root} holds {len(done)} complete shard(s) of generator "
                         f"{generator_name!r}, which has no fingerprint (no source file, no 'fingerprint' "
                         f"attribute), so t2ibench cannot tell whether it changed since they were written; "
                         f"give another output folder, delete this one, or pass reuse_images=True "
                         f"(--reuse-images) if it is certainly the same generator")
    n = sum(stop - start for k, start, stop in store.shard_ranges() if k in set(done))
    print(f"reading back {len(done)} of {len(store.shard_ranges())} shard(s) ({n} images) written earlier by this "
          f"same run from {store.root} (generator fingerprint, seed, dataset and caption plan all match)",
          file=sys.stderr, flush=True)
    return len(done)


def _check_images(notes: list[str], dataset: CaptionedImageDataset, plan: Sequence[Caption],
                  generated_size: tuple[int, int], distinct: int, paired: bool) -> dict:
    """Warn about generated images that make estimates degenerate or pairs unequal; returns the
    resolutions for the result: ``{"generated": [H, W], "dataset": S, "paired": [H, W] | None}``."""
    size = {"generated": list(generated_size), "dataset": dataset.image_size,
            "paired": list(generated_size) if paired else None}
    if tuple(generated_size) != (dataset.image_size, dataset.image_size):
        _warn(notes, f"the generator made {generated_size[0]}x{generated_size[1]} images, the dataset's are "
                     f"{dataset.image_size}x{dataset.image_size}"
                     + (f": paired metrics compared them with the real images resized to {generated_size[0]}x"
                        f"{generated_size[1]} (bilinear, antialiased)" if paired else ""))
    planned = len({c.image_index for c in plan if c.image_index >= 0}) or len(plan)
    if distinct < min(planned, len(plan)):
        _warn(notes, f"only {distinct} distinct images among the {len(plan)} generated (the plan has {planned} "
                     f"distinct captioned images): repeated images shrink every spread and bias FID/KID/IS")
    return size


def _resize_to(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(images.shape[-2:]) == tuple(size):
        return images
    return resize_antialiased(images.float(), size, round_levels=True).to(torch.uint8)


def evaluate(generator, dataset="shapes", metrics: Sequence[str] | None = None, n_images: int | None = None,
             seed: int = defaults.SEED, batch_size: int = defaults.BATCH_SIZE, device: str = "cpu",
             extractor_weights: dict[str, str] | None = None, progress: bool = True,
             generator_name: str | None = None, allow_small_n: bool = False, image_dir=None,
             shard_size: int = defaults.SHARD_SIZE, reuse_images: bool = False,
             plan: Sequence[Caption] | None = None, generator_precision: str | None = None) -> EvalResult:
    """Evaluate ``generator`` on ``dataset`` in one pass and return an :class:`EvalResult`.

    generator: a registered name, ``"module:callable"``, or an object with ``generate``;
    dataset: a name (its test split is used) or a loaded :class:`CaptionedImageDataset`;
    metrics: specs such as ``"fid"`` or ``"fid@inception-v3-compat"`` (default:
    ``defaults.DEFAULT_METRICS``); n_images: captions to generate for (default: the size of
    the split); extractor_weights: ``{extractor name: local weights path}``.

    metrics: also one comma-separated string (``"ssim,fid"``).
    plan: the captions to generate for, in order (:class:`Caption`; default
    :func:`evaluation_plan`); captions with ``image_index == -1`` have no dataset image, so
    metrics that need one (``MetricProtocol.needs_image_keys``: paired and per-class metrics)
    are an error when named and left out, with a warning, when ``metrics`` is the default.

    A metric given fewer images than it needs for a stable estimate (FID:
    ``defaults.FID_MIN_IMAGES``, for its covariance) is an error before anything is
    generated; ``allow_small_n=True`` computes it anyway, with a ``UserWarning`` and a line in
    ``EvalResult.warnings`` that the saved result keeps.

    image_dir: a folder that keeps every generated image as PNG shards of ``shard_size``
    (:mod:`t2ibench.image_store`); rerunning the same evaluation after an interruption reads
    the finished shards back and generates only the rest, with the same final metrics. Shards
    are read back only for the same run, generator fingerprint included (:func:`run_identity`),
    and this is said on stderr and in :meth:`EvalResult.summary`; ``reuse_images=True`` allows
    it for a generator without a fingerprint.

    Under torchrun (:mod:`t2ibench.distributed`) every process calls ``evaluate`` with the same
    arguments; each generates its own part of the plan (and writes its own shards), rank 0 computes
    the metrics from every part, and every process returns the same result, equal to one process's.
    ``device="cuda"`` becomes ``cuda:LOCAL_RANK``.

    ``generator_precision``: "float32" (``None``: ``defaults.GENERATOR_PRECISION``), or "float16" /
    "bfloat16": the generator's calls run under ``torch.autocast`` on ``device``
    (:func:`t2ibench.generators.base.generator_autocast`); feature extractors and metrics stay in
    float32. Recorded in the result's provenance and, when not float32, in the image folder's key.
    """
    t0 = time.time()
    device = distributed.setup(device)  # under torchrun: join the process group; cuda -> cuda:LOCAL_RANK
    rank = distributed.ranks()
    progress = progress and rank.is_main
    if isinstance(dataset, str):
        dataset = distributed.main_first(lambda: load_dataset(dataset, split="test"), "loading the dataset")
    if not isinstance(dataset, CaptionedImageDataset):
        raise TypeError(f"dataset: expected a name or a CaptionedImageDataset, got {type(dataset).__name__}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
    precision = generator_precision or defaults.GENERATOR_PRECISION
    generator_autocast(precision, device)  # a bad name is an error before anything is loaded
    if isinstance(generator, str):
        generator_name = generator_name or generator
        generator = load_generator(generator, dataset=dataset, device=device)
    generator_name = generator_name or getattr(generator, "name", type(generator).__name__)
    if not callable(getattr(generator, "generate", None)):
        raise TypeError(f"generator: expected a name or an object with generate(captions, seed), "
                        f"got {type(generator).__name__}")
    if plan is not None:
        if n_images is not None and n_images != len(plan):
            raise ValueError(f"n_images: {n_images} given with a plan of {len(plan)} captions; give one or the other")
        n_images = len(plan)
    n_images = len(dataset) if n_images is None else n_images
    notes = []
    if getattr(generator, "weights_warning", None):  # e.g. a released generator's unreleased text encoder
        _warn(notes, f"generator {generator_name!r}: {generator.weights_warning}")
    protocols = _metric_protocols(metrics, dataset, plan, notes)

    # Every check that can fail happens before any image is generated.
    plan = evaluation_plan(dataset, n_images, seed) if plan is None else list(plan)
    identity = (run_identity(generator, generator_name, dataset, plan, seed, precision)
                if image_dir is not None or rank.active else None)
    distributed.check_same(identity, "the run (generator, dataset, plan, seed)")  # under torchrun, before any work
    for spec, p in protocols.items():
        if n_images < p.min_images:
            message = (f"metric {spec!r} needs at least {p.min_images} images for a stable estimate, n_images is "
                       f"{n_images}")
            if not allow_small_n:
                raise ValueError(f"{message}; raise n_images, or pass allow_small_n=True (--allow-small-n) to "
                                 f"compute it anyway with a warning in the result")
            _warn(notes, f"{message}: computed anyway (allow_small_n); do not compare it with results at larger n")
    weights = extractor_weights or {}
    extractors = distributed.main_first(lambda: {  # rank 0 first: a download of published weights happens once
        name: load_extractor(name, device=device, weights=weights.get(name), dataset=dataset.name)
        for name in sorted({p.extractor for p in protocols.values() if p.extractor})}, "loading the feature extractors")
    keys = {spec: _resolve_roles(p, extractors[p.extractor]) if p.extractor else {} for spec, p in protocols.items()}
    for name, extractor in extractors.items():  # compute only what the metrics read
        extractor.requested = frozenset(out for k in keys.values() for (e, out) in k.values() if e == name)
        if extractor.weights_warning:
            _warn(notes, f"feature extractor {name!r}: {extractor.weights_warning}")

    class_ids = np.array([dataset.class_id(c.image_index) if c.image_index >= 0 else -1 for c in plan], dtype=np.int64)
    collected = Collected(seed=seed, captions=plan, dataset=dataset, extractors=extractors, class_ids=class_ids)
    for name in sorted({p.extractor for p in protocols.values() if p.real_roles and rank.is_main}):  # rank 0 alone
        for out, arr in real_features(dataset, extractors[name], defaults.FEATURE_BATCH_SIZE, progress,
                                      log=collected.cache_log).items():
            collected.real[(name, out)] = arr
    paired = [p for p in protocols.values() if p.paired]
    collected.streams = {p.name: s for p in protocols.values() if (s := p.image_stream(collected)) is not None}
    paired_chunks: dict[str, list[torch.Tensor]] = {p.name: [] for p in paired}

    def open_store():  # rank 0 writes the manifest and says what it reads back, then the other ranks open it
        store = ImageStore.open(image_dir, identity, n_images, shard_size)
        return store, _check_read_back(store, generator_name, reuse_images) if rank.is_main else 0

    store, resumed = (distributed.main_first(open_store, "opening the image folder") if image_dir is not None
                      else (None, 0))
    # this rank's part of the plan (all of it in one process), on chunk, shard and batch boundaries
    span = distributed.plan_span(n_images, defaults.FEATURE_BATCH_SIZE, store.shard_size if store else batch_size)
    batches = generated_batches(generator, generator_name, plan, seed, batch_size, store, progress, span,
                                lambda: generator_autocast(precision, device))
    chunks = _with_real_images(aligned_chunks(batches, defaults.FEATURE_BATCH_SIZE), dataset, plan, bool(paired))
    # ranks other than 0 keep, for each streaming metric, only the images it reads (rank 0 streams its own part,
    # the plan's first, then the others' kept images in plan order)
    kept: dict[str, dict[int, torch.Tensor]] = {name: {} for name in collected.streams}
    digests: set[bytes] = set()  # sha256 of each distinct generated image
    generated_size = None
    with torch.inference_mode(), Prefetched(chunks, defaults.PREFETCH_CHUNKS) as prefetched:
        for start, stop, images, real in prefetched:
            generated_size = tuple(images.shape[-2:])
            digests.update(hashlib.sha256(x.numpy().tobytes()).digest() for x in images)
            for name, extractor in extractors.items():
                feats = extractor(images)
                for out in _requested_outputs(extractor):
                    _put_rows(collected.fake, (name, out), n_images, start, feats[out])
            for p in paired:
                paired_chunks[p.name].append(p.paired_values(images, real).double().cpu())
            for name, stream in collected.streams.items():
                if rank.is_main:
                    stream.update(images)
                else:
                    kept[name].update((int(k), images[k - start].clone()) for k in stream.needed(start, stop))

    if rank.active:  # rank 0 goes on with every rank's part, in plan order; the others wait for its result
        lo, hi = span
        # rank 0's own feature rows are in place already: only the other ranks' travel (and get pickled)
        own_rows = {} if rank.is_main else {k: [(lo, v[lo:hi])] for k, v in collected.fake.items()}
        parts = distributed.gather({"fake": own_rows, "paired": paired_chunks, "kept": kept, "digests": digests,
                                    "sizes": [generated_size]}, "features and images")
        if not rank.is_main:
            return distributed.broadcast(None, "the result")
        merged = distributed.merge(parts)
        for key, rows in merged["fake"].items():
            for start, values in rows:
                _put_rows(collected.fake, key, n_images, start, torch.from_numpy(values))
        paired_chunks, digests = merged["paired"], merged["digests"]
        for name, stream in collected.streams.items():
            stream.update_kept(merged["kept"].get(name, {}), n_images)
        sizes = sorted({s for s in merged["sizes"] if s is not None})
        if len(sizes) > 1:
            raise ValueError(f"generator {generator_name!r} returned images of sizes {sizes} on different ranks; "
                             f"expected one size for the whole run")
        generated_size = sizes[0]
    collected.paired = {k: torch.cat(v).numpy() for k, v in paired_chunks.items()}
    image_size = _check_images(notes, dataset, plan, generated_size, len(digests), bool(paired))

    results = {}
    for spec, p in protocols.items():
        out = p.compute(collected, keys[spec])
        for note in out.pop("warnings", []):  # degenerate estimates a metric detected (MetricProtocol.compute)
            _warn(notes, f"{spec}: {note}")
        results[spec] = {**out, **p.describe()}
    return distributed.broadcast(EvalResult(  # the same result on every rank, which rank 0 alone computed
        generator=generator_name,
        dataset={"name": dataset.name, "split": dataset.split, "n": len(dataset), "image_size": dataset.image_size,
                 "fingerprint": dataset.fingerprint},
        n_images=int(n_images), seed=int(seed), metrics=results,
        extractors={name: e.describe() for name, e in extractors.items()},
        provenance={"versions": package_versions(), "device": str(device), "batch_size": batch_size,
                    "generator_precision": precision,
                    "image_size": image_size, "distinct_images": len(digests),
                    "cache": [u.to_dict() for u in collected.cache_log],
                    **({"images": {"dir": str(store.root), "shards": len(store.shard_ranges()),
                                   "shards_read_back": resumed}} if store is not None else {}),
                    **({"processes": rank.world} if rank.active else {}),
                    "seconds": round(time.time() - t0, 2),
                    "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        warnings=notes,
    ), "the result")
