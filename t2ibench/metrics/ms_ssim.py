"""MS-SSIM (Wang, Simoncelli & Bovik 2003, "Multi-scale structural similarity for image quality
assessment", Eq. (7)) and HDGAN's diversity protocol built on it.

    MS-SSIM(x, y) = l_M(x, y)^{a_M} * prod_{j=1..M} cs_j(x, y)^{b_j}

with the scale weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333) of the paper (HDGAN uses them,
``defaults.MS_SSIM_WEIGHTS``), Gaussian window 11x11, sigma 1.5, K1 = 0.01, K2 = 0.03, 2x2
average down-sampling between scales. Computed as ``piq.multi_scale_ssim`` computes it (which
matches Wang's MATLAB ``msssim.m`` on goldhill, 0.9012, and ``tf.image.ssim_multiscale``):
before each coarser scale, a one-pixel replicate pad on the top and left when either side is
odd, then 2x2 average pooling; ``cs`` and, at the coarsest scale, SSIM clipped at 0 (ReLU)
before the weighted product. Colour images: MS-SSIM per channel, then the mean over channels
(piq and TF). The local statistics come from the separable, batched Gaussian window of
:mod:`t2ibench.metrics.gaussian_window` (float32, channel-centred moments), equal to
``piq.multi_scale_ssim`` to float32 round-off (``tests/test_ssim_fast.py``).

**Small images** (the protocol's "fewer scales for small images"): with an ``k x k`` window the
coarsest of ``M`` scales needs ``min(H, W) >= (k - 1) * 2^(M-1) + 1`` (piq's and TF's
requirement; 161 px for five scales). :func:`ms_ssim_scales` gives the largest usable ``M``
(64 px -> 3, 128 px -> 4, >= 161 px -> 5); the coarsest weights are dropped and the kept ones
renormalised to sum 1 (piq's normalisation of user weights). When every scale fits, the
default weights are used exactly as published (they sum to 1.0001, as in MATLAB and TF);
custom weights are always normalised to sum 1 (piq).

HDGAN's released code (``Evaluation/ms_ssim/msssim_score.py`` in ypxie/HDGan, a copy of
tensorflow/models' ``research/compression/image_encoder/msssim.py``) computes MS-SSIM
differently; :func:`ms_ssim_hdgan_code` reproduces it as a separately named variant
(``variant="hdgan-code"`` in :func:`ms_ssim_diversity`): it always uses all five scales and
shrinks the window at coarse scales of small images (size ``min(11, H, W)``, sigma
``1.5 * size / 11``), averages the SSIM / cs maps over the colour channels *and* pixels at each
scale before the product, down-samples with a 2x2 mean whose odd last row/column is reflected
(scipy ``convolve(mode='reflect')`` then ``[::2, ::2]``), and applies no clipping (a negative
cs gives NaN, which HDGAN's loop drops). Its pair loop — 20 random images per class, all
ordered pairs among them including self-pairs (MS-SSIM 1) — is not reproduced: both variants
use the pair sampling of :func:`ms_ssim_diversity`.
"""
from __future__ import annotations

import numpy as np
import torch

from t2ibench import defaults
from t2ibench.metrics.gaussian_window import gaussian_kernel_1d, images_per_chunk, ssim_channel_means
from t2ibench.metrics.ssim import _batched, _check_pair, check_data_range
from t2ibench.validation import check_images

#: Most scales MS-SSIM uses (the length of the published weight vector).
MAX_SCALES = 5


def ms_ssim_scales(size: int, kernel_size: int | None = None, max_scales: int = MAX_SCALES) -> int:
    """Number of MS-SSIM scales usable on images whose shorter side is ``size`` pixels.

    The largest ``M <= max_scales`` with ``(kernel_size - 1) * 2^(M-1) + 1 <= size`` (piq/TF's
    size requirement); 0 when even one scale does not fit (``size < kernel_size``).
    ``kernel_size=None`` reads ``defaults.SSIM_KERNEL_SIZE`` (11).
    """
    k = int(kernel_size or defaults.SSIM_KERNEL_SIZE)
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size: expected a positive int (the shorter image side), got {size!r}")
    m = 0
    while m < max_scales and (k - 1) * 2 ** m + 1 <= size:
        m += 1
    return m


