"""CPGAN's object detector: the stand-in for the pretrained YOLOv3 of Liang, Pei, Lu (ECCV 2020, Sec. 3.2.1
and 3.3), trained on a dataset's ground-truth boxes by its own command::

    python -m models.cpgan.detector --dataset shapes --out models/weights --seed 4

(``models/weights/cpgan-detector-shapes.safetensors`` + ``.json``: sha256, config with the label names,
command, seed, training time and the held-out quality on the test split: mean IoU, recall and precision at
IoU 0.5, label accuracy).

What the paper uses it for: "object detection is first performed on image I by pretrained Yolo-V3 to
select top-36 sub-regions (indicated by bounding boxes) w.r.t. the confidence score and the extracted
features are denoted as V = {v_1, ..., v_36}" (Sec. 3.2.1) — for the memory of real training images and
for the object-aware image encoder of generated images ("we extract visual features (1024-dim) of top 36
bounding boxes by Yolo-V3", Sec. 3.3). YOLOv3's darknet weights cannot be loaded here; its two roles are
kept apart so that real detections can still be used: boxes of real images may come from a user's
detections file (:mod:`models.cpgan.encoders`, the real-data route), and this stand-in gives boxes and
region features everywhere else. Generated images only ever get boxes from this detector (or none).

Network (a one-scale YOLO, Redmon & Farhadi 2018, on a small backbone): input in [-1, 1] resized to
``input_size`` (antialiased bilinear); four stride-2/1 convolutions with BatchNorm and LeakyReLU(0.2)
(``widths``, 4x4 stride 2 three times, then two 3x3) give a ``G x G`` grid (G = input_size / 8) of
``widths[-1]``-d features — the stand-in for darknet-53's 1024-d features; a 1x1 conv predicts per cell
an objectness logit, the box (centre offset in the cell and width/height as fractions of the image, each
through a sigmoid) and label logits.

Training (YOLO's assignment): a ground-truth box is assigned to the cell holding its centre (the larger
box wins a shared cell); loss = BCE of the objectness over all cells + 5 · L1 of the four box numbers on
assigned cells + cross-entropy of the label on assigned cells. Adam (lr 1e-3), batches of 64, no
augmentation, the train split only.

Detection (:meth:`Detector.detect`): sigmoid objectness as the confidence, boxes with confidence >=
``min_score`` (YOLOv3's detection threshold; the paper keeps "top-36 w.r.t. the confidence score"),
non-maximum suppression at IoU ``nms_iou`` (0.45, YOLOv3's), then the ``max_regions`` (36) most confident,
padded to 36 with ``valid`` False. Region features (:meth:`Detector.region_features`): RoIAlign
(``roi_size`` x ``roi_size``, averaged) of the backbone grid at each box — differentiable in the image, so
the semantic-consistency loss of generated images reaches the generator through them; the boxes
themselves are constants, as YOLO's selected boxes are.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from t2ibench.imageops import resize_antialiased

ARCH = "cpgan-detector-v1"
#: the stand-in's architecture and detection settings (``labels`` come from the dataset's boxes)
DEFAULT_CONFIG = {"arch": ARCH, "input_size": 64, "widths": [32, 64, 128, 128], "max_regions": 36,
                  "min_score": 0.5, "nms_iou": 0.45, "roi_size": 2, "box_weight": 5.0}
TRAIN_DEFAULTS = {"epochs": 4, "batch_size": 64, "lr": 1e-3}
#: IoU at which a detection counts as finding a ground-truth box (held-out quality)
MATCH_IOU = 0.5


def weights_path(dataset: str, folder) -> Path:
    return Path(folder) / f"cpgan-detector-{dataset}.safetensors"


def _block(cin: int, cout: int, k: int, stride: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2 if stride == 1 else 1, bias=False), nn.BatchNorm2d(cout),
            nn.LeakyReLU(0.2, inplace=True)]


@dataclass
class Detections:
    """Boxes of a batch, padded to ``max_regions``: ``boxes [N, R, 4]`` (x0, y0, x1, y1 as fractions of the
    image), ``scores [N, R]`` (0 where padded), ``label_probs [N, R, L]``, ``valid [N, R]`` bool."""

    boxes: torch.Tensor
    scores: torch.Tensor
    label_probs: torch.Tensor
    valid: torch.Tensor


class Detector(nn.Module):
    """The one-scale YOLO stand-in of the module docstring for ``config`` (with its ``labels``)."""

    def __init__(self, config: dict):
        super().__init__()
        self.config = check_config(config)
        w = config["widths"]
        self.grid = config["input_size"] // 8
        self.backbone = nn.Sequential(*_block(3, w[0], 4, 2), *_block(w[0], w[1], 4, 2), *_block(w[1], w[2], 4, 2),
                                      *_block(w[2], w[3], 3, 1), *_block(w[3], w[3], 3, 1))
        self.head = nn.Conv2d(w[3], 5 + len(config["labels"]), 1)
        self.feature_dim = w[3]

    @property
    def labels(self) -> list[str]:
        return list(self.config["labels"])

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``[N, 3, H, W]`` in [-1, 1] -> the backbone grid ``[N, C, G, G]``."""
        return self.backbone(resize_antialiased(x, self.config["input_size"], value_range=(-1.0, 1.0)))

    def predict(self, fmap: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(objectness logits [N, G·G], boxes [N, G·G, 4] as fractions (x0, y0, x1, y1), label logits
        [N, G·G, L], box numbers [N, G·G, 4])`` per cell (row-major); the box numbers are the sigmoids of
        the centre offset in the cell and of the width and height as fractions of the image."""
        raw = self.head(fmap).flatten(2).transpose(1, 2)                     # [N, G·G, 5 + L]
        g = self.grid
        cells = torch.arange(g * g, device=fmap.device)
        gx, gy = (cells % g).to(raw.dtype), (cells // g).to(raw.dtype)
        t = torch.sigmoid(raw[..., 1:5])
        cx, cy = (gx + t[..., 0]) / g, (gy + t[..., 1]) / g
        half_w, half_h = t[..., 2] / 2, t[..., 3] / 2
        boxes = torch.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], dim=-1).clamp(0, 1)
        return raw[..., 0], boxes, raw[..., 5:], t

    @torch.no_grad()
    def detect(self, x: torch.Tensor, fmap: torch.Tensor | None = None) -> Detections:
        """Detections of images ``x`` (``fmap``: their :meth:`features`, when already computed)."""
        from torchvision.ops import nms

        c = self.config
        obj, boxes, label_logits, _ = self.predict(self.features(x) if fmap is None else fmap)
        scores, probs = torch.sigmoid(obj), torch.softmax(label_logits, dim=-1)
        n, r = x.shape[0], c["max_regions"]
        out = Detections(boxes.new_zeros(n, r, 4), scores.new_zeros(n, r), probs.new_zeros(n, r, probs.shape[-1]),
                         torch.zeros(n, r, dtype=torch.bool, device=x.device))
        for i in range(n):
            keep = torch.nonzero(scores[i] >= c["min_score"]).flatten()
            keep = keep[nms(boxes[i, keep], scores[i, keep], c["nms_iou"])][:r]    # nms sorts by score
            k = len(keep)
            out.boxes[i, :k], out.scores[i, :k] = boxes[i, keep], scores[i, keep]
            out.label_probs[i, :k] = probs[i, keep]
            out.valid[i, :k] = True
        return out

    def region_features(self, fmap: torch.Tensor, boxes: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """``[N, R, C]``: RoIAlign of ``fmap`` at the valid ``boxes`` (fractions), averaged over its
        ``roi_size`` x ``roi_size`` bins; zeros where not ``valid``."""
        from torchvision.ops import roi_align

        n, r = valid.shape
        out = fmap.new_zeros(n, r, fmap.shape[1])
        if valid.any():
            rois = [boxes[i][valid[i]].to(fmap.dtype) * fmap.shape[-1] for i in range(n)]
            pooled = roi_align(fmap, rois, output_size=self.config["roi_size"], spatial_scale=1.0, sampling_ratio=2,
                               aligned=True)
            out[valid] = pooled.mean(dim=(2, 3))
        return out

    def loss(self, x: torch.Tensor, boxes: list[torch.Tensor], labels: list[torch.Tensor]) -> dict:
        """The training loss of the module docstring for images ``x`` and per image ground-truth ``boxes``
        ``[K, 4]`` (fractions) with ``labels`` ``[K]`` (indices into ``config["labels"]``)."""
        obj, _, label_logits, box_numbers = self.predict(self.features(x))
        g = self.grid
        target_obj = torch.zeros_like(obj)
        target_box = obj.new_zeros(*obj.shape, 4)
        target_label = torch.full(obj.shape, -1, dtype=torch.long, device=obj.device)
        for i, (b, lab) in enumerate(zip(boxes, labels)):
            order = ((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])).argsort()          # larger boxes written last
            for k in order.tolist():
                x0, y0, x1, y1 = b[k].tolist()
                cx, cy = (x0 + x1) / 2 * g, (y0 + y1) / 2 * g
                gx, gy = min(int(cx), g - 1), min(int(cy), g - 1)
                cell = gy * g + gx
                target_obj[i, cell] = 1.0
                target_box[i, cell] = torch.tensor([cx - gx, cy - gy, x1 - x0, y1 - y0])
                target_label[i, cell] = int(lab[k])
        positive = target_label >= 0
        obj_loss = F.binary_cross_entropy_with_logits(obj, target_obj)
        box_loss = (box_numbers[positive] - target_box[positive]).abs().mean() if positive.any() else obj.sum() * 0
        label_loss = (F.cross_entropy(label_logits[positive], target_label[positive]) if positive.any()
                      else obj.sum() * 0)
        return {"loss": obj_loss + self.config["box_weight"] * box_loss + label_loss, "objectness": obj_loss.detach(),
                "box": box_loss.detach(), "label": label_loss.detach()}


def check_config(config) -> dict:
    if not isinstance(config, dict) or config.get("arch") != ARCH:
        raise ValueError(f"CPGAN detector config: expected a dict with arch {ARCH!r}, got {config!r:.200}")
    missing = set(DEFAULT_CONFIG) - set(config) | ({"labels"} - set(config))
    if missing:
        raise ValueError(f"CPGAN detector config: missing keys {sorted(missing)}")
    if config["input_size"] % 8 or config["input_size"] < 16:
        raise ValueError(f"CPGAN detector config: input_size must be a multiple of 8 >= 16, got {config['input_size']}")
    if not config["labels"]:
        raise ValueError("CPGAN detector config: no labels (the dataset has no boxes)")
    return config


# ----------------------------------------------------------------------------- data
def box_labels(dataset) -> list[str]:
    """The sorted box labels of ``dataset`` (the detector's classes; as :mod:`models.common.data` orders them)."""
    return sorted({b.label for i in range(len(dataset)) for b in dataset.boxes(i)})


def ground_truth(dataset, index: int, labels: dict[str, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(boxes [K, 4] as fractions of the image, label indices [K])`` of image ``index`` (-1: unknown label)."""
    s = float(dataset.image_size)
    boxes = dataset.boxes(index)
    return (torch.tensor([[b.x0 / s, b.y0 / s, b.x1 / s, b.y1 / s] for b in boxes], dtype=torch.float32).reshape(-1, 4),
            torch.tensor([labels.get(b.label, -1) for b in boxes], dtype=torch.long))


def _as_input(images: torch.Tensor) -> torch.Tensor:
    return images.float() / 127.5 - 1.0


# ----------------------------------------------------------------------------- quality
@torch.no_grad()
def evaluate_heldout(detector: Detector, dataset, batch_size: int = 200) -> dict:
    """Quality on ``dataset`` (the test split): for every ground-truth box its best IoU with a detection
    (``heldout_mean_iou``), the fraction found at IoU >= 0.5 (``heldout_recall``) and whose best detection has
    its label (``heldout_label_accuracy``, among the found), the fraction of detections at IoU >= 0.5 with a
    ground-truth box (``heldout_precision``) and the mean number of detections per image."""
    from torchvision.ops import box_iou

    detector.eval()
    device = next(detector.parameters()).device
    index = {lab: k for k, lab in enumerate(detector.labels)}
    best_ious, label_hits, n_det, n_det_matched = [], 0, 0, 0
    for start in range(0, len(dataset), batch_size):
        idx = list(range(start, min(start + batch_size, len(dataset))))
        det = detector.detect(_as_input(dataset.images(idx)).to(device))
        for j, i in enumerate(idx):
            gt, lab = ground_truth(dataset, i, index)
            found, probs = det.boxes[j][det.valid[j]].cpu(), det.label_probs[j][det.valid[j]].cpu()
            n_det += len(found)
            if not len(gt):
                continue
            if not len(found):
                best_ious += [0.0] * len(gt)
                continue
            iou = box_iou(gt, found)
            best, arg = iou.max(dim=1)
            best_ious += best.tolist()
            label_hits += int(((best >= MATCH_IOU) & (probs[arg].argmax(1) == lab)).sum())
            n_det_matched += int((iou.max(dim=0).values >= MATCH_IOU).sum())
    ious = torch.tensor(best_ious)
    found = int((ious >= MATCH_IOU).sum())
    return {"heldout_mean_iou": round(float(ious.mean()), 4), "heldout_recall": round(found / max(len(ious), 1), 4),
            "heldout_precision": round(n_det_matched / max(n_det, 1), 4),
            "heldout_label_accuracy": round(label_hits / max(found, 1), 4), "heldout_gt_boxes": len(ious),
            "heldout_detections_per_image": round(n_det / max(len(dataset), 1), 3),
            "heldout_protocol": f"test split; a ground-truth box is found when a detection (confidence >= "
                                f"{detector.config['min_score']}, after NMS) overlaps it at IoU >= {MATCH_IOU}"}


# ----------------------------------------------------------------------------- training and loading
def train(out_dir, dataset: str = "shapes", seed: int = 4, device: str = "cpu", epochs: int | None = None,
          data_root=None, progress: bool = True, checkpoint=None, command: str | None = None,
          n_train: int | None = None, n_test: int | None = None, config_overrides: dict | None = None) -> dict:
    """Train the detector on ``dataset``'s train split and its ground-truth boxes, measure it on the test
    split, write ``<out_dir>/cpgan-detector-<dataset>.safetensors`` + ``.json``; returns the manifest.
    ``n_train``/``n_test`` (shapes) and ``config_overrides`` shrink the run for tests."""
    import random

    import numpy as np

    from t2ibench.evaluators.checkpoint import load_into, load_state, save_state, write_manifest
    from t2ibench.evaluators.training import TrainConfig, check_epochs, fit, load_train_test, run_info

    t0 = time.time()
    epochs = check_epochs(epochs, TRAIN_DEFAULTS["epochs"])
    config = {**DEFAULT_CONFIG, **(config_overrides or {})}
    train_ds, test_ds = load_train_test(dataset, config["input_size"], data_root=data_root, progress=progress,
                                        n_train=n_train, n_test=n_test)
    config["labels"] = box_labels(train_ds)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    model = Detector(config).to(device)
    index = {lab: k for k, lab in enumerate(config["labels"])}
    truth = [ground_truth(train_ds, i, index) for i in range(len(train_ds))]
    images = train_ds.images(range(len(train_ds))) if dataset == "shapes" else None

    def loss_fn(idx: torch.Tensor) -> dict:
        x = images[idx] if images is not None else train_ds.images(idx.tolist())
        return model.loss(_as_input(x).to(device), [truth[i][0].to(device) for i in idx.tolist()],
                          [truth[i][1].to(device) for i in idx.tolist()])

    tc = TrainConfig(epochs=epochs, batch_size=TRAIN_DEFAULTS["batch_size"], lr=TRAIN_DEFAULTS["lr"], seed=seed)
    t_train = time.time()
    history = fit(model, loss_fn, len(train_ds), tc, checkpoint=checkpoint, progress=progress,
                  desc=f"cpgan-detector-{dataset}")
    train_time = time.time() - t_train
    path = weights_path(dataset, out_dir)
    save_state(model.cpu().state_dict(), path, config)
    state, _, digest, _ = load_state(path, False, what="CPGAN detector")       # measure what was saved
    saved = load_into(Detector(config), state, path, what="CPGAN detector").eval()
    heldout = evaluate_heldout(saved, test_ds)
    manifest = {
        "name": f"cpgan-detector-{dataset}", "weights_file": path.name, "sha256": digest, "dtype": "float32",
        "role": "detector", "config": config,
        "description": ("stand-in for CPGAN's pretrained YOLOv3 (darknet weights unavailable here): a one-scale "
                        f"YOLO on a small CNN trained from scratch on the {dataset} train split's ground-truth boxes"),
        "command": command or f"python -m models.cpgan.detector --dataset {dataset} --out {out_dir} --seed {seed}",
        "seed": seed, "epochs": epochs, "device": str(device),
        "train_config": {"batch_size": tc.batch_size, "lr": tc.lr, "optimizer": "Adam (AdamW, weight decay 0)",
                         "augmentation": "none"},
        "dataset": {"name": dataset, "image_size": config["input_size"], "n_train": len(train_ds),
                    "n_test": len(test_ds), "train_fingerprint": train_ds.fingerprint,
                    "test_fingerprint": test_ds.fingerprint},
        **heldout, **run_info(t0, history, train_time_s=train_time),
    }
    write_manifest(path.with_suffix(".json"), manifest)
    return manifest


def load_detector(path, device: str = "cpu", sha256: str | None = None) -> tuple[Detector, str, dict]:
    """``(frozen detector in eval mode, sha256, manifest)`` from a file written by :func:`train` (verified
    against its manifest beside it, and against ``sha256`` when given)."""
    from t2ibench.evaluators.checkpoint import load_into, load_state

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"CPGAN detector: no such file {path}; train it with: python -m models.cpgan.detector "
                         f"--dataset DATASET --out {path.parent} --seed 4")
    state, config, digest, manifest = load_state(path, what="CPGAN detector")
    if sha256 is not None and digest != sha256:
        raise ValueError(f"CPGAN detector {path} has sha256 {digest[:12]}…, but the encoders were built with "
                         f"{sha256[:12]}…; restore that file or rebuild the encoders")
    model = load_into(Detector(check_config(config)), state, path, what="CPGAN detector")
    return model.to(device).eval().requires_grad_(False), digest, manifest


def main(argv=None) -> int:
    from t2ibench.evaluators.training import add_training_args, command_line

    parser = argparse.ArgumentParser(
        prog="python -m models.cpgan.detector",
        description="Train CPGAN's object detector (the stand-in for its pretrained YOLOv3: a one-scale YOLO on a "
                    "small CNN) on a dataset's ground-truth boxes, measure mean IoU, recall, precision and label "
                    "accuracy on its test split, and write OUT/cpgan-detector-DATASET.safetensors + .json. The "
                    "shipped shapes detector was made with: python -m models.cpgan.detector --dataset shapes "
                    "--out models/weights --seed 4")
    add_training_args(parser, epochs_default=TRAIN_DEFAULTS["epochs"],
                      epochs_help=f"training epochs (default {TRAIN_DEFAULTS['epochs']})",
                      seed_help="seed of initialisation and data order (default 0; the shipped detector: 4)")
    parser.add_argument("--image-size", type=int, default=DEFAULT_CONFIG["input_size"],
                        help=f"the detector's input size in px (default {DEFAULT_CONFIG['input_size']})")
    args = parser.parse_args(argv)
    try:
        manifest = train(args.out, dataset=args.dataset, seed=args.seed, device=args.device, epochs=args.epochs,
                         data_root=args.data_root, progress=not args.no_progress, checkpoint=args.checkpoint,
                         command=command_line(parser.prog, argv), config_overrides={"input_size": args.image_size})
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps({k: v for k, v in manifest.items() if k.startswith("heldout_") or k in ("sha256", "train_time_s")},
                     indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
