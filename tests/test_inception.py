"""inception-v3-compat: weights resolution, the two file kinds, safety, and FID sanity on real images.

No test needs the network: torch-fidelity's download is monkeypatched wherever it could run.
The tests on the real TF-FID TorchScript file read ``../shared/weights`` and skip without it.
"""
from __future__ import annotations

import pickle
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch

from t2ibench import defaults
from t2ibench.features import inception as inc
from t2ibench.features import list_extractors, load_extractor
from t2ibench.io import sha256_file
from t2ibench.metrics.frechet import frechet_distance, gaussian_statistics
from hostile import TouchOnLoad

TS_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
N_HALF = 50  # images per set in the fast FID test (3 x 50 forward passes at 299 px)


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    """No test may reach the network or the user's torch.hub cache, nor see the user's env var."""
    monkeypatch.delenv(defaults.INCEPTION_WEIGHTS_ENV, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))

    def no_network(url, dst, *a, **k):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)


def _fid(a, b) -> float:
    return frechet_distance(*gaussian_statistics(a), *gaussian_statistics(b))


def _random_tf_state_dict(seed=0) -> dict[str, torch.Tensor]:
    """A state dict with torch-fidelity's key names and shapes, random values (as in its .pth:
    no num_batches_tracked)."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for k, shape in inc.torch_fidelity_state_dict_spec().items():
        if k.endswith("running_var"):
            out[k] = torch.rand(shape, generator=g) + 0.5
        elif k.endswith("bn.weight"):
            out[k] = torch.ones(shape)
        elif k.endswith(".conv.weight") or k == "fc.weight":
            fan_in = int(np.prod(shape[1:]))
            out[k] = torch.randn(shape, generator=g) * (2.0 / fan_in) ** 0.5
        else:
            out[k] = torch.randn(shape, generator=g) * 0.1
    return out


def _save(tmp_path: Path, name: str, obj) -> Path:
    p = tmp_path / name
    torch.save(obj, p)
    return p


# ---------------------------------------------------------------------------------------------
# Registration, resolution order, errors without weights
# ---------------------------------------------------------------------------------------------

def test_registered():
    assert "inception-v3-compat" in list_extractors()


def test_no_weights_offline_gives_clear_error():
    with pytest.raises(ValueError) as e:  # the autouse fixture's download raises URLError
        load_extractor("inception-v3-compat")
    msg = str(e.value)
    assert isinstance(e.value, RuntimeError)  # what it was before; code catching that still works
    assert msg.startswith(f"downloading torch-fidelity's Inception weights from {inc.TORCH_FIDELITY_URL} failed "
                          f"(URLError: ")
    assert "network disabled in tests" in msg and msg.endswith("or check the network")
    assert "--inception-weights FILE" in msg and defaults.INCEPTION_WEIGHTS_ENV in msg
    assert inc.TORCH_FIDELITY_FILE in msg and inc.TORCHSCRIPT_FILE in msg
    assert "\n" not in msg


@pytest.mark.parametrize("error", [urllib.error.HTTPError(inc.TORCH_FIDELITY_URL, 503, "Service Unavailable", {}, None),
                                   ConnectionError("connection reset by peer"),
                                   OSError(28, "No space left on device"),
                                   RuntimeError('invalid hash value (expected "6726825d", got "0000")\nsecond line')])
def test_failed_download_is_one_clear_value_error(monkeypatch, error):
    """Without --offline, a failed torch-fidelity download (any kind) is one one-line ValueError."""
    def failing(url, dst, *a, **k):
        raise error

    monkeypatch.setattr(torch.hub, "download_url_to_file", failing)
    monkeypatch.delenv(defaults.OFFLINE_ENV, raising=False)
    with pytest.raises(ValueError, match=f"downloading .* from {inc.TORCH_FIDELITY_URL} failed "
                                         f"\\({type(error).__name__}: ") as e:
        inc.download_torch_fidelity_weights()
    assert "\n" not in str(e.value) and str(e.value).endswith("or check the network")


def test_failed_download_cli_prints_one_line(monkeypatch, tmp_path, capsys):
    def failing(url, dst, *a, **k):
        raise ConnectionError("connection reset by peer")

    monkeypatch.setattr(torch.hub, "download_url_to_file", failing)
    monkeypatch.delenv(defaults.OFFLINE_ENV, raising=False)
    from t2ibench.cli import main as cli_main

    code = cli_main(["eval", "--generator", "real", "--metrics", "fid@inception-v3-compat", "--n-images", "60",
                     "--out", str(tmp_path / "run"), "--no-progress", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: downloading torch-fidelity's Inception weights from ")
    assert err.count("\n") == 1 and "--inception-weights FILE" in err and "check the network" in err


def test_missing_path_is_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_extractor("inception-v3-compat", weights=tmp_path / "nope.pth")


def test_env_var_missing_file_is_clear(monkeypatch, tmp_path):
    monkeypatch.setenv(defaults.INCEPTION_WEIGHTS_ENV, str(tmp_path / "from-env.pt"))
    with pytest.raises(FileNotFoundError, match="from-env.pt"):
        load_extractor("inception-v3-compat")


def test_directory_is_not_weights(tmp_path):
    with pytest.raises(ValueError, match="not a file"):
        load_extractor("inception-v3-compat", weights=tmp_path)


# ---------------------------------------------------------------------------------------------
# Kind (a): torch-fidelity's .pth, without the network
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def random_pth(tmp_path_factory) -> tuple[Path, dict]:
    sd = _random_tf_state_dict()
    return _save(tmp_path_factory.mktemp("pth"), "random-inception.pth", sd), sd


def test_pth_path_shapes_and_logits_unbiased(random_pth, monkeypatch):
    path, sd = random_pth
    # via the environment variable: also checks the resolution order's second step
    monkeypatch.setenv(defaults.INCEPTION_WEIGHTS_ENV, str(path))
    ex = load_extractor("inception-v3-compat")
    assert isinstance(ex, inc.TorchFidelityInception)
    assert ex.outputs == ("pool3", "logits") and ex.roles == {"embedding": "pool3", "logits": "logits"}
    assert ex.weights_id == sha256_file(path) and ex.resize_mode == "tf1-bilinear-299" and not ex.stand_in
    x = torch.randint(0, 256, (2, 3, 32, 48), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    out = ex(x)
    assert out["pool3"].shape == (2, 2048) and out["logits"].shape == (2, 1008)
    assert out["pool3"].dtype == torch.float32 and torch.isfinite(out["pool3"]).all()
    # logits are torch-fidelity's "logits_unbiased": pool3 @ fc.weight.T, no bias
    torch.testing.assert_close(out["logits"], out["pool3"] @ sd["fc.weight"].T, rtol=1e-4, atol=1e-4)
    # the weights argument wins over the environment variable
    monkeypatch.setenv(defaults.INCEPTION_WEIGHTS_ENV, str(path.parent / "does-not-exist.pth"))
    assert load_extractor("inception-v3-compat", weights=path).weights_id == ex.weights_id


def test_pth_wrong_keys_or_shapes(tmp_path):
    sd = _random_tf_state_dict()
    sd.pop("fc.bias")
    with pytest.raises(ValueError, match="not torch-fidelity's Inception"):
        load_extractor("inception-v3-compat", weights=_save(tmp_path, "a.pth", sd))
    sd = _random_tf_state_dict()
    sd["fc.weight"] = torch.zeros(1000, 2048)
    with pytest.raises(ValueError, match="shapes"):
        load_extractor("inception-v3-compat", weights=_save(tmp_path, "b.pth", sd))
    with pytest.raises(ValueError, match="does not hold a state dict"):
        load_extractor("inception-v3-compat", weights=_save(tmp_path, "c.pth", [torch.zeros(1)]))


def test_neither_kind_is_a_clear_value_error(tmp_path):
    p = tmp_path / "weights.pth"
    p.write_text("this is not a weights file")
    with pytest.raises(ValueError, match="weights_only=True") as e:
        load_extractor("inception-v3-compat", weights=p)
    assert inc.TORCH_FIDELITY_FILE in str(e.value) and inc.TORCHSCRIPT_FILE in str(e.value)


def test_malicious_pickle_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    for i, save in enumerate((lambda o, p: torch.save(o, p), lambda o, p: p.write_bytes(pickle.dumps(o)))):
        p = tmp_path / f"evil{i}.pth"
        save({"Conv2d_1a_3x3.conv.weight": TouchOnLoad(marker)}, p)
        with pytest.raises(ValueError):
            load_extractor("inception-v3-compat", weights=p)
        assert not marker.exists()


def test_known_name_with_wrong_content_is_rejected(tmp_path):
    p = _save(tmp_path, inc.TORCH_FIDELITY_FILE, _random_tf_state_dict())
    with pytest.raises(ValueError) as e:
        load_extractor("inception-v3-compat", weights=p)
    msg = str(e.value)
    assert str(p) in msg and inc.KNOWN_WEIGHTS[inc.TORCH_FIDELITY_FILE]["sha256"] in msg
    assert sha256_file(p) in msg
    fake_ts = tmp_path / inc.TORCHSCRIPT_FILE
    fake_ts.write_bytes(b"not the file")
    with pytest.raises(ValueError, match=TS_SHA256):
        load_extractor("inception-v3-compat", weights=fake_ts)


def test_corrupt_download_is_rejected(monkeypatch, tmp_path):
    """The download step goes through the same known-hash check as a local file."""
    sd_path = _save(tmp_path, "x.pth", _random_tf_state_dict())

    def fake_download(url, dst, hash_prefix=None, progress=True):
        assert url == inc.TORCH_FIDELITY_URL and hash_prefix == "6726825d"
        Path(dst).write_bytes(sd_path.read_bytes())

    monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
    with pytest.raises(ValueError, match="expected sha256"):
        load_extractor("inception-v3-compat")
    assert inc.torch_fidelity_cache_path().parent == Path(torch.hub.get_dir()) / "checkpoints"


# ---------------------------------------------------------------------------------------------
# Kind (b): TorchScript archives
# ---------------------------------------------------------------------------------------------

def test_other_torchscript_module_is_refused(tmp_path):
    p = tmp_path / "linear.pt"
    torch.jit.script(torch.nn.Linear(3, 2)).save(str(p))
    assert inc.detect_kind(p) == "torchscript"
    with pytest.raises(ValueError, match="not the TF-FID Inception"):
        load_extractor("inception-v3-compat", weights=p)


class _WithSetstate(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = 1

    def forward(self, x):
        return x

    @torch.jit.export
    def __getstate__(self) -> tuple[int, bool]:
        return (self.a, self.training)

    @torch.jit.export
    def __setstate__(self, state: tuple[int, bool]) -> None:
        self.a = state[0]
        self.training = state[1]


def test_torchscript_with_setstate_is_refused(tmp_path):
    p = tmp_path / "setstate.pt"
    torch.jit.script(_WithSetstate()).save(str(p))
    with pytest.raises(ValueError, match="__setstate__"):
        load_extractor("inception-v3-compat", weights=p)


def _tf1_resize_bilinear_reference(img: np.ndarray, size: int) -> np.ndarray:
    """TF 1.x ``resize_bilinear(align_corners=False)`` (no half-pixel centres), written from the
    TF kernel in float32 as TF computes it: src = dst * (in / out), lower = floor(src),
    upper = min(lower + 1, in - 1), top/bottom lerp along x, then along y."""
    f32 = np.float32

    def weights(n_in):
        src = np.arange(size, dtype=f32) * f32(n_in / size)
        lo = np.floor(src).astype(int)
        return lo, np.minimum(lo + 1, n_in - 1), (src - lo).astype(f32)

    y0, y1, ly = weights(img.shape[1])
    x0, x1, lx = weights(img.shape[2])
    f = img.astype(f32)
    tl, tr, bl, br = f[:, y0][:, :, x0], f[:, y0][:, :, x1], f[:, y1][:, :, x0], f[:, y1][:, :, x1]
    top, bot = tl + (tr - tl) * lx, bl + (br - bl) * lx
    return top + (bot - top) * ly[:, None]


def test_preprocess_is_tf1_bilinear_then_tf_scaling():
    x = torch.randint(0, 256, (2, 3, 64, 48), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    y = inc.preprocess(x)
    assert y.shape == (2, 3, 299, 299) and y.dtype == torch.float32
    ref = np.stack([_tf1_resize_bilinear_reference(im, 299) for im in x.numpy()])
    # the resize itself is bit-exact with the float32 TF formula; the (x - 128) / 128 round trip
    # costs at most an ulp or two
    np.testing.assert_allclose(y.numpy() * 128 + 128, ref, rtol=0, atol=1e-4)
    np.testing.assert_array_equal(y.numpy(), (ref - 128) / 128)
    assert -1.0 <= float(y.min()) and float(y.max()) <= 127 / 128


# ---------------------------------------------------------------------------------------------
# The real TF-FID TorchScript file (shared/weights)
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ts_path(shared_dir) -> Path:
    p = shared_dir / "weights" / inc.TORCHSCRIPT_FILE
    if not p.is_file():
        pytest.skip(f"{p} is absent")
    return p


@pytest.fixture(scope="module")
def ts_extractor(ts_path):
    return load_extractor("inception-v3-compat", weights=ts_path)


def _read_flowers(shared_dir, n, seed=0) -> torch.Tensor:
    from PIL import Image

    files = sorted((shared_dir / "data" / "oxford102-64" / "flowers").glob("*.jpg"))
    if len(files) < n:
        pytest.skip(f"need {n} Oxford-102 images in shared/data/oxford102-64/flowers, found {len(files)}")
    pick = np.random.default_rng(seed).choice(len(files), n, replace=False)
    arr = np.stack([np.asarray(Image.open(files[i]).convert("RGB")) for i in pick])
    return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()


def _features(ex, x, batch=50) -> np.ndarray:
    return torch.cat([ex(x[i:i + batch])["pool3"] for i in range(0, len(x), batch)]).numpy()


@pytest.fixture(scope="module")
def flowers(shared_dir) -> torch.Tensor:
    return _read_flowers(shared_dir, 2 * N_HALF)


@pytest.fixture(scope="module")
def flower_features(ts_extractor, flowers) -> np.ndarray:
    return _features(ts_extractor, flowers)


def test_torchscript_lacks_is_logits_and_names_the_file_that_has_them():
    """The TorchScript file has no IS logits: the hint names torch-fidelity's file and the flag."""
    fake = inc.TorchScriptPool3Inception.__new__(inc.TorchScriptPool3Inception)  # the message needs no module
    torch.nn.Module.__init__(fake)
    fake.weights_id, fake.roles = TS_SHA256, {"embedding": "pool3"}
    hint = fake.missing_role_hint("logits")
    assert inc.TORCH_FIDELITY_FILE == "weights-inception-2015-12-05-6726825d.pth"
    assert f"--inception-weights {inc.TORCH_FIDELITY_FILE}" in hint and "provides the IS logits" in hint
    assert inc.TORCH_FIDELITY_URL in hint and fake.missing_role_hint("embedding") == ""
    with pytest.raises(ValueError) as e:
        inc.require_outputs(fake, ["pool3", "logits"])
    assert f"--inception-weights {inc.TORCH_FIDELITY_FILE}" in str(e.value)


