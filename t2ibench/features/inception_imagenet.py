"""``inception-v3-imagenet``: torchvision's ImageNet Inception-v3 pool features, as DM-GAN's FID code uses them.

Registered as ``load_extractor("inception-v3-imagenet", weights=PATH)``; on the command line
``--weights inception-v3-imagenet=PATH``. PATH is torchvision's ImageNet file
``inception_v3_google-0cc3c7bd.pth`` (torchvision >= 0.10) or ``inception_v3_google-1a9a5a14.pth``
(earlier torchvision, what ``inception_v3(pretrained=True)`` fetched when DM-GAN was released), or
a safetensors copy; it is never downloaded here (copy it from ``~/.cache/torch/hub/checkpoints/``).
Read with ``torch.load(weights_only=True)``, checked strictly against torchvision's 1000-class
``inception_v3`` keys and shapes, and pinned by sha256 when it has a published name
(:data:`KNOWN_WEIGHTS`); another file is used with an ``unknown weights`` warning.

What DM-GAN's ``eval/FID/fid_score.py`` computes (its ``inception.py``, an early pytorch-fid
``InceptionV3``, is not in DM-GAN's indexed sources; the copies shipped with DM-GAN-derived code —
``eval/FID/inception.py`` of JZDBB/text2image and of hiarsal/DAE-GAN — and DF-GAN's
``code/models/inception.py`` as copied in fms231/texttoimage agree, and are what is followed):

1. ``transforms.Resize((299, 299))`` on the PIL image (bilinear, uint8 out), ``ToTensor()`` ([0, 1]);
2. ``F.upsample(size=(299, 299), mode='bilinear', align_corners=True)`` (a no-op at 299);
3. ``normalize_input``: ``x[:, c] = x[:, c] * (std_c / 0.5) + (mean_c - 0.5) / 0.5`` with ImageNet's
   mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225) — torchvision's ``transform_input``
   formula applied to the [0, 1] image (not to an ImageNet-normalised one), kept as they had it;
4. torchvision's ``inception_v3(pretrained=True)`` layers ``Conv2d_1a_3x3`` ... ``Mixed_7c`` (the
   network's own ``transform_input`` is not applied: the wrapper calls the layers directly), then
   ``AdaptiveAvgPool2d(1)``: ``pool3`` ``[N, 2048]``.

Here step 1 is the same PIL resize (:func:`t2ibench.imageops.resize_pil`), then ``/ 255``. Output ``pool3`` (role
``embedding``). DF-GAN's ``calculate_fid`` feeds the generator's float output mapped to [0, 1]
and resized as a tensor (no rounding to uint8 levels): otherwise the same network and input
normalisation. The protocol that drops the last incomplete batch of 64 is ``fid-dmgan``
(:class:`t2ibench.protocols.FIDDMGAN`).
"""
from __future__ import annotations

from pathlib import Path

import torch

from t2ibench.features import register_extractor, register_known_weights
from t2ibench.features.base import FeatureExtractor
from t2ibench.features.inception_torchvision import INPUT_SIZE, load_network, read_inception_state
from t2ibench.imageops import resize_pil
from t2ibench.safe_load import check_known_sha256, unknown_weights_warning

NAME = "inception-v3-imagenet"
RESIZE_MODE = "pil-bilinear-299"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: torchvision's published files (the hub name ends in the sha256's first 8 hex digits). Full sha256:
#: 1a9a5a14 as listed by genforce's ``metrics/inception.py`` and a Yocto recipe's SRC_URI; 0cc3c7bd
#: (108,949,747 bytes) as recorded by several third-party projects. Neither is published by torchvision.
KNOWN_WEIGHTS = {
    "inception_v3_google-0cc3c7bd.pth": "0cc3c7bd75056d25e46cba549dc184522069b81e9787eff6df84f397bd52a5ef",
    "inception_v3_google-1a9a5a14.pth": "1a9a5a14f40645a370184bd54f4e8e631351e71399112b43ad0294a79da290c8",
}


def preprocess(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``[N, 3, H, W]`` -> float32 ``[N, 3, 299, 299]``: DM-GAN's resize, ``/ 255`` and ``normalize_input``."""
    x = resize_pil(images, INPUT_SIZE).float() / 255.0
    mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return x * (std / 0.5) + (mean - 0.5) / 0.5


class ImageNetInception(FeatureExtractor):
    """torchvision's ImageNet Inception-v3 up to the global average pool: ``pool3`` ``[N, 2048]``."""

    name = NAME
    resize_mode = RESIZE_MODE
    stand_in = False
    outputs = ("pool3",)

    def __init__(self, weights, device="cpu"):
        super().__init__()
        if weights is None or str(weights) == "":
            raise ValueError(f"feature extractor {NAME!r} needs weights=PATH (--weights {NAME}=PATH): torchvision's "
                             f"ImageNet Inception-v3, {' or '.join(KNOWN_WEIGHTS)} (in ~/.cache/torch/hub/checkpoints/ "
                             f"wherever torchvision.models.inception_v3(weights='IMAGENET1K_V1') has run); it is not "
                             f"downloaded here")
        path = Path(weights).expanduser()
        if not path.is_file():
            raise ValueError(f"{NAME} weights: no such file {path}")
        digest = check_known_sha256(path, KNOWN_WEIGHTS.get(path.name), "ImageNet Inception-v3")
        state, _, aux = read_inception_state(path, f"{NAME} weights", 1000)
        net = load_network(state, 1000, aux, tf_pooling=False)
        net.fc = torch.nn.Identity()  # Inception3.forward then returns the pooled 2048-d features
        self.net = net.to(device)
        self.weights_id = digest
        self.weights_warning = unknown_weights_warning(path, digest, KNOWN_WEIGHTS)
        self.roles = {"embedding": "pool3"}

    def extract(self, images):
        return {"pool3": self.net(preprocess(images))}


def build_inception_v3_imagenet(device: str = "cpu", weights=None) -> ImageNetInception:
    """Factory of ``inception-v3-imagenet`` (see the module docstring)."""
    return ImageNetInception(weights, device=device)


register_extractor(NAME, build_inception_v3_imagenet)
register_known_weights(NAME, lambda: dict(KNOWN_WEIGHTS))

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "ImageNetInception", "KNOWN_WEIGHTS", "NAME", "RESIZE_MODE",
           "build_inception_v3_imagenet", "preprocess"]
