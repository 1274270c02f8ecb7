"""CMD / ITDis (GR-GAN) and CLIPScore against independent numpy/scipy implementations."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import linalg

from t2ibench.metrics.clip_score import clip_score
from t2ibench.metrics.cmd import (CODE_IMAGE_SCALE, cmd, cmd_from_statistics, code_variant_features,
                                  load_statistics)


# -- reference: the formulas written out with scipy.linalg.sqrtm (pytorch-fid's FD) ---------------

def fd_ref(mu1, s1, mu2, s2) -> float:
    covmean = np.real(linalg.sqrtm(s1 @ s2))
    d = mu1 - mu2
    return float(d @ d + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def stats_ref(x):
    x = np.asarray(x, dtype=np.float64)
    return x.mean(0), np.cov(x, rowvar=False)


def cmd_ref(f, r, l, variant):
    if variant == "code":  # GR-GAN CMD_score.py: images /= norm, *= 10; text /= norm; signed difference
        f = f / np.linalg.norm(f, axis=1, keepdims=True) * 10
        r = r / np.linalg.norm(r, axis=1, keepdims=True) * 10
        l = l / np.linalg.norm(l, axis=1, keepdims=True)
    fr = fd_ref(*stats_ref(f), *stats_ref(r))
    fl = fd_ref(*stats_ref(f), *stats_ref(l))
    rl = fd_ref(*stats_ref(r), *stats_ref(l))
    itdis = abs(fl - rl) if variant == "paper" else fl - rl
    return {"cmd": fr + itdis, "itdis": itdis, "fd_fake_real": fr, "fd_fake_text": fl, "fd_real_text": rl}


@pytest.fixture(scope="module")
def feats():
    rng = np.random.default_rng(0)
    d = 12
    mix = rng.normal(size=(d, d)) / np.sqrt(d)
    f = rng.normal(size=(300, d)) @ mix + 0.3
    r = rng.normal(size=(250, d)) @ (mix * 0.8) + 0.1
    l = rng.normal(size=(400, d)) * 0.5 - 0.2
    return f.astype(np.float32), r, l


@pytest.mark.parametrize("variant", ["paper", "code"])
def test_cmd_matches_reference(feats, variant):
    out = cmd(*feats, variant=variant)
    ref = cmd_ref(*(np.asarray(a, dtype=np.float64) for a in feats), variant)
    for k, v in ref.items():
        assert out[k] == pytest.approx(v, rel=1e-7, abs=1e-9), k
    assert out["variant"] == variant and out["n_fake"] == 300 and out["n_real"] == 250 and out["n_text"] == 400
    assert out["cmd"] == pytest.approx(out["fd_fake_real"] + out["itdis"])


def test_cmd_of_identical_sets_is_zero(feats):
    f, _, l = feats
    out = cmd(f, f, l)
    assert out["fd_fake_real"] == pytest.approx(0, abs=1e-8)
    assert out["itdis"] == pytest.approx(0, abs=1e-8) and out["cmd"] == pytest.approx(0, abs=1e-8)


def test_torch_input_and_code_scaling(feats):
    import torch

    f, r, l = feats
    a = cmd(torch.from_numpy(np.asarray(f)), torch.from_numpy(r), torch.from_numpy(l), variant="code")
    # the code variant ignores the norm of the rows it is given
    b = cmd(np.asarray(f) * 3.0, r * 0.1, l * 7.0, variant="code")
    assert a["cmd"] == pytest.approx(b["cmd"], rel=1e-6)  # f is float32: f * 3 rounds
    img, txt = code_variant_features(r, l)
    assert np.allclose(np.linalg.norm(img, axis=1), CODE_IMAGE_SCALE) and np.allclose(np.linalg.norm(txt, axis=1), 1)


def test_paper_and_code_differ_in_sign_when_fakes_are_closer_to_the_text():
    """f near the text direction, r far from it: FD(f,l) < FD(r,l), so the paper's ITDis is
    |.| > 0 while GR-GAN's code reports a negative ITDis and a CMD below FD(f, r)."""
    rng = np.random.default_rng(1)
    d, n = 6, 400
    e1, e2 = np.eye(d)[0], np.eye(d)[1]
    text = e1 + 0.05 * rng.normal(size=(n, d))
    fake = e1 + 0.05 * rng.normal(size=(n, d))           # x10 after normalisation: near 10 e1
    real = e2 + 0.05 * rng.normal(size=(n, d))           # near 10 e2
    for variant in ("paper", "code"):
        out = cmd(fake, real, text, variant=variant)
        assert out["fd_fake_text"] < out["fd_real_text"]
    paper, code = cmd(fake, real, text, variant="paper"), cmd(fake, real, text, variant="code")
    assert paper["itdis"] > 0 and code["itdis"] < 0
    assert code["cmd"] < code["fd_fake_real"]
    assert paper["cmd"] > paper["fd_fake_real"]
    ref = cmd_ref(fake, real, text, "code")
    assert code["itdis"] == pytest.approx(ref["itdis"], rel=1e-7)
    # the same statistics through cmd_from_statistics: only the sign convention differs
    f10, t1 = code_variant_features(fake, text)
    r10 = code_variant_features(real)
    s = (*stats_ref(f10), *stats_ref(r10), *stats_ref(t1))
    assert cmd_from_statistics(*s, variant="code")["itdis"] == pytest.approx(code["itdis"], rel=1e-9)
    assert cmd_from_statistics(*s, variant="paper")["itdis"] == pytest.approx(-code["itdis"], rel=1e-9)


