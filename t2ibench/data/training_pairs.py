"""Image-caption pairs of a training split, one caption per image and epoch.

Shared by every network trained on a dataset's ``train`` split (the DAMSM evaluator, the
zoo's GANs): captions are tokenised once; in epoch ``e`` image ``i`` is paired with caption
``choice(e)[i]``, drawn uniformly from its captions with a generator seeded by
``(seed, e)`` — so a resumed run sees the same pairs as an uninterrupted one.
"""
from __future__ import annotations

import torch


class CaptionedTrainSet:
    """Images and pre-tokenised captions of ``dataset`` (a loaded split) for ``tokenizer``."""

    def __init__(self, dataset, tokenizer, seed: int):
        self.dataset, self.seed = dataset, seed
        self.n = len(dataset)
        self.in_memory = dataset.images(range(self.n)) if getattr(dataset, "name", "") == "shapes" else None
        caps = [dataset.captions(i) for i in range(self.n)]
        self.n_caps = torch.tensor([len(c) for c in caps])
        if (self.n_caps < 1).any():
            raise ValueError("training split: every image needs at least one caption")
        self.offsets = torch.cumsum(torch.cat([torch.zeros(1, dtype=torch.long), self.n_caps[:-1]]), 0)
        flat = [t for c in caps for t in c]
        enc = [tokenizer.encode(t) for t in flat]
        self.lengths = torch.tensor([len(e) for e in enc])
        self.ids = torch.zeros(len(enc), tokenizer.max_len, dtype=torch.long)
        for k, e in enumerate(enc):
            self.ids[k, :len(e)] = torch.tensor(e)
        self.class_ids = dataset.class_ids().numpy()
        self._epoch, self._choice = -1, None

    def caption_choice(self, epoch: int) -> torch.Tensor:
        """Index (into each image's captions) of the caption paired with every image in ``epoch``."""
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(int(self.seed) * 1_000_003 + 7919 * int(epoch) + 17)
            self._choice = (torch.rand(self.n, generator=g) * self.n_caps).long().clamp_max(self.n_caps - 1)
            self._epoch = epoch
        return self._choice

    def images(self, idx: torch.Tensor) -> torch.Tensor:
        """uint8 ``[B, 3, H, W]`` of the images ``idx`` (kept in memory for ``shapes``)."""
        return self.in_memory[idx] if self.in_memory is not None else self.dataset.images(idx.tolist())

    def captions(self, idx: torch.Tensor, epoch: int):
        """``(ids [B, L], lengths [B], classes [B])`` of the captions paired with ``idx`` in ``epoch``;
        L is the longest of them. Without classes (all -1), or where the dataset's class ids do not
        mark interchangeable captions (``dataset.matching_classes`` False: COCO's class id is the
        category of its largest box), an image's own index is its class (AttnGAN's COCO setting,
        ``class_id = np.arange(N)``: only the pair itself is masked in the DAMSM loss)."""
        flat = self.offsets[idx] + self.caption_choice(epoch)[idx]
        lengths = self.lengths[flat]
        ids = self.ids[flat, :int(lengths.max())]
        classes = self.class_ids[idx.numpy()]
        if (classes < 0).all() or not getattr(self.dataset, "matching_classes", True):
            classes = idx.numpy()
        return ids, lengths, classes

    def batch(self, idx: torch.Tensor, epoch: int):
        """``(images, ids, lengths, classes)`` for the items ``idx`` in ``epoch``."""
        ids, lengths, classes = self.captions(idx, epoch)
        return self.images(idx), ids, lengths, classes
