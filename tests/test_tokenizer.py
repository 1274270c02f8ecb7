"""Tokenizer: AttnGAN's \\w+ tokenisation, train-only vocabulary, unknown words, truncation."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings, strategies as st

from t2ibench.data.tokenizer import PAD, UNK, Tokenizer, tokenize


def test_tokenize_matches_attngan_regexp():
    assert tokenize("A Red-Circle, on the LEFT!") == ["a", "red", "circle", "on", "the", "left"]


def test_vocabulary_is_frequency_ordered_and_unknown_words_map_to_unk():
    tok = Tokenizer.build(["a red circle", "a blue circle", "a red square"])
    assert tok.words[:2] == [PAD, UNK] and tok.words[2:5] == ["a", "circle", "red"]
    assert tok.encode("a purple circle") == [tok.index["a"], 1, tok.index["circle"]]
    assert tok.encode("!!!") == [1]  # never empty


def test_captions_longer_than_max_len_keep_their_first_tokens():
    tok = Tokenizer.build(["w%d" % i for i in range(30)], max_len=18)
    ids, lengths = tok.batch([" ".join("w%d" % i for i in range(30)), "w3"])
    assert ids.shape == (2, 18) and lengths.tolist() == [18, 1]
    assert ids[0].tolist() == [tok.index["w%d" % i] for i in range(18)]
    assert ids[1, 1:].eq(0).all()


def test_round_trip_and_bad_input(tmp_path):
    tok = Tokenizer.build(["a red circle"], max_len=5)
    tok.save(tmp_path / "t.json")
    again = Tokenizer.load(tmp_path / "t.json")
    assert again.words == tok.words and again.max_len == 5
    with pytest.raises(ValueError, match="starting with '<pad>', '<unk>'"):
        Tokenizer(["a", "b"])
    with pytest.raises(TypeError, match=r"captions\[0\]: expected str"):
        tok.batch([b"bytes"])
    with pytest.raises(ValueError, match="no captions"):
        tok.batch([])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=60).filter(lambda s: s.strip()), min_size=1, max_size=8))
def test_any_caption_encodes_to_valid_ids(captions):
    tok = Tokenizer.build(["a red circle on a blue square"], max_len=7)
    ids, lengths = tok.batch(captions)
    assert ids.dtype == torch.int64 and ids.min() >= 0 and ids.max() < tok.vocab_size
    assert (lengths >= 1).all() and (lengths <= 7).all()