def _resolve_weights(weights, size: int, kernel_size: int) -> tuple[torch.Tensor | None, int]:
    """Return (weights to renormalise to sum 1 as piq does, or None for the published ones used as
    they are; number of scales used)."""
    default = weights is None
    if isinstance(weights, torch.Tensor):
        weights = weights.detach().cpu().numpy()
    w = np.asarray(defaults.MS_SSIM_WEIGHTS if default else weights, dtype=np.float64)
    if w.ndim != 1 or w.size == 0:
        raise ValueError(f"weights: expected a non-empty 1-d sequence of scale weights, got shape {w.shape}")
    if not np.isfinite(w).all() or (w <= 0).any():
        raise ValueError(f"weights: must be positive and finite, got {w.tolist()}")
    scales = ms_ssim_scales(size, kernel_size, max_scales=w.size)
    if scales < 1:
        raise ValueError(f"images of {size} px are smaller than the {kernel_size}x{kernel_size} window")
    if default and scales == w.size and tuple(w) == (0.0448, 0.2856, 0.3001, 0.2363, 0.1333):
        return None, scales  # the published weights as piq builds them in, not renormalised
    return torch.tensor(w[:scales], dtype=torch.float32), scales  # renormalised to sum 1 (piq)


def ms_ssim(x, y, data_range: float = 255, weights=None, *, kernel_size: int | None = None,
            kernel_sigma: float | None = None, batch_size: int | None = None) -> torch.Tensor:
    """Per-image MS-SSIM ``Tensor[N]`` (float32) between ``x`` and ``y`` ``[N, C, H, W]``.

    Args:
        x, y: uint8, or float in ``[0, data_range]``; same shape; any number of channels.
        data_range: the value range (255 for uint8).
        weights: scale weights, finest first; ``None`` reads ``defaults.MS_SSIM_WEIGHTS``.
            Only the first ``ms_ssim_scales(min(H, W))`` are used (see the module docstring).
        kernel_size, kernel_sigma: Gaussian window; ``None`` reads ``defaults.SSIM_*``.
        batch_size: at most this many images per chunk; ``None`` reads ``defaults.BATCH_SIZE``
            (chunks are further capped to a cache-sized working set; values do not depend on it).
    """
    k = int(kernel_size or defaults.SSIM_KERNEL_SIZE)
    sigma = float(kernel_sigma or defaults.SSIM_SIGMA)
    if k < 1 or k % 2 == 0:
        raise ValueError(f"kernel_size: must be a positive odd number, got {k}")
    x, y = _check_pair(x, y, data_range, k, keep_uint8=True)
    w, _ = _resolve_weights(weights, min(x.shape[2], x.shape[3]), k)
    w = torch.tensor(defaults.MS_SSIM_WEIGHTS, dtype=torch.float32) if w is None else w / w.sum()
    kernel = gaussian_kernel_1d(k, sigma)
    c1, c2 = (0.01 * float(data_range)) ** 2, (0.03 * float(data_range)) ** 2
    return _batched(lambda a, b: _piq_ms_ssim(a, b, kernel, c1, c2, w), x, y, batch_size, images_per_chunk(x.shape))


def _piq_ms_ssim(x: torch.Tensor, y: torch.Tensor, kernel: torch.Tensor, c1: float, c2: float,
                 weights: torch.Tensor) -> torch.Tensor:
    """``piq.multi_scale_ssim`` (piq 0.8 ``_multi_scale_ssim``) step for step on ``[N, C, H, W]``;
    ``weights`` (one per scale, finest first) as piq uses them after its normalisation."""
    mcs, ssim_val = [], None
    for level in range(weights.numel()):
        if level:
            x, y = x.float(), y.float()  # uint8 at the first scale; no-op afterwards
            pad = max(x.shape[2] % 2, x.shape[3] % 2)
            x = torch.nn.functional.pad(x, [pad, 0, pad, 0], mode="replicate")
            y = torch.nn.functional.pad(y, [pad, 0, pad, 0], mode="replicate")
            x, y = torch.nn.functional.avg_pool2d(x, 2), torch.nn.functional.avg_pool2d(y, 2)
        ssim_val, cs = ssim_channel_means(x, y, kernel, c1, c2)
        mcs.append(cs)
    terms = torch.relu(torch.stack(mcs[:-1] + [ssim_val]))  # [scales, N, C]
    return torch.prod(terms ** weights.to(terms.device).view(-1, 1, 1), dim=0).mean(dim=1)


