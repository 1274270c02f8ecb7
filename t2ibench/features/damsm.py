"""DAMSM text-image encoders as feature extractors (R-precision reads them).

- ``damsm-shapes``: the packaged DAMSM trained on ``shapes`` (``evaluators/weights/
  damsm-shapes.safetensors``, sha256 checked against its manifest). Its image backbone is a
  small CNN trained from scratch on shapes, not AttnGAN's Inception-v3 — ``describe()``
  says so (``backbone``).
- ``damsm``: ``weights`` is required, one of
  - a DAMSM the user trained (``python -m t2ibench.evaluators.damsm`` / ``t2ibench
    train-evaluators``): a safetensors file with its ``.json`` manifest beside it (the manifest
    holds the sha256, the config and the tokenizer);
  - AttnGAN's released DAMSM (:mod:`t2ibench.evaluators.damsm_release`):
    ``TEXT_ENCODER.pth,CAPTIONS.pickle`` (the image encoder beside the text encoder, found by
    name) or ``TEXT_ENCODER.pth,IMAGE_ENCODER.pth,CAPTIONS.pickle``, e.g.
    ``DAMSMencoders/bird/text_encoder200.pth,data/birds/captions.pickle``; its captions are
    tokenised as AttnGAN's code does, with AttnGAN's evaluation word limit for the dataset being
    evaluated (25 on ``cub``, 20 on ``coco``, else 18); released files are checked by size and
    sha256 (``t2ibench list extractors`` lists them).

Image side (:meth:`DAMSMEncoder.extract`, uint8 ``[N, 3, H, W]``): ``global`` ``[N, 256]``
(the image's sentence-space code, ``v̄``) and ``regions`` ``[N, 256, h, w]`` (8x8 for the
``cnn`` backbone, 17x17 for ``inception``). Text side (:meth:`DAMSMEncoder.text_features`):
``sentence`` ``[N, 256]`` and ``words`` ``[N, 256, max_len]`` (zero columns past each
caption's length; :meth:`DAMSMEncoder.word_lengths` gives the lengths). Roles:
``image -> global``, ``text -> sentence`` (cosine between them is R-precision's score).
"""
from __future__ import annotations

import torch

from t2ibench.features import register_extractor, register_known_weights
from t2ibench.features.base import TextImageEncoder

def train_hint(dataset: str | None = None) -> str:
    """How to train a DAMSM on ``dataset`` (the one being evaluated; ``None``: a placeholder)."""
    d = dataset or "DATASET"
    return (f"train one on {d} with `t2ibench train-evaluators --dataset {d} --data-root PATH --only damsm "
            f"--imagenet-inception-weights INCEPTION.pth` or `python -m t2ibench.evaluators.damsm --dataset {d} "
            f"--data-root PATH --out DIR --imagenet-inception-weights INCEPTION.pth`, then pass "
            f"weights=DIR/damsm-{d}.safetensors (CLI: --weights damsm=DIR/damsm-{d}.safetensors); or pass "
            f"AttnGAN's released DAMSM: --weights damsm=TEXT_ENCODER.pth,CAPTIONS.pickle")


TRAIN_HINT = train_hint()


