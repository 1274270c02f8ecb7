"""GR-GAN's Cross-Modal Distance (CMD) and image-text distance (ITDis).

Yang, Feng & Wang 2022, "GR-GAN: Gradual Refinement Text-to-Image Generation", Sec. 3.3, Eq. (10),
and the appendix, Eq. (11)::

    ITDis = |Dis(f, l) - Dis(r, l)|
    CMD   = Dis(f, r) + ITDis

with f, r, l the CLIP ViT-B/32 features of the generated images, the real images and the
text descriptions, and every ``Dis`` the squared Fréchet distance of the Gaussians fitted to
two feature sets (:func:`t2ibench.metrics.frechet.frechet_distance`, Heusel et al. 2017).

Two variants, kept apart on purpose (DESIGN.md §3):

``variant="paper"`` (default): the formula above on the features as given (the ``clip``
    extractor's unit-norm ``embedding`` for images and ``sentence`` for captions, CLIP's
    own preprocessing).

``variant="code"``: what GR-GAN's released evaluation script computes —
    ``eval/CMD/CMD_score.py`` of https://github.com/BoO-18/GR-GAN (commits 50bd824 and
    2e132f8 are identical here):

    - images: ``transforms.Resize((224, 224))`` + ``ToTensor()`` (a square resize, no
      centre crop, values in [0, 1], *no* CLIP mean/std normalisation), then
      ``cnn_code /= cnn_code.norm(dim=-1, keepdim=True); cnn_code *= 10`` in
      ``get_activations`` — image features are L2-normalised and scaled by 10;
    - captions: ``text_features /= text_features.norm(dim=-1, keepdim=True)`` in
      ``compute_language_statistics`` — L2-normalised, scale 1;
    - ``calculate_fid_given_paths`` prints ``'CMD score is: ', fid_value3 + fid_value2 -
      fid_value1`` with ``fid_value3 = FD(real image, fake image)``, ``fid_value2 = FD(fake
      image, sent)``, ``fid_value1 = FD(real image, sent)``: the difference is *signed*, no
      absolute value, so CMD can fall below FD(f, r) (and ITDis below 0) when the generated
      images lie closer to the captions than the real images do.
    - FD is pytorch-fid's ``calculate_frechet_distance`` (scipy ``sqrtm``); np.cov with N-1;
      loaders with ``drop_last=True`` (a few trailing items unused). The script's unused
      ``calculate_new_distance`` (the appendix's Eq. (12)) plays no part.

    The shipped statistics ``image_feature.npz`` / ``sent_feature.npz`` (COCO) are consistent
    with this: E||x||² = tr(Σ) + ||μ||² is 100.0 for the images and 1.0 for the captions.
    Here ``variant="code"`` L2-normalises every image row and multiplies it by 10 and
    L2-normalises every caption row; the CLIP preprocessing difference is the extractor's
    business: feed the ``embedding_unnormalised_input`` output (role ``image_code``) of the
    ``clip`` extractor to reproduce the script.

Return value (both variants): ``cmd``, ``itdis`` (signed in the code variant), ``fd_fake_real``,
``fd_fake_text``, ``fd_real_text``, ``variant``, and ``n_fake``, ``n_real``, ``n_text``, ``dim``
where features were given.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from t2ibench.metrics.frechet import frechet_distance, gaussian_statistics
from t2ibench.validation import check_choice, check_features

VARIANTS = ("paper", "code")
#: GR-GAN code: image features are L2-normalised and multiplied by this; captions by 1.
CODE_IMAGE_SCALE = 10.0
CODE_TEXT_SCALE = 1.0


def _l2_rows(x: np.ndarray, scale: float, name: str) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if (norms == 0).any():
        raise ValueError(f"{name}: a row has zero norm and cannot be L2-normalised (variant 'code')")
    return x / norms * scale


def code_variant_features(image_feats, text_feats=None):
    """The feature scaling of GR-GAN's released code: image rows L2-normalised ×10, text rows ×1.

    Returns the scaled image array (and the text array when ``text_feats`` is given), float64.
    """
    img = _l2_rows(check_features(image_feats, "image features"), CODE_IMAGE_SCALE, "image features")
    if text_feats is None:
        return img
    return img, _l2_rows(check_features(text_feats, "text features"), CODE_TEXT_SCALE, "text features")


def cmd_from_statistics(mu_fake, sigma_fake, mu_real, sigma_real, mu_text, sigma_text, variant: str = "paper") -> dict:
    """CMD and ITDis from three Gaussians ``(mu [D], sigma [D, D])``: generated images, real images, captions.

    ``variant`` only chooses ``|FD(f,l) − FD(r,l)|`` (``"paper"``) or the signed difference
    (``"code"``); the statistics must already be of features prepared for that variant (the
    GR-GAN ``image_feature.npz``/``sent_feature.npz`` are code-variant statistics: images
    L2-normalised ×10, captions ×1 — see :func:`code_variant_features`).
    """
    check_choice(variant, VARIANTS, "CMD variant")
    dims = {len(np.atleast_1d(m)) for m in (mu_fake, mu_real, mu_text)}
    if len(dims) != 1:
        raise ValueError(f"CMD: the fake, real and text statistics have different dimensions "
                         f"{[len(np.atleast_1d(m)) for m in (mu_fake, mu_real, mu_text)]}")
    fd_fr = frechet_distance(mu_fake, sigma_fake, mu_real, sigma_real)
    fd_fl = frechet_distance(mu_fake, sigma_fake, mu_text, sigma_text)
    fd_rl = frechet_distance(mu_real, sigma_real, mu_text, sigma_text)
    diff = fd_fl - fd_rl
    itdis = abs(diff) if variant == "paper" else diff
    return {"cmd": fd_fr + itdis, "itdis": itdis, "fd_fake_real": fd_fr, "fd_fake_text": fd_fl,
            "fd_real_text": fd_rl, "variant": variant, "dim": dims.pop()}


def cmd(fake_feats, real_feats, text_feats, variant: str = "paper") -> dict:
    """CMD and ITDis of generated-image, real-image and caption features (each ``[N, D]``, N >= 2).

    ``variant="paper"``: GR-GAN Eq. (10)/(11) on the features as given. ``variant="code"``:
    GR-GAN's released code (image rows L2-normalised ×10, caption rows ×1, signed ITDis);
    see the module docstring. Raises ``ValueError`` on different dimensions, fewer than 2
    rows, NaN/Inf or an unknown variant.
    """
    check_choice(variant, VARIANTS, "CMD variant")
    f = check_features(fake_feats, "fake features", min_rows=2)
    r = check_features(real_feats, "real features", min_rows=2)
    t = check_features(text_feats, "text features", min_rows=2)
    if not f.shape[1] == r.shape[1] == t.shape[1]:
        raise ValueError(f"CMD: fake, real and text features must have the same dimension, got "
                         f"{f.shape[1]}, {r.shape[1]} and {t.shape[1]}")
    if variant == "code":
        f = _l2_rows(f, CODE_IMAGE_SCALE, "fake features")
        r = _l2_rows(r, CODE_IMAGE_SCALE, "real features")
        t = _l2_rows(t, CODE_TEXT_SCALE, "text features")
    out = cmd_from_statistics(*gaussian_statistics(f), *gaussian_statistics(r), *gaussian_statistics(t),
                              variant=variant)
    return {**out, "n_fake": len(f), "n_real": len(r), "n_text": len(t)}


def load_statistics(path) -> tuple[np.ndarray, np.ndarray]:
    """``(mu, sigma)`` from an ``.npz`` with keys ``mu`` and ``sigma`` (pytorch-fid / GR-GAN layout).

    Read with ``allow_pickle=False``; a missing file or key, or a shape mismatch, is a ``ValueError``.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"statistics file {path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as f:
            mu, sigma = np.asarray(f["mu"], dtype=np.float64), np.asarray(f["sigma"], dtype=np.float64)
    except (KeyError, ValueError, OSError) as e:
        raise ValueError(f"statistics file {path}: expected an .npz with arrays 'mu' and 'sigma' ({e})") from e
    if mu.ndim != 1 or sigma.shape != (len(mu), len(mu)):
        raise ValueError(f"statistics file {path}: mu {mu.shape} and sigma {sigma.shape} do not form a Gaussian")
    return mu, sigma
