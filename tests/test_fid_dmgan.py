"""DM-GAN's FID variant: ``inception-v3-imagenet`` (torchvision's ImageNet Inception-v3 pool features,
as DM-GAN's ``eval/FID`` code feeds it) and the ``fid-dmgan`` protocol (batches of 64, last one dropped).

torchvision's ``inception_v3_google-*.pth`` cannot be downloaded here: the tests save a torchvision
``inception_v3`` state dict with random values (the released key names and shapes) and compare with
an independent reference written here from DM-GAN's ``fid_score.py`` + the early pytorch-fid
``InceptionV3`` it imports (ToTensor, ``normalize_input``, the layers up to ``Mixed_7c``, adaptive
average pool) and its ``calculate_frechet_distance`` (``scipy.linalg.sqrtm``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from scipy import linalg

from t2ibench.features import known_weights, load_extractor
from t2ibench.features.inception_imagenet import KNOWN_WEIGHTS, NAME

from toy import ToyDataset  # noqa: F401  (registers the toy extractor)
from hostile import TouchOnLoad


def _random_imagenet_state(seed=0) -> dict[str, torch.Tensor]:
    from torchvision.models import inception_v3

    torch.manual_seed(seed)
    net = inception_v3(weights=None, aux_logits=True, init_weights=True)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
    return {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}  # as 1a9a5a14


@pytest.fixture(scope="module")
def imagenet_file(tmp_path_factory) -> tuple[Path, dict]:
    state = _random_imagenet_state()
    p = tmp_path_factory.mktemp("w") / "my-inception.pth"
    torch.save(state, p)
    return p, state


def dmgan_reference_pool(state: dict, images: torch.Tensor) -> np.ndarray:
    """DM-GAN: PIL ``Resize((299, 299))`` -> ``ToTensor()`` -> ``normalize_input`` -> blocks 0-3 of
    pytorch-fid's early ``InceptionV3`` (torchvision layers, no ``transform_input``) -> [N, 2048]."""
    from torchvision.models import inception_v3

    net = inception_v3(weights=None, aux_logits=True, init_weights=False)
    net.load_state_dict(state)
    net.eval()
    pil = [Image.fromarray(im.permute(1, 2, 0).numpy()).resize((299, 299), Image.BILINEAR) for im in images]
    x = torch.stack([torch.from_numpy(np.asarray(p).copy()).permute(2, 0, 1).float() / 255 for p in pil])
    x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=True)
    x = x.clone()
    x[:, 0] = x[:, 0] * (0.229 / 0.5) + (0.485 - 0.5) / 0.5
    x[:, 1] = x[:, 1] * (0.224 / 0.5) + (0.456 - 0.5) / 0.5
    x[:, 2] = x[:, 2] * (0.225 / 0.5) + (0.406 - 0.5) / 0.5
    blocks = [net.Conv2d_1a_3x3, net.Conv2d_2a_3x3, net.Conv2d_2b_3x3, torch.nn.MaxPool2d(3, 2),
              net.Conv2d_3b_1x1, net.Conv2d_4a_3x3, torch.nn.MaxPool2d(3, 2),
              net.Mixed_5b, net.Mixed_5c, net.Mixed_5d, net.Mixed_6a, net.Mixed_6b, net.Mixed_6c, net.Mixed_6d,
              net.Mixed_6e, net.Mixed_7a, net.Mixed_7b, net.Mixed_7c, torch.nn.AdaptiveAvgPool2d((1, 1))]
    with torch.no_grad():
        for b in blocks:
            x = b(x)
    return x.reshape(len(images), -1).numpy()


def dmgan_frechet_distance(mu1, sigma1, mu2, sigma2):
    """DM-GAN's ``calculate_frechet_distance`` (sqrtm of the product, real part)."""
    diff = mu1 - mu2
    covmean = linalg.sqrtm(sigma1.dot(sigma2))
    covmean = covmean.real
    return diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)


def test_pool_features_equal_dmgans_pipeline(imagenet_file):
    path, state = imagenet_file
    g = torch.Generator().manual_seed(0)
    low = torch.rand(2, 3, 8, 8, generator=g)
    images = (F.interpolate(low, size=256, mode="bilinear") * 255).round().to(torch.uint8)
    ex = load_extractor(NAME, weights=str(path))
    assert ex.outputs == ("pool3",) and ex.roles == {"embedding": "pool3"}
    got = ex(images)["pool3"].numpy()
    expected = dmgan_reference_pool(state, images)
    assert got.shape == (2, 2048)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    # another file than torchvision's two: used, with the warning every result carries
    assert ex.weights_warning.startswith(f"unknown weights: {path}")