def test_torchscript_file_loads_as_pool3_only(ts_extractor, ts_path):
    ex = ts_extractor
    assert isinstance(ex, inc.TorchScriptPool3Inception)
    assert ex.weights_id == TS_SHA256 == inc.KNOWN_WEIGHTS[ts_path.name]["sha256"]
    assert ex.outputs == ("pool3",) and ex.roles == {"embedding": "pool3"}
    assert ex.resize_mode == "tf1-bilinear-299" and ex.stand_in is False
    assert ex.describe()["weights_id"] == TS_SHA256
    assert ex.weights_warning is None and "weights_warning" not in ex.describe()  # the published file
    # asking for IS logits fails at the boundary, before anything runs
    inc.require_outputs(ex, ["pool3"])
    with pytest.raises(ValueError, match="no 1008-way classifier"):
        inc.require_outputs(ex, ["pool3", "logits"])


def test_torchscript_output_and_batch_invariance(ts_extractor, flowers, flower_features):
    assert flower_features.shape == (2 * N_HALF, 2048) and flower_features.dtype == np.float32
    assert np.isfinite(flower_features).all() and (flower_features >= 0).all()  # after ReLU + avg pool
    # the fixture ran batches of 50; compare with batches of 1 and of 3
    single = np.concatenate([ts_extractor(flowers[i:i + 1])["pool3"].numpy() for i in range(2)])
    np.testing.assert_allclose(single, flower_features[:2], atol=1e-4)
    odd = ts_extractor(flowers[2:5])["pool3"].numpy()
    np.testing.assert_allclose(odd, flower_features[2:5], atol=1e-4)


