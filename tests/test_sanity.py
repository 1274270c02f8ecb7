"""The sanity suite's building blocks: degradations against independent references, caption edits."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.ndimage
import torch

from t2ibench.sanity import CaptionEdited, add_gaussian_noise, change_colour_word, gaussian_blur, normalise, write_sanity

from toy import ToyDataset


def test_blur_matches_scipy_gaussian_filter():
    img = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    ours = gaussian_blur(img, sigma=1.5).numpy().astype(float)
    ref = np.stack([[scipy.ndimage.gaussian_filter(c.astype(float), 1.5, mode="mirror", truncate=3.0)
                     for c in im] for im in img.numpy()])
    assert np.abs(ours - np.clip(np.round(ref), 0, 255)).max() <= 1


def test_noise_has_the_stated_sigma_and_is_seeded():
    img = torch.full((4, 3, 32, 32), 128, dtype=torch.uint8)
    a = add_gaussian_noise(img, seed=1)
    assert (a.float() - 128).std() == pytest.approx(25, rel=0.05)
    assert torch.equal(a, add_gaussian_noise(img, seed=1)) and not torch.equal(a, add_gaussian_noise(img, seed=2))


@pytest.mark.parametrize("caption", ["a small crimson triangle in the middle.", "the red circle is big and red",
                                     "a blue square next to a white star"])
def test_change_colour_word_changes_exactly_the_first_colour(caption):
    out = change_colour_word(caption, seed=0)
    a, b = caption.split(), out.split()
    diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
    assert len(a) == len(b) and len(diff) == 1
    assert out == change_colour_word(caption, seed=0)


def test_caption_without_colour_is_unchanged_and_view_keeps_images():
    assert change_colour_word("a triangle", 0) == "a triangle"
    ds = ToyDataset(6)
    view = CaptionEdited(ds, lambda c, s: c.upper(), "upper")
    assert view.captions(2) == [c.upper() for c in ds.captions(2)]
    assert torch.equal(view.image(2), ds.image(2)) and view.fingerprint == ds.fingerprint


def test_normalisation_and_outputs(tmp_path):
    raw = pd.DataFrame({"fid": [0.0, 5.0, 100.0], "ssim": [1.0, 0.5, 0.0], "flat": [1.0, 1.0, 1.0]},
                       index=["real", "blur", "uniform-noise"])
    norm = write_sanity(raw, tmp_path, "t")
    assert norm.loc["blur", "fid"] == pytest.approx(0.05) and norm.loc["blur", "ssim"] == pytest.approx(0.5)
    assert np.isnan(norm.loc["blur", "flat"])
    assert (tmp_path / "sanity.png").stat().st_size > 1000 and "| blur | 0.05 | 0.50 | – |" in (
        tmp_path / "sanity.md").read_text()
    assert normalise(raw).loc["real"].fillna(0).eq(0).all()
