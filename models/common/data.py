"""Training batches for the zoo: real images at every generator scale + one encoded caption each.

Pairs come from :class:`t2ibench.data.training_pairs.CaptionedTrainSet` (shared with the
evaluators): in each epoch every training image is paired with one of its captions, drawn
with a generator seeded by ``(seed, epoch)`` (AttnGAN draws a random caption per image and
epoch). Real images are resized to each of the model's scales with antialiased bilinear
interpolation (the per-branch ``Resize`` of AttnGAN's ``get_imgs``) and scaled to [-1, 1].
No flip augmentation: ``shapes`` captions say left and right.
"""
from __future__ import annotations

import torch

from models.common.gan import TrainBatch
from models.common.text_encoder import FrozenTextEncoder
from t2ibench.data.training_pairs import CaptionedTrainSet
from t2ibench.imageops import resize_antialiased


class GANTrainingData:
    """The train split ``dataset`` prepared for a model whose generator outputs ``image_sizes``."""

    def __init__(self, dataset, text_encoder: FrozenTextEncoder, image_sizes, seed: int = 0):
        self.pairs = CaptionedTrainSet(dataset, text_encoder.tokenizer, seed)
        self.text_encoder = text_encoder
        self.image_sizes = tuple(image_sizes)

    def __len__(self) -> int:
        return self.pairs.n

    def batch(self, idx: torch.Tensor, epoch: int, device) -> TrainBatch:
        ids, lengths, classes = self.pairs.captions(idx, epoch)
        full = self.pairs.images(idx).to(device).float() / 127.5 - 1.0
        images = [resize_antialiased(full, s, value_range=(-1.0, 1.0)) for s in self.image_sizes]
        return TrainBatch(images, self.text_encoder.encode_ids(ids, lengths),
                          torch.as_tensor(classes, device=device))
