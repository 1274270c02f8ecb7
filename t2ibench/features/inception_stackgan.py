"""``inception-birds`` / ``inception-flowers``: StackGAN's fine-tuned Inception-v3 for the IS of CUB and Oxford-102.

Registered as ``load_extractor("inception-birds", weights=PATH)`` (50 classes) and
``load_extractor("inception-flowers", weights=PATH)`` (20 classes); on the command line
``--weights inception-birds=PATH``. StackGAN's CUB and Oxford-102 Inception Scores were computed
with these classifiers (hanzhanggit/StackGAN-inception-model), and so were those of the papers that
reuse its evaluation (DM-GAN ships the same ``eval/IS/bird/inception_score_bird.py``); IS on COCO
uses the ImageNet Inception (``inception-v3-compat``).

Weights (no download exists; ``weights`` is required), either of:

* the safetensors file written by ``python -m t2ibench.tools.convert_stackgan_inception CKPT
  --classes 50 --out inception-birds.safetensors`` from the released TF checkpoint: torchvision
  key names, ``classes`` outputs (the background output already dropped) and metadata
  :data:`TF_SLIM_METADATA`, which selects TF-slim's SAME average pools
  (:func:`t2ibench.features.inception_torchvision.build_inception_v3`, ``tf_pooling=True``);
* a torchvision ``inception_v3`` state dict (``.pth`` read with ``torch.load(weights_only=True)``,
  or ``.safetensors`` without that metadata) with ``classes`` outputs, or ``classes + 1`` whose
  output 0 is StackGAN's background class (then dropped as the released code drops it). It is run
  as torchvision's network, whose average pools count the zero padding.

Keys and shapes are checked strictly (:func:`t2ibench.features.inception_torchvision.check_inception_state`).

Preprocessing, as the released ``inception_score.py``: ``scipy.misc.imresize(img, (299, 299, 3),
interp='bilinear')`` — PIL's bilinear resize of the uint8 image — then ``img / 127.5 - 1``
([-1, 1]). Here the same PIL resize (:func:`t2ibench.imageops.resize_pil`); an image already
299x299 is not resized.

Output: ``logits`` ``[N, classes]`` (role ``logits``), the classifier outputs whose softmax is
StackGAN's ``pred_op``. Differences from the released code: float32 torch instead of TF; no
grey-image handling (images are RGB here).
"""
from __future__ import annotations

from pathlib import Path

import torch

from t2ibench.features import register_extractor
from t2ibench.features.base import FeatureExtractor
from t2ibench.features.inception_torchvision import INPUT_SIZE, load_network, read_inception_state
from t2ibench.imageops import resize_pil
from t2ibench.io import sha256_file

#: Extractor name -> number of classes (without StackGAN's background class).
CLASSES = {"inception-birds": 50, "inception-flowers": 20}
#: safetensors metadata written by the converter: the network is TF-slim's (SAME average pools).
TF_SLIM_METADATA = {"format": "stackgan-inception-v3", "pooling": "tf-same"}
RESIZE_MODE = "pil-bilinear-299"


def preprocess(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``[N, 3, H, W]`` -> float32 ``[N, 3, 299, 299]`` in [-1, 1] (StackGAN's ``preprocess``)."""
    return resize_pil(images, INPUT_SIZE).float() / 127.5 - 1.0


def file_metadata(path) -> dict[str, str]:
    """The safetensors header metadata of ``path`` (``{}`` for another kind of file or none)."""
    path = Path(path)
    if path.suffix != ".safetensors":
        return {}
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except Exception:  # noqa: BLE001 — read_inception_state reports an unreadable file with its own message
        return {}


class StackGANInception(FeatureExtractor):
    """StackGAN's fine-tuned Inception-v3 classifier: ``logits`` ``[N, classes]`` (see the module docstring)."""

    resize_mode = RESIZE_MODE
    stand_in = False
    outputs = ("logits",)

    def __init__(self, name: str, weights, device="cpu"):
        super().__init__()
        if name not in CLASSES:
            raise ValueError(f"unknown StackGAN Inception {name!r}; known: {', '.join(CLASSES)}")
        classes = CLASSES[name]
        if weights is None or str(weights) == "":
            raise ValueError(
                f"feature extractor {name!r} needs weights=PATH (--weights {name}=PATH): StackGAN's fine-tuned "
                f"Inception-v3 ({classes} classes) cannot be downloaded here. Convert the released TF checkpoint "
                f"(hanzhanggit/StackGAN-inception-model) once where TensorFlow is installed: python -m "
                f"t2ibench.tools.convert_stackgan_inception CKPT --classes {classes} --out {name}.safetensors")
        path = Path(weights).expanduser()
        state, n, aux = read_inception_state(path, f"{name} weights", (classes, classes + 1))
        meta = file_metadata(path)
        self.tf_pooling = meta.get("pooling") == TF_SLIM_METADATA["pooling"]
        self.background_dropped = n == classes + 1
        if self.background_dropped:  # StackGAN: softmax over logits[:, 1:]
            for prefix in ("fc.", "AuxLogits.fc.") if aux else ("fc.",):
                for p in (prefix + "weight", prefix + "bias"):
                    state[p] = state[p][1:]
        self.name = name
        self.classes = classes
        self.net = load_network(state, classes, aux, tf_pooling=self.tf_pooling).to(device)
        self.weights_id = sha256_file(path)
        self.roles = {"logits": "logits"}

    def extract(self, images):
        return {"logits": self.net(preprocess(images))}

    def describe(self) -> dict:
        return {**super().describe(), "classes": self.classes,
                "pooling": "tf-same (converted TF-slim checkpoint)" if self.tf_pooling else "torchvision",
                "background_output_dropped_on_load": self.background_dropped}


def _factory(name: str):
    def build(device: str = "cpu", weights=None) -> StackGANInception:
        return StackGANInception(name, weights, device=device)

    build.__name__ = f"build_{name.replace('-', '_')}"
    return build


for _name in CLASSES:
    register_extractor(_name, _factory(_name))

__all__ = ["CLASSES", "RESIZE_MODE", "StackGANInception", "TF_SLIM_METADATA", "file_metadata", "preprocess"]