def _hdgan_code_ms_ssim(x: torch.Tensor, y: torch.Tensor, data_range: float, weights: np.ndarray) -> torch.Tensor:
    a, b = x / float(data_range), y / float(data_range)
    mcs, ssim_val = [], None
    for level in range(len(weights)):
        if level:
            pad = (0, a.shape[3] % 2, 0, a.shape[2] % 2)  # reflect the odd last row/column
            a = torch.nn.functional.avg_pool2d(torch.nn.functional.pad(a, pad, mode="replicate"), 2)
            b = torch.nn.functional.avg_pool2d(torch.nn.functional.pad(b, pad, mode="replicate"), 2)
        size = min(11, a.shape[2], a.shape[3])  # fspecial window, shrunk at coarse scales
        ssim_map, cs_map = ssim_channel_means(a, b, gaussian_kernel_1d(size, size * 1.5 / 11), 0.01 ** 2, 0.03 ** 2)
        mcs.append(cs_map.mean(dim=1))  # channels and pixels pooled: the channel maps have equal sizes
        ssim_val = ssim_map.mean(dim=1)
    w = torch.as_tensor(weights, dtype=torch.float32)
    out = ssim_val ** w[-1]
    for level in range(len(weights) - 1):
        out = out * mcs[level] ** w[level]
    return out


def ms_ssim_hdgan_code(x, y, data_range: float = 255, weights=None, *, batch_size: int | None = None) -> torch.Tensor:
    """Per-image MS-SSIM ``Tensor[N]`` as HDGAN's released ``msssim_score.py`` computes it (see the
    module docstring): five scales at every image size, window shrunk at coarse scales, colour
    channels pooled per scale, weights as given (default ``defaults.MS_SSIM_WEIGHTS``, not
    renormalised), NaN where a coarse-scale cs is negative. Float32 (the original is float64)."""
    w = np.asarray(defaults.MS_SSIM_WEIGHTS if weights is None else weights, dtype=np.float64)
    if w.ndim != 1 or w.size == 0 or not np.isfinite(w).all() or (w <= 0).any():
        raise ValueError(f"weights: expected a non-empty 1-d sequence of positive weights, got {w.tolist()}")
    x, y = _check_pair(x, y, data_range, 1)
    return _batched(lambda a, b: _hdgan_code_ms_ssim(a, b, data_range, w), x, y, batch_size,
                    images_per_chunk(x.shape))


