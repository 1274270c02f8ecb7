"""``vs-shapes`` / ``vs``: HDGAN's VS maps as a text-image encoder (VS-similarity).

Image side: uint8 images -> the CNN extractor named in the manifest (on shapes:
``shapes-classifier`` ``features``) -> ``f_v`` -> L2 norm = ``embedding``; text side: captions ->
the text encoder named in the manifest (on shapes: ``damsm-shapes`` ``sentence``) -> ``f_t`` ->
L2 norm = ``sentence``. Roles ``{"image": "embedding", "text": "sentence"}``;
:func:`t2ibench.metrics.vs_similarity.vs_similarity` reads them (HDGAN Sec. 5).

The two feature networks are loaded by name and their ``weights_id`` must equal the one the
maps were trained over (recorded in the manifest): maps over other features would be
meaningless, so a mismatch is a ``ValueError``.

- ``load_extractor("vs-shapes")``: packaged maps (:mod:`t2ibench.evaluators.vs_maps`),
  sha256-checked; stand-ins trained on the toy dataset.
- ``load_extractor("vs", weights="vs-cub.safetensors")``: maps trained by the user; the manifest
  (same stem, ``.json``) must lie next to it; feature weights it names by a relative path are
  looked up in its folder.
"""
from __future__ import annotations

import torch

from t2ibench.features.base import TextImageEncoder, register_packaged_and_user

TRAIN_HINT = ("train them with: t2ibench train-evaluators --dataset NAME --data-root PATH --only damsm,vs "
              "(or python -m t2ibench.evaluators.vs_maps --dataset NAME --data-root PATH --out DIR, after DAMSM), "
              "then pass weights=DIR/vs-NAME.safetensors")


class VSMapsExtractor(TextImageEncoder):
    outputs = ("embedding",)
    text_outputs = ("sentence",)
    roles = {"image": "embedding", "text": "sentence"}

    def __init__(self, name: str, device: str = "cpu", weights=None):
        super().__init__()
        from t2ibench.evaluators.vs_maps import load_encoders, load_vs_maps

        self.name = name
        self.maps, self.weights_id, self.manifest = load_vs_maps(weights)
        self.weights_path = str(weights) if weights is not None else "packaged"
        image_spec, text_spec = self.manifest["image_extractor"], self.manifest["text_encoder"]
        self.image_extractor, self.text_encoder, self.image_output, self.text_output = load_encoders(
            image_spec, text_spec, device=device, base_dir=self.manifest["_dir"])
        for spec, ext, what in ((image_spec, self.image_extractor, "image extractor"),
                                (text_spec, self.text_encoder, "text encoder")):
            if spec.get("weights_id") and spec["weights_id"] != ext.weights_id:
                raise ValueError(f"{name}: the VS maps were trained over {what} {spec['name']!r} with weights "
                                 f"{spec['weights_id']}, but it now loads weights {ext.weights_id}; retrain the "
                                 f"maps ({TRAIN_HINT})")
        self.maps.to(device)
        self.stand_in = bool(self.image_extractor.stand_in or self.text_encoder.stand_in
                             or self.manifest.get("dataset", {}).get("name") == "shapes")
        self.resize_mode = self.image_extractor.resize_mode

    def extract(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        self.maps.eval()
        feats = self.image_extractor.extract(images)[self.image_output]
        return {"embedding": self.maps.map_images(feats)}

    def text_features(self, captions: list[str]) -> dict[str, torch.Tensor]:
        self.maps.eval()
        t = self.text_encoder.text_features(captions)[self.text_output]
        return {"sentence": self.maps.map_text(t.to(next(self.maps.parameters()).device))}

    def describe(self) -> dict:
        return {**super().describe(), "weights": self.weights_path,
                "image_extractor": self.image_extractor.describe(), "image_output": self.image_output,
                "text_encoder": self.text_encoder.describe(), "text_output": self.text_output,
                "trained_on": self.manifest.get("dataset", {}).get("name"),
                "ground_truth_vs": self.manifest.get("test_vs_similarity")}


register_packaged_and_user(VSMapsExtractor, "vs-shapes", "vs", "VS maps trained on your dataset", TRAIN_HINT)