def test_known_names_are_pinned_by_sha256(imagenet_file, tmp_path):
    path, _ = imagenet_file
    assert known_weights(NAME) == KNOWN_WEIGHTS
    fake = tmp_path / "inception_v3_google-0cc3c7bd.pth"
    fake.write_bytes(path.read_bytes())
    with pytest.raises(ValueError, match=r"name of a known file but not its content: expected sha256 0cc3c7bd75"):
        load_extractor(NAME, weights=str(fake))


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.pop("Mixed_7c.branch_pool.conv.weight"), r"1 keys missing .*Mixed_7c.branch_pool.conv.weight"),
    (lambda s: s.update({"fc.weight": s["fc.weight"][:50], "fc.bias": s["fc.bias"][:50]}),
     r"has 50 outputs, expected 1000"),
    (lambda s: s.update({"Mixed_5b.branch1x1.bn.bias": torch.zeros(65)}),
     r"shapes differ .*Mixed_5b.branch1x1.bn.bias"),
])
def test_state_dict_errors_are_clear(imagenet_file, tmp_path, edit, message):
    state = dict(imagenet_file[1])
    edit(state)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match=message):
        load_extractor(NAME, weights=str(tmp_path / "bad.pth"))


def test_no_weights_and_missing_file_are_clear(tmp_path):
    with pytest.raises(ValueError, match=r"needs weights=PATH \(--weights inception-v3-imagenet=PATH\).*"
                                         r"inception_v3_google-0cc3c7bd.pth or inception_v3_google-1a9a5a14.pth"):
        load_extractor(NAME)
    with pytest.raises(ValueError, match="no such file"):
        load_extractor(NAME, weights=str(tmp_path / "absent.pth"))


def test_malicious_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"fc.weight": TouchOnLoad(marker)}, tmp_path / "inception_v3_google-x.pth")
    with pytest.raises(ValueError, match="weights_only=True"):
        load_extractor(NAME, weights=str(tmp_path / "inception_v3_google-x.pth"))
    assert not marker.exists()


def test_fid_dmgan_protocol_drops_incomplete_batches():
    from t2ibench.protocols import Collected, parse_metric

    assert {parse_metric("fid-dmgan", d).extractor for d in ("cub", "coco", "shapes")} == {NAME}
    assert [parse_metric("fid", d).extractor for d in ("cub", "coco", "shapes")] == \
        ["inception-v3-compat", "inception-v3-compat", "shapes-classifier"]
    p = parse_metric("fid-dmgan", "cub")
    assert p.min_images == 64 and not p.higher_is_better
    rng = np.random.default_rng(0)
    fake, real = rng.standard_normal((150, 24)) + 0.3, rng.standard_normal((200, 24)) * 1.1
    key = (NAME, "pool3")
    out = p.compute(Collected(fake={key: fake}, real={key: real}), {"embedding": key})
    assert out["n_fake"] == 128 and out["n_real"] == 192 and out["batch_size"] == 64
    f, r = fake[:128], real[:192]
    expected = dmgan_frechet_distance(f.mean(0), np.cov(f, rowvar=False), r.mean(0), np.cov(r, rowvar=False))
    np.testing.assert_allclose(out["value"], expected, rtol=1e-9)
    every = dmgan_frechet_distance(fake.mean(0), np.cov(fake, rowvar=False), real.mean(0), np.cov(real, rowvar=False))
    assert abs(every - out["value"]) > 1e-6  # dropping the last batch changes the value
    with pytest.raises(ValueError, match="63 generated images, fewer than one batch of 64"):
        p.compute(Collected(fake={key: fake[:63]}, real={key: real}), {"embedding": key})


def test_engine_runs_both_new_variants():
    from t2ibench import evaluate
    from t2ibench.generators.reference import UniformNoise

    toy = ToyDataset(150)
    r = evaluate(UniformNoise(32), toy, metrics=["is-stackgan@toy", "is@toy", "fid-dmgan@toy"], n_images=100,
                 progress=False)
    m = r.metrics
    assert m["is-stackgan@toy"]["n_scored"] == 64 and m["is-stackgan@toy"]["n_dropped"] == 36
    assert m["is-stackgan@toy"]["value"] != m["is@toy"]["value"]
    assert m["fid-dmgan@toy"]["n_fake"] == 64 and m["fid-dmgan@toy"]["n_real"] == 128
