"""Reed et al.'s char-CNN-RNN sentence embeddings as a zoo text encoder (``config["text_encoder"] = "char-cnn-rnn"``).

GAN-INT-CLS, StackGAN, StackGAN++ and HDGAN were trained on the 1024-d char-CNN-RNN embeddings
StackGAN released per split (``<root>/<split>/char-CNN-RNN-embeddings.pickle``, read by
:mod:`t2ibench.data.char_cnn_rnn`). The char-CNN-RNN network itself is not released in a form
this project can run (Torch7), so the encoder is a lookup: a caption of the dataset's ``train``
or ``test`` split -> the embedding precomputed for it; any other caption is refused with a clear
error (the embeddings exist only for the dataset's own captions).

It has the interface of :class:`models.common.text_encoder.FrozenTextEncoder`: its
``tokenizer`` maps a caption to one id (its row in the table; ``max_len`` 1), ``encode_ids``
returns ``sentence`` ``[N, 1024]`` with the same vector as the single "word" (``words`` ``[N,
1024, 1]``): the four models read only the sentence. ``weights`` is the dataset root (the folder
of the birds / flowers layout that holds the pickles); ``sha256`` hashes the two pickles.

Use it by overriding a model's config, e.g.::

    train_model("stackgan", "paper", dataset="cub", data_root=DATA, text_encoder_weights=DATA,
                overrides={"text_encoder": "char-cnn-rnn", "text_dim": 1024})
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from models.common.text_encoder import EncodedText, register_text_encoder
from t2ibench.data.char_cnn_rnn import EMBEDDINGS_FILE, EMBEDDING_DIM, CharCNNRNNLookup

SPLITS = ("train", "test")


class CaptionRowTokenizer:
    """Caption -> ``[row]`` of the embedding table; unknown captions are a ``ValueError``."""

    max_len = 1

    def __init__(self, rows: dict[str, int], dataset: str):
        self.rows, self.dataset = rows, dataset
        self.vocab_size = len(rows)

    def encode(self, text: str) -> list[int]:
        row = self.rows.get(str(text))
        if row is None:
            raise ValueError(f"char-CNN-RNN text encoder ({self.dataset}): no released embedding for the caption "
                             f"{str(text)[:80]!r}; the embeddings exist only for the captions of the dataset's "
                             f"{' and '.join(SPLITS)} splits (the first 10 of each image), not for new text")
        return [row]

    def batch(self, captions) -> tuple[torch.Tensor, torch.Tensor]:
        from t2ibench.validation import check_captions

        ids = torch.tensor([self.encode(c) for c in check_captions(captions)], dtype=torch.int64)
        return ids, torch.ones(len(ids), dtype=torch.int64)


class CharCNNRNNTextEncoder:
    """The released char-CNN-RNN embeddings of ``dataset`` (``cub`` or ``flowers``) under ``weights`` (its root)."""

    def __init__(self, dataset: str = "cub", weights=None, device="cpu"):
        from t2ibench.data import load_dataset
        from t2ibench.io import sha256_file

        if weights is None:
            raise ValueError(f"the char-CNN-RNN text encoder reads StackGAN's released embeddings: give the {dataset} "
                             f"data root (with train/{EMBEDDINGS_FILE} and test/{EMBEDDINGS_FILE}) as its weights "
                             f"(--text-encoder-weights DATA_ROOT)")
        self.path = Path(weights).expanduser()
        tables, rows, digest = [], {}, hashlib.sha256()
        for split in SPLITS:
            lookup = CharCNNRNNLookup(load_dataset(dataset, split=split, root=self.path))
            offset = sum(len(t) for t in tables)
            for caption, r in lookup.rows.items():
                rows.setdefault(caption, offset + r)
            tables.append(lookup.table)
            digest.update(sha256_file(self.path / split / EMBEDDINGS_FILE).encode())
        self.table = torch.cat(tables)
        if self.table.shape[1] != EMBEDDING_DIM:
            raise ValueError(f"char-CNN-RNN embeddings under {self.path} are {self.table.shape[1]}-d, "
                             f"not {EMBEDDING_DIM}")
        self.tokenizer = CaptionRowTokenizer(rows, dataset)
        self.sha256, self.dim, self.device = digest.hexdigest(), EMBEDDING_DIM, torch.device(device)
        self.backbone = "none: Reed et al.'s char-CNN-RNN embeddings as released by StackGAN (precomputed)"
        self.table = self.table.to(self.device)

    def to(self, device) -> "CharCNNRNNTextEncoder":
        self.device = torch.device(device)
        self.table = self.table.to(self.device)
        return self

    @torch.no_grad()
    def encode_ids(self, ids: torch.Tensor, lengths: torch.Tensor) -> EncodedText:
        sentence = self.table[ids[:, 0].to(self.device)]
        n = sentence.shape[0]
        return EncodedText(sentence, sentence[:, :, None], torch.zeros(n, 1, dtype=torch.bool, device=self.device),
                           torch.ones(n, dtype=torch.int64, device=self.device))

    def encode(self, captions) -> EncodedText:
        return self.encode_ids(*self.tokenizer.batch(list(captions)))

    def encode_each(self, captions) -> EncodedText:
        """The same as :meth:`encode`: a lookup does not depend on the rest of the batch."""
        return self.encode(captions)

    def describe(self) -> dict:
        return {"weights": f"char-CNN-RNN embeddings under {self.path}", "sha256": self.sha256, "dim": self.dim,
                "backbone": self.backbone}


register_text_encoder("char-cnn-rnn", CharCNNRNNTextEncoder)
