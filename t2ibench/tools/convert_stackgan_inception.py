"""Convert StackGAN's fine-tuned Inception-v3 (a TF-slim checkpoint) into a safetensors file for IS.

    python -m t2ibench.tools.convert_stackgan_inception CKPT --classes 50 --out inception-birds.safetensors
    python -m t2ibench.tools.convert_stackgan_inception CKPT --classes 20 --out inception-flowers.safetensors

CKPT is the checkpoint of hanzhanggit/StackGAN-inception-model (``inception_finetuned_models/
birds_valid299/model.ckpt-5000`` for CUB, ``flowers_valid299/model.ckpt`` for Oxford-102; the
prefix or file name that ``tf.train.load_checkpoint`` reads). Reading it needs TensorFlow, an
optional extra that the rest of t2ibench never imports (``pip install 't2ibench[tf]'``); run
this once where TensorFlow is installed and use the output anywhere with
``--weights inception-birds=inception-birds.safetensors`` (or ``inception-flowers=``).

What the released evaluation (StackGAN-inception-model ``inception_score.py``, also DM-GAN's
``eval/IS/bird/inception_score_bird.py``) builds, and what the conversion keeps:

* the network is tensorflow/models ``inception/inception/slim/inception_model.py``'s
  ``inception_v3`` with ``num_classes = classes + 1`` ("Label 0 is reserved for an (unused)
  background class"); its variables carry no scope prefix (``inception_v3`` is a name scope), e.g.
  ``conv0/weights`` ``[3, 3, 3, 32]``, ``conv0/BatchNorm/{beta,moving_mean,moving_variance}``
  (BatchNorm without gamma, eps 0.001), ``mixed_35x35x256a/branch5x5/Conv_1/weights``,
  ``aux_logits/proj``, ``aux_logits/Conv``, ``aux_logits/FC/{weights,biases}``,
  ``logits/logits/{weights,biases}`` ``[2048, classes + 1]``;
* it restores each variable's moving average, ``<name>/ExponentialMovingAverage``
  (``ExponentialMovingAverage(0.9999).variables_to_restore()``): those are the values converted.
  Optimizer slots (``.../RMSProp``, ``.../RMSProp_1``), ``global_step`` and the raw training
  values are ignored;
* the softmax is taken over ``logits[:, 1:]``: the background logit (output 0) is dropped here,
  once, from ``logits/logits`` and ``aux_logits/FC``, so the file has ``classes`` outputs.

Output: torchvision ``inception_v3(num_classes=classes)`` key names (conv kernels
``[kh, kw, in, out]`` -> ``[out, in, kh, kw]``, fc ``[in, out]`` -> ``[out, in]``, BatchNorm
``weight`` = 1 for the missing gamma), float32, with safetensors metadata saying the pools are
TF's SAME average pools (:data:`t2ibench.features.inception_stackgan.TF_SLIM_METADATA`), which
the ``inception-birds``/``inception-flowers`` extractors read.

The name and shape mapping (:func:`tf_to_torchvision`) is pure numpy and tested without
TensorFlow; only :func:`read_tf_checkpoint` imports it.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np

#: Suffix of the moving-average shadow that StackGAN's evaluation restores.
EMA_SUFFIX = "/ExponentialMovingAverage"
#: Last name component of the network's own variables (anything else is an optimizer slot,
#: ``global_step`` or an EMA shadow).
_VARIABLE_LEAVES = ("weights", "biases", "beta", "gamma", "moving_mean", "moving_variance")

_STEM = {"Conv2d_1a_3x3": "conv0", "Conv2d_2a_3x3": "conv1", "Conv2d_2b_3x3": "conv2", "Conv2d_3b_1x1": "conv3",
         "Conv2d_4a_3x3": "conv4"}

#: torchvision block -> (TF-slim scope, branch map {torchvision BasicConv2d: TF sub-scope}).
#: Unnamed ``ops.conv2d`` calls in one variable scope are ``Conv``, ``Conv_1``, ``Conv_2``, ... in call order.
_A = {"branch1x1": "branch1x1/Conv", "branch5x5_1": "branch5x5/Conv", "branch5x5_2": "branch5x5/Conv_1",
      "branch3x3dbl_1": "branch3x3dbl/Conv", "branch3x3dbl_2": "branch3x3dbl/Conv_1",
      "branch3x3dbl_3": "branch3x3dbl/Conv_2", "branch_pool": "branch_pool/Conv"}
_B = {"branch3x3": "branch3x3/Conv", "branch3x3dbl_1": "branch3x3dbl/Conv", "branch3x3dbl_2": "branch3x3dbl/Conv_1",
      "branch3x3dbl_3": "branch3x3dbl/Conv_2"}
_C = {"branch1x1": "branch1x1/Conv", **{f"branch7x7_{i + 1}": "branch7x7/" + c for i, c in
                                        enumerate(("Conv", "Conv_1", "Conv_2"))},
      **{f"branch7x7dbl_{i + 1}": "branch7x7dbl/" + c for i, c in
         enumerate(("Conv", "Conv_1", "Conv_2", "Conv_3", "Conv_4"))},
      "branch_pool": "branch_pool/Conv"}
_D = {"branch3x3_1": "branch3x3/Conv", "branch3x3_2": "branch3x3/Conv_1",
      **{f"branch7x7x3_{i + 1}": "branch7x7x3/" + c for i, c in enumerate(("Conv", "Conv_1", "Conv_2", "Conv_3"))}}
_E = {"branch1x1": "branch1x1/Conv", "branch3x3_1": "branch3x3/Conv", "branch3x3_2a": "branch3x3/Conv_1",
      "branch3x3_2b": "branch3x3/Conv_2", "branch3x3dbl_1": "branch3x3dbl/Conv",
      "branch3x3dbl_2": "branch3x3dbl/Conv_1", "branch3x3dbl_3a": "branch3x3dbl/Conv_2",
      "branch3x3dbl_3b": "branch3x3dbl/Conv_3", "branch_pool": "branch_pool/Conv"}
_BLOCKS = {"Mixed_5b": ("mixed_35x35x256a", _A), "Mixed_5c": ("mixed_35x35x288a", _A),
           "Mixed_5d": ("mixed_35x35x288b", _A), "Mixed_6a": ("mixed_17x17x768a", _B),
           "Mixed_6b": ("mixed_17x17x768b", _C), "Mixed_6c": ("mixed_17x17x768c", _C),
           "Mixed_6d": ("mixed_17x17x768d", _C), "Mixed_6e": ("mixed_17x17x768e", _C),
           # "Note that the scope below is not changed to not void previous checkpoints": 8x8 output, 17x17 name
           "Mixed_7a": ("mixed_17x17x1280a", _D), "Mixed_7b": ("mixed_8x8x2048a", _E),
           "Mixed_7c": ("mixed_8x8x2048b", _E),
           "AuxLogits": ("aux_logits", {"conv0": "proj", "conv1": "Conv"})}
_FC = {"fc": "logits/logits", "AuxLogits.fc": "aux_logits/FC"}


def conv_scopes() -> dict[str, str]:
    """torchvision ``BasicConv2d`` prefix -> TF-slim ``ops.conv2d`` scope, for all 96 convolutions."""
    out = dict(_STEM)
    for block, (scope, branches) in _BLOCKS.items():
        out.update({f"{block}.{b}": f"{scope}/{s}" for b, s in branches.items()})
    return out


def _torch_spec(classes: int) -> dict[str, tuple[int, ...]]:
    from t2ibench.features.inception_torchvision import state_dict_spec

    return state_dict_spec(classes, aux_logits=True)


def tf_variable_spec(classes: int) -> dict[str, tuple[int, ...]]:
    """The network variables of the released checkpoint for ``classes`` classes (plus the background
    output), by name, with their TF shapes (without the ``/ExponentialMovingAverage`` suffix)."""
    spec = _torch_spec(classes)
    out = {}
    for prefix, scope in conv_scopes().items():
        o, i, kh, kw = spec[prefix + ".conv.weight"]
        out[scope + "/weights"] = (kh, kw, i, o)
        out.update({f"{scope}/BatchNorm/{v}": (o,) for v in ("beta", "moving_mean", "moving_variance")})
    for prefix, scope in _FC.items():
        o, i = spec[prefix + ".weight"]
        out[scope + "/weights"] = (i, o + 1)
        out[scope + "/biases"] = (o + 1,)
    return out


def tf_to_torchvision(variables: Mapping[str, np.ndarray], classes: int,
                      where: str = "checkpoint") -> dict[str, np.ndarray]:
    """Map a TF-slim StackGAN Inception checkpoint (``{variable name: array}``, as the checkpoint
    holds them) to a torchvision ``inception_v3(num_classes=classes)`` state dict (float32 arrays).

    Reads each network variable's ``/ExponentialMovingAverage`` shadow (what StackGAN's evaluation
    restores); drops the background output 0 of both classifiers. ``ValueError`` naming ``where``
    when a variable or its shadow is missing, when the checkpoint has network variables this
    graph does not, or when a shape differs (the classifier's with a hint on ``classes``)."""
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
        raise ValueError(f"classes: expected a positive int (50 for CUB birds, 20 for Oxford flowers), got {classes!r}")
    expected = tf_variable_spec(classes)
    network = {k for k in variables if k.rsplit("/", 1)[-1] in _VARIABLE_LEAVES}
    unexpected = sorted(network - set(expected))
    missing = sorted(k for k in expected if k + EMA_SUFFIX not in variables)
    if missing or unexpected:
        raise ValueError(f"{where}: not StackGAN's TF-slim Inception-v3: {len(missing)} variables without their "
                         f"moving average '<name>{EMA_SUFFIX}' (e.g. {missing[:3]}), {len(unexpected)} network "
                         f"variables this graph does not have (e.g. {unexpected[:3]})")
    values = {k: np.asarray(variables[k + EMA_SUFFIX]) for k in expected}
    logits = values["logits/logits/weights"].shape
    if logits != expected["logits/logits/weights"]:
        raise ValueError(f"{where}: 'logits/logits/weights' has shape {logits}, expected "
                         f"{expected['logits/logits/weights']}: --classes {classes} means {classes + 1} outputs "
                         f"({classes} classes + StackGAN's background class 0); the birds model has 50 classes, "
                         f"the flowers model 20")
    bad = [(k, v.shape, expected[k]) for k, v in values.items() if v.shape != expected[k]]
    if bad:
        raise ValueError(f"{where}: variable shapes differ from StackGAN's Inception-v3, e.g. {bad[:3]} "
                         f"(name, checkpoint, expected)")
    out = {}
    for prefix, scope in conv_scopes().items():
        beta = values[scope + "/BatchNorm/beta"]
        out[prefix + ".conv.weight"] = values[scope + "/weights"].transpose(3, 2, 0, 1)
        out[prefix + ".bn.weight"] = np.ones_like(beta)  # BatchNorm(scale=False): no gamma
        out[prefix + ".bn.bias"] = beta
        out[prefix + ".bn.running_mean"] = values[scope + "/BatchNorm/moving_mean"]
        out[prefix + ".bn.running_var"] = values[scope + "/BatchNorm/moving_variance"]
    for prefix, scope in _FC.items():  # output 0 is the background class
        out[prefix + ".weight"] = values[scope + "/weights"][:, 1:].T
        out[prefix + ".bias"] = values[scope + "/biases"][1:]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def read_tf_checkpoint(path) -> dict[str, np.ndarray]:
    """Every variable of the TF checkpoint ``path`` (a prefix such as ``.../model.ckpt-5000``),
    read with TensorFlow (imported here only; a clear error when it is not installed)."""
    try:
        import tensorflow as tf
    except ImportError:
        raise ValueError("reading a TensorFlow checkpoint needs TensorFlow, an optional extra of t2ibench: "
                         "pip install 't2ibench[tf]' (or pip install tensorflow), then rerun; the converted "
                         ".safetensors file is then used without TensorFlow") from None
    try:
        reader = tf.train.load_checkpoint(str(path))
        names = reader.get_variable_to_shape_map()
        return {name: reader.get_tensor(name) for name in names}
    except Exception as e:  # noqa: BLE001 — TF raises its own error types for unreadable checkpoints
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise ValueError(f"{path}: not a readable TensorFlow checkpoint ({type(e).__name__}: {first}); give the "
                         f"checkpoint prefix, e.g. inception_finetuned_models/birds_valid299/model.ckpt-5000") from None


def save_converted(state: Mapping[str, np.ndarray], out, classes: int, source: str) -> Path:
    """Write ``state`` (from :func:`tf_to_torchvision`) as safetensors with the TF-slim metadata."""
    import torch
    from safetensors.torch import save_file

    from t2ibench.features.inception_stackgan import TF_SLIM_METADATA

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    metadata = {**TF_SLIM_METADATA, "classes": str(classes), "source": source}
    save_file({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}, str(out), metadata=metadata)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m t2ibench.tools.convert_stackgan_inception",
        description="Convert StackGAN's fine-tuned Inception-v3 TF checkpoint (hanzhanggit/StackGAN-inception-model) "
                    "into a safetensors file for IS: --weights inception-birds=OUT (or inception-flowers=OUT). "
                    "Needs TensorFlow (pip install 't2ibench[tf]'); the output does not.")
    p.add_argument("checkpoint", metavar="CKPT",
                   help="checkpoint prefix, e.g. inception_finetuned_models/birds_valid299/model.ckpt-5000")
    p.add_argument("--classes", type=int, required=True,
                   help="classes without the background class: 50 (CUB birds) or 20 (Oxford-102 flowers)")
    p.add_argument("--out", required=True, help="output .safetensors file")
    args = p.parse_args(argv)
    try:
        variables = read_tf_checkpoint(args.checkpoint)
        state = tf_to_torchvision(variables, args.classes, where=args.checkpoint)
        out = save_converted(state, args.out, args.classes, Path(args.checkpoint).name)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from t2ibench.io import sha256_file

    ignored = len(variables) - len(tf_variable_spec(args.classes))
    print(f"wrote {out} (sha256 {sha256_file(out)}): {len(state)} tensors from the moving averages of "
          f"{len(tf_variable_spec(args.classes))} variables, background output dropped, {args.classes} classes; "
          f"{ignored} other checkpoint entries ignored (raw values, optimizer slots, global_step)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
