"""torchvision's Inception-v3 layout: building the network and reading state dicts in that layout.

Shared by two extractors that run torchvision's ``Inception3`` module with weights the user gives:

* ``inception-birds`` / ``inception-flowers`` (:mod:`t2ibench.features.inception_stackgan`):
  StackGAN's fine-tuned Inception-v3, converted from its TF-slim checkpoint by
  ``python -m t2ibench.tools.convert_stackgan_inception``, or a torchvision state dict with N classes;
* ``inception-v3-imagenet`` (:mod:`t2ibench.features.inception_imagenet`): torchvision's ImageNet
  weights (``inception_v3_google-*.pth``), the network DM-GAN's and DF-GAN's FID code uses.

Two pooling conventions (:func:`build_inception_v3`, ``tf_pooling``):

* torchvision's: the 3x3 stride-1 average pools of the ``branch_pool`` of InceptionA/C/E
  (``Mixed_5b..5d``, ``Mixed_6b..6e``, ``Mixed_7b``, ``Mixed_7c``) pad with zeros and divide by 9
  everywhere (``F.avg_pool2d(..., count_include_pad=True)``);
* TF-slim's (``ops.avg_pool(net, [3, 3])`` with ``padding='SAME'`` in
  tensorflow/models ``inception/inception/slim/inception_model.py``): TF's SAME average pool
  divides by the number of *valid* inputs at the border (``count_include_pad=False``). Every
  other layer of that graph (VALID convolutions and max pools, SAME convolutions with symmetric
  padding for odd kernels, BatchNorm eps 0.001 without gamma, a final 8x8 average pool) is what
  torchvision's layers compute.

State dicts (:func:`read_inception_state`): the keys and shapes of
``torchvision.models.inception_v3(num_classes=N)``, with or without the ``AuxLogits.*`` head
(evaluation never runs it); BatchNorm ``num_batches_tracked`` counters are optional (torchvision's
older ``inception_v3_google-1a9a5a14.pth`` has none). Anything else is a ``ValueError`` naming the
file, the missing/unexpected keys or the wrong shapes.
"""
from __future__ import annotations

import functools
from pathlib import Path

import torch
import torch.nn.functional as F
from torchvision.models import inception as tv

from t2ibench.safe_load import check_state_dict, read_state_dict

#: The network's input size in pixels (299x299).
INPUT_SIZE = 299
_AUX_PREFIX = "AuxLogits."


class _TFSamePoolBranch:
    """Mixin for InceptionA/C/E: the ``branch_pool`` average pool as TF's SAME pool (padding not counted)."""

    def _forward(self, x):
        outputs = super()._forward(x)  # the pool branch is the last of A, C and E's outputs
        outputs[-1] = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False))
        return outputs


class TFInceptionA(_TFSamePoolBranch, tv.InceptionA):
    """torchvision's InceptionA with TF-slim's SAME average pool."""


class TFInceptionC(_TFSamePoolBranch, tv.InceptionC):
    """torchvision's InceptionC with TF-slim's SAME average pool."""


class TFInceptionE(_TFSamePoolBranch, tv.InceptionE):
    """torchvision's InceptionE with TF-slim's SAME average pool."""


def build_inception_v3(num_classes: int, aux_logits: bool = True, tf_pooling: bool = False) -> tv.Inception3:
    """torchvision's ``Inception3`` (``transform_input=False``, no weight initialisation) with
    ``num_classes`` outputs; ``tf_pooling``: TF-slim's SAME average pools in InceptionA/C/E."""
    blocks = None
    if tf_pooling:
        blocks = [tv.BasicConv2d, TFInceptionA, tv.InceptionB, TFInceptionC, tv.InceptionD, TFInceptionE,
                  tv.InceptionAux]
    return tv.Inception3(num_classes=num_classes, aux_logits=aux_logits, transform_input=False,
                         inception_blocks=blocks, init_weights=False)


@functools.lru_cache(maxsize=8)
def _spec(num_classes: int) -> tuple:
    with torch.device("meta"):
        net = build_inception_v3(num_classes, aux_logits=True)
    return tuple((k, tuple(v.shape)) for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked"))


def state_dict_spec(num_classes: int, aux_logits: bool = True) -> dict[str, tuple[int, ...]]:
    """Keys and shapes of ``torchvision.models.inception_v3(num_classes=num_classes)``'s state dict,
    without the BatchNorm ``num_batches_tracked`` counters (and without ``AuxLogits.*`` unless ``aux_logits``)."""
    return {k: s for k, s in _spec(int(num_classes)) if aux_logits or not k.startswith(_AUX_PREFIX)}


def check_inception_state(state: dict, where: str, num_classes) -> tuple[int, bool]:
    """Check that ``state`` is a torchvision ``inception_v3`` state dict; return ``(outputs of fc, has AuxLogits)``.

    ``num_classes``: the accepted numbers of ``fc`` outputs (an int or a collection of ints).
    Raises ``ValueError`` naming ``where`` on missing or unexpected keys, wrong shapes or
    non-floating tensors."""
    accepted = (num_classes,) if isinstance(num_classes, int) else tuple(num_classes)
    fc = state.get("fc.weight")
    if fc is None or fc.ndim != 2:
        raise ValueError(f"{where}: no 2-D 'fc.weight' tensor: not a torchvision inception_v3 state dict "
                         f"(keys such as 'Conv2d_1a_3x3.conv.weight', 'Mixed_7c.branch_pool.conv.weight', 'fc.weight')")
    n = int(fc.shape[0])
    if n not in accepted:
        raise ValueError(f"{where}: 'fc.weight' has {n} outputs, expected {' or '.join(map(str, accepted))}")
    aux = any(k.startswith(_AUX_PREFIX) for k in state)
    check_state_dict(state, state_dict_spec(n, aux_logits=aux), where,
                     f"a torchvision inception_v3 state dict with {n} classes")
    return n, aux


def read_inception_state(path, what: str, num_classes) -> tuple[dict[str, torch.Tensor], int, bool]:
    """Read a torchvision ``inception_v3`` state dict (``.safetensors``, or ``torch.load(weights_only=True)``)
    and check it (:func:`check_inception_state`); returns ``(state, fc outputs, has AuxLogits)``."""
    path = Path(path).expanduser()
    state = read_state_dict(path, what)
    n, aux = check_inception_state(state, f"{what} {str(path)!r}", num_classes)
    return state, n, aux


def load_network(state: dict, num_classes: int, aux_logits: bool, tf_pooling: bool) -> tv.Inception3:
    """``build_inception_v3`` holding ``state`` (checked by :func:`check_inception_state`), in eval mode."""
    net = build_inception_v3(num_classes, aux_logits=aux_logits, tf_pooling=tf_pooling)
    net.load_state_dict(state, strict=True)  # BatchNorm fills absent num_batches_tracked counters itself
    return net.eval().requires_grad_(False)
