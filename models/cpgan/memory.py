"""The memory of CPGAN's Memory-Attended Text Encoder (Liang, Pei, Lu, ECCV 2020, Sec. 3.2.1, Eq. 7), built
once by a pass over the training split (:func:`build_memory`, run by ``python -m models.cpgan.encoders``).

For every word ``r`` of the vocabulary, its relevant images are the training images whose captions contain
it (N of them). In each relevant image ``n``, the regions ``i`` (at most 36) have features ``v_{i,n}`` and an
attention weight ``a_{i,n}`` of the word on them; the most salient region is ``q_n = argmax_i a_{i,n}``, and

    m_r = Σ_n a_{q_n,n} v_{q_n,n} / Σ_n a_{q_n,n}                                          (Eq. 7)

over the top-K most relevant images only ("to avoid potential feature pollution"): those with the largest
``a_{q_n,n}`` (K, ``memory_top_k``, "tuned on the validation set" in the paper, which does not give it; 50
here). A word without relevant images (``<pad>``, ``<unk>``) keeps a zero memory.

**Regions** of the real training images (:func:`collect_regions`, ``memory_regions``):

- ``"boxes"``: the dataset's ground-truth boxes and labels (allowed for *real* images; shapes and coco have
  them), at most 36 (the largest first), confidence 1;
- ``"detector"``: the stand-in detector's boxes, confidences and label probabilities
  (:mod:`models.cpgan.detector`);
- ``"file"``: a user's detections file — the real-data route for YOLOv3 (whose darknet weights cannot be
  loaded here); format in :func:`read_detections`.

Region features ``v`` are always the detector's RoIAlign features at the boxes (the stand-in for YOLOv3's
1024-d region features).

**Attention** ``a_{i,n}`` (:func:`salience`): the paper measures it with the pretrained Bottom-Up and
Top-Down attention captioner (Anderson et al. 2018), which cannot be loaded here. The stand-in is a count
model of the training pairs: how much more often region label ``ℓ`` occurs in images whose captions contain
word ``r`` than in all images, ``lift[ℓ, r] = P(ℓ | r) / P(ℓ)`` (:func:`word_label_lift`; synonyms such as
"crimson" for red objects get their lift from the data); a region's score for the word is its confidence
times its expected lift, ``u_{i,r} = c_i Σ_ℓ p_i(ℓ) lift[ℓ, r]``, normalised over the image's regions like an
attention, ``a_{i,n} = u_{i,r} / Σ_j u_{j,r}`` (uniform when all are 0).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

DETECTIONS_FORMAT = "cpgan-detections-v1"
MEMORY_SOURCES = ("boxes", "detector", "file")


@dataclass
class Regions:
    """Regions of every image of a split: per image ``features [R_n, D]``, ``label_probs [R_n, L]`` over
    ``labels`` and ``scores [R_n]`` (confidences)."""

    features: list[torch.Tensor]
    label_probs: list[torch.Tensor]
    scores: list[torch.Tensor]
    labels: list[str]


# ----------------------------------------------------------------------------- Eq. 7
def word_label_lift(label_presence: torch.Tensor, words: torch.Tensor) -> torch.Tensor:
    """``lift [L, V] = P(ℓ | r) / P(ℓ)`` from the presence of each label in each image (``[n, L]`` in [0, 1]:
    the largest ``confidence · p(ℓ)`` over its regions) and the words of each image's captions (``[n, V]``
    bool); 0 for a word in no image or a label in none."""
    words, presence = words.double(), label_presence.double()
    given_word = (presence.t() @ words) / words.sum(0).clamp_min(1)          # P(ℓ | r)  [L, V]
    prior = presence.mean(0)                                                  # P(ℓ)      [L]
    lift = given_word / prior.clamp_min(1e-12)[:, None]
    return torch.where(prior[:, None] > 0, lift, torch.zeros_like(lift)).float()


def salience(label_probs: torch.Tensor, scores: torch.Tensor, lift: torch.Tensor) -> torch.Tensor:
    """``a [R, V]``: the attention of every word on the ``R`` regions of one image (module docstring):
    ``u = c · (p @ lift)`` normalised over the regions (uniform where all are 0)."""
    u = scores[:, None] * (label_probs @ lift)
    total = u.sum(0, keepdim=True)
    uniform = torch.full_like(u, 1.0 / max(u.shape[0], 1))
    return torch.where(total > 0, u / total.clamp_min(1e-12), uniform)


def memory_from_salience(features: list[torch.Tensor], attention: list[torch.Tensor], relevant: torch.Tensor,
                         top_k: int, chunk: int = 256) -> torch.Tensor:
    """Eq. 7 for every word: ``memory [V, D]`` from each image's region ``features [R_n, D]`` and word
    attention ``[R_n, V]`` and ``relevant [n, V]`` (bool: the word is in the image's captions). For word ``r``:
    ``q_n = argmax_i a_{i,n}``; the ``top_k`` relevant images with the largest ``a_{q_n,n}`` (images without
    regions never count); ``m_r = Σ a_{q_n,n} v_{q_n,n} / Σ a_{q_n,n}`` over them (0 without any)."""
    if top_k < 1:
        raise ValueError(f"memory_top_k: expected an int >= 1, got {top_k!r}")
    n_words, dim = relevant.shape[1], next((f.shape[1] for f in features if f.dim() == 2), 0)
    best_a = torch.full((0, n_words), float("-inf"))
    best_v = torch.zeros(0, n_words, dim)
    for start in range(0, len(features), chunk):
        feats, attn = features[start:start + chunk], attention[start:start + chunk]
        r_max = max([f.shape[0] for f in feats] + [1])
        a = torch.full((len(feats), r_max, n_words), -1.0)                    # padding is never the argmax
        v = torch.zeros(len(feats), r_max, dim)
        for j, (f, w) in enumerate(zip(feats, attn)):
            a[j, :len(f)], v[j, :len(f)] = w.float(), f.float()
        a_q, q = a.max(dim=1)                                                 # [B, V]
        v_q = v.gather(1, q[..., None].expand(-1, -1, dim))                  # [B, V, D]
        usable = relevant[start:start + chunk].bool() & (a_q >= 0)
        a_q = torch.where(usable, a_q, torch.full_like(a_q, float("-inf")))
        all_a, all_v = torch.cat([best_a, a_q]), torch.cat([best_v, v_q])
        keep = all_a.topk(min(top_k, len(all_a)), dim=0).indices             # [K, V]
        best_a, best_v = all_a.gather(0, keep), all_v.gather(0, keep[..., None].expand(-1, -1, dim))
    weight = torch.where(torch.isfinite(best_a), best_a, torch.zeros_like(best_a)).double()
    total = weight.sum(0)
    memory = (weight[..., None] * best_v.double()).sum(0) / total.clamp_min(1e-12)[:, None]
    return torch.where(total[:, None] > 0, memory, torch.zeros_like(memory)).float()


# ----------------------------------------------------------------------------- the pass over the training split
def caption_words(dataset, tokenizer) -> torch.Tensor:
    """``[n, V]`` bool: the vocabulary words (not ``<pad>``/``<unk>``) of every caption of each image."""
    words = torch.zeros(len(dataset), tokenizer.vocab_size, dtype=torch.bool)
    for i in range(len(dataset)):
        for caption in dataset.captions(i):
            words[i, tokenizer.encode(caption)] = True
    words[:, :2] = False
    return words


def read_detections(path, dataset, max_regions: int = 36) -> tuple[list[tuple[torch.Tensor, list[str], torch.Tensor]],
                                                                      list[str]]:
    """A user's detections of the real training images (YOLOv3's, say) — the real-data route of the memory::

        {"format": "cpgan-detections-v1",
         "images": {"<image key, dataset.key(i)>": [{"box": [x0, y0, x1, y1], "label": "dog", "score": 0.93}, ...],
                    ...}}

    ``box``: corners as fractions of the image's width and height (YOLOv3's pixel boxes divided by the image
    size), ``x0 < x1``, ``y0 < y1``; ``score``: the detection confidence in [0, 1]; at most ``max_regions``
    of the highest scores are kept per image; an image missing from the file has no regions. Returns per
    dataset image ``(boxes [R, 4], labels, scores [R])`` and the sorted label names. Problems are a
    ``ValueError`` naming the file and the entry."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"detections file {path}: unreadable ({e})") from e
    if (not isinstance(data, dict) or data.get("format") != DETECTIONS_FORMAT
            or not isinstance(data.get("images"), dict)):
        raise ValueError(f"detections file {path}: expected {{\"format\": \"{DETECTIONS_FORMAT}\", \"images\": "
                         f"{{key: [{{\"box\", \"label\", \"score\"}}, ...]}}}}")
    out, labels = [], set()
    for i in range(len(dataset)):
        entries = data["images"].get(dataset.key(i), [])
        rows = []
        for k, e in enumerate(entries if isinstance(entries, list) else [None]):
            box = e.get("box") if isinstance(e, dict) else None
            ok = (isinstance(box, list) and len(box) == 4 and all(isinstance(v, (int, float)) for v in box)
                  and 0 <= box[0] < box[2] <= 1 and 0 <= box[1] < box[3] <= 1 and isinstance(e.get("label"), str)
                  and isinstance(e.get("score"), (int, float)) and 0 <= e["score"] <= 1)
            if not ok:
                raise ValueError(f"detections file {path}: image {dataset.key(i)!r} entry {k}: expected "
                                 f"{{\"box\": [x0, y0, x1, y1] fractions with x0 < x1, y0 < y1, \"label\": str, "
                                 f"\"score\": a number in [0, 1]}}, got {e!r:.200}")
            rows.append((float(e["score"]), box, e["label"]))
        rows = sorted(rows, key=lambda r: -r[0])[:max_regions]
        labels.update(r[2] for r in rows)
        out.append((torch.tensor([r[1] for r in rows], dtype=torch.float32).reshape(-1, 4), [r[2] for r in rows],
                    torch.tensor([r[0] for r in rows], dtype=torch.float32)))
    return out, sorted(labels)