def _unrank_pairs(n: int, ranks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map ranks in ``[0, n(n-1)/2)`` to pairs ``(i, j)``, ``i < j``, in row-major order."""
    rows = np.arange(n - 1, dtype=np.int64)
    offsets = rows * n - rows * (rows + 1) // 2  # number of pairs before row i
    i = np.searchsorted(offsets, ranks, side="right") - 1
    j = ranks - offsets[i] + i + 1
    return i.astype(np.int64), j.astype(np.int64)


def _sample_pairs(n: int, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``min(k, n(n-1)/2)`` distinct unordered pairs of distinct indices; all pairs when ``k`` covers them."""
    total = n * (n - 1) // 2
    if k >= total:
        ranks = np.arange(total, dtype=np.int64)
    else:
        ranks = np.sort(rng.choice(total, size=k, replace=False)).astype(np.int64)
    return _unrank_pairs(n, ranks)


def _stats(v: np.ndarray) -> tuple[float | None, float | None]:
    return (float(v.mean()), float(v.std())) if v.size else (None, None)


def _py(v):
    return v.item() if isinstance(v, np.generic) else v


def _check_count(name: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{name}: expected an int, got {type(v).__name__}")
    if v < 0:
        raise ValueError(f"{name}: must be >= 0, got {v}")
    return int(v)


def _checked_images(images, data_range) -> torch.Tensor:
    """``images`` as a tensor ``[N, C, H, W]`` at least one window wide: uint8 kept as it is (no range
    to check), anything else checked to lie in ``[0, data_range]`` and returned as float32."""
    k = int(defaults.SSIM_KERNEL_SIZE)
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(images)
    if isinstance(images, torch.Tensor) and images.dtype == torch.uint8:
        check_images(images[:1], "images", channels=None, min_size=k)  # shape/dtype; uint8 needs no range check
        return images
    return check_images(images, "images", channels=None, min_size=k, data_range=float(check_data_range(data_range)))


def _checked_labels(class_ids, n: int) -> np.ndarray | None:
    if class_ids is None:
        return None
    if isinstance(class_ids, torch.Tensor):
        class_ids = class_ids.detach().cpu().numpy()
    labels = np.asarray(class_ids)
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(f"class_ids: expected {n} labels (one per image), got shape {labels.shape}")
    if labels.dtype.kind == "f" and not np.isfinite(labels).all():
        raise ValueError("class_ids: contains NaN or Inf")
    if labels.dtype.kind not in "iubUSf":
        raise TypeError(f"class_ids: expected int or str labels, got dtype {labels.dtype}")
    return labels


class MSSSIMDiversityStream:
    """HDGAN's MS-SSIM diversity protocol (see :func:`ms_ssim_diversity`) over ``n`` images that
    arrive in order, in chunks (:meth:`update`), holding only the images a pending pair still needs.

    The pairs are drawn in the constructor, before any image is seen, from the image count and
    the labels alone — the same draws from ``np.random.default_rng(seed)`` as
    :func:`ms_ssim_diversity` on the whole array, so the same pairs. A pair ``(i, j)``, ``i < j``,
    is scored once image ``j`` has arrived and its batch (below) is complete; an image is kept
    past its chunk only while a pair that needs it is still pending, and dropped after its last. ``held`` is the number of
    images kept now, ``peak_held`` the most kept past a chunk at any time: at most the number
    of images the pairs touch, whatever ``n``; ``n_pairs`` the pairs drawn.

    Pairs are scored in batches of ``batch_size`` taken in the order their later image arrives
    (ties in draw order), with batch boundaries at fixed ranks of that order, so the batches —
    and the values — are the same however the images are chunked, :func:`ms_ssim_diversity`'s
    single chunk included, even where a kernel's float32 rounding depends on the batch around
    an image (piq's MS-SSIM does: its final power goes through a vectorised ``pow`` for most
    elements of a batch and a scalar one for the last few).

    Args: as :func:`ms_ssim_diversity`, with ``n`` (the number of images that will arrive) in
    place of the images.
    """

    def __init__(self, n: int, class_ids=None, pairs_per_class: int | None = None, pairs_overall: int | None = None,
                 seed: int | None = None, data_range: float = 255, *, weights=None, variant: str = "piq",
                 batch_size: int | None = None):
        self.pairs_per_class = _check_count("pairs_per_class", defaults.MS_SSIM_PAIRS_PER_CLASS
                                            if pairs_per_class is None else pairs_per_class)
        self.pairs_overall = _check_count("pairs_overall", defaults.MS_SSIM_PAIRS_OVERALL
                                          if pairs_overall is None else pairs_overall)
        self.seed = _check_count("seed", defaults.SEED if seed is None else seed)
        self.data_range = check_data_range(data_range)
        if variant not in ("piq", "hdgan-code"):
            raise ValueError(f"variant: expected 'piq' or 'hdgan-code', got {variant!r}")
        self.variant, self.weights = variant, weights
        self.batch_size = int(batch_size or defaults.BATCH_SIZE)
        if self.batch_size < 1:
            raise ValueError(f"batch_size: must be >= 1, got {batch_size}")
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n: expected a positive int (the number of images), got {n!r}")
        self.n = int(n)
        self._draw_pairs(_checked_labels(class_ids, self.n))
        self._values = np.empty(self._a.size, dtype=np.float64)
        self._pending = np.bincount(self._a, minlength=self.n) + np.bincount(self._b, minlength=self.n)
        self._used = self._pending > 0  # the images some pair reads (fixed by the plan)
        self._by_last = np.argsort(self._b, kind="stable")  # a pair is ready when its later image j arrives
        self._last_sorted = self._b[self._by_last]
        self._held: dict[int, torch.Tensor] = {}
        self._seen, self._scored, self._shape, self.scales, self.peak_held = 0, 0, None, None, 0

    def _draw_pairs(self, labels: np.ndarray | None) -> None:
        """Pairs ``a[p] < b[p]``: each class in sorted order, then the overall pairs (one rng, in this order)."""
        rng = np.random.default_rng(self.seed)
        first, second, self._per_class_slices = [], [], []
        self.n_classes_skipped, pos = 0, 0
        if labels is not None:
            for c in np.unique(labels):
                idx = np.flatnonzero(labels == c)
                if idx.size < 2:
                    self.n_classes_skipped += 1
                    continue
                i, j = _sample_pairs(idx.size, self.pairs_per_class, rng)
                first.append(idx[i])
                second.append(idx[j])
                self._per_class_slices.append((_py(c), slice(pos, pos + i.size)))
                pos += i.size
        self._n_classwise = pos
        if self.n >= 2:
            i, j = _sample_pairs(self.n, self.pairs_overall, rng)
            first.append(i)
            second.append(j)
        self._a = np.concatenate(first) if first else np.zeros(0, np.int64)
        self._b = np.concatenate(second) if second else np.zeros(0, np.int64)

    @property
    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """The pairs drawn, ``(i, j)`` int64 arrays, ``i < j``: each class's (sorted classes), then the overall ones."""
        return self._a.copy(), self._b.copy()

    @property
    def n_pairs(self) -> int:
        return int(self._a.size)

    @property
    def held(self) -> int:
        return len(self._held)

    def update(self, images) -> None:
        """Feed the next images ``[B, C, H, W]`` (uint8, or float in ``[0, data_range]``), in order."""
        self._feed(_checked_images(images, self.data_range))

    def needed(self, start: int, stop: int) -> np.ndarray:
        """The indices in ``[start, stop)`` that some pair reads, int64, sorted: the images another process
        of a sharded run (:mod:`t2ibench.distributed`) keeps for :meth:`update_kept`."""
        return np.flatnonzero(self._used[start:stop]) + start

    def update_kept(self, kept: dict, stop: int) -> None:
        """Feed images ``seen .. stop - 1`` given only those some pair reads (``kept``: index -> ``[C, H, W]``,
        at least :meth:`needed`): the others, which no pair reads, stand in as zeros. Values are those of
        :meth:`update` with every image, since pairs are scored in fixed batches whatever the chunks."""
        for lo in range(self._seen, stop, self.batch_size):
            hi = min(lo + self.batch_size, stop)
            missing = [int(k) for k in self.needed(lo, hi) if int(k) not in kept]
            if missing:
                raise ValueError(f"images {missing[:5]} are read by MS-SSIM pairs but were not given")
            if self._shape is None and not kept:
                raise ValueError("update_kept: no image given to take the shape from")
            shape = self._shape or tuple(next(iter(kept.values())).shape)
            chunk = torch.zeros((hi - lo, *shape), dtype=next(iter(kept.values())).dtype if kept else torch.uint8)
            for k in range(lo, hi):
                if k in kept:
                    chunk[k - lo] = kept[k]
            self.update(chunk)

    def _feed(self, images: torch.Tensor) -> None:
        lo, hi = self._seen, self._seen + images.shape[0]
        if hi > self.n:
            raise ValueError(f"got {hi} images, {hi - self.n} more than the {self.n} the pairs were drawn for")
        if self._shape is None:
            self._shape = tuple(images.shape[1:])
            size = min(images.shape[2], images.shape[3])
            if self.variant == "piq":
                _, self.scales = _resolve_weights(self.weights, size, int(defaults.SSIM_KERNEL_SIZE))
            else:
                self.scales = len(defaults.MS_SSIM_WEIGHTS if self.weights is None else self.weights)
        elif tuple(images.shape[1:]) != self._shape:
            raise ValueError(f"images: {tuple(images.shape[1:])} from image {lo} on, after {self._shape} before; "
                             f"expected one shape for all {self.n} images")
        arrived = [lo + int(k) for k in np.flatnonzero(self._pending[lo:hi])]
        self._held.update((i, images[i - lo]) for i in arrived)  # views into this chunk, for now
        ready = int(np.searchsorted(self._last_sorted, hi))  # pairs whose later image has arrived
        stop = ready if hi == self.n else self._scored + (ready - self._scored) // self.batch_size * self.batch_size
        fn = ms_ssim if self.variant == "piq" else ms_ssim_hdgan_code
        for s in range(self._scored, stop, self.batch_size):
            pos = self._by_last[s:min(s + self.batch_size, stop)]
            x = torch.stack([self._held[i] for i in self._a[pos].tolist()])
            y = torch.stack([self._held[j] for j in self._b[pos].tolist()])
            self._values[pos] = fn(x, y, data_range=self.data_range, weights=self.weights,
                                   batch_size=self.batch_size).double().numpy()
        scored = self._by_last[self._scored:stop]
        self._scored = stop
        done = np.concatenate([self._a[scored], self._b[scored]])
        np.subtract.at(self._pending, done, 1)
        for i in np.unique(done).tolist():
            if self._pending[i] == 0:
                del self._held[i]
        for i in arrived:  # still needed by a later image's pair: a copy, so that the chunk can go
            if i in self._held:
                self._held[i] = self._held[i].clone()
        self._seen = hi
        self.peak_held = max(self.peak_held, len(self._held))

    def result(self) -> dict:
        """The protocol's values once all ``n`` images arrived (the dict of :func:`ms_ssim_diversity`)."""
        if self._seen != self.n:
            raise ValueError(f"MS-SSIM diversity: {self._seen} of the {self.n} images arrived; the pairs need all")
        values = self._values

        def finite(v):
            return v[np.isfinite(v)]

        per_class = {c: float(finite(values[sl]).mean()) for c, sl in self._per_class_slices
                     if finite(values[sl]).size}
        cw_mean, cw_std = _stats(np.array(list(per_class.values()), dtype=np.float64))
        ov_mean, ov_std = _stats(finite(values[self._n_classwise:]))
        return {
            "ms_ssim_classwise": cw_mean,
            "ms_ssim_classwise_std": cw_std,
            "ms_ssim_overall": ov_mean,
            "ms_ssim_overall_std": ov_std,
            "n_pairs_classwise": int(self._n_classwise),
            "n_pairs_overall": int(values.size - self._n_classwise),
            "n_classes": len(per_class),
            "n_classes_skipped": int(self.n_classes_skipped),
            "scales": int(self.scales),
            "image_size": [int(self._shape[1]), int(self._shape[2])],
            "seed": int(self.seed),
            "variant": self.variant,
            "n_pairs_nan": int((~np.isfinite(values)).sum()),
            "per_class": per_class,
        }


def ms_ssim_diversity(images, class_ids=None, pairs_per_class: int | None = None,
                      pairs_overall: int | None = None, seed: int | None = None,
                      data_range: float = 255, *, weights=None, variant: str = "piq",
                      batch_size: int | None = None) -> dict:
    """HDGAN's MS-SSIM diversity protocol (Zhang, Xie & Yang 2018, Sec. 5): mean MS-SSIM over random
    pairs of images of the same class and over random pairs overall; lower = more diverse.

    Pairs are distinct unordered pairs of different images, drawn without replacement (all
    pairs when a class has no more than requested), deterministically from
    ``np.random.default_rng(seed)``; classes are visited in sorted order, then the overall pairs
    are drawn from all images. The draws need only the number of images and their labels, so
    :class:`MSSSIMDiversityStream` (which this function feeds the whole array at once) draws
    them before any image exists and scores images as they arrive. MS-SSIM as :func:`ms_ssim`
    (fewer scales for small images) with
    ``variant="piq"`` (default), or as HDGAN's released code computes it with
    ``variant="hdgan-code"`` (:func:`ms_ssim_hdgan_code`: always five scales; NaN pair values
    are dropped from the means, as HDGAN's loop does, and counted in ``n_pairs_nan``).

    Args:
        images: ``[N, C, H, W]`` uint8 or float in ``[0, data_range]``.
        class_ids: ``N`` class labels (ints or strings; numpy, torch or a list), or ``None``
            for no class-wise part.
        pairs_per_class, pairs_overall: ``None`` reads ``defaults.MS_SSIM_PAIRS_PER_CLASS`` (400)
            and ``defaults.MS_SSIM_PAIRS_OVERALL`` (2000).
        seed: ``None`` reads ``defaults.SEED``.
        variant: ``"piq"`` or ``"hdgan-code"``.

    Returns a dict:
        ``ms_ssim_classwise``: mean over classes of the per-class mean MS-SSIM (None if no class
        has 2 images); ``ms_ssim_classwise_std``: population std of the per-class means across
        classes; ``ms_ssim_overall`` / ``ms_ssim_overall_std``: mean / population std over the
        overall pairs (None if N < 2); ``n_pairs_classwise`` (all classes together),
        ``n_pairs_overall``, ``n_classes`` (classes scored), ``n_classes_skipped`` (classes with
        fewer than 2 images), ``scales`` (MS-SSIM scales used for this image size),
        ``image_size`` ``[H, W]``, ``seed``, ``variant``, ``n_pairs_nan`` and ``per_class``
        ``{class_id: mean}``.
    """
    check_data_range(data_range)
    images = _checked_images(images, data_range)
    stream = MSSSIMDiversityStream(images.shape[0], class_ids, pairs_per_class, pairs_overall, seed, data_range,
                                   weights=weights, variant=variant, batch_size=batch_size)
    stream._feed(images)
    return stream.result()
