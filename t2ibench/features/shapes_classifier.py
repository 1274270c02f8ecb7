"""``shapes-classifier``: the shapes domain classifier as a feature extractor.

Outputs ``features`` (the penultimate, global-average-pooled vector; FID on shapes) and
``logits`` (48 classes; IS on shapes). Input: uint8 ``[N, 3, H, W]``, any size, resized
to 64x64 with antialiased bilinear interpolation and scaled to [-1, 1]
(:func:`t2ibench.evaluators.shapes_classifier.preprocess`).

``load_extractor("shapes-classifier")`` loads the packaged checkpoint after checking its
sha256 against the packaged manifest; ``weights="path.safetensors"`` loads a user file
(checked against ``path.json`` when that manifest exists). Weights are read with
safetensors only, never with pickle. It is a stand-in trained on the toy dataset
(``stand_in = True``), not a published network.
"""
from __future__ import annotations

import torch

from t2ibench.features import register_extractor
from t2ibench.features.base import FeatureExtractor


class ShapesClassifierExtractor(FeatureExtractor):
    name = "shapes-classifier"
    outputs = ("features", "logits")
    roles = {"embedding": "features", "logits": "logits"}
    resize_mode = "bilinear-antialias-64"
    stand_in = True

    def __init__(self, device: str = "cpu", weights=None, batch_size: int = 250):
        super().__init__()
        from t2ibench.evaluators.shapes_classifier import load_classifier

        self.net, self.weights_id = load_classifier(weights, device=device)
        self.weights_path = str(weights) if weights is not None else "packaged"
        self.batch_size = batch_size
        self.feature_dim = self.net.feature_dim
        self.num_classes = self.net.config["num_classes"]

    def extract(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        from t2ibench.evaluators.shapes_classifier import preprocess

        self.net.eval()
        feats, logits = [], []
        for i in range(0, len(images), self.batch_size):
            f, l = self.net(preprocess(images[i:i + self.batch_size]))
            feats.append(f)
            logits.append(l)
        return {"features": torch.cat(feats), "logits": torch.cat(logits)}

    def describe(self) -> dict:
        return {**super().describe(), "weights": self.weights_path, "feature_dim": self.feature_dim}


def _factory(device: str = "cpu", weights=None) -> ShapesClassifierExtractor:
    return ShapesClassifierExtractor(device=device, weights=weights)


register_extractor("shapes-classifier", _factory)