class DAMSMEncoder(TextImageEncoder):
    outputs = ("global", "regions")
    text_outputs = ("sentence", "words")
    roles = {"image": "global", "text": "sentence"}
    stand_in = False

    def __init__(self, weights, device: str = "cpu", name: str = "damsm", manifest=None,
                 image_batch: int = 200, text_batch: int = 500, dataset: str | None = None):
        """``weights``: a trained-here safetensors file (``manifest``: its manifest, default beside
        it) or AttnGAN's released files (:func:`t2ibench.evaluators.damsm_release.parse_spec`);
        ``dataset``: the dataset being evaluated (picks a released DAMSM's word limit and known files)."""
        super().__init__()
        from t2ibench.evaluators.damsm import load_damsm, resize_mode
        from t2ibench.evaluators.damsm_release import load_released_damsm, parse_spec

        self.name = name
        self.released = parse_spec(weights) is not None
        if self.released:
            self.net, self.tokenizer, self.weights_id, self.manifest = load_released_damsm(
                weights, dataset, "eval", device=device)
            self.weights_warning = self.manifest["weights_warning"]
        else:
            self.net, self.tokenizer, self.weights_id, self.manifest = load_damsm(
                weights, manifest, device=device, what=f"{name} weights")
        self.config = self.net.config
        self.backbone = self.config["backbone"]
        # AttnGAN's DAMSM has an ImageNet Inception-v3 image backbone; one with the small CNN
        # trained from scratch is a stand-in for it, and results say so.
        self.stand_in = self.backbone != "inception"
        self.resize_mode = resize_mode(self.config)
        self.weights_path = str(weights)
        self.image_batch, self.text_batch = image_batch, text_batch

    def extract(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        from t2ibench.evaluators.damsm import preprocess

        self.net.eval()
        regions, glob = [], []
        for i in range(0, len(images), self.image_batch):
            r, g = self.net.encode_images(preprocess(images[i:i + self.image_batch], self.config))
            regions.append(r)
            glob.append(g)
        return {"global": torch.cat(glob), "regions": torch.cat(regions)}

    def text_features(self, captions: list[str]) -> dict[str, torch.Tensor]:
        self.net.eval()
        device = next(self.net.parameters()).device
        ids, lengths = self.tokenizer.batch(captions)
        words, sentence = self.net.encode_text(ids.to(device), lengths)
        return {"sentence": sentence, "words": words}

    def word_lengths(self, captions) -> torch.Tensor:
        """int64 ``[N]``: the number of word columns of each caption in ``words``."""
        return self.tokenizer.batch(list(captions))[1]

    def describe(self) -> dict:
        if self.released:
            m = self.manifest
            return {**super().describe(), "weights": self.weights_path, "backbone": m["backbone_description"],
                    "text_outputs": list(self.text_outputs), "trained_on": "AttnGAN's released DAMSM",
                    "files": m["files"], "words_num": m["words_num"], "tokenizer": m["tokenizer"]}
        if self.backbone == "cnn":
            trained = self.manifest.get("dataset", {}).get("name", "?")
            backbone = f"cnn trained on {trained} (a small CNN trained from scratch, not AttnGAN's Inception-v3)"
        else:
            backbone = "inception (frozen ImageNet Inception-v3, AttnGAN's CNN_ENCODER)"
        return {**super().describe(), "weights": self.weights_path, "backbone": backbone,
                "text_outputs": list(self.text_outputs), "trained_on": self.manifest.get("dataset", {}),
                "heldout_r_precision": self.manifest.get("heldout_r_precision")}


def _shapes_factory(device: str = "cpu", weights=None) -> DAMSMEncoder:
    from t2ibench.evaluators.damsm import weights_paths

    path, manifest = weights_paths("shapes")
    if weights is not None:
        return DAMSMEncoder(weights, device=device, name="damsm-shapes")
    if not path.is_file() or not manifest.is_file():
        raise ValueError(f"the packaged shapes DAMSM is missing ({path} / {manifest}); train it with: "
                         f"python -m t2ibench.evaluators.damsm --dataset shapes --out {path.parent} --seed 0")
    return DAMSMEncoder(path, device=device, name="damsm-shapes", manifest=manifest)


def _factory(device: str = "cpu", weights=None, dataset: str | None = None) -> DAMSMEncoder:
    if weights is None:
        raise ValueError("feature extractor 'damsm' needs weights: a DAMSM safetensors file with its .json "
                         "manifest beside it, or AttnGAN's released files TEXT_ENCODER.pth,CAPTIONS.pickle; no "
                         "published DAMSM can be downloaded here, so " + train_hint(dataset))
    return DAMSMEncoder(weights, device=device, name="damsm", dataset=dataset)


def _published_damsm_files() -> dict[str, str]:
    from t2ibench.evaluators.damsm_release import published_files

    return published_files()


register_extractor("damsm-shapes", _shapes_factory)
register_extractor("damsm", _factory)
register_known_weights("damsm", _published_damsm_files)
