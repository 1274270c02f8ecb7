"""The feature-extractor contract.

A feature extractor is a ``torch.nn.Module`` that maps a uint8 image batch
``[N, 3, H, W]`` (any H, W; it resizes as its own protocol requires) to a dict of float
feature tensors ``{output_name: [N, D]}``. It states which outputs it has, and an id of
its weights so that cached statistics are keyed by the weights actually used.
"""
from __future__ import annotations

import torch


class FeatureExtractor(torch.nn.Module):
    """Base class. Subclasses set the attributes below and implement :meth:`extract`.

    name: registry name (e.g. ``"inception-v3-compat"``);
    outputs: names of the feature tensors returned (e.g. ``("pool3", "logits")``);
    weights_id: sha256 of the weights file, or a stable description of the weights;
    resize_mode: how images are brought to the network's input size (part of cache keys);
    stand_in: ``True`` when the weights are an embedded stand-in trained on a toy dataset
    rather than the published network, so results can say so.
    """

    name: str = ""
    outputs: tuple[str, ...] = ()
    weights_id: str = ""
    resize_mode: str = ""
    stand_in: bool = False
    #: Which output serves which role for the metrics: ``"embedding"`` (FID, KID) and
    #: ``"logits"`` (IS). A role an extractor lacks is simply absent.
    roles: dict[str, str] = {}

    def extract(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        from t2ibench.validation import check_uint8_images

        check_uint8_images(images, f"{self.name} input")
        device = next(self.parameters(), torch.empty(0)).device
        out = self.extract(images.to(device))
        missing = set(self.outputs) - set(out)
        if missing:
            raise RuntimeError(f"feature extractor {self.name!r} did not return outputs {sorted(missing)}")
        return {k: v.float() for k, v in out.items()}

    def describe(self) -> dict:
        """Provenance of this extractor for result files."""
        return {"name": self.name, "outputs": list(self.outputs), "roles": dict(self.roles),
                "weights_id": self.weights_id,
                "resize_mode": self.resize_mode, "stand_in": self.stand_in}
