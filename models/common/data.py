"""Training batches for the zoo: augmented real images at every generator scale + one encoded caption each.

Pairs come from :class:`t2ibench.data.training_pairs.CaptionedTrainSet` (shared with the
evaluators): in each epoch every training image is paired with one of its captions, drawn
with a generator seeded by ``(seed, epoch)`` (AttnGAN draws a random caption per image and
epoch).

Augmentation (``config["train"]``; AttnGAN's ``main.py`` transform ``Resize(int(imsize · 76/64))``,
``RandomCrop(imsize)``, ``RandomHorizontalFlip()``): a real image file is resized so that its
**shorter side** is ``round(image_size · load_scale)`` (aspect ratio kept, PIL bicubic), then
a random ``image_size`` square is cropped and, with ``flip``, mirrored with probability ½.
Images already held as squares (``shapes``, a dataset without files) are resized to
``round(image_size · load_scale)`` and cropped the same way. The crop and flip of image ``i``
in epoch ``e`` come from a generator seeded by ``(seed, e, i)``, so a resumed run and any
number of workers see the same pixels. ``load_scale`` 1 and no flip is the identity. The
training image is then resized to each of the model's scales with antialiased bilinear
interpolation (the per-branch ``Resize`` of AttnGAN's ``get_imgs``) and scaled to [-1, 1].
On ``shapes`` the tiny configs keep flips off (its captions say left and right).

Decoding and augmentation run in ``workers`` DataLoader worker processes (0: in the
training process, the default for ``shapes``, whose images are in memory).

Extra inputs (a model's ``batch_extras``, :data:`BATCH_EXTRAS`): ``"boxes"`` — the dataset's
object boxes of each real image through the same resize, crop and flip, as fractions of the
training image ``[N, K, 4]`` (x0, y0, x1, y1; K the most boxes of an image in the batch) with
``box_labels [N, K]`` (index into the train split's sorted box labels; -1 pads).
"""
from __future__ import annotations

import torch

from models.common.gan import TrainBatch
from t2ibench.data.training_pairs import CaptionedTrainSet
from t2ibench.imageops import resize_antialiased

BATCH_EXTRAS = ("boxes",)
#: the data pipeline of every released trainer the zoo follows: load at 76/64 of the size, random crop,
#: random horizontal flip (GAN-INT-CLS ``loadSize`` 76 / ``fineSize`` 64, StackGAN's 76/304 px pickles,
#: StackGAN++/AttnGAN/DM-GAN ``Resize(imsize · 76/64)``, HDGAN's 304 px pickles), decoded off the
#: training loop in 4 worker processes (the ``WORKERS: 4`` of StackGAN's, AttnGAN's and DM-GAN's cfgs)
RELEASED_DATA_PIPELINE = {"load_scale": 76 / 64, "flip": True, "workers": 4}


def crop_generator(seed: int, epoch: int, index: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed) * 1_000_037 + 7_919 * int(epoch) + 104_729 * int(index) + 3)


class AugmentedImages(torch.utils.data.Dataset):
    """``[i] -> (uint8 [3, S, S], boxes float [K, 4] in [0, 1], labels [K])`` of the train split for one epoch."""

    def __init__(self, pairs: CaptionedTrainSet, image_size: int, load_scale: float = 1.0, flip: bool = False,
                 seed: int = 0, with_boxes: bool = False, box_vocab: dict | None = None):
        if load_scale < 1.0:
            raise ValueError(f"train.load_scale: expected a number >= 1, got {load_scale}")
        self.pairs, self.size, self.load_scale, self.flip = pairs, int(image_size), float(load_scale), bool(flip)
        self.seed, self.epoch, self.with_boxes, self.box_vocab = int(seed), 0, with_boxes, box_vocab or {}

    def __len__(self) -> int:
        return self.pairs.n

    def _source(self, i: int) -> torch.Tensor:
        """uint8 ``[3, h, w]`` with the shorter side at ``round(size · load_scale)`` (aspect kept)."""
        from t2ibench.data.image_files import RESAMPLE, to_uint8_tensor

        load = round(self.size * self.load_scale)
        source = getattr(self.pairs.dataset, "source_image", None)
        if source is not None and self.pairs.in_memory is None:
            img = source(i)
            w, h = img.size
            scale = load / min(w, h)
            return to_uint8_tensor(img.resize((max(load, round(w * scale)), max(load, round(h * scale))), RESAMPLE))
        x = self.pairs.images(torch.tensor([i]))[0]
        if load == x.shape[-1] == x.shape[-2]:
            return x
        return resize_antialiased(x[None].float(), load).round().to(torch.uint8)[0]

    def __getitem__(self, i: int):
        x = self._source(int(i))
        h, w = x.shape[-2:]
        g = crop_generator(self.seed, self.epoch, int(i))
        top = int(torch.randint(0, h - self.size + 1, (1,), generator=g))
        left = int(torch.randint(0, w - self.size + 1, (1,), generator=g))
        mirror = self.flip and bool(torch.rand(1, generator=g) < 0.5)
        x = x[:, top:top + self.size, left:left + self.size]
        if mirror:
            x = x.flip(-1)
        boxes, labels = torch.zeros(0, 4), torch.zeros(0, dtype=torch.long)
        if self.with_boxes:
            boxes, labels = self._boxes(int(i), w, h, top, left, mirror)
        return x.contiguous(), boxes, labels

    def _boxes(self, i, w, h, top, left, mirror):
        ds, s = self.pairs.dataset, self.pairs.dataset.image_size
        rows, labels = [], []
        for b in ds.boxes(i):  # dataset pixels of the square image: the same fractions of the source
            x0, x1 = (b.x0 / s * w - left) / self.size, (b.x1 / s * w - left) / self.size
            y0, y1 = (b.y0 / s * h - top) / self.size, (b.y1 / s * h - top) / self.size
            if mirror:
                x0, x1 = 1 - x1, 1 - x0
            x0, y0, x1, y1 = (min(max(v, 0.0), 1.0) for v in (x0, y0, x1, y1))
            if x1 > x0 and y1 > y0:
                rows.append([x0, y0, x1, y1])
                labels.append(self.box_vocab.get(b.label, -1))
        return torch.tensor(rows, dtype=torch.float32).reshape(-1, 4), torch.tensor(labels, dtype=torch.long)


