"""The separable, batched Gaussian-window SSIM family against its reference implementations.

:mod:`t2ibench.metrics.gaussian_window` computes SSIM, MS-SSIM and HDGAN's MS-SSIM code with two
1-d passes over channel-centred float32 moments. References, independent of that code:
scikit-image's ``structural_similarity`` (float64, Gaussian window, population covariance) and
``piq.ssim`` / ``piq.multi_scale_ssim`` (dense 11x11 window) in float64 and float32. Values
only, never timings.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from t2ibench import defaults
from t2ibench.metrics import ms_ssim, ms_ssim_scales, ssim
from t2ibench.metrics import ssim_cpu_kernels, workspace
from t2ibench.metrics.gaussian_window import (filter_valid, formula_torch, gaussian_kernel_1d, images_per_chunk,
                                             moments_torch, ssim_channel_means)
from t2ibench.metrics.threads import single_thread


def _pairs(n, c, h, w, seed, flat=False):
    """Blocky uint8 images plus noise (structure at several scales); ``flat``: bright, nearly flat
    images, where ``E[x^2] - mu^2`` cancels most."""
    rng = np.random.default_rng(seed)
    if flat:
        x = 230 + rng.integers(0, 3, (n, c, h, w))
        y = np.clip(x + rng.integers(-2, 3, x.shape), 0, 255)
    else:
        blocks = rng.integers(0, 256, (n, c, -(-h // 8), -(-w // 8)))
        x = np.repeat(np.repeat(blocks, 8, 2), 8, 3)[:, :, :h, :w] + rng.normal(0, 12, (n, c, h, w))
        y = x + rng.normal(0, 30, x.shape)
    as_u8 = [torch.from_numpy(np.clip(np.rint(t), 0, 255).astype(np.uint8)) for t in (x, y)]
    return as_u8[0], as_u8[1]


def _skimage_ssim(x, y, **kw):
    from skimage.metrics import structural_similarity

    return np.array([structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                           data_range=255, channel_axis=0, **kw)
                     for a, b in zip(x.numpy(), y.numpy())])


def test_separable_window_is_piqs_dense_window():
    from piq.functional import gaussian_filter

    for size, sigma in ((11, 1.5), (7, 1.0), (8, 8 * 1.5 / 11), (4, 4 * 1.5 / 11)):
        g = gaussian_kernel_1d(size, sigma, dtype=torch.float64)
        assert g.sum().item() == pytest.approx(1.0, abs=1e-15)
        if size % 2:
            dense = gaussian_filter(size, sigma, dtype=torch.float64)[0]
            torch.testing.assert_close(g[:, None] * g[None, :], dense, rtol=0, atol=1e-15)


@pytest.mark.parametrize("dim", [0, 1])
@pytest.mark.parametrize("shape,k", [((64, 37), 11), ((11, 5), 11), ((40, 29), 7), ((30, 23), 1)])
def test_banded_filter_is_scipys_valid_correlation(dim, shape, k):
    """filter_valid (banded matrix products, blocks of BAND_BLOCK outputs plus a remainder) equals
    scipy.ndimage.correlate1d in float64, cropped to the valid part."""
    from scipy.ndimage import correlate1d

    rng = np.random.default_rng(k + dim)
    t = rng.normal(size=shape if dim == 0 else shape[::-1])
    kernel = gaussian_kernel_1d(k, 1.5, dtype=torch.float64)
    ours = filter_valid(torch.from_numpy(t), kernel, dim).numpy()
    full = correlate1d(t, kernel.numpy(), axis=dim, mode="constant", origin=0)
    half = k // 2
    ref = full[half:t.shape[0] - half] if dim == 0 else full[:, half:t.shape[1] - half]
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape,flat", [((40, 3, 64, 64), False), ((6, 3, 45, 70), False), ((5, 1, 96, 64), False),
                                        ((8, 3, 64, 64), True)])
def test_ssim_matches_scikit_image_float64(shape, flat):
    # channel-centred float32: measured <= 1.2e-7 from scikit-image's float64 on every case, the flat
    # bright images included, where piq's uncentred float32 is 4.4e-5 off (1.9e-6 on the others)
    x, y = _pairs(*shape, seed=sum(shape), flat=flat)
    ref = _skimage_ssim(x, y)
    ours = ssim(x, y)
    assert ours.dtype == torch.float32 and ours.shape == (shape[0],)
    np.testing.assert_allclose(ours.double().numpy(), ref, rtol=0, atol=1e-6)


def test_ssim_matches_piq_float64_and_float32():
    import piq

    x, y = _pairs(12, 3, 64, 64, seed=3)
    ours = ssim(x, y).double()
    kw = dict(data_range=255.0, kernel_size=11, kernel_sigma=1.5, reduction="none", downsample=False)
    torch.testing.assert_close(ours, piq.ssim(x.double(), y.double(), **kw), rtol=0, atol=1e-6)
    torch.testing.assert_close(ours, piq.ssim(x.float(), y.float(), **kw).double(), rtol=0, atol=2e-5)
    # other windows and data ranges go through the same code
    torch.testing.assert_close(ssim(x, y, kernel_size=7, kernel_sigma=1.0).double(),
                               piq.ssim(x.double(), y.double(), **{**kw, "kernel_size": 7, "kernel_sigma": 1.0}),
                               rtol=0, atol=1e-6)
    torch.testing.assert_close(ssim(x / 255.0, y / 255.0, data_range=1.0).double(), ours, rtol=0, atol=1e-6)


@pytest.mark.parametrize("size", [(512, 512), (640, 700)])
def test_ssim_downsample_variant_matches_piq(size):
    # Wang's ssim.m block averaging (f = 2 at 512 px, f = round(2.5) = 2 at 640 px as piq rounds)
    import piq

    x, y = _pairs(2, 1, *size, seed=size[1])
    ref = piq.ssim(x.double(), y.double(), data_range=255.0, reduction="none", downsample=True)
    torch.testing.assert_close(ssim(x, y, downsample=True).double(), ref, rtol=0, atol=1e-6)


@pytest.mark.parametrize("shape", [(10, 3, 64, 64), (4, 3, 128, 96), (3, 3, 161, 170), (3, 1, 203, 181),
                                   (2, 3, 256, 256)])
def test_ms_ssim_matches_piq(shape):
    # scales 3, 4, 5, 5, 5; odd sizes exercise piq's top/left replicate padding; piq in float64
    # (ours measured <= 1.1e-7 from it) and in float32 (its own round-off: <= 5e-7 from float64 here)
    import piq

    x, y = _pairs(*shape, seed=shape[2])
    w = np.asarray(defaults.MS_SSIM_WEIGHTS)
    m = ms_ssim_scales(min(shape[2:]))
    weights64 = None if m == 5 else torch.tensor(w[:m] / w[:m].sum(), dtype=torch.float64)
    ref = piq.multi_scale_ssim(x.double(), y.double(), data_range=255.0, reduction="none", scale_weights=weights64)
    ours = ms_ssim(x, y).double()
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-6)
    ref32 = piq.multi_scale_ssim(x.float(), y.float(), data_range=255.0, reduction="none",
                                 scale_weights=None if weights64 is None else weights64.float())
    torch.testing.assert_close(ours, ref32.double(), rtol=0, atol=2e-5)
    # custom weights: renormalised to sum 1 over the scales used (piq)
    custom = [0.1, 0.2, 0.3, 0.2, 0.2][:m]
    ref = piq.multi_scale_ssim(x.double(), y.double(), data_range=255.0, reduction="none",
                               scale_weights=torch.tensor(custom, dtype=torch.float64))
    torch.testing.assert_close(ms_ssim(x, y, weights=custom).double(), ref, rtol=0, atol=1e-6)


def test_values_do_not_depend_on_chunking_or_threads(monkeypatch):
    monkeypatch.setattr(defaults, "PIXEL_WORKERS", None)  # workers = torch's thread count
    x, y = _pairs(23, 3, 64, 64, seed=9)
    assert images_per_chunk(x.shape) < 23  # the default call is chunked
    before = torch.get_num_threads()
    try:
        for fn in (ssim, ms_ssim):
            torch.set_num_threads(1)  # chunks one after the other
            whole = fn(x, y)
            torch.testing.assert_close(fn(x, y, batch_size=1), whole, rtol=0, atol=1e-7)
            torch.testing.assert_close(fn(x[7:8], y[7:8]), whole[7:8], rtol=0, atol=1e-7)
            torch.set_num_threads(2)  # chunks on two worker threads (map_chunks)
            torch.testing.assert_close(fn(x, y), whole, rtol=0, atol=0)
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_single_thread_restores_the_thread_count():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with single_thread():
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with pytest.raises(RuntimeError), single_thread():
            raise RuntimeError("boom")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_blas_threads_limits_scipys_and_numpys_openblas_and_restores():
    from threadpoolctl import threadpool_info, threadpool_limits

    from t2ibench.metrics.threads import blas_threads

    def blas():
        return {i["filepath"]: i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    with threadpool_limits(limits=2, user_api="blas"):
        before = blas()
        assert any("scipy.libs" in path for path in before)  # scipy's own OpenBLAS is seen (and so limited)
        with blas_threads(1):
            assert set(blas().values()) == {1}
        assert blas() == before


@pytest.mark.parametrize("shape", [(7, 3, 64, 64), (3, 1, 45, 70), (2, 3, 200, 180)])
def test_identical_images_score_exactly_one(shape):
    """SSIM(x, x) = MS-SSIM(x, x) = 1 to the last bit (uint8 and float inputs): the cs numerator and
    denominator are rounded the same way."""
    x = torch.from_numpy(np.random.default_rng(sum(shape)).integers(0, 256, size=shape, dtype=np.uint8))
    for v in (x, x.float()):
        assert torch.equal(ssim(v, v), torch.ones(shape[0]))
        assert torch.equal(ms_ssim(v, v), torch.ones(shape[0]))


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.float64])
def test_cpu_kernels_equal_the_torch_path(dtype):
    """The fused numba steps the CPU runs (moments; formula with the per-channel means) against the
    torch operations other devices run, on the same inputs: equal to round-off (the kernels sum the
    means in float64), and through the whole of ssim_channel_means."""
    x, y = _pairs(5, 3, 40, 33, seed=4)
    x, y = x.to(dtype), y.to(dtype)
    compute = torch.float64 if dtype == torch.float64 else torch.float32
    nc, h, w = 15, 40, 33
    xs, ys = x.reshape(nc, h, w), y.reshape(nc, h, w)
    m_cpu, m_torch = torch.empty(h, 4, nc, w, dtype=compute), torch.empty(h, 4, nc, w, dtype=compute)
    means_cpu = ssim_cpu_kernels.moments_cpu(xs.numpy(), ys.numpy(), m_cpu.numpy())
    means_torch = moments_torch(xs, ys, m_torch)
    assert means_cpu.dtype == m_cpu.numpy().dtype
    tol = 1e-12 if compute == torch.float64 else 1e-4  # moments up to ~6e4: float32 round-off
    torch.testing.assert_close(torch.from_numpy(means_cpu), means_torch, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(m_cpu, m_torch, rtol=1e-6, atol=tol)
    # the formula on one set of filtered maps (each path overwrites its input)
    kernel = gaussian_kernel_1d(11, 1.5, dtype=compute)
    filtered = filter_valid(filter_valid(m_torch.view(h, -1), kernel, 0).view(-1, w), kernel, 1).view(30, 4, nc, 23)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    out_cpu = ssim_cpu_kernels.formula_cpu(filtered.clone().numpy(), means_torch.numpy(), c1, c2)
    out_torch = formula_torch(filtered.clone(), means_torch, c1, c2)
    torch.testing.assert_close(torch.from_numpy(out_cpu), out_torch, rtol=0, atol=1e-6)
    # and the whole function against skimage's float64
    ssim_map_means, _ = ssim_channel_means(x, y, gaussian_kernel_1d(11, 1.5), c1, c2)
    np.testing.assert_allclose(ssim_map_means.mean(dim=1).double().numpy(), _skimage_ssim(x.to(torch.uint8), y.to(torch.uint8)),
                               rtol=0, atol=1e-6)


def test_half_precision_inputs_are_computed_in_float32():
    x, y = _pairs(3, 3, 40, 40, seed=6)
    kernel = gaussian_kernel_1d(11, 1.5)
    ref = ssim_channel_means(x.float(), y.float(), kernel, 6.5025, 58.5225)
    for dtype in (torch.float16, torch.bfloat16):  # uint8 values are exact in both
        out = ssim_channel_means(x.to(dtype), y.to(dtype), kernel, 6.5025, 58.5225)
        assert out[0].dtype == torch.float32 and torch.equal(out[0], ref[0]) and torch.equal(out[1], ref[1])


def test_torch_path_gives_exactly_one_for_identical_images():
    """The other devices' formula keeps the property too (run here on CPU tensors)."""
    x = torch.from_numpy(np.random.default_rng(2).integers(0, 256, size=(12, 20, 24), dtype=np.uint8))
    m = torch.empty(20, 4, 12, 24)
    means = moments_torch(x, x, m)
    kernel = gaussian_kernel_1d(11, 1.5)
    filtered = filter_valid(filter_valid(m.view(20, -1), kernel, 0).view(-1, 24), kernel, 1).view(10, 4, 12, 14)
    assert torch.equal(formula_torch(filtered, means, 6.5025, 58.5225), torch.ones(2, 12))


