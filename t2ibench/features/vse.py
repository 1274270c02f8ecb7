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
- ``load_extractor("vse", weights="runs/coco_vse++_resnet_restval_finetune/model_best.pth.tar")``:
  a released VSE++ run (any weights file that is not ``.safetensors``), with its vocabulary
  ``<data_name>_vocab.pkl`` beside it or in the release's ``vocab/`` folder
  (:mod:`t2ibench.evaluators.vsepp_release`; :class:`ReleasedVSEExtractor`).
"""
from __future__ import annotations

import torch

from t2ibench.features.base import TextImageEncoder, register_packaged_and_user

TRAIN_HINT = ("train one with: t2ibench train-evaluators --dataset NAME --data-root PATH --only vse "
              "(or python -m t2ibench.evaluators.vse --dataset NAME --data-root PATH --out DIR), then pass "
              "weights=DIR/vse-NAME.safetensors")


class _VSEEncoder(TextImageEncoder):
    """What every VSE++ extractor shares: ``self.net`` (``encode_images``, ``encode_ids``), ``self.tokenizer``
    (``batch(captions) -> (ids, lengths)``) and ``self.batch_size`` (images per forward pass)."""

    outputs = ("embedding",)
    text_outputs = ("sentence",)
    roles = {"image": "embedding", "text": "sentence"}

    def extract(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        self.net.eval()
        return {"embedding": torch.cat([self.net.encode_images(images[i:i + self.batch_size])
                                        for i in range(0, len(images), self.batch_size)])}

    def text_features(self, captions: list[str]) -> dict[str, torch.Tensor]:
        self.net.eval()
        device = next(self.net.parameters()).device
        ids, lengths = self.tokenizer.batch(captions)
        return {"sentence": self.net.encode_ids(ids.to(device), lengths.to(device))}


class VSEExtractor(_VSEEncoder):
    """The project's VSE++ (:mod:`t2ibench.evaluators.vse`): packaged ``vse-shapes`` or a user's safetensors."""

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

    def describe(self) -> dict:
        ds = self.manifest.get("dataset", {})
        return {**super().describe(), "weights": self.weights_path, "embed_dim": self.embed_dim,
                "image_encoder": self.net.config["image_encoder"], "trained_on": ds.get("name"),
                "train_fingerprint": ds.get("train_fingerprint"),
                "held_out_r@1": self.manifest.get("test_recall", {}).get("r@1")}


class ReleasedVSEExtractor(_VSEEncoder):
    """A released VSE++ run (``fartashf/vsepp`` ``runs/<run>/model_best.pth.tar``) with its vocabulary;
    see :mod:`t2ibench.evaluators.vsepp_release`. Only runs that encode images (``EncoderImageFull``,
    ResNet) with normalised image embeddings: Rank-1 ranks by cosine. ``vocab``: the run's
    ``<data_name>_vocab.pkl`` (default: looked for beside the checkpoint and in the release's ``vocab/``)."""

    stand_in = False

    def __init__(self, name: str, device: str = "cpu", weights=None, vocab=None, batch_size: int = 50):
        super().__init__()
        from t2ibench.evaluators.vsepp_release import load_released_vse

        self.name = name
        self.net, self.tokenizer, self.info = load_released_vse(weights, vocab=vocab, device=device)
        opt = self.info["opt"]
        if self.net.precomp:
            raise ValueError(f"VSE++ checkpoint {weights}: run {opt['data_name']!r} reads image features precomputed "
                             f"by the authors' pipeline (EncoderImagePrecomp), not images, so it cannot score "
                             f"generated images; use a run trained on images (data_name without '_precomp', "
                             f"cnn_type resnet152)")
        if self.net.no_imgnorm:
            raise ValueError(f"VSE++ checkpoint {weights}: a run with no_imgnorm (VSE0) ranks by unnormalised dot "
                             f"products; Rank-1 here ranks by cosine, so it is refused")
        self.weights_path = str(weights)
        self.weights_id = (f"vsepp:{self.info['checkpoint_sha256']}+vocab:{self.info['vocab_sha256']}"
                           f"+{self.tokenizer.description}")
        self.resize_mode = "vsepp-test: shorter side 256 (bilinear-antialias, uint8 levels), centre crop 224"
        self.batch_size = batch_size
        self.embed_dim = int(opt["embed_size"])

    def describe(self) -> dict:
        opt = self.info["opt"]
        return {**super().describe(), "weights": self.weights_path, "released": "fartashf/vsepp model_best.pth.tar",
                "vocab": self.info["vocab"], "embed_dim": self.embed_dim, "image_encoder": opt.get("cnn_type"),
                "trained_on": opt.get("data_name"), "epoch": self.info.get("epoch"),
                "best_rsum": self.info.get("best_rsum"), "tokenizer": self.tokenizer.description}


def _vse(name: str, device: str = "cpu", weights=None):
    """A ``.safetensors`` file (with its manifest): a VSE++ trained by t2ibench; any other file: a released
    VSE++ checkpoint (``model_best.pth.tar``) with its ``<data_name>_vocab.pkl`` found beside it."""
    if weights is not None and not str(weights).endswith(".safetensors"):
        return ReleasedVSEExtractor(name, device=device, weights=weights)
    return VSEExtractor(name, device=device, weights=weights)


register_packaged_and_user(_vse, "vse-shapes", "vse",
                           "a VSE++ model trained on your dataset, or a released VSE++ model_best.pth.tar",
                           TRAIN_HINT)
