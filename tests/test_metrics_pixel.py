"""Pixel metrics (SSIM, MS-SSIM, FSIM/FSIMc) and HDGAN's MS-SSIM diversity protocol.

Reference values are the original MATLAB outputs on the standard IQA pairs in
``../shared/reference/iqa``, as recorded in piq's own test-suite (photosynthesis-team/piq):

* SSIM, Wang's ``ssim.m`` (http://www.cns.nyu.edu/~lcv/ssim/ssim.m, with its automatic
  down-sampling): goldhill_jpeg vs goldhill 0.8202 (piq ``tests/test_ssim.py``,
  ``test_ssim_simmular_to_matlab_implementation``); TID2013 i01_01_5 vs I01 (RGB, mean over
  channels): the same test keeps ``0.7820`` as the commented "output of ssim.m" and asserts
  ``0.7842`` with ``atol=1e-2``.
* MS-SSIM, Wang's ``msssim.m`` (https://ece.uwaterloo.ca/~z70wang/research/iwssim/msssim.zip):
  goldhill 0.9012, I01 0.8800 ("mean of 3 channel values") (piq ``tests/test_ms_ssim.py``).
* FSIM / FSIMc, Zhang et al.'s ``FeatureSIM.m``: goldhill FSIM 0.89691; I01 FSIM 0.93674,
  FSIMc 0.92587 (piq ``tests/test_fsim.py``, "Baseline values are from original MATLAB code").

Tolerances: half a unit in the last published digit (rounding of the published value) plus
float32 round-off (measured here: < 3e-6 against float64): 1e-4 for 4-decimal values, 1e-5
for 5-decimal FSIM and for the default FSIMc, which follows FeatureSIM.m's
real((S_I S_Q)^0.03) and YIQ rows (measured 0.9258726). piq's FSIMc (|S_I S_Q|^0.03, 4-decimal
YIQ rows; the ``fsimc-piq`` metric) is 2.7e-5 above MATLAB's (piq asserts 1e-4) and is checked
against ``piq.fsim`` itself.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from t2ibench import defaults
from t2ibench.metrics import fsim, ms_ssim, ms_ssim_diversity, ms_ssim_scales, ssim
from t2ibench.metrics.ms_ssim import _sample_pairs, _unrank_pairs


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def goldhill(shared_dir):
    from skimage.io import imread

    base = shared_dir / "reference" / "iqa"
    ref = torch.from_numpy(np.asarray(imread(base / "goldhill.gif"))[0].copy())[None, None]
    jpeg = torch.from_numpy(np.asarray(imread(base / "goldhill_jpeg.gif"))[0].copy())[None, None]
    assert ref.shape == (1, 1, 512, 512) and ref.dtype == torch.uint8
    return jpeg, ref


@pytest.fixture(scope="module")
def tid_i01(shared_dir):
    from skimage.io import imread

    base = shared_dir / "reference" / "iqa"
    ref = torch.from_numpy(np.asarray(imread(base / "I01.BMP")).copy()).permute(2, 0, 1)[None]
    dist = torch.from_numpy(np.asarray(imread(base / "i01_01_5.bmp")).copy()).permute(2, 0, 1)[None]
    assert ref.shape == (1, 3, 384, 512)
    return dist, ref


def _noisy(img: np.ndarray, seed: int, sigma: float = 20.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(img.astype(np.float64) + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


def _to_tensor(img: np.ndarray) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(img))
    return t[None, None] if t.ndim == 2 else t.permute(2, 0, 1)[None]


# ----------------------------------------------------------------------------- MATLAB references

def test_ssim_matches_matlab_ssim_m_with_downsampling(goldhill, tid_i01):
    assert ssim(*goldhill, downsample=True).item() == pytest.approx(0.8202, abs=1e-4)
    v = ssim(*tid_i01, downsample=True).item()
    assert v == pytest.approx(0.7842, abs=1e-2)  # piq's asserted value and tolerance
    assert v == pytest.approx(0.7820, abs=1e-4)  # piq's commented ssim.m value (per-channel mean)


def test_ssim_default_is_without_downsampling(goldhill):
    from skimage.metrics import structural_similarity

    jpeg, ref = goldhill
    default = ssim(jpeg, ref).item()
    assert default == ssim(jpeg, ref, downsample=False).item()
    assert abs(default - 0.8202) > 0.05  # at 512 px the two variants differ a lot
    sk = structural_similarity(jpeg[0, 0].numpy(), ref[0, 0].numpy(), gaussian_weights=True, sigma=1.5,
                               use_sample_covariance=False, data_range=255)
    assert default == pytest.approx(sk, abs=5e-5)


def test_ms_ssim_matches_matlab_msssim_m(goldhill, tid_i01):
    assert ms_ssim_scales(512) == 5 and ms_ssim_scales(384) == 5
    assert ms_ssim(*goldhill).item() == pytest.approx(0.9012, abs=1e-4)
    assert ms_ssim(*tid_i01).item() == pytest.approx(0.8800, abs=1e-4)


def test_fsim_matches_matlab_featuresim_m(goldhill, tid_i01):
    assert fsim(*goldhill, chromatic=False).item() == pytest.approx(0.89691, abs=1e-5)
    assert fsim(*tid_i01, chromatic=False).item() == pytest.approx(0.93674, abs=1e-5)
    assert fsim(*tid_i01, chromatic=True).item() == pytest.approx(0.92587, abs=1e-5)
    assert fsim(*tid_i01).item() == fsim(*tid_i01, chromatic=True).item()  # FSIMc is the default
    assert fsim(*tid_i01).item() == fsim(*tid_i01, chroma="matlab").item()  # ... in FeatureSIM.m's form


def test_fsimc_piq_variant_is_piq_and_differs_only_in_the_chroma_term(tid_i01):
    import sys

    import piq

    fsim_module = sys.modules["t2ibench.metrics.fsim"]
    dist, ref = tid_i01
    theirs = piq.fsim(dist.float(), ref.float(), data_range=255.0, reduction="none", chromatic=True)
    ours = fsim(dist, ref, chroma="piq")
    # fsim runs on one intra-op thread: float32 sums in another order than piq's call with the
    # default threads, 1 ulp (1.2e-7) apart here
    torch.testing.assert_close(ours, theirs, rtol=0, atol=2.5e-7)
    assert abs(ours.item() - 0.92587) > 2e-5  # piq's form misses MATLAB's published value
    # the hand-built MATLAB path with piq's YIQ rows and |p|^0.03 is piq.fsim (so only those two differ)
    replica = fsim_module._fsimc_maps(dist.float(), ref.float(), 255.0, lambda p, lmbda: p.abs() ** lmbda)
    torch.testing.assert_close(replica, theirs, rtol=0, atol=1e-7)
    # real(p^0.03) = |p|^0.03 cos(0.03 pi) for p < 0 (MATLAB's complex power), |p|^0.03 otherwise
    p = torch.tensor([-0.5, -1e-3, 0.0, 0.25, 1.0], dtype=torch.float64)
    expected = torch.from_numpy(np.real(p.numpy().astype(np.complex128) ** 0.03))
    torch.testing.assert_close(fsim_module._matlab_chroma(p, 0.03), expected, rtol=1e-15, atol=0)
    with pytest.raises(ValueError, match="chroma"):
        fsim(dist, ref, chroma="abs")


def test_fsimc_metric_variants_are_registered():
    from t2ibench.protocols import parse_metric

    x = torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8)
    y = torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8)
    torch.testing.assert_close(parse_metric("fsimc", "shapes").paired_values(x, y), fsim(x, y))
    torch.testing.assert_close(parse_metric("fsimc-piq", "shapes").paired_values(x, y), fsim(x, y, chroma="piq"))


# ----------------------------------------------------------------------------- scikit-image

@pytest.mark.parametrize("name", ["astronaut", "camera", "coffee"])
def test_ssim_matches_scikit_image(name):
    import skimage.data
    from skimage.metrics import structural_similarity

    img = getattr(skimage.data, name)()
    img = img[:256, :320] if name != "coffee" else img[:200, :300]  # keep it small; non-square on purpose
    dist = _noisy(img, seed=1)
    kw = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)
    if img.ndim == 3:
        kw["channel_axis"] = 2
    sk = structural_similarity(img, dist, **kw)
    ours = ssim(_to_tensor(img), _to_tensor(dist)).item()
    # float32 with channel-centred moments: sigma^2 = E[x^2] - mu^2 no longer cancels in flat regions
    # (camera's sky, where piq's uncentred float32 is 2.5e-5 off); measured 4.6e-8 on this crop.
    assert ours == pytest.approx(sk, abs=1e-6)
    assert 0.1 < ours < 0.95
    if name == "camera":  # the same formula in float64 agrees to round-off: the residual is float32 only
        import piq

        f64 = piq.ssim(_to_tensor(img).double(), _to_tensor(dist).double(), data_range=255.0,
                       kernel_size=11, kernel_sigma=1.5, downsample=False).item()
        assert f64 == pytest.approx(sk, abs=1e-10)


def test_ssim_downsample_variant_is_skimage_on_block_averaged_images():
    import skimage.data
    from skimage.metrics import structural_similarity

    img = skimage.data.camera()  # 512x512 -> Wang's factor f = 2
    dist = _noisy(img, seed=2)
    pooled = [img.astype(np.float64).reshape(256, 2, 256, 2).mean(axis=(1, 3)) for img in (img, dist)]
    sk = structural_similarity(*pooled, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                               data_range=255)
    assert ssim(_to_tensor(img), _to_tensor(dist), downsample=True).item() == pytest.approx(sk, abs=5e-5)


# ----------------------------------------------------------------------------- properties

def test_identity_gives_one_and_batches_are_per_image():
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.integers(0, 256, (3, 3, 48, 48), dtype=np.uint8))
    y = torch.from_numpy(_noisy(x.numpy(), seed=3))
    for fn in (ssim, ms_ssim, fsim):
        same = fn(x, x)
        assert same.shape == (3,) and same.dtype == torch.float32
        torch.testing.assert_close(same, torch.ones(3), atol=1e-5, rtol=0)
        torch.testing.assert_close(fn(x.numpy(), x.numpy()), same)
        diff = fn(x, y)
        assert (diff < 0.999).all()
        # per-image values do not depend on the batch composition or batch_size
        torch.testing.assert_close(fn(x[2:3], y[2:3]), diff[2:3], atol=1e-6, rtol=0)
        torch.testing.assert_close(fn(x, y, batch_size=2), diff, atol=1e-6, rtol=0)
    torch.testing.assert_close(fsim(x, x, chromatic=False), torch.ones(3), atol=1e-5, rtol=0)


def test_float_inputs_and_data_range():
    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.integers(0, 256, (2, 3, 48, 48), dtype=np.uint8))
    y = torch.from_numpy(_noisy(x.numpy(), seed=4))
    for fn in (ssim, ms_ssim, fsim):
        ref = fn(x, y)
        torch.testing.assert_close(fn(x.float(), y.double()), ref, atol=1e-6, rtol=0)
        torch.testing.assert_close(fn(x / 255.0, y / 255.0, data_range=1.0), ref, atol=2e-5, rtol=0)


def test_ms_ssim_scale_reduction_for_small_images():
    import piq

    assert [ms_ssim_scales(s) for s in (10, 11, 20, 21, 40, 41, 64, 80, 81, 128, 160, 161, 256)] == \
        [0, 1, 1, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5]
    assert ms_ssim_scales(64, kernel_size=7) == 4  # 6 * 2^3 + 1 = 49 <= 64
    rng = np.random.default_rng(2)
    x = torch.from_numpy(rng.integers(0, 256, (3, 3, 64, 64), dtype=np.uint8))
    y = torch.from_numpy(_noisy(x.numpy(), seed=5, sigma=40))
    w = np.asarray(defaults.MS_SSIM_WEIGHTS)
    # 64 px: the three finest weights, renormalised to sum 1, computed directly by piq (in float64:
    # ours, float32 with channel-centred moments, is 6e-8 from it and 1.1e-6 from piq's float32)
    direct = piq.multi_scale_ssim(x.double(), y.double(), data_range=255.0, reduction="none",
                                  scale_weights=torch.tensor(w[:3] / w[:3].sum(), dtype=torch.float64))
    torch.testing.assert_close(ms_ssim(x, y).double(), direct, atol=1e-6, rtol=0)
    # and by hand from piq's single-scale terms (Wang et al. 2003, Eq. 7), per channel, then the mean
    by_hand = []
    for c in range(3):
        a, b = x[:, c:c + 1].double() / 255, y[:, c:c + 1].double() / 255
        value = torch.ones(3, dtype=torch.float64)
        for level in range(3):
            if level:
                a, b = torch.nn.functional.avg_pool2d(a, 2), torch.nn.functional.avg_pool2d(b, 2)
            s, cs = piq.ssim(a, b, data_range=1.0, reduction="none", downsample=False, full=True)
            value = value * (s if level == 2 else cs).clamp_min(0) ** (w[level] / w[:3].sum())
        by_hand.append(value)
    torch.testing.assert_close(ms_ssim(x, y).double(), torch.stack(by_hand).mean(0), atol=1e-5, rtol=0)
    # custom weights: only as many as fit are used
    torch.testing.assert_close(ms_ssim(x, y, weights=[1.0, 1.0, 1.0, 1.0]),
                               ms_ssim(x, y, weights=[2.0, 2.0, 2.0]), atol=1e-6, rtol=0)


def test_pixel_metric_input_checks():
    x = torch.zeros(2, 3, 32, 32, dtype=torch.uint8)
    with pytest.raises(ValueError, match="x and y must have the same shape"):
        ssim(x, torch.zeros(2, 3, 32, 31, dtype=torch.uint8))
    with pytest.raises(TypeError, match="y: expected dtype uint8 or a floating dtype"):
        ms_ssim(x, x.int())
    with pytest.raises(ValueError, match=r"x: values must lie in \[0, 255"):
        fsim(x.float() - 1, x)
    with pytest.raises(ValueError, match=r"y: values must lie in \[0, 1"):
        ssim(x.float() / 255, x.float() + 255, data_range=1.0)
    with pytest.raises(ValueError, match="y: uint8 values up to 255 exceed data_range=1"):
        ssim(x.float() / 255, x + 255, data_range=1.0)
    with pytest.raises(ValueError, match="y: contains NaN"):
        ssim(x.float(), torch.full((2, 3, 32, 32), float("nan")))
    with pytest.raises(ValueError, match="x: expected 4 dimensions"):
        ssim(x[0], x[0])
    with pytest.raises(TypeError, match="x: expected a torch.Tensor"):
        ssim([[1.0]], x)
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(x[..., :10, :10], x[..., :10, :10])
    with pytest.raises(ValueError, match="chromatic"):
        fsim(x[:, :1], x[:, :1])
    with pytest.raises(ValueError, match="1 \\(grey\\) or 3"):
        fsim(x[:, :2], x[:, :2], chromatic=False)
    with pytest.raises(ValueError, match="data_range"):
        ssim(x, x, data_range=0)
    with pytest.raises(ValueError, match="weights"):
        ms_ssim(x, x, weights=[0.5, -0.5])


# ----------------------------------------------------------------------------- diversity protocol

def test_pair_sampling_enumerates_and_samples_distinct_pairs():
    i, j = _unrank_pairs(7, np.arange(21))
    assert list(zip(i.tolist(), j.tolist())) == [(a, b) for a in range(7) for b in range(a + 1, 7)]
    rng = np.random.default_rng(0)
    i, j = _sample_pairs(1000, 500, rng)
    assert len(set(zip(i.tolist(), j.tolist()))) == 500 and (i < j).all() and (j < 1000).all()
    i, j = _sample_pairs(5, 400, rng)  # fewer pairs exist than requested: all 10
    assert len(i) == 10


def _noise_images(n, seed, size=64):
    return torch.from_numpy(np.random.default_rng(seed).integers(0, 256, (n, 3, size, size), dtype=np.uint8))


def test_diversity_identical_images_give_one_and_noise_near_zero():
    same = _noise_images(1, 0).repeat(6, 1, 1, 1)
    out = ms_ssim_diversity(same, [0, 0, 0, 1, 1, 1], pairs_per_class=400, pairs_overall=100)
    assert out["ms_ssim_classwise"] == pytest.approx(1.0, abs=1e-5)
    assert out["ms_ssim_overall"] == pytest.approx(1.0, abs=1e-5)
    assert out["n_pairs_classwise"] == 3 + 3 and out["n_pairs_overall"] == 15  # all pairs (fewer exist)

    noise = _noise_images(12, 1)
    out = ms_ssim_diversity(noise, np.repeat([0, 1, 2], 4), pairs_per_class=400, pairs_overall=1000)
    assert out["ms_ssim_classwise"] < 0.05 and out["ms_ssim_overall"] < 0.05
    assert out["scales"] == 3 == ms_ssim_scales(64)
    assert out["image_size"] == [64, 64]


def test_diversity_classwise_structure_and_skipped_classes():
    collapsed = _noise_images(1, 2).repeat(5, 1, 1, 1)  # class "a": mode collapse
    diverse = _noise_images(5, 3)  # class "b": independent images
    images = torch.cat([collapsed, diverse, _noise_images(1, 4)])
    labels = ["a"] * 5 + ["b"] * 5 + ["c"]  # "c" has a single image: skipped
    out = ms_ssim_diversity(images, labels, pairs_per_class=4, pairs_overall=20, seed=3)
    assert set(out["per_class"]) == {"a", "b"}
    assert out["per_class"]["a"] == pytest.approx(1.0, abs=1e-5) and out["per_class"]["b"] < 0.05
    assert out["ms_ssim_classwise"] == pytest.approx(np.mean(list(out["per_class"].values())))
    assert out["ms_ssim_classwise_std"] == pytest.approx(np.std(list(out["per_class"].values())))
    assert out["n_classes"] == 2 and out["n_classes_skipped"] == 1
    assert out["n_pairs_classwise"] == 8 and out["n_pairs_overall"] == 20
    assert out["seed"] == 3


def test_diversity_is_deterministic_and_accepts_tensor_labels():
    images = _noise_images(30, 5, size=32)
    images[10:20] = images[10]  # one collapsed class so that the pairs matter
    labels = torch.arange(30) // 10
    a = ms_ssim_diversity(images, labels, pairs_per_class=12, pairs_overall=40, seed=7)
    b = ms_ssim_diversity(images, labels.numpy(), pairs_per_class=12, pairs_overall=40, seed=7)
    assert a == b
    c = ms_ssim_diversity(images, labels, pairs_per_class=12, pairs_overall=40, seed=8)
    assert c["ms_ssim_overall"] != a["ms_ssim_overall"]
    assert a["scales"] == 2 and set(a["per_class"]) == {0, 1, 2}
    assert all(type(k) is int for k in a["per_class"])
    none = ms_ssim_diversity(images, None, pairs_overall=40, seed=7)
    assert none["n_pairs_classwise"] == 0 and none["ms_ssim_classwise"] is None
    assert none["n_pairs_overall"] == 40 and none["per_class"] == {}


def test_diversity_input_checks():
    images = _noise_images(4, 6, size=16)
    with pytest.raises(ValueError, match="class_ids: expected 4 labels"):
        ms_ssim_diversity(images, [0, 1, 2])
    with pytest.raises(ValueError, match="images: expected 4 dimensions"):
        ms_ssim_diversity(images[0], [0, 1, 2])
    with pytest.raises(ValueError, match="images: images are 8x8"):
        ms_ssim_diversity(images[..., :8, :8], [0, 0, 1, 1])
    with pytest.raises(ValueError, match="images: values must lie"):
        ms_ssim_diversity(images.float() * 2, [0, 0, 1, 1])
    with pytest.raises(TypeError, match="pairs_per_class"):
        ms_ssim_diversity(images, [0, 0, 1, 1], pairs_per_class=1.5)
    with pytest.raises(ValueError, match="pairs_overall"):
        ms_ssim_diversity(images, [0, 0, 1, 1], pairs_overall=-1)


# ----------------------------------------------------------------------------- HDGAN code variant

def _hdgan_msssim_numpy(img1, img2, max_val=255.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03):
    """A float64 transcription of ``MultiScaleSSIM`` in HDGAN's ``Evaluation/ms_ssim/msssim_score.py``
    (ypxie/HDGan; from tensorflow/models ``compression/image_encoder/msssim.py``), images [1, H, W, C]."""
    from scipy import signal
    from scipy.ndimage import convolve

    def fspecial_gauss(size, sigma):
        radius, offset = size // 2, 0.0
        start, stop = -radius, radius + 1
        if size % 2 == 0:
            offset, stop = 0.5, stop - 1
        x, y = np.mgrid[offset + start:stop, offset + start:stop]
        g = np.exp(-((x ** 2 + y ** 2) / (2.0 * sigma ** 2)))
        return g / g.sum()

    def ssim_for_multiscale(a, b):
        _, h, w, _ = a.shape
        size = min(filter_size, h, w)
        sigma = size * filter_sigma / filter_size
        win = np.reshape(fspecial_gauss(size, sigma), (1, size, size, 1))
        mu1, mu2 = signal.fftconvolve(a, win, mode="valid"), signal.fftconvolve(b, win, mode="valid")
        s11 = signal.fftconvolve(a * a, win, mode="valid") - mu1 * mu1
        s22 = signal.fftconvolve(b * b, win, mode="valid") - mu2 * mu2
        s12 = signal.fftconvolve(a * b, win, mode="valid") - mu1 * mu2
        c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
        v1, v2 = 2.0 * s12 + c2, s11 + s22 + c2
        return np.mean(((2.0 * mu1 * mu2 + c1) * v1) / ((mu1 * mu1 + mu2 * mu2 + c1) * v2)), np.mean(v1 / v2)

    weights = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])
    im1, im2 = img1.astype(np.float64), img2.astype(np.float64)
    mssim, mcs = [], []
    for _ in range(5):
        s, cs = ssim_for_multiscale(im1, im2)
        mssim.append(s)
        mcs.append(cs)
        filt = [convolve(im, np.ones((1, 2, 2, 1)) / 4.0, mode="reflect") for im in (im1, im2)]
        im1, im2 = [f[:, ::2, ::2, :] for f in filt]
    with np.errstate(invalid="ignore"):  # a negative cs to a fractional power is NaN in the original too
        return np.prod(np.array(mcs[:4]) ** weights[:4]) * mssim[4] ** weights[4]


@pytest.mark.parametrize("shape", [(64, 64, 3), (45, 50, 3), (40, 40, 1)])
def test_ms_ssim_hdgan_code_matches_its_numpy_original(shape):
    import skimage.data
    from t2ibench.metrics import ms_ssim_hdgan_code

    base = skimage.data.astronaut()[100:100 + 2 * shape[0]:2, 150:150 + 2 * shape[1]:2, :shape[2]]
    pairs = [(base, _noisy(base, seed=6, sigma=10)), (base, _noisy(base, seed=7, sigma=60)),
             (base, np.ascontiguousarray(base[::-1]))]
    x = torch.stack([_to_tensor(p[0])[0] for p in pairs])
    y = torch.stack([_to_tensor(p[1])[0] for p in pairs])
    ours = ms_ssim_hdgan_code(x, y).double().numpy()
    ref = np.array([_hdgan_msssim_numpy(p[0][None], p[1][None]) for p in pairs])
    finite = np.isfinite(ref)
    np.testing.assert_array_equal(np.isfinite(ours), finite)  # NaN where the original gives NaN
    np.testing.assert_allclose(ours[finite], ref[finite], atol=2e-5, rtol=0)  # float32 vs float64


def test_diversity_hdgan_code_variant_reports_five_scales():
    same = _noise_images(1, 8).repeat(4, 1, 1, 1)
    out = ms_ssim_diversity(same, [0, 0, 1, 1], pairs_overall=6, variant="hdgan-code")
    assert out["scales"] == 5 and out["variant"] == "hdgan-code"
    assert out["ms_ssim_classwise"] == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match="variant"):
        ms_ssim_diversity(same, [0, 0, 1, 1], variant="tf")