def test_grgan_released_statistics(shared_dir):
    """GR-GAN's shipped COCO statistics (CLIP ViT-B/32, code variant) with a synthetic fake Gaussian."""
    base = shared_dir / "reference" / "grgan-cmd"
    mu_r, s_r = load_statistics(base / "image_feature.npz")
    mu_l, s_l = load_statistics(base / "sent_feature.npz")
    assert mu_r.shape == (512,) and s_r.shape == (512, 512) and mu_l.shape == (512,)
    # E||x||^2 = tr(S) + ||mu||^2: 100 for images (L2-normalised x10), 1 for captions (x1), as in the code
    assert np.trace(s_r) + mu_r @ mu_r == pytest.approx(100.0, rel=1e-3)
    assert np.trace(s_l) + mu_l @ mu_l == pytest.approx(1.0, rel=1e-3)
    # the real images themselves as "fake": FD(f, r) = 0 and ITDis = 0
    same = cmd_from_statistics(mu_r, s_r, mu_r, s_r, mu_l, s_l, variant="code")
    assert same["fd_fake_real"] == pytest.approx(0, abs=1e-6) and same["itdis"] == pytest.approx(0, abs=1e-6)
    # a synthetic fake Gaussian: shifted mean, shrunk and perturbed covariance
    rng = np.random.default_rng(0)
    a = rng.normal(size=(512, 512)) / 512 ** 0.5
    mu_f = 0.9 * mu_r + 0.05 * rng.normal(size=512)
    s_f = 0.7 * s_r + 0.01 * (a @ a.T)
    ref = {"fd_fake_real": fd_ref(mu_f, s_f, mu_r, s_r), "fd_fake_text": fd_ref(mu_f, s_f, mu_l, s_l),
           "fd_real_text": fd_ref(mu_r, s_r, mu_l, s_l)}
    for variant in ("paper", "code"):
        out = cmd_from_statistics(mu_f, s_f, mu_r, s_r, mu_l, s_l, variant=variant)
        for k, v in ref.items():
            assert out[k] == pytest.approx(v, rel=1e-6), (variant, k)
        diff = ref["fd_fake_text"] - ref["fd_real_text"]
        itdis = abs(diff) if variant == "paper" else diff
        assert out["itdis"] == pytest.approx(itdis, rel=1e-6, abs=1e-6)
        assert out["cmd"] == pytest.approx(ref["fd_fake_real"] + itdis, rel=1e-6)
        assert out["dim"] == 512


def test_cmd_validation(feats, tmp_path):
    f, r, l = feats
    with pytest.raises(ValueError, match="same dimension"):
        cmd(f, r[:, :5], l)
    with pytest.raises(ValueError, match="at least 2 rows"):
        cmd(f[:1], r, l)
    bad = np.array(r)
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        cmd(f, bad, l)
    with pytest.raises(ValueError, match="variant"):
        cmd(f, r, l, variant="abs")
    zero = np.array(l)
    zero[0] = 0
    with pytest.raises(ValueError, match="zero norm"):
        cmd(f, r, zero, variant="code")
    with pytest.raises(ValueError, match="different dimensions"):
        cmd_from_statistics(np.zeros(3), np.eye(3), np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
    with pytest.raises(ValueError, match="no such file"):
        load_statistics(tmp_path / "missing.npz")
    np.savez(tmp_path / "bad.npz", mean=np.zeros(3))
    with pytest.raises(ValueError, match="'mu' and 'sigma'"):
        load_statistics(tmp_path / "bad.npz")


# -- CLIPScore -------------------------------------------------------------------------------

def test_clip_score_matches_numpy():
    rng = np.random.default_rng(3)
    img = rng.normal(size=(64, 20))
    txt = img * 0.5 + rng.normal(size=(64, 20))    # mostly positive cosines, some negative
    txt[:5] = -img[:5]                              # these clip to 0
    a = img / np.linalg.norm(img, axis=1, keepdims=True)
    b = txt / np.linalg.norm(txt, axis=1, keepdims=True)
    per = 2.5 * np.maximum((a * b).sum(1), 0)       # Hessel et al. 2021, Eq. 1
    out = clip_score(img, txt)
    assert out["value"] == pytest.approx(per.mean(), rel=1e-12)
    assert out["std"] == pytest.approx(per.std(), rel=1e-12)
    assert out["n"] == 64 and out["w"] == 2.5
    assert clip_score(img, txt, w=100)["value"] == pytest.approx(per.mean() * 40, rel=1e-12)
    assert clip_score(img[:5], txt[:5])["value"] == 0.0
    assert clip_score(img, img)["value"] == pytest.approx(2.5)


def test_clip_score_validation():
    x = np.ones((4, 3))
    with pytest.raises(ValueError, match="same shape"):
        clip_score(x, np.ones((5, 3)))
    with pytest.raises(ValueError, match="zero norm"):
        clip_score(x, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="w"):
        clip_score(x, x, w=0)
    with pytest.raises(ValueError, match="NaN"):
        clip_score(x, np.full((4, 3), np.nan))