def test_remapped_torch_fidelity_module_agrees(ts_path, flowers, flower_features):
    """torch-fidelity's architecture holding the TorchScript tensors gives the same pool3."""
    rm = inc.load_torchscript_remapped(ts_path)
    assert rm.outputs == ("pool3",) and rm.weights_id == TS_SHA256
    got = rm(flowers[:2])["pool3"].numpy()
    # measured max |difference| ~1e-6 (features of order 0.1-3)
    np.testing.assert_allclose(got, flower_features[:2], atol=1e-4, rtol=1e-4)


def test_fid_real_halves_small_vs_noise(shared_dir, ts_extractor, flower_features):
    noise = torch.from_numpy(np.random.default_rng(1).integers(0, 256, (N_HALF, 3, 64, 64), dtype=np.uint8))
    f_noise = _features(ts_extractor, noise)
    halves = _fid(flower_features[:N_HALF], flower_features[N_HALF:])
    vs_noise = _fid(flower_features[:N_HALF], f_noise)
    # measured: halves ~142, vs noise ~493 at 50 images per set (small-N bias dominates halves)
    assert 0 < halves < 250
    assert vs_noise > 3 * halves


@pytest.mark.slow
def test_fid_real_halves_vs_noise_150(shared_dir, ts_extractor):
    x = _read_flowers(shared_dir, 300, seed=0)
    f = _features(ts_extractor, x)
    noise = torch.from_numpy(np.random.default_rng(1).integers(0, 256, (150, 3, 64, 64), dtype=np.uint8))
    f_noise = _features(ts_extractor, noise)
    halves, vs_noise = _fid(f[:150], f[150:]), _fid(f[:150], f_noise)
    # measured: halves ~92.9, vs noise ~495 (ratio 5.3)
    assert halves < 150
    assert vs_noise > 5 * halves


