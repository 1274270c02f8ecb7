"""Word tokenizer and vocabulary for the text encoders (DAMSM, VSE++, the CLIP stand-in).

Follows AttnGAN's preprocessing (``datasets.py``: ``RegexpTokenizer(r'\\w+')`` on the
lower-cased caption) with two stated differences:

- the vocabulary is built from the *training* captions only (AttnGAN counts train and test
  captions); words never seen in training map to ``<unk>`` (id 1), so test captions
  never leak into an evaluator;
- captions longer than ``max_len`` tokens (default 18, AttnGAN's ``TEXT.WORDS_NUM``) keep
  their *first* ``max_len`` tokens. AttnGAN keeps a random ordered subset during training;
  a deterministic rule is what evaluation needs.

Id 0 is ``<pad>`` (AttnGAN's ``<end>``). A caption with no word characters at all
(e.g. ``"!!!"``) encodes to ``[<unk>]`` so every caption has at least one token.

The vocabulary AttnGAN released with its DAMSM encoders is read and applied by
:mod:`t2ibench.data.attngan_vocab` (:class:`~t2ibench.data.attngan_vocab.AttnGANTokenizer`, on
the same :class:`IdTokenizer` interface), which follows AttnGAN's tokenisation exactly.
"""
from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

import torch

from t2ibench.io import write_json
from t2ibench.validation import check_captions

PAD, UNK = "<pad>", "<unk>"
WORDS_NUM = 18
_WORD = re.compile(r"\w+")


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens of ``text`` (NFKC-normalised, ``\\w+`` runs)."""
    if not isinstance(text, str):
        raise TypeError(f"caption: expected str, got {type(text).__name__}")
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower())


class IdTokenizer:
    """What the text encoders read from a tokenizer: ``encode(text) -> ids`` (never empty, at most
    ``max_len``), ``batch``, ``max_len`` and ``vocab_size``. Subclasses implement :meth:`encode` and
    set ``words`` (id -> word) and ``max_len``."""

    words: list[str]
    max_len: int

    @property
    def vocab_size(self) -> int:
        return len(self.words)

    def encode(self, text: str) -> list[int]:
        raise NotImplementedError

    def batch(self, captions: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(ids int64 [N, L], lengths int64 [N])``, right-padded with 0 to the longest caption."""
        captions = check_captions(captions)
        encoded = [self.encode(c) for c in captions]
        lengths = torch.tensor([len(e) for e in encoded], dtype=torch.int64)
        ids = torch.zeros(len(encoded), int(lengths.max()), dtype=torch.int64)
        for i, e in enumerate(encoded):
            ids[i, : len(e)] = torch.tensor(e)
        return ids, lengths


class Tokenizer(IdTokenizer):
    """Maps captions to padded id tensors. ``words[0] == "<pad>"``, ``words[1] == "<unk>"``."""

    def __init__(self, words: Sequence[str], max_len: int = WORDS_NUM):
        words = list(words)
        if words[:2] != [PAD, UNK] or len(set(words)) != len(words):
            raise ValueError("tokenizer words: expected a list of unique words starting with '<pad>', '<unk>'")
        if not isinstance(max_len, int) or max_len < 1:
            raise ValueError(f"max_len: expected a positive int, got {max_len!r}")
        self.words, self.max_len = words, max_len
        self.index = {w: i for i, w in enumerate(words)}

    @classmethod
    def build(cls, captions: Iterable[str], min_count: int = 1, max_len: int = WORDS_NUM) -> "Tokenizer":
        """A vocabulary of every word seen at least ``min_count`` times, most frequent first."""
        counts = Counter(w for c in captions for w in tokenize(c))
        words = sorted((w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
        return cls([PAD, UNK] + words, max_len)

    def encode(self, text: str) -> list[int]:
        """Ids of the first ``max_len`` tokens (``<unk>`` for unknown words; never empty)."""
        ids = [self.index.get(w, 1) for w in tokenize(text)[: self.max_len]]
        return ids or [1]

    def to_dict(self) -> dict:
        return {"words": self.words, "max_len": self.max_len}

    @classmethod
    def from_dict(cls, d: dict) -> "Tokenizer":
        if not isinstance(d, dict) or not isinstance(d.get("words"), list) or not all(
                isinstance(w, str) for w in d["words"]):
            raise ValueError("tokenizer: expected {'words': [str, ...], 'max_len': int}")
        return cls(d["words"], d.get("max_len", WORDS_NUM))

    def save(self, path) -> None:
        write_json(path, self.to_dict(), indent=None)

    @classmethod
    def load(cls, path) -> "Tokenizer":
        with open(path, encoding="utf-8") as f:
            return cls.from_dict(json.load(f))
