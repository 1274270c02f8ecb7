"""CPGAN's encoders (Liang, Pei, Lu, ECCV 2020): the Memory-Attended Text Encoder (MATE, Sec. 3.2, Eq. 7-9)
and the Object-Aware Image Encoder (OAIE, Sec. 3.3, Eq. 10), pretrained together in the DAMSM form of the
text-image semantic consistency loss (Eq. 14-25) by their own command, then frozen as the generator's text
encoder (``TextEnc`` of Eq. 1) and the image encoder of its TISCL (``ImageEnc`` of Eq. 6)::

    python -m models.cpgan.encoders --dataset shapes --out models/weights --seed 5                     # MATE + OAIE
    python -m models.cpgan.encoders --dataset shapes --out models/weights --seed 5 --image grid        # MATE alone
    python -m models.cpgan.encoders --dataset shapes --out models/weights --seed 5 --text bilstm       # OAIE alone

write ``cpgan-encoders-shapes``, ``cpgan-encoders-mate-grid-shapes`` and ``cpgan-encoders-oaie-shapes``
(``.safetensors`` + ``.json``; the memory tensor is part of the weights), loaded by :class:`MemoryAttendedTextEncoder`
as the zoo text encoders ``cpgan-mate``, ``cpgan-mate-grid`` and ``cpgan-oaie`` (registered by :mod:`models.cpgan`
with :func:`models.common.text_encoder.register_text_encoder`).
Figure 6's rows without MATE and OAIE use the zoo's DAMSM. None of them is, or starts from, the evaluation
DAMSM (``t2ibench/evaluators/weights``): they are trained from scratch on the train split with their own seed.

**MATE** (:class:`MATE`). The memory ``m_r`` of every vocabulary word (Eq. 7) is built once, before training,
by a pass over the training split (:mod:`models.cpgan.memory`) and kept as a buffer of the encoder (saved in
its weights file, never trained). Each word's learned embedding ``e_i = E[:, i]`` (300-d, AttnGAN's) is fused
with the memory through a two-layer projection ``p`` (FC 512, LeakyReLU, FC 256 — the released
``MEM_TRANS``: 1024 -> 512 -> nef with a LeakyReLU, first layer with bias, second without):

- ``fusion="paper"`` (Eq. 8): ``f_i = [e_i; p(m_i)]`` goes to the Bi-LSTM as it is;
- ``fusion="code"`` (the released ``RNN_ENCODER``): ``f_i = W tanh([e_i; p(m_i)])``, a 1x1 convolution
  without bias back to 300 channels;

then dropout 0.5 and one bidirectional LSTM layer with 128 units per direction give the word features ``W``
(Eq. 9; the DAMSM's :class:`~t2ibench.evaluators.damsm.TextEncoder` with its embedding lookup replaced by
the memory-attended one). The sentence feature: ``sentence="paper"`` takes ``w_T``, the Bi-LSTM output at
the last word (Sec. 3.2.2: "We use w_T as the sentence embedding s"); ``sentence="code"`` the final hidden
states of both directions, as the released ``RNN_ENCODER`` returns (``hidden[0]``).

**OAIE** (:class:`ObjectAwareImageEncoder`, Eq. 10): ``V_o`` the features of up to 36 object regions (the
detector's, :mod:`models.cpgan.detector`: the stand-in for YOLOv3's 1024-d ones) and ``V_e`` an 8x8 grid of
local features, each brought to 256 by a linear map with bias (``M_o, b_o``; ``M_e, b_e``) and concatenated:
``V = [V_o'; V_e'] ∈ R^{256 x 100}``; the global feature ``f`` (Eq. 22) from the same backbone. Backbones:
``"cnn"`` — the DAMSM's small CNN trained from scratch on the dataset
(:class:`~t2ibench.evaluators.damsm.CNNImageEncoder`: an 8x8 grid at 64 px), the stand-in for Inception-v3;
``"inception"`` — Inception-v3 with ImageNet weights from a user's file (``--imagenet-inception-weights``), its
``Mixed_6e`` (17x17x768) max-pooled (3, stride 2) to the 8x8 grid as the released ``CNN_ENCODER`` does, and its
2048-d pool for ``f``. A region that is not
there (fewer than 36 detections, or ``objects=False``: the grid alone) is a zero column of ``V``: a zero
column adds nothing to the region context ``c_i`` of Eq. 18, whose cosine with the word (Eq. 19) does not
change with the scale the extra attention weight takes from it, so zero columns score exactly as if the
region were left out. ``image="grid"`` builds the encoder without object regions at all (``V ∈ R^{256 x 64}``,
AttnGAN's image encoder: Figure 6's rows without OAIE).

Regions: during pretraining and for generated images the object regions come from the detector (generated
images never get their caption's ground-truth boxes); the memory of real images from ``--memory-regions``
(``boxes``: the dataset's ground-truth boxes, the default where the dataset has them; ``detector``;
``file``: a detections file, the real-data route for YOLOv3, format in :func:`models.cpgan.memory.read_detections`).

**Pretraining** (Supplementary 6.3, Eq. 14-25): the DAMSM loss of :mod:`t2ibench.evaluators.damsm` with
``V`` the OAIE regions and ``W``, ``s`` from MATE — Eq. 15-18 word-region attention, Eq. 19 (the AttnGAN code's
``log Σ exp``, ``eq10="code"``), Eq. 20-21 the word-level loss and Eq. 22-24 the sentence-level loss, both
directions, averaged over the batch as AttnGAN's code does (the supplement writes sums), pairs of one class
masked; γ1 = 5, γ2 = 5, γ3 = 10 (the released ``miscc/config.py``: ``GAMMA1 5.0``; AttnGAN's are 4, 5, 10).
Training as the zoo DAMSM's (:func:`t2ibench.evaluators.damsm.train`): the train split at 64 px without
augmentation, one caption per image and epoch, Adam lr 0.002, batches of 48, gradient norm clipped at 5,
6 epochs; the held-out retrieval and R-precision of the test split go into the manifest.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from models.common.text_encoder import ZOO_WEIGHTS_DIR, FrozenTextEncoder
from t2ibench.evaluators.damsm import CNNImageEncoder, InceptionImageEncoder, TextEncoder

ARCH = "cpgan-encoders-v1"
BASE_CONFIG = {"arch": ARCH, "text": "mate", "image": "oaie", "nef": 256, "emb_dim": 300, "dropout": 0.5,
               "mem_hidden": 512, "fusion": "paper", "sentence": "code", "max_regions": 36,
               "backbone": "cnn", "input_size": 64, "cnn_widths": [16, 32, 64, 128],
               "gamma1": 5.0, "gamma2": 5.0, "gamma3": 10.0, "eq10": "code"}
INCEPTION_SIZE = 299
#: the zoo text encoder name -> (text encoder, image encoder, file name part)
VARIANTS = {"cpgan-mate": ("mate", "oaie", ""), "cpgan-mate-grid": ("mate", "grid", "-mate-grid"),
            "cpgan-oaie": ("bilstm", "oaie", "-oaie")}
TRAIN_DEFAULTS = {"epochs": 6, "batch_size": 48, "lr": 2e-3, "grad_clip": 5.0, "memory_top_k": 50}
CHOICES = {"text": ("mate", "bilstm"), "image": ("oaie", "grid"), "fusion": ("paper", "code"),
           "sentence": ("paper", "code"), "backbone": ("cnn", "inception"), "eq10": ("code", "paper")}


def variant_of(text: str, image: str) -> str:
    for name, (t, i, _) in VARIANTS.items():
        if (t, i) == (text, image):
            return name
    raise ValueError(f"encoders: text {text!r} with image {image!r} is the zoo DAMSM (python -m "
                     f"t2ibench.evaluators.damsm); CPGAN's encoders are {', '.join(VARIANTS)}")


def weights_path(dataset: str, name: str = "cpgan-mate", folder=ZOO_WEIGHTS_DIR) -> Path:
    """``<folder>/cpgan-encoders[-mate-grid|-oaie]-<dataset>.safetensors`` of the zoo text encoder ``name``."""
    return Path(folder) / f"cpgan-encoders{VARIANTS[name][2]}-{dataset}.safetensors"


# ----------------------------------------------------------------------------- networks
class MemoryEmbedding(nn.Module):
    """Eq. 8: ``ids [N, L]`` -> ``f [N, L, out_dim]``, the learned word embedding fused with the projected memory
    (``fusion`` "paper": concatenated; "code": ``W tanh([e; p(m)])``). ``memory [V, D]`` is a buffer (Eq. 7)."""

    def __init__(self, vocab_size: int, emb_dim: int, region_dim: int, mem_hidden: int, mem_dim: int, fusion: str):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, emb_dim)
        self.register_buffer("memory", torch.zeros(vocab_size, region_dim))
        self.project = nn.Sequential(nn.Linear(region_dim, mem_hidden), nn.LeakyReLU(),
                                     nn.Linear(mem_hidden, mem_dim, bias=False))
        self.fuse = nn.Linear(emb_dim + mem_dim, emb_dim, bias=False) if fusion == "code" else None
        self.out_dim = emb_dim if fusion == "code" else emb_dim + mem_dim
        for w in [self.embedding.weight, self.project[0].weight, self.project[2].weight] + (
                [self.fuse.weight] if self.fuse is not None else []):
            nn.init.uniform_(w, -0.1, 0.1)              # AttnGAN's / the released MEM_TRANS initialisation

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        f = torch.cat([self.embedding(ids), self.project(self.memory[ids])], dim=-1)
        return f if self.fuse is None else self.fuse(torch.tanh(f))


class MATE(TextEncoder):
    """Memory-Attended Text Encoder (Eq. 8-9): ``forward(ids [N, L], lengths [N])`` -> ``(words [N, nef,
    max_len] zero-padded, sentence [N, nef])``; the DAMSM's Bi-LSTM text encoder reading
    :class:`MemoryEmbedding` instead of its word embedding."""

    def __init__(self, config: dict):
        c = config
        embed = MemoryEmbedding(c["vocab_size"], c["emb_dim"], c["region_dim"], c["mem_hidden"], c["nef"], c["fusion"])
        super().__init__(c["vocab_size"], embed.out_dim, c["nef"], c["dropout"], c["max_len"])
        self.encoder = embed
        self.sentence = c["sentence"]

    @property
    def memory(self) -> torch.Tensor:
        return self.encoder.memory

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        words, sentence = super().forward(ids, lengths)
        if self.sentence == "paper":                    # w_T: the output at each caption's last word
            last = (torch.as_tensor(lengths, device=words.device).long() - 1)
            sentence = words[torch.arange(words.shape[0], device=words.device), :, last]
        return words, sentence


class ObjectAwareImageEncoder(nn.Module):
    """Eq. 10: ``forward(x [N, 3, H, W] in [-1, 1], region_features [N, R, D] or None, valid [N, R])`` ->
    ``(V [N, nef, R + 64], f [N, nef])`` (``V [N, nef, 64]`` without object regions, ``region_dim=None``)."""

    def __init__(self, config: dict, region_dim: int | None, inception_weights=None):
        super().__init__()
        nef = config["nef"]
        self.backbone = config["backbone"]
        self.grid = (CNNImageEncoder(nef, config["cnn_widths"]) if self.backbone == "cnn"
                     else InceptionImageEncoder(nef, inception_weights))
        self.grid_bias = nn.Parameter(torch.zeros(nef))                       # b_e (M_e: the grid's 1x1 conv)
        self.objects = nn.Linear(region_dim, nef) if region_dim else None    # M_o, b_o
        self.max_regions = config["max_regions"]

    def grid_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(V_e' [N, nef, 64], f [N, nef])``."""
        if self.backbone == "cnn":
            regions, glob = self.grid(x)
        else:   # the released CNN_ENCODER: Mixed_6e (17x17x768) max-pooled to 8x8, then the 1x1 conv
            captured = {}
            hook = self.grid.Mixed_6e.register_forward_hook(lambda m, i, o: captured.__setitem__("f", o))
            try:
                _, glob = self.grid(x)
            finally:
                hook.remove()
            regions = self.grid.emb_features(F.max_pool2d(captured["f"], kernel_size=3, stride=2))
        return regions.flatten(2) + self.grid_bias[:, None], glob

    def forward(self, x: torch.Tensor, region_features: torch.Tensor | None = None,
                valid: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        v_e, glob = self.grid_features(x)
        if self.objects is None:
            return v_e, glob
        v_o = v_e.new_zeros(x.shape[0], self.max_regions, v_e.shape[1])
        if region_features is not None:
            r = min(region_features.shape[1], self.max_regions)
            v_o[:, :r] = self.objects(region_features[:, :r]) * valid[:, :r, None].to(v_e.dtype)
        return torch.cat([v_o.transpose(1, 2), v_e], dim=2), glob


class CPGANEncoders(nn.Module):
    """The pretrained pair: ``text_encoder`` (MATE, or AttnGAN's Bi-LSTM with ``text="bilstm"``) and
    ``image_encoder`` (OAIE, or its grid alone with ``image="grid"``), with the frozen detector attached
    (:meth:`attach_detector`; not part of this pair's weights file). Same interface as the zoo DAMSM
    (``encode_text``, ``encode_images``, ``config`` with the γ's and the backbone), so the AttnGAN family's
    DAMSM loss (:func:`models.common.attngan_losses.damsm_generator_loss`) computes CPGAN's TISCL with it."""

    def __init__(self, config: dict, inception_weights=None):
        super().__init__()
        c = self.config = check_config(config)
        self.text_encoder = (MATE(c) if c["text"] == "mate"
                             else TextEncoder(c["vocab_size"], c["emb_dim"], c["nef"], c["dropout"], c["max_len"]))
        self.image_encoder = ObjectAwareImageEncoder(c, c["region_dim"] if c["image"] == "oaie" else None,
                                                     inception_weights)
        self.detector = None

    @property
    def has_objects(self) -> bool:
        return self.image_encoder.objects is not None

    def attach_detector(self, detector) -> "CPGANEncoders":
        """Attach the frozen detector (eval mode, no gradients to its weights)."""
        self.detector = detector.eval().requires_grad_(False)
        return self

    def encoder_state(self) -> dict[str, torch.Tensor]:
        """The pair's own tensors (the memory included; the attached detector left out)."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("detector.")}

    def train(self, mode: bool = True):
        super().train(mode)
        if self.detector is not None:
            self.detector.eval()                     # frozen: its BatchNorm statistics stay
        return self

    def encode_text(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.text_encoder(ids, lengths)

    def encode_images(self, x: torch.Tensor, objects: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """``(V [N, nef, 100 or 64], f [N, nef])`` of images ``x`` in [-1, 1] at the backbone's input size;
        ``objects=False``: no object regions (zero columns; the grid alone)."""
        if not (self.has_objects and objects):
            return self.image_encoder(x)
        if self.detector is None:
            raise ValueError("CPGAN's object-aware image encoder needs its detector (attach_detector)")
        fmap = self.detector.features(x)
        det = self.detector.detect(x, fmap=fmap.detach())
        return self.image_encoder(x, self.detector.region_features(fmap, det.boxes, det.valid), det.valid)


def make_config(vocab_size: int, max_len: int, region_dim: int, text: str = "mate", image: str = "oaie",
                **overrides) -> dict:
    config = {**BASE_CONFIG, "text": text, "image": image, "vocab_size": int(vocab_size), "max_len": int(max_len),
              "region_dim": int(region_dim), **overrides}
    if config["backbone"] == "inception":
        config["input_size"] = INCEPTION_SIZE
    return check_config(config)


def check_config(config) -> dict:
    if not isinstance(config, dict) or config.get("arch") != ARCH:
        raise ValueError(f"CPGAN encoders config: expected a dict with arch {ARCH!r}, got {config!r:.200}")
    missing = (set(BASE_CONFIG) | {"vocab_size", "max_len", "region_dim"}) - set(config)
    if missing:
        raise ValueError(f"CPGAN encoders config: missing keys {sorted(missing)}")
    for key, allowed in CHOICES.items():
        if config[key] not in allowed:
            raise ValueError(f"CPGAN encoders config: {key} must be one of {', '.join(allowed)}, got {config[key]!r}")
    variant_of(config["text"], config["image"])
    return config


# ----------------------------------------------------------------------------- loading and the zoo text encoder
def load_encoders(path, device: str = "cpu"):
    """``(CPGANEncoders with its detector attached, in eval mode; tokenizer; sha256; manifest)`` from a file
    written by :func:`train`, verified against the manifest beside it (which holds the tokenizer and names the
    detector file, looked up beside the weights and checked against its sha256)."""
    from models.cpgan.detector import load_detector
    from t2ibench.data.tokenizer import Tokenizer
    from t2ibench.evaluators.checkpoint import load_into, load_state

    path = Path(path)
    if not path.with_suffix(".json").is_file():
        raise ValueError(f"CPGAN encoders: {path} needs its manifest {path.with_suffix('.json')} (tokenizer, "
                         f"detector); train them with: python -m models.cpgan.encoders")
    state, config, digest, manifest = load_state(path, what="CPGAN encoders")
    model = load_into(CPGANEncoders(check_config(config)), state, path, what="CPGAN encoders")
    tokenizer = Tokenizer.from_dict(manifest["tokenizer"])
    detector_record = manifest.get("detector")
    if detector_record:
        detector, _, _ = load_detector(path.parent / detector_record["weights"], sha256=detector_record["sha256"])
        model.attach_detector(detector)
    return model.to(device).eval(), tokenizer, digest, manifest


class MemoryAttendedTextEncoder(FrozenTextEncoder):
    """The zoo text encoder ``name`` (``cpgan-mate``, ``cpgan-mate-grid``, ``cpgan-oaie``) for ``dataset``:
    :class:`~models.common.text_encoder.FrozenTextEncoder`'s interface over :class:`CPGANEncoders` (its
    ``damsm`` is the pair, whose ``encode_images`` is the TISCL's image encoder). ``weights``: another encoders
    file than the shipped ``models/weights/cpgan-encoders[...]-<dataset>.safetensors``."""

    def __init__(self, dataset: str = "shapes", weights=None, device="cpu", name: str = "cpgan-mate"):
        path = Path(weights) if weights else weights_path(dataset, name)
        if not path.is_file():
            text, image, _ = VARIANTS[name]
            raise ValueError(f"the zoo text encoder {name!r} for {dataset!r} is missing ({path}); train it with: "
                             f"python -m models.cpgan.encoders --dataset {dataset} --text {text} --image {image} "
                             f"--out {path.parent} --seed 5")
        self.damsm, self.tokenizer, self.sha256, self.manifest = load_encoders(path, device)
        config = self.damsm.config
        if (config["text"], config["image"]) != VARIANTS[name][:2]:
            raise ValueError(f"{path} holds the encoders {variant_of(config['text'], config['image'])!r}, not {name!r}")
        self.damsm.requires_grad_(False).eval()
        self.name, self.path, self.dim, self.device = name, path, config["nef"], torch.device(device)
        self.backbone = self.manifest.get("backbone_description", config["backbone"])

    def describe(self) -> dict:
        return {**super().describe(), "name": self.name, "memory": self.manifest.get("memory"),
                "detector": self.manifest.get("detector")}

    def pretrained_parts(self) -> list[dict]:
        """The records of the files this encoder loaded (the pair and its detector) for a generator's manifest."""
        records = [{"role": f"text encoder and TISCL image encoder ({self.name})", "weights": self.path.name,
                    "sha256": self.sha256, "description": self.manifest.get("description", "")}]
        detector = self.manifest.get("detector")
        if detector:
            records.append({"role": "detector", "weights": detector["weights"], "sha256": detector["sha256"],
                            "description": detector.get("description", "")})
        return records


# ----------------------------------------------------------------------------- pretraining
def train(out_dir, dataset: str = "shapes", seed: int = 5, device: str = "cpu", epochs: int | None = None,
          data_root=None, progress: bool = True, checkpoint=None, text: str = "mate", image: str = "oaie",
          memory_regions: str | None = None, detections=None, detector_weights=None, inception_weights=None,
          command: str | None = None, n_train: int | None = None, n_test: int | None = None,
          batch_size: int | None = None, heldout_pairs: int = 1000, top_k: int | None = None,
          config_overrides: dict | None = None) -> dict:
    """Build the memory (for MATE), pretrain the pair with the DAMSM-form loss on ``dataset``'s train split,
    measure it on the test split, write ``<out_dir>/cpgan-encoders[...]-<dataset>.safetensors`` + ``.json``;
    returns the manifest. ``n_train``/``n_test`` (shapes), ``batch_size``, ``heldout_pairs`` and
    ``config_overrides`` shrink the run for tests."""
    import random

    import numpy as np

    from models.cpgan import detector as det_module
    from models.cpgan.memory import build_memory
    from t2ibench.data.tokenizer import Tokenizer
    from t2ibench.data.training_pairs import CaptionedTrainSet
    from t2ibench.evaluators.checkpoint import load_into, load_state, save_state, write_manifest
    from t2ibench.evaluators.damsm import _checkpoint_epoch, damsm_loss, evaluate_heldout, preprocess
    from t2ibench.evaluators.training import TrainConfig, check_epochs, fit, load_train_test, run_info

    t0 = time.time()
    name = variant_of(text, image)
    epochs = check_epochs(epochs, TRAIN_DEFAULTS["epochs"])
    overrides = dict(config_overrides or {})
    if inception_weights is not None:
        overrides["backbone"] = "inception"
    train_ds, test_ds = load_train_test(dataset, 64, data_root=data_root, progress=progress, n_train=n_train,
                                        n_test=n_test)
    memory_regions = memory_regions or ("file" if detections else "boxes")
    tokenizer = Tokenizer.build(t for i in range(len(train_ds)) for t in train_ds.captions(i))
    detector_path = Path(detector_weights) if detector_weights else det_module.weights_path(dataset, ZOO_WEIGHTS_DIR)
    detector, detector_sha, detector_manifest = det_module.load_detector(detector_path, device=device)

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    config = make_config(tokenizer.vocab_size, tokenizer.max_len, detector.feature_dim, text, image, **overrides)
    model = CPGANEncoders(config, inception_weights).to(device).attach_detector(detector)
    memory_summary = None
    if text == "mate":
        t_mem = time.time()
        memory, memory_summary = build_memory(train_ds, tokenizer, detector, memory_regions, detections,
                                              top_k or TRAIN_DEFAULTS["memory_top_k"], config["max_regions"],
                                              progress=progress)
        model.text_encoder.memory.copy_(memory)
        memory_summary["memory_time_s"] = round(time.time() - t_mem, 1)
    data = CaptionedTrainSet(train_ds, tokenizer, seed)
    tc = TrainConfig(epochs=epochs, batch_size=batch_size or TRAIN_DEFAULTS["batch_size"], lr=TRAIN_DEFAULTS["lr"],
                     weight_decay=0.0, grad_clip=TRAIN_DEFAULTS["grad_clip"], seed=seed)
    steps_per_epoch = max(len(train_ds) // tc.batch_size, 1)
    counter = {"step": _checkpoint_epoch(checkpoint) * steps_per_epoch}     # a resumed run's epoch numbers

    def loss_fn(idx: torch.Tensor) -> dict:
        epoch = counter["step"] // steps_per_epoch
        counter["step"] += 1
        images, ids, lengths, classes = data.batch(idx, epoch)
        regions, glob = model.encode_images(preprocess(images.to(device), config))
        words, sent = model.encode_text(ids.to(device), lengths)
        return damsm_loss(regions, glob, words, sent, lengths.to(device), classes, config["gamma1"], config["gamma2"],
                          config["gamma3"], config["eq10"])

    t_train = time.time()
    history = fit(model, loss_fn, len(train_ds), tc, checkpoint=checkpoint, progress=progress, desc=name)
    train_time = time.time() - t_train
    model = model.cpu().eval()
    out_dir = Path(out_dir)
    path = weights_path(dataset, name, out_dir)
    save_state(model.encoder_state(), path, config)
    state, _, digest, _ = load_state(path, False, what="CPGAN encoders")     # measure what was saved
    saved = load_into(CPGANEncoders(config), state, path, what="CPGAN encoders").attach_detector(detector.cpu()).eval()
    heldout = evaluate_heldout(saved, tokenizer, test_ds, n_pairs=heldout_pairs, seed=seed)
    backbone = ("cnn (the DAMSM's small CNN trained from scratch on %s, 64 px: stand-in for Inception-v3)" % dataset
                if config["backbone"] == "cnn" else "inception (frozen ImageNet Inception-v3 from the user's file)")
    if detector_path.parent.resolve() != out_dir.resolve():
        import shutil

        shutil.copyfile(detector_path, out_dir / detector_path.name)
        shutil.copyfile(detector_path.with_suffix(".json"), out_dir / detector_path.with_suffix(".json").name)
    manifest = {
        "name": path.stem, "weights_file": path.name, "sha256": digest, "dtype": "float32", "zoo_text_encoder": name,
        "description": (f"CPGAN's {'MATE' if text == 'mate' else 'Bi-LSTM text encoder'} + "
                        f"{'object-aware image encoder' if image == 'oaie' else 'grid image encoder'}, pretrained "
                        f"from scratch with the DAMSM-form TISCL on the {dataset} train split (seed {seed})"),
        "backbone": config["backbone"], "backbone_description": backbone, "config": config,
        "tokenizer": tokenizer.to_dict(),
        "detector": {"weights": detector_path.name, "sha256": detector_sha,
                     "description": detector_manifest.get("description", "")},
        "memory": memory_summary,
        "command": command or (f"python -m models.cpgan.encoders --dataset {dataset} --text {text} --image {image} "
                               f"--out {out_dir} --seed {seed}"),
        "seed": seed, "epochs": epochs, "device": str(device),
        "train_config": {"batch_size": tc.batch_size, "lr": tc.lr, "grad_clip": tc.grad_clip,
                         "optimizer": "AdamW (weight decay 0 = Adam), betas (0.9, 0.999)",
                         "caption_per_image": "one per epoch, drawn with seed (seed, epoch)", "augmentation": "none",
                         "object_regions": "detector (real and generated images alike)"},
        "dataset": {"name": dataset, "image_size": 64, "n_train": len(train_ds), "n_test": len(test_ds),
                    "train_fingerprint": train_ds.fingerprint, "test_fingerprint": test_ds.fingerprint},
        **heldout, **run_info(t0, history, train_time_s=train_time),
    }
    write_manifest(path.with_suffix(".json"), manifest)
    return manifest


def main(argv=None) -> int:
    from models.cpgan.memory import MEMORY_SOURCES
    from t2ibench.evaluators.training import add_training_args, command_line

    parser = argparse.ArgumentParser(
        prog="python -m models.cpgan.encoders",
        description="Build the memory of CPGAN's Memory-Attended Text Encoder over a dataset's train split (Eq. 7), "
                    "pretrain it with the Object-Aware Image Encoder in the DAMSM form of the text-image semantic "
                    "consistency loss (Eq. 14-25), measure held-out retrieval and R-precision on the test split, and "
                    "write OUT/cpgan-encoders[-mate-grid|-oaie]-DATASET.safetensors + .json. Needs the detector "
                    "(python -m models.cpgan.detector). The shipped shapes encoders were made with: python -m "
                    "models.cpgan.encoders --dataset shapes --out models/weights --seed 5 [--image grid | --text "
                    "bilstm]")
    add_training_args(parser, epochs_default=TRAIN_DEFAULTS["epochs"],
                      epochs_help=f"training epochs (default {TRAIN_DEFAULTS['epochs']})",
                      seed_help="seed of initialisation, data order and captions (default 0; the shipped encoders: 5)")
    parser.add_argument("--text", choices=CHOICES["text"], default="mate",
                        help="text encoder: mate (Eq. 8-9, default) or bilstm (AttnGAN's, for the +OAIE row)")
    parser.add_argument("--image", choices=CHOICES["image"], default="oaie",
                        help="image encoder: oaie (Eq. 10, default) or grid (AttnGAN's 8x8 grid, for the +MATE row)")
    parser.add_argument("--memory-regions", choices=MEMORY_SOURCES, default=None,
                        help="regions of the real training images for the memory: boxes (the dataset's ground truth; "
                             "the default), detector, or file (--detections; the default when it is given)")
    parser.add_argument("--detections", default=None,
                        help="a detections file of the training images (YOLOv3's, say; format in "
                             "models.cpgan.memory.read_detections)")
    parser.add_argument("--detector", default=None,
                        help="the detector file (default: models/weights/cpgan-detector-DATASET.safetensors)")
    parser.add_argument("--imagenet-inception-weights", default=None,
                        help="torchvision ImageNet inception_v3 weights (.pth or .safetensors): the OAIE grid and "
                             "global features from Inception-v3 as the paper (default: the small CNN stand-in)")
    parser.add_argument("--fusion", choices=CHOICES["fusion"], default=BASE_CONFIG["fusion"],
                        help="MATE's fusion: paper (Eq. 8, concatenation; default) or code (tanh + 1x1 conv)")
    parser.add_argument("--sentence", choices=CHOICES["sentence"], default=BASE_CONFIG["sentence"],
                        help="MATE's sentence feature: code (the Bi-LSTM's final states; default) or paper (w_T)")
    parser.add_argument("--top-k", type=int, default=TRAIN_DEFAULTS["memory_top_k"],
                        help=f"K relevant images per word (Eq. 7; default {TRAIN_DEFAULTS['memory_top_k']})")
    args = parser.parse_args(argv)
    try:
        manifest = train(args.out, dataset=args.dataset, seed=args.seed, device=args.device, epochs=args.epochs,
                         data_root=args.data_root, progress=not args.no_progress, checkpoint=args.checkpoint,
                         text=args.text, image=args.image, memory_regions=args.memory_regions,
                         detections=args.detections, detector_weights=args.detector,
                         inception_weights=args.imagenet_inception_weights, command=command_line(parser.prog, argv),
                         top_k=args.top_k, config_overrides={"fusion": args.fusion, "sentence": args.sentence})
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    keys = ("sha256", "heldout_recall_i2t_r1", "heldout_recall_t2i_r1", "heldout_r_precision", "train_time_s")
    print(json.dumps({k: manifest.get(k) for k in keys} | {"memory": manifest["memory"]}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