# ---------------------------------------------------------------------------------------------
# Files whose sha256 is no published file's: used, with a warning the result carries
# ---------------------------------------------------------------------------------------------

def _flip_bytes(src: Path, dst: Path, n: int = 8) -> Path:
    """A copy of the TorchScript zip ``src`` with ``n`` bytes of its largest tensor inverted
    (stored uncompressed, and torch's reader does not check CRCs: the file still loads)."""
    import struct
    import zipfile

    data = bytearray(src.read_bytes())
    with zipfile.ZipFile(src) as z:
        info = max(z.infolist(), key=lambda i: i.file_size)
    off = info.header_offset
    name_len, extra_len = struct.unpack("<HH", data[off + 26:off + 30])
    start = off + 30 + name_len + extra_len
    for k in range(n):
        data[start + 1000 + k * 4096] ^= 0xFF
    dst.write_bytes(bytes(data))
    return dst


@pytest.fixture(scope="module")
def corrupt_ts(ts_path, tmp_path_factory) -> Path:
    return _flip_bytes(ts_path, tmp_path_factory.mktemp("corrupt") / "my-inception.pt")


def test_corrupted_copy_under_another_name_is_used_with_a_warning(corrupt_ts, ts_extractor):
    ex = load_extractor("inception-v3-compat", weights=corrupt_ts)
    digest = sha256_file(corrupt_ts)
    assert isinstance(ex, inc.TorchScriptPool3Inception) and ex.weights_id == digest != TS_SHA256
    w = ex.weights_warning
    assert w.startswith(f"unknown weights: {corrupt_ts} (sha256 {digest[:16]}…) is not a published file (known: ")
    assert f"{inc.TORCHSCRIPT_FILE} sha256 {TS_SHA256[:16]}…" in w and inc.TORCH_FIDELITY_FILE in w
    assert w.endswith("its numbers are not comparable with published ones")
    assert ex.describe()["weights_warning"] == w
    # the remapped path (the file's code never runs) says the same, and also lacks the IS logits
    remapped = inc.load_torchscript_remapped(corrupt_ts)
    assert remapped.weights_warning == w and inc.TORCH_FIDELITY_FILE in remapped.missing_role_hint("logits")
    assert ts_extractor.weights_warning is None