def test_workspace_reuses_buffers_and_frees_large_ones(monkeypatch):
    monkeypatch.setattr(workspace, "_pool", [])
    with workspace.scratch(1000, torch.float32, "cpu") as a:
        first = a.data_ptr()
        with workspace.scratch(1000, torch.float32, "cpu") as b:  # in use: a second buffer
            assert b.data_ptr() != first
    with workspace.scratch(600, torch.float32, "cpu") as c:  # fits a kept buffer: no allocation
        assert c.numel() == 600 and c.data_ptr() in {first, b.data_ptr()}
    with workspace.scratch(600, torch.float64, "cpu") as d:  # another dtype: its own buffer
        assert d.dtype == torch.float64
    assert len(workspace._pool) == 3
    for _ in range(workspace.POOL_SIZE + 2):  # at most POOL_SIZE kept, the smallest dropped first
        with workspace.scratch(2000, torch.float32, "cpu"), workspace.scratch(3000, torch.float32, "cpu"):
            pass
    assert len(workspace._pool) == workspace.POOL_SIZE
    monkeypatch.setattr(workspace, "_pool", [])
    with torch.inference_mode(), workspace.scratch(100, torch.float32, "cpu"):  # made inside inference mode ...
        pass
    with workspace.scratch(100, torch.float32, "cpu") as e:  # ... and written in place outside it (torch path)
        e.copy_(torch.ones(100))
    monkeypatch.setattr(workspace, "KEEP_BYTES", 4000)
    monkeypatch.setattr(workspace, "_pool", [])
    with workspace.scratch(2000, torch.float32, "cpu"):  # 8000 bytes: freed after use
        pass
    assert workspace._pool == []


def test_kernels_load_where_numba_cannot_cache(tmp_path):
    """A read-only install with an unwritable home: numba refuses ``cache=True`` at import ("no locator
    available"); the kernels then compile in the process instead of failing the import. Reproduced for real:
    the module copied beside a ``__pycache__`` that is a file, HOME on /proc, in a subprocess."""
    import os
    import shutil
    import subprocess
    import sys

    src = Path(ssim_cpu_kernels.__file__)
    shutil.copy(src, tmp_path / "kernels_copy.py")
    (tmp_path / "__pycache__").write_text("not a directory")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(HOME="/proc/no-home", XDG_CACHE_HOME="/proc/no-home", PYTHONPATH=str(tmp_path))
    code = ("import numpy as np, kernels_copy as k\n"
            "x = np.arange(48, dtype=np.uint8).reshape(1, 6, 8); m = np.empty((6, 4, 1, 8), np.float32)\n"
            "means = k.moments_cpu(x, x, m); print(float(means[0, 0]))\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert float(out.stdout.strip()) == pytest.approx(23.5)
