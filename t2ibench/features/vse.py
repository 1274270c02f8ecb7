"""``vse-shapes`` / ``vse``: VSE++ (Faghri et al. 2018) as a text-image encoder (KT-GAN's Rank-1).

Image side (the single pass): uint8 ``[N, 3, H, W]`` -> ``embedding`` ``[N, D]`` (L2-normalised);
text side: captions -> ``sentence`` ``[N, D]`` (L2-normalised, same joint space). Roles:
``{"image": "embedding", "text": "sentence"}``; :func:`t2ibench.metrics.retrieval.rank_k` reads them.

- ``load_extractor("vse-shapes")``: the packaged model trained on ``shapes``
  (:mod:`t2ibench.evaluators.vse`), sha256-checked against its packaged manifest; a stand-in
  trained on the toy dataset (``stand_in = True``).
- ``load_extractor("vse", weights="vse-cub.safetensors")``: a model trained by the user
  (``t2ibench train-evaluators --dataset cub --data-root ...``); its manifest (same stem,
  ``.json``; it holds the tokenizer) must lie next to it.
"""
from __future__ import annotations

import torch

from t2ibench.features.base import TextImageEncoder, register_packaged_and_user

TRAIN_HINT = ("train one with: t2ibench train-evaluators --dataset NAME --data-root PATH --only vse "
              "(or python -m t2ibench.evaluators.vse --dataset NAME --data-root PATH --out DIR), then pass "
              "weights=DIR/vse-NAME.safetensors")


class VSEExtractor(TextImageEncoder):
    outputs = ("embedding",)
    text_outputs = ("sentence",)
    roles = {"image": "embedding", "text": "sentence"}

    def __init__(self, name: str, device: str = "cpu", weights=None, batch_size: int = 250):
        super().__init__()
        from t2ibench.evaluators.vse import load_vse

        self.name = name
        self.net, self.tokenizer, self.weights_id, self.manifest = load_vse(weights, device=device)
        self.weights_path = str(weights) if weights is not None else "packaged"
        self.stand_in = weights is None or self.manifest.get("dataset", {}).get("name") == "shapes"
        self.resize_mode = f"bilinear-antialias-{self.net.config['image_size']}"
        self.batch_size = batch_size
        self.embed_dim = self.net.config["embed_dim"]

    def extract(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        self.net.eval()
        return {"embedding": torch.cat([self.net.encode_images(images[i:i + self.batch_size])
                                        for i in range(0, len(images), self.batch_size)])}

    def text_features(self, captions: list[str]) -> dict[str, torch.Tensor]:
        self.net.eval()
        device = next(self.net.parameters()).device
        ids, lengths = self.tokenizer.batch(captions)
        return {"sentence": self.net.encode_ids(ids.to(device), lengths.to(device))}

    def describe(self) -> dict:
        ds = self.manifest.get("dataset", {})
        return {**super().describe(), "weights": self.weights_path, "embed_dim": self.embed_dim,
                "image_encoder": self.net.config["image_encoder"], "trained_on": ds.get("name"),
                "train_fingerprint": ds.get("train_fingerprint"),
                "held_out_r@1": self.manifest.get("test_recall", {}).get("r@1")}


register_packaged_and_user(VSEExtractor, "vse-shapes", "vse", "a VSE++ model trained on your dataset", TRAIN_HINT)