def test_renamed_published_file_has_no_warning(ts_path, tmp_path):
    import shutil

    copy = shutil.copyfile(ts_path, tmp_path / "renamed.pt")
    ex = load_extractor("inception-v3-compat", weights=copy)
    assert ex.weights_id == TS_SHA256 and ex.weights_warning is None


def test_unknown_pth_is_used_with_a_warning(random_pth):
    path, _ = random_pth
    ex = load_extractor("inception-v3-compat", weights=path)
    assert ex.weights_warning.startswith(f"unknown weights: {path} (sha256 {sha256_file(path)[:16]}…)")
    assert ex.missing_role_hint("logits") == ""  # it has them


def test_evaluate_result_carries_the_warning(corrupt_ts):
    from toy import ToyDataset

    from t2ibench.engine import evaluate

    toy = ToyDataset(6)
    result = evaluate("real", toy, metrics=["fid@inception-v3-compat"], n_images=6, allow_small_n=True,
                      extractor_weights={"inception-v3-compat": str(corrupt_ts)}, progress=False)
    assert any("unknown weights" in w and str(corrupt_ts) in w for w in result.warnings), result.warnings


def test_known_weights_table_and_cli_listing(capsys):
    from t2ibench.cli import main as cli_main
    from t2ibench.features import describe_extractors, known_weights

    tf_sha256 = inc.KNOWN_WEIGHTS[inc.TORCH_FIDELITY_FILE]["sha256"]
    assert known_weights("inception-v3-compat") == {inc.TORCHSCRIPT_FILE: TS_SHA256, inc.TORCH_FIDELITY_FILE: tf_sha256}
    assert known_weights("shapes-classifier") == {}
    with pytest.raises(ValueError, match="unknown feature extractor"):
        known_weights("no-such-extractor")
    assert "inception-v3-compat" in describe_extractors() and "inception-v3-compat" in list_extractors()
    assert cli_main(["list", "extractors"]) == 0
    out = capsys.readouterr().out.splitlines()
    i = out.index("  inception-v3-compat")
    assert out[i + 1:i + 3] == [f"    known weights: {inc.TORCHSCRIPT_FILE} sha256 {TS_SHA256}",
                                f"    known weights: {inc.TORCH_FIDELITY_FILE} sha256 {tf_sha256}"]
    j = out.index("  clip")
    assert out[j + 1] == "    known weights: ViT-B-32.pt sha256 " \
                         "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af"
    assert "  shapes-classifier" in out