def _ground_truth_regions(dataset, max_regions: int):
    from models.cpgan.detector import box_labels, ground_truth

    labels = box_labels(dataset)
    index = {lab: k for k, lab in enumerate(labels)}
    out = []
    for i in range(len(dataset)):
        boxes, lab = ground_truth(dataset, i, index)
        order = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).argsort(descending=True, stable=True)
        order = order[:max_regions]
        out.append((boxes[order], [labels[k] for k in lab[order].tolist()], torch.ones(len(order))))
    return out, labels


@torch.no_grad()
def collect_regions(dataset, detector, source: str = "boxes", detections=None, max_regions: int = 36,
                    batch_size: int = 100, progress: bool = False) -> Regions:
    """The regions of every image of ``dataset`` (real training images) from ``source`` (module docstring),
    with the ``detector``'s RoIAlign features at the boxes."""
    from tqdm.auto import tqdm

    if source not in MEMORY_SOURCES:
        raise ValueError(f"memory_regions: expected one of {', '.join(MEMORY_SOURCES)}, got {source!r}")
    if source == "file" and detections is None:
        raise ValueError("memory_regions 'file' needs a detections file (--detections FILE)")
    given, labels = (None, detector.labels)
    if source == "boxes":
        given, labels = _ground_truth_regions(dataset, max_regions)
    elif source == "file":
        given, labels = read_detections(detections, dataset, max_regions)
    index = {lab: k for k, lab in enumerate(labels)}
    device = next(detector.parameters()).device
    feats, probs, scores = [], [], []
    for start in tqdm(range(0, len(dataset), batch_size), desc="memory regions", disable=not progress, leave=False):
        idx = list(range(start, min(start + batch_size, len(dataset))))
        x = dataset.images(idx).to(device).float() / 127.5 - 1.0
        fmap = detector.features(x)
        if given is None:
            det = detector.detect(x, fmap=fmap)
            boxes, valid = det.boxes, det.valid
            p_all, s_all = det.label_probs, det.scores
        else:
            r = max([len(given[i][0]) for i in idx] + [1])
            boxes, valid = torch.zeros(len(idx), r, 4, device=device), torch.zeros(len(idx), r, dtype=torch.bool,
                                                                                    device=device)
            p_all, s_all = torch.zeros(len(idx), r, len(labels), device=device), torch.zeros(len(idx), r, device=device)
            for j, i in enumerate(idx):
                b, names, s = given[i]
                k = len(b)
                boxes[j, :k], valid[j, :k], s_all[j, :k] = b.to(device), True, s.to(device)
                p_all[j, torch.arange(k, device=device),
                      torch.tensor([index[n] for n in names], dtype=torch.long, device=device)] = 1.0
        f = detector.region_features(fmap, boxes, valid)
        for j in range(len(idx)):
            keep = valid[j]
            feats.append(f[j][keep].cpu())
            probs.append(p_all[j][keep].cpu())
            scores.append(s_all[j][keep].cpu())
    return Regions(feats, probs, scores, list(labels))


