"""--offline / $T2IBENCH_OFFLINE=1: a download that would be needed is refused before any network access."""
from __future__ import annotations

import os

import pytest

from t2ibench import defaults
from t2ibench.cli import main as cli_main


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """Downloaders that fail the test if called; an empty torch.hub cache."""
    import open_clip.pretrained as ocp
    import torch

    def touched(*args, **kwargs):
        raise AssertionError("the network was touched")

    monkeypatch.setattr(torch.hub, "download_url_to_file", touched)
    monkeypatch.setattr(ocp, "download_pretrained", touched)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.delenv(defaults.INCEPTION_WEIGHTS_ENV, raising=False)
    monkeypatch.delenv("T2IBENCH_CLIP_WEIGHTS", raising=False)


def test_offline_refuses_the_inception_download(no_network, monkeypatch):
    from t2ibench.features.inception import resolve_weights

    monkeypatch.setenv(defaults.OFFLINE_ENV, "1")
    with pytest.raises(defaults.DownloadForbidden, match="downloads are forbidden.*--inception-weights PATH"):
        resolve_weights(None)


def test_offline_refuses_the_clip_download(no_network, monkeypatch, tmp_path):
    from t2ibench.features.clip import download_clip_weights

    monkeypatch.setenv(defaults.OFFLINE_ENV, "true")
    with pytest.raises(defaults.DownloadForbidden, match="open_clip's ViT-B-32/openai.*--weights clip=PATH"):
        download_clip_weights("ViT-B-32", "openai", cache_dir=tmp_path)


def test_offline_uses_a_clip_checkpoint_already_in_the_cache(no_network, monkeypatch, tmp_path):
    """Offline, a checkpoint open_clip downloaded earlier is used, from the Hugging Face hub cache or
    from open_clip's URL cache; a URL-cache file must match its published sha256."""
    import open_clip.pretrained as ocp

    from t2ibench.features.clip import cached_clip_weights, download_clip_weights

    monkeypatch.setenv(defaults.OFFLINE_ENV, "1")
    cfg = ocp.get_pretrained_cfg("ViT-B-32", "openai")
    model_id = cfg["hf_hub"].rstrip("/")
    snapshot = tmp_path / "hub" / f"models--{model_id.replace('/', '--')}" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / ocp.HF_WEIGHTS_NAME).write_bytes(b"weights")
    (tmp_path / "hub" / f"models--{model_id.replace('/', '--')}" / "refs").mkdir()
    (tmp_path / "hub" / f"models--{model_id.replace('/', '--')}" / "refs" / "main").write_text("abc123")
    assert download_clip_weights("ViT-B-32", "openai", cache_dir=tmp_path / "hub") == snapshot / ocp.HF_WEIGHTS_NAME

    url_only = {"url": cfg["url"]}
    (tmp_path / "clip").mkdir()
    (tmp_path / "clip" / "ViT-B-32.pt").write_bytes(b"not the published file")
    with pytest.raises(ValueError, match="has the name of a known file but not its content"):
        cached_clip_weights(url_only, cache_dir=tmp_path / "clip")
    assert cached_clip_weights(url_only, cache_dir=tmp_path / "empty") is None


def test_cli_offline_flag_is_one_clear_line(no_network, monkeypatch, capsys, tmp_path):
    monkeypatch.delenv(defaults.OFFLINE_ENV, raising=False)
    code = cli_main(["eval", "--generator", "real", "--metrics", "fid@inception-v3-compat", "--n-images", "60",
                     "--offline", "--out", str(tmp_path), "--no-progress", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "downloads are forbidden" in err
    assert defaults.OFFLINE_ENV not in os.environ  # --offline lasts for its own command only


def test_offline_flag_values(monkeypatch):
    for value, expected in [("1", True), ("on", True), ("0", False), ("", None)]:
        monkeypatch.setenv("T2IBENCH_TEST_FLAG", value)
        assert defaults.env_bool("T2IBENCH_TEST_FLAG") is expected
    monkeypatch.setenv("T2IBENCH_TEST_FLAG", "maybe")
    with pytest.raises(ValueError, match="expected 1/0"):
        defaults.env_bool("T2IBENCH_TEST_FLAG")


def test_without_offline_a_failed_download_is_not_download_forbidden(monkeypatch, tmp_path):
    """Without --offline the download is tried; its failure is a WeightsDownloadFailed (a
    ValueError naming the URL), not the offline refusal."""
    import open_clip.pretrained as ocp
    import torch

    from t2ibench.features.clip import download_clip_weights
    from t2ibench.features.inception import TORCH_FIDELITY_URL, resolve_weights
    from t2ibench.safe_load import WeightsDownloadFailed

    def unreachable(*args, **kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", unreachable)
    monkeypatch.setattr(ocp, "download_pretrained", unreachable)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.delenv(defaults.INCEPTION_WEIGHTS_ENV, raising=False)
    monkeypatch.delenv(defaults.OFFLINE_ENV, raising=False)
    for call, url in ((lambda: resolve_weights(None), TORCH_FIDELITY_URL),
                      (lambda: download_clip_weights("ViT-B-32", "openai", cache_dir=tmp_path), "https://")):
        with pytest.raises(WeightsDownloadFailed) as e:
            call()
        assert not isinstance(e.value, defaults.DownloadForbidden)
        assert f" from {url}" in str(e.value) and "(OSError: Network is unreachable)" in str(e.value)
