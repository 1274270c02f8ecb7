"""The ``clip`` extractor (open_clip, randomly initialised: nothing is downloaded) and the
embedded stand-in ``tiny-clip-shapes``: contract, preprocessing, safe weight loading, the
offline error, the shipped checkpoint and its held-out recall."""
from __future__ import annotations

import json
import urllib.error

import numpy as np
import pytest
import torch

import t2ibench.features.clip as fc
from t2ibench.evaluators import tiny_clip as tc
from t2ibench.features import list_extractors, load_extractor
from t2ibench.io import sha256_file

CAPTIONS = ["a red circle on a black background", "two blue squares", "a small green star at the upper left"]


@pytest.fixture(autouse=True)
def _no_clip_env(monkeypatch):
    for var in (fc.WEIGHTS_ENV, fc.MODEL_ENV, fc.QUICK_GELU_ENV):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="module")
def random_clip():
    """open_clip ViT-B-32 with random weights (no download), rounded to float16 values so that a
    float16 copy of its state dict (half the bytes to write) is exact."""
    torch.manual_seed(0)
    e = fc.ClipExtractor(pretrained=None).eval()
    with torch.no_grad():
        for t in list(e.net.parameters()) + list(e.net.buffers()):
            if t.is_floating_point():
                t.copy_(t.half().float())
    return e


def _images(n=3, h=64, w=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, h, w), dtype=torch.uint8, generator=g)


# -- open_clip ---------------------------------------------------------------------------------

def test_registered():
    assert "clip" in list_extractors() and "tiny-clip-shapes" in list_extractors()


def test_random_clip_shapes_dtypes_norms(random_clip):
    e = random_clip
    assert e.info["model"] == "ViT-B-32" and e.weights_id == "open_clip:ViT-B-32:random-init"
    assert e.outputs == fc.OUTPUTS and e.roles == fc.ROLES and e.stand_in is False
    # OpenAI's ViT-B-32 weights use QuickGELU; open_clip 3.3 would build nn.GELU for 'ViT-B-32'
    from open_clip.transformer import QuickGELU

    assert e.info["quick_gelu"] is True and isinstance(e.net.visual.transformer.resblocks[0].mlp.gelu, QuickGELU)
    for h, w in ((64, 64), (48, 80)):
        out = e(_images(3, h, w))
        assert set(out) == set(fc.OUTPUTS)
        for k, v in out.items():
            assert v.shape == (3, 512) and v.dtype == torch.float32 and torch.isfinite(v).all(), k
        for k in ("embedding", "embedding_unnormalised_input"):
            assert torch.allclose(out[k].norm(dim=1), torch.ones(3), atol=1e-5)
        assert torch.allclose(torch.nn.functional.normalize(out["embedding_raw"], dim=1), out["embedding"], atol=1e-6)
        assert not torch.allclose(out["embedding"], out["embedding_unnormalised_input"], atol=1e-3)
    text = e.encode_text(CAPTIONS)
    assert set(text) == {"sentence"} and text["sentence"].shape == (3, 512) and text["sentence"].dtype == torch.float32
    assert torch.allclose(text["sentence"].norm(dim=1), torch.ones(3), atol=1e-5)
    with pytest.raises(TypeError):
        e(torch.zeros(1, 3, 64, 64))          # float images: uint8 is the contract
    d = e.describe()
    assert d["model"] == "ViT-B-32" and d["quick_gelu"] is True and d["preprocess"]["size"] == 224


def test_preprocessing_matches_open_clip_and_grgan_transforms():
    """Tensor preprocessing vs open_clip's PIL eval transform and GR-GAN's Resize((224,224))+ToTensor:
    equal up to PIL's rounding to uint8 (at most one grey level)."""
    import open_clip
    import torchvision.transforms as T
    from PIL import Image

    mean, std = open_clip.OPENAI_DATASET_MEAN, open_clip.OPENAI_DATASET_STD
    ref_t = open_clip.image_transform(224, is_train=False, mean=mean, std=std, interpolation="bicubic",
                                      resize_mode="shortest")
    code_t = T.Compose([T.Resize((224, 224)), T.ToTensor()])
    g = torch.Generator().manual_seed(0)
    for shape in ((64, 64), (64, 96), (300, 200), (224, 224)):
        small = torch.randint(0, 256, (1, 3, 8, 8), generator=g).float()
        img = torch.nn.functional.interpolate(small, size=shape, mode="bilinear").round().clamp(0, 255).byte()
        pil = Image.fromarray(img[0].permute(1, 2, 0).numpy())
        ours = fc.clip_preprocess(img, 224, mean, std)[0]
        assert ours.shape == (3, 224, 224)
        assert float(((ours - ref_t(pil)) * torch.tensor(std).view(3, 1, 1)).abs().max()) <= 1.01 / 255
        code = fc.grgan_code_preprocess(img, 224)[0]
        assert float((code - code_t(pil)).abs().max()) <= 1.01 / 255