def build_memory(dataset, tokenizer, detector, source: str = "boxes", detections=None, top_k: int = 50,
                 max_regions: int = 36, progress: bool = False) -> tuple[torch.Tensor, dict]:
    """The memory ``[V, D]`` of Eq. 7 over the training split ``dataset`` for ``tokenizer``'s vocabulary,
    and a summary for the manifest (region source, labels, K, how many words got a memory)."""
    regions = collect_regions(dataset, detector, source, detections, max_regions, progress=progress)
    words = caption_words(dataset, tokenizer)
    presence = torch.stack([(s[:, None] * p).max(0).values if len(p) else torch.zeros(len(regions.labels))
                            for p, s in zip(regions.label_probs, regions.scores)])
    lift = word_label_lift(presence, words)
    attention = [salience(p, s, lift) for p, s in zip(regions.label_probs, regions.scores)]
    memory = memory_from_salience(regions.features, attention, words, top_k)
    summary = {"memory_regions": source, "memory_top_k": top_k, "region_labels": len(regions.labels),
               "regions_per_image": round(sum(len(f) for f in regions.features) / max(len(dataset), 1), 3),
               "words_with_memory": int((memory.abs().sum(1) > 0).sum()), "vocab_size": tokenizer.vocab_size}
    return memory, summary
