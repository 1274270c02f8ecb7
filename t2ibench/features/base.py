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
    #: A sentence the result must carry about these weights (e.g. a user file whose sha256 is in no
    #: table of published files); ``None`` when there is nothing to say. The engine records it in
    #: ``EvalResult.warnings``.
    weights_warning: str | None = None
    #: Which output serves which role for the metrics: ``"embedding"`` (FID, KID) and
    #: ``"logits"`` (IS). A role an extractor lacks is simply absent.
    roles: dict[str, str] = {}
    #: Outputs the caller needs (set by the engine from the metrics' roles); ``None`` = all.
    #: Extractors with an expensive optional output compute it only when it is wanted.
    requested: frozenset | None = None

    def wanted(self, output: str) -> bool:
        """Whether ``output`` must be computed for the current caller."""
        return self.requested is None or output in self.requested

    def extract(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        from t2ibench.validation import check_uint8_images

        check_uint8_images(images, f"{self.name} input")
        device = next(self.parameters(), torch.empty(0)).device
        out = self.extract(images.to(device))
        missing = {k for k in self.outputs if self.wanted(k)} - set(out)
        if missing:
            raise RuntimeError(f"feature extractor {self.name!r} did not return outputs {sorted(missing)}")
        return {k: v.float() for k, v in out.items()}

    def describe(self) -> dict:
        """Provenance of this extractor for result files."""
        return {"name": self.name, "outputs": list(self.outputs), "roles": dict(self.roles),
                "weights_id": self.weights_id,
                "resize_mode": self.resize_mode, "stand_in": self.stand_in,
                **({"weights_warning": self.weights_warning} if self.weights_warning else {})}


class TextImageEncoder(FeatureExtractor):
    """A feature extractor that also embeds captions, into the joint space of its image output.

    The image side is the single pass's :meth:`extract` (uint8 images -> outputs); the text
    side is :meth:`encode_text` (captions -> outputs). ``roles["image"]`` names the image
    output and ``roles["text"]`` the text output that live in the same joint space (cosine
    similarity between them is what R-precision, Rank-1, VS-similarity and CLIPScore read).
    Subclasses implement :meth:`text_features` and set ``text_outputs``; each text output
    has a fixed shape after N (word features are padded to the tokenizer's ``max_len``) so
    that batches concatenate.
    """

    text_outputs: tuple[str, ...] = ()

    def text_features(self, captions: list[str]) -> dict[str, torch.Tensor]:
        """Outputs for a batch of validated captions: ``{name: float [N, ...]}``."""
        raise NotImplementedError

    @torch.no_grad()
    def encode_text(self, captions, batch_size: int = 256, outputs=None) -> dict[str, torch.Tensor]:
        """Validate ``captions`` (non-empty str) and encode them in batches, on the CPU as float32.

        ``outputs``: the text outputs to keep (default: all); others are dropped batch by batch,
        so that e.g. per-word features of a whole test split are never held in memory.
        """
        from t2ibench.validation import check_captions

        captions = check_captions(captions, f"{self.name} captions")
        keep = set(self.text_outputs if outputs is None else outputs)
        chunks: dict[str, list[torch.Tensor]] = {}
        for i in range(0, len(captions), batch_size):
            for k, v in self.text_features(captions[i:i + batch_size]).items():
                if k in keep:
                    chunks.setdefault(k, []).append(v.float().cpu())
        missing = keep - set(chunks)
        if missing:
            raise RuntimeError(f"text encoder {self.name!r} did not return outputs {sorted(missing)}")
        return {k: torch.cat(v) for k, v in chunks.items()}


def register_packaged_and_user(cls, packaged: str, user: str, needs: str, train_hint: str) -> None:
    """Register ``cls(name, device=..., weights=...)`` twice: as ``packaged`` (the packaged shapes
    weights unless ``weights`` is given) and as ``user`` (``weights`` required; the error says
    it ``needs`` them, how to train them, and points to ``packaged`` on shapes)."""
    from t2ibench.features import register_extractor

    def _packaged(device: str = "cpu", weights=None):
        return cls(packaged, device=device, weights=weights)

    def _user(device: str = "cpu", weights=None):
        if weights is None:
            raise ValueError(f"feature extractor {user!r} needs weights=PATH ({needs}); "
                             f"{train_hint}. On shapes use {packaged!r} (packaged).")
        return cls(user, device=device, weights=weights)

    register_extractor(packaged, _packaged)
    register_extractor(user, _user)