def test_user_weights_path_is_honoured(random_clip, tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "clip-random.safetensors"
    save_file({k: (v.half() if v.is_floating_point() else v).contiguous()
               for k, v in random_clip.net.state_dict().items()}, str(path))
    try:
        e = load_extractor("clip", weights=str(path))
        assert e.weights_id == sha256_file(path) and e.info["pretrained"] == str(path)
        x = _images(2)
        a, b = random_clip(x), e(x)
        for k in fc.OUTPUTS:
            assert torch.allclose(a[k], b[k], atol=1e-5), k
        assert torch.allclose(random_clip.encode_text(CAPTIONS)["sentence"], e.encode_text(CAPTIONS)["sentence"],
                              atol=1e-5)
        # its sha256 is no published checkpoint's: used, with the warning results carry
        digest = sha256_file(path)
        assert e.weights_warning == e.describe()["weights_warning"]
        assert e.weights_warning.startswith(f"unknown weights: {path} (sha256 {digest[:16]}…) is not a published "
                                            f"file (known: ViT-B-32.pt sha256 40d365715913c9da…")
        assert e.weights_warning.endswith("its numbers are not comparable with published ones")
    finally:
        path.unlink()


def test_published_file_has_no_warning_and_a_corrupted_copy_has_one(random_clip, tmp_path, monkeypatch):
    """A file whose sha256 is in the published table (here: the table made to hold this file's)
    carries no warning; the same file with a few flipped bytes under another name carries one."""
    from safetensors.torch import save_file

    path = tmp_path / "published.safetensors"
    save_file({k: (v.half() if v.is_floating_point() else v).contiguous()
               for k, v in random_clip.net.state_dict().items()}, str(path))
    digest = sha256_file(path)
    monkeypatch.setattr(fc, "_published_files", lambda: [("ViT-B-32", "published.safetensors", digest)])
    assert fc.published_clip_weights() == {"published.safetensors": digest}
    assert load_extractor("clip", weights=str(path)).weights_warning is None
    data = bytearray(path.read_bytes())
    for k in range(1, 9):  # tensor bytes at the end of the file (the JSON header is at the start)
        data[-k * 1001] ^= 0xFF
    bad = tmp_path / "mine.safetensors"
    bad.write_bytes(bytes(data))
    path.unlink()
    e = load_extractor("clip", weights=str(bad))
    assert e.weights_warning.startswith(f"unknown weights: {bad} (sha256 {sha256_file(bad)[:16]}…)")
    assert f"known: published.safetensors sha256 {digest[:16]}…" in e.weights_warning


def test_published_table_is_open_clips():
    table = fc.published_clip_weights("ViT-B-32")
    assert table["ViT-B-32.pt"] == "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af"
    assert table == fc.published_clip_weights("ViT-B-32-quickgelu")
    assert table["vit_b_32-laion2b_e16-af8dbd0c.pth"] == "af8dbd0c"  # only a prefix is published
    assert "ViT-B-16.pt" not in table
    from t2ibench.features import known_weights

    assert known_weights("clip") == table and known_weights("tiny-clip-shapes") == {}


def test_read_state_dict_formats_and_refusals(tmp_path, random_clip):
    sd = {"a.weight": torch.randn(3, 2), "b": torch.arange(4)}
    torch.save({"state_dict": {f"module.{k}": v for k, v in sd.items()}}, tmp_path / "wrapped.pt")
    got = fc.read_state_dict(tmp_path / "wrapped.pt")
    assert set(got) == set(sd) and all(torch.equal(got[k], sd[k]) for k in sd)

    class Evil:
        def __reduce__(self):
            return (print, ("unpickled!",))

    torch.save({"a": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="weights_only=True"):
        fc.read_state_dict(tmp_path / "evil.pt")
    (tmp_path / "junk.safetensors").write_bytes(b"not safetensors" * 8)
    with pytest.raises(ValueError, match="junk.safetensors"):
        fc.read_state_dict(tmp_path / "junk.safetensors")
    with pytest.raises(ValueError, match="no such file"):
        fc.read_state_dict(tmp_path / "missing.pt")
    # a state dict of another network: a clear error naming the file (strict loading copies nothing:
    # no key matches)
    with pytest.raises(ValueError, match="other.pt.*do not fit"):
        fc._load_into_clip(random_clip.net, sd, "'other.pt'")


def test_offline_without_weights_is_a_clear_error(monkeypatch):
    import open_clip.pretrained

    def no_network(*args, **kwargs):
        raise OSError("Temporary failure in name resolution")

    monkeypatch.setattr(open_clip.pretrained, "download_pretrained", no_network)
    monkeypatch.delenv("T2IBENCH_OFFLINE", raising=False)
    with pytest.raises(fc.ClipWeightsUnavailable) as err:
        load_extractor("clip")
    msg = str(err.value)
    cfg = open_clip.pretrained.get_pretrained_cfg("ViT-B-32", "openai")
    url = f"https://huggingface.co/{cfg['hf_hub'].rstrip('/')}"
    assert msg.startswith(f"downloading open_clip's ViT-B-32/openai checkpoint from {url} failed "
                          f"(OSError: Temporary failure in name resolution); give a local file with "
                          f"--weights clip=FILE (or weights=FILE, or {fc.WEIGHTS_ENV}=FILE)")
    assert msg.endswith("or check the network") and "\n" not in msg and cfg["url"] in msg
    assert isinstance(err.value, ValueError) and isinstance(err.value, RuntimeError)


@pytest.mark.parametrize("error", [ConnectionError("reset"), RuntimeError("invalid hash\nmore"),
                                   urllib.error.URLError("no route")])
def test_failed_clip_download_is_one_cli_line(monkeypatch, error, capsys):
    import open_clip.pretrained

    def failing(*args, **kwargs):
        raise error

    monkeypatch.setattr(open_clip.pretrained, "download_pretrained", failing)
    monkeypatch.delenv("T2IBENCH_OFFLINE", raising=False)
    from t2ibench.cli import run_cli

    assert run_cli(lambda args: fc.download_clip_weights("ViT-B-32", "openai"), None) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: downloading open_clip's ViT-B-32/openai checkpoint from https://huggingface.co/")
    assert f"failed ({type(error).__name__}: " in err and err.count("\n") == 1 and "--weights clip=FILE" in err


def test_environment_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv(fc.WEIGHTS_ENV, str(tmp_path / "nowhere.safetensors"))
    with pytest.raises(ValueError, match="nowhere.safetensors"):
        load_extractor("clip")
    monkeypatch.delenv(fc.WEIGHTS_ENV)
    monkeypatch.setenv(fc.MODEL_ENV, "No-Such-Model")
    with pytest.raises(ValueError, match="No-Such-Model"):
        load_extractor("clip")


# -- the stand-in --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def manifest():
    w, m = tc.packaged_files("shapes")
    if not w.is_file() or not m.is_file():
        pytest.fail(f"the shipped checkpoint is missing: {w} / {m}")
    return json.loads(m.read_text())


@pytest.fixture(scope="module")
def tiny():
    return load_extractor("tiny-clip-shapes")


def test_shipped_manifest(manifest):
    from t2ibench.data.shapes import fingerprint_of

    w, _ = tc.packaged_files("shapes")
    assert manifest["sha256"] == sha256_file(w)
    assert w.stat().st_size < 8e6
    for key in ("config", "tokenizer", "command", "seed", "epochs", "dataset", "held_out_recall",
                "held_out_recall_500", "train_time_s", "torch_version", "history"):
        assert key in manifest, key
    assert manifest["command"].startswith("python -m t2ibench.evaluators.tiny_clip")
    assert manifest["config"]["tokenizer"] == manifest["tokenizer"]
    assert manifest["dataset"]["train_fingerprint"] == fingerprint_of("train")
    assert manifest["dataset"]["test_fingerprint"] == fingerprint_of("test")
    assert manifest["held_out_recall"]["n_pairs"] == 1000
    assert manifest["held_out_recall"]["i2t_r1"] > 0.1 and manifest["held_out_recall"]["t2i_r1"] > 0.1


def test_held_out_recall_is_reproduced(manifest, tiny):
    from t2ibench.data import load_dataset

    test = load_dataset("shapes", split="test", n_test=tc.N_EVAL_SMALL, progress=False)
    images, captions = tc.held_out_pairs(test, tc.N_EVAL_SMALL)
    got = tc.retrieval_recall(tiny(images)["embedding"], tiny.encode_text(captions)["sentence"])
    want = manifest["held_out_recall_500"]
    for k in ("i2t_r1", "t2i_r1", "i2t_r5", "t2i_r5"):
        assert abs(got[k] - want[k]) <= 0.02, (k, got[k], want[k])
    # a caption is closer to its own image than to a random other one, on average
    img, txt = tiny(images)["embedding"], tiny.encode_text(captions)["sentence"]
    assert float((img * txt).sum(1).mean()) > float((img * txt.roll(1, 0)).sum(1).mean()) + 0.1


def test_tiny_clip_contract(tiny, manifest, random_clip):
    assert tiny.name == "tiny-clip-shapes" and tiny.stand_in is True
    assert tiny.weights_id == manifest["sha256"]
    assert tiny.outputs == random_clip.outputs and tiny.roles == random_clip.roles
    assert tiny.text_outputs == random_clip.text_outputs
    d = tiny.describe()
    assert "CLIP" in d["stands_in_for"] and d["stand_in"] is True
    dim = manifest["config"]["embed_dim"]
    for size in (32, 64, 100):
        out = tiny(_images(3, size, size))
        assert set(out) == set(fc.OUTPUTS)
        for v in out.values():
            assert v.shape == (3, dim) and v.dtype == torch.float32 and torch.isfinite(v).all()
        assert torch.allclose(out["embedding"].norm(dim=1), torch.ones(3), atol=1e-5)
    text = tiny.encode_text(CAPTIONS + ["zebra xylophone"])         # unknown words map to <unk>
    assert text["sentence"].shape == (4, dim) and torch.allclose(text["sentence"].norm(dim=1), torch.ones(4), atol=1e-5)
    x = _images(5)
    assert torch.allclose(tiny(x)["embedding"][2:3], tiny(x[2:3])["embedding"], atol=1e-5)


def test_cmd_and_clipscore_run_on_the_stand_in(tiny):
    from t2ibench.data import load_dataset
    from t2ibench.metrics.clip_score import clip_score
    from t2ibench.metrics.cmd import cmd

    test = load_dataset("shapes", split="test", n_test=200, progress=False)
    images, captions = tc.held_out_pairs(test, 200)
    img, txt = tiny(images), tiny.encode_text(captions)["sentence"]
    matched = clip_score(img["embedding"], txt)["value"]
    shuffled = clip_score(img["embedding"], txt.roll(7, 0))["value"]
    assert matched > shuffled
    real, fake = img["embedding"][:100], img["embedding"][100:]
    same = cmd(fake, real, txt)
    noise = tiny(_images(100, seed=3))["embedding"]
    worse = cmd(noise, real, txt)
    assert worse["cmd"] > same["cmd"] and worse["fd_fake_real"] > same["fd_fake_real"]
    code_img = img["embedding_unnormalised_input"]
    code = cmd(code_img[100:], code_img[:100], txt, variant="code")
    assert np.isfinite(code["cmd"])


def test_user_tiny_weights_and_bad_files(tmp_path, manifest):
    import shutil

    w, m = tc.packaged_files("shapes")
    shutil.copy(w, tmp_path / "mine.safetensors")
    shutil.copy(m, tmp_path / "mine.json")
    e = load_extractor("tiny-clip-shapes", weights=str(tmp_path / "mine.safetensors"))
    assert e.weights_id == manifest["sha256"]
    data = bytearray(w.read_bytes())
    data[-10] ^= 0xFF
    (tmp_path / "bad.safetensors").write_bytes(bytes(data))
    shutil.copy(m, tmp_path / "bad.json")
    with pytest.raises(ValueError, match="sha256"):
        load_extractor("tiny-clip-shapes", weights=str(tmp_path / "bad.safetensors"))
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(3)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ValueError, match="other.safetensors"):
        load_extractor("tiny-clip-shapes", weights=str(tmp_path / "other.safetensors"))


def test_training_is_deterministic(tmp_path):
    kw = dict(seed=0, epochs=1, progress=False, n_train=64, n_test=32, batch_size=32)
    a = tc.train(tmp_path / "a", **kw)
    b = tc.train(tmp_path / "b", **kw)
    assert a["sha256"] == b["sha256"] == sha256_file(tmp_path / "a" / "tiny-clip-shapes.safetensors")
    assert a["held_out_recall"]["n_pairs"] == 32 and 0 <= a["held_out_recall"]["i2t_r1"] <= 1
    model, digest, man = tc.load_tiny_clip(tmp_path / "a" / "tiny-clip-shapes.safetensors")
    assert digest == a["sha256"] and man["tokenizer"] == a["tokenizer"]
    with pytest.raises(ValueError, match="epochs"):
        tc.train(tmp_path / "c", epochs=0)


def test_cli_help(capsys):
    with pytest.raises(SystemExit) as e:
        tc.main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--out", "--dataset", "--seed", "--epochs", "--device", "--checkpoint"):
        assert flag in out


def test_the_code_variant_pass_runs_only_when_requested():
    """The second image pass (GR-GAN code preprocessing) serves only cmd-code: skipped unless wanted."""
    from t2ibench.features import load_extractor

    ex = load_extractor("tiny-clip-shapes")
    images = torch.randint(0, 256, (3, 3, 64, 64), dtype=torch.uint8)
    calls = []
    original = ex.net.encode_image
    ex.net.encode_image = lambda x: calls.append(1) or original(x)
    ex.requested = frozenset({"embedding"})
    assert "embedding_unnormalised_input" not in ex(images) and len(calls) == 1
    ex.requested = None
    assert ex(images)["embedding_unnormalised_input"].shape == (3, ex.feature_dim) and len(calls) == 3