def _collate(items):
    images = torch.stack([x for x, _, _ in items])
    k = max([len(b) for _, b, _ in items] + [0])
    boxes = torch.zeros(len(items), k, 4)
    labels = torch.full((len(items), k), -1, dtype=torch.long)
    for j, (_, b, lab) in enumerate(items):
        boxes[j, :len(b)], labels[j, :len(lab)] = b, lab
    return images, boxes, labels


class GANTrainingData:
    """The train split ``dataset`` prepared for a model whose generator outputs ``image_sizes``.

    ``train``: the model's ``config["train"]`` (``load_scale``, ``flip``, ``workers``);
    ``extras``: the model's ``batch_extras``.
    """

    def __init__(self, dataset, text_encoder, image_sizes, seed: int = 0, train: dict | None = None,
                 extras=()):
        train = train or {}
        unknown = set(extras) - set(BATCH_EXTRAS)
        if unknown:
            raise ValueError(f"batch_extras: unknown {sorted(unknown)}; known: {', '.join(BATCH_EXTRAS)}")
        self.pairs = CaptionedTrainSet(dataset, text_encoder.tokenizer, seed)
        self.text_encoder = text_encoder
        self.image_sizes = tuple(image_sizes)
        self.extras = tuple(extras)
        vocab = {}
        if "boxes" in self.extras:
            labels = sorted({b.label for i in range(len(dataset)) for b in dataset.boxes(i)})
            vocab = {lab: k for k, lab in enumerate(labels)}
        self.box_labels = list(vocab)
        self.images = AugmentedImages(self.pairs, self.image_sizes[-1], train.get("load_scale", 1.0),
                                      train.get("flip", False), seed, "boxes" in self.extras, vocab)
        self.workers = int(train.get("workers", 0))

    def __len__(self) -> int:
        return self.pairs.n

    def batches(self, index_batches, epoch: int, device, seed: int = 0):
        """Yield one :class:`TrainBatch` per index tensor of ``index_batches`` (images decoded and
        augmented in ``workers`` processes)."""
        self.images.epoch = int(epoch)
        lists = [b.tolist() for b in index_batches]
        if self.workers > 0 and lists:
            loader = torch.utils.data.DataLoader(self.images, batch_sampler=lists, num_workers=self.workers,
                                                 collate_fn=_collate, persistent_workers=False)
        else:
            loader = (_collate([self.images[i] for i in idx]) for idx in lists)
        for idx, (images, boxes, labels) in zip(index_batches, loader):
            yield self.batch(idx, epoch, device, images, boxes, labels)

    def batch(self, idx: torch.Tensor, epoch: int, device, images=None, boxes=None, labels=None) -> TrainBatch:
        if images is None:
            self.images.epoch = int(epoch)
            images, boxes, labels = _collate([self.images[int(i)] for i in idx])
        ids, lengths, classes = self.pairs.captions(idx, epoch)
        full = images.to(device).float() / 127.5 - 1.0
        scaled = [resize_antialiased(full, s, value_range=(-1.0, 1.0)) for s in self.image_sizes]
        extras = {"boxes": boxes.to(device), "box_labels": labels.to(device)} if "boxes" in self.extras else {}
        return TrainBatch(scaled, self.text_encoder.encode_ids(ids, lengths), torch.as_tensor(classes, device=device),
                          image_index=idx.to(device), extras=extras)
