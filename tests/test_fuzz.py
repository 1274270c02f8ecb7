"""Property-based fuzzing of the input boundaries: tokenizer, caption files, safe pickles,
shapes caption templates and the validators in ``t2ibench.validation``.

Every test states its property in its docstring. Files are written into one folder per
module (hypothesis does not mix with function-scoped ``tmp_path``).
"""
from __future__ import annotations

import contextlib
from pathlib import PurePosixPath, PureWindowsPath
import pickle
import re
import sys
import tracemalloc
import unicodedata
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from t2ibench.data.image_files import read_caption_file
from t2ibench.data.safe_pickle import load_filenames, load_pickle
from t2ibench.data.shapes_captions import N_CAPTIONS, make_captions, mentions
from t2ibench.data.shapes_render import NUM_CLASSES, sample_scene, scene_rng
from t2ibench.data.tokenizer import PAD, UNK, Tokenizer, tokenize
from t2ibench.validation import check_captions, check_features, check_images, check_uint8_images

FAST = settings(max_examples=60, deadline=None)

# -- strategies ----------------------------------------------------------------------------

#: characters that stress Unicode handling: emoji (with ZWJ and a skin-tone modifier), combining
#: marks, RTL text and overrides, compatibility forms NFKC rewrites, case oddities, line breaks
#: other than "\n", BOM / replacement characters and C0/C1 controls.
TRICKY = list("😀👩\u200d👩\u200d👧👍🏽e\u0301\u0308\u20dd\u05e9\u05dc\u05d5\u05dd\u0645\u0631\u062d\u0628\u0627"
              "\u202e\u200f\ufb01\u2163\uff21\uff41\u2460\u00bd\u210c\u1e9e\u0130\u03a3\u00df\u01c5"
              "\n\r\t\x0b\x0c\x1c\x85\u2028\u2029\ufeff\ufffd\x00\x7f\x9f\u3000\u00a0_-!?.,")
#: any code point, lone surrogates included
ANY_CHAR = st.characters(exclude_categories=())
TEXT = st.text(st.one_of(ANY_CHAR, st.sampled_from(TRICKY)), max_size=40)
LONG_TEXT = st.builds(lambda s, n: s * n, st.text(st.sampled_from(TRICKY + list("ab cd")), min_size=1, max_size=8),
                      st.integers(50, 400))
CAPTION = st.one_of(TEXT, LONG_TEXT, st.sampled_from(["", " ", "!!!", "\u0301\u0301", "😀", "\ufeff"]))
NOT_STR = st.one_of(st.none(), st.integers(), st.floats(), st.binary(max_size=8),
                    st.lists(st.text(max_size=3), max_size=2), st.builds(bytearray, st.binary(max_size=4)))
NAME = st.sampled_from(["images", "fake", "captions", "prompts", "features", "real_feats"])


def _is_surrogate(ch: str) -> bool:
    return 0xD800 <= ord(ch) <= 0xDFFF


def _usable_caption(c: str) -> bool:
    """A caption ``check_captions`` must accept: some non-space character, no lone surrogate."""
    return any(not ch.isspace() for ch in c) and not any(_is_surrogate(ch) for ch in c)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


# -- tokenizer -----------------------------------------------------------------------------

@FAST
@given(text=CAPTION)
def test_tokens_are_lowercase_nfkc_word_runs(text):
    """``tokenize`` never raises on a str; each token is a non-empty run of word characters that is
    lower-case and NFKC-stable, and tokenising is idempotent (tokens re-tokenise to themselves)."""
    for token in tokenize(text):
        assert isinstance(token, str) and re.fullmatch(r"\w+", token)
        assert token == token.lower()
        assert unicodedata.normalize("NFKC", token) == token
        assert tokenize(token) == [token]


@FAST
@given(train=st.lists(CAPTION, max_size=8), probes=st.lists(CAPTION, max_size=4),
       min_count=st.integers(1, 3), max_len=st.integers(1, 20))
def test_encode_ids_in_range_and_never_empty(train, probes, min_count, max_len):
    """Every caption encodes to 1..max_len ids in [1, vocab_size) (never <pad>); a known token maps
    to its own word, an unknown one to <unk>, and a caption without word characters to [<unk>]."""
    tok = Tokenizer.build(train, min_count=min_count, max_len=max_len)
    assert tok.words[:2] == [PAD, UNK] and len(set(tok.words)) == tok.vocab_size
    for caption in train + probes:
        ids, tokens = tok.encode(caption), tokenize(caption)
        assert 1 <= len(ids) <= max_len
        assert all(isinstance(i, int) and 1 <= i < tok.vocab_size for i in ids)
        if not tokens:
            assert ids == [1]
        for i, token in zip(ids, tokens):
            assert (tok.words[i] == token) if i != 1 else (token not in tok.index)
        if min_count == 1 and caption in train:
            assert 1 not in ids or not tokens


@FAST
@given(captions=st.lists(CAPTION, min_size=1, max_size=6), max_len=st.integers(1, 20))
def test_batch_pads_consistently_or_names_the_bad_caption(captions, max_len):
    """``batch`` accepts exactly the usable captions; it returns int64 ids [N, max length] whose
    row i is ``encode(captions[i])`` followed by zeros, and lengths equal to the encoded lengths.
    Otherwise a ValueError names the first unusable caption (``captions[i]``)."""
    tok = Tokenizer.build(captions, max_len=max_len)
    bad = [i for i, c in enumerate(captions) if not _usable_caption(c)]
    if bad:
        with pytest.raises(ValueError, match=rf"^captions\[{bad[0]}\]: "):
            tok.batch(captions)
        return
    ids, lengths = tok.batch(captions)
    encoded = [tok.encode(c) for c in captions]
    assert ids.dtype == lengths.dtype == torch.int64
    assert lengths.tolist() == [len(e) for e in encoded]
    assert ids.shape == (len(captions), max(map(len, encoded)))
    for row, e in zip(ids.tolist(), encoded):
        assert row == e + [0] * (ids.shape[1] - len(e))


@FAST
@given(train=st.lists(CAPTION, max_size=8), probes=st.lists(CAPTION, max_size=4), max_len=st.integers(1, 20))
def test_vocabulary_round_trips_through_dict_and_file(folder, train, probes, max_len):
    """``from_dict(to_dict())`` and ``save``/``load`` give the same words, max_len and encodings."""
    tok = Tokenizer.build(train, max_len=max_len)
    tok.save(folder / "tokenizer.json")
    for again in (Tokenizer.from_dict(tok.to_dict()), Tokenizer.load(folder / "tokenizer.json")):
        assert again.words == tok.words and again.max_len == tok.max_len
        assert [again.encode(c) for c in train + probes] == [tok.encode(c) for c in train + probes]


@FAST
@given(value=NOT_STR, before=st.lists(st.text(st.characters(categories=["L"]), min_size=1), max_size=3))
def test_non_str_caption_is_a_type_error_naming_it(value, before):
    """A caption that is not a str raises TypeError naming it: ``caption`` from ``tokenize`` /
    ``encode`` / ``build``, ``captions[i]`` from ``batch``."""
    tok = Tokenizer.build(before)
    for call in (tokenize, tok.encode, lambda v: Tokenizer.build(before + [v])):
        with pytest.raises(TypeError, match=r"^caption: expected str"):
            call(value)
    with pytest.raises(TypeError, match=rf"^captions\[{len(before)}\]: expected str"):
        tok.batch(before + [value])


# -- caption files -------------------------------------------------------------------------

def _reference_captions(text: str) -> list[str]:
    """Caption lines as the docstring defines them: every U+FEFF dropped, each "\\ufffd\\ufffd" pair
    read as a space, lines ended by "\\r\\n", "\\r" or "\\n" (Python's universal newlines), each
    stripped, blank ones dropped."""
    text = text.replace("\ufeff", "").replace("\ufffd\ufffd", " ")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return [line.strip() for line in lines if line.strip()]


LINES_TEXT = st.lists(TEXT.filter(lambda s: not any(map(_is_surrogate, s))), max_size=6).flatmap(
    lambda lines: st.sampled_from(["\n", "\r\n", "\r"]).map(lambda eol: eol.join(lines)))


def _read(path):
    """``read_caption_file(path)``, asserting it raises nothing but a ValueError that names the file."""
    try:
        return read_caption_file(path)
    except ValueError as e:
        assert str(path) in str(e)
        raise


@FAST
@given(data=st.binary(max_size=200))
def test_caption_file_of_any_bytes_gives_captions_or_value_error(folder, data):
    """Any bytes: either a non-empty list of stripped, non-empty, single-line str captions, or a
    ValueError naming the file (invalid UTF-8 says "UTF-8")."""
    path = folder / "bytes.txt"
    path.write_bytes(data)
    try:
        captions = _read(path)
    except ValueError as e:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            assert "UTF-8" in str(e)
        return
    assert captions and all(isinstance(c, str) and c and c == c.strip() for c in captions)
    assert not any("\n" in c or "\r" in c for c in captions)


@FAST
@given(text=st.one_of(TEXT.filter(lambda s: not any(map(_is_surrogate, s))), LINES_TEXT), bom=st.booleans())
def test_caption_file_of_utf8_text_is_read_line_by_line(folder, text, bom):
    """Valid UTF-8 text (with or without a BOM) gives exactly the reference caption lines, or
    a ValueError naming the file when it holds no caption."""
    path = folder / "text.txt"
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    expected = _reference_captions(text)
    if not expected:
        with pytest.raises(ValueError, match="holds no caption"):
            _read(path)
        return
    assert _read(path) == expected


@FAST
@given(good=LINES_TEXT, bad=st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xe2\x82", b"\xc0\xaf"]))
def test_caption_file_with_invalid_utf8_is_refused(folder, good, bad):
    """UTF-8 text with an invalid byte sequence inside raises ValueError naming the file and UTF-8."""
    path = folder / "invalid.txt"
    path.write_bytes(good.encode("utf-8") + bad + b" a bird\n")
    with pytest.raises(ValueError, match="not valid UTF-8"):
        _read(path)


# -- safe pickles ----------------------------------------------------------------------------

ALLOWED = (str, bytes, list, tuple, dict, int, float, bool, type(None))
_RAN: list[str] = []


def _ran(what: str) -> None:
    """Importable callable a hostile pickle names; it must never run."""
    _RAN.append(what)


class _Hostile:
    """Pickles as a call of :func:`_ran`."""

    def __reduce__(self):
        return _ran, ("called while loading",)


def _plain_leaves(protocol: int):
    """Leaves that round-trip at ``protocol``: bytes only from protocol 3 on (module docstring), ints
    of more than 4300 digits (``sys.get_int_max_str_digits``) only from the binary protocol 2 on."""
    leaves = [st.none(), st.booleans(), st.integers(), st.floats(), st.text(ANY_CHAR, max_size=8)]
    huge = [st.integers(4300, 4400).map(lambda n: -(10 ** n))] if protocol >= 2 else []
    return st.one_of(leaves + huge + ([st.binary(max_size=8)] if protocol >= 3 else []))


def _plain(protocol: int):
    """Arbitrary nested lists, tuples and dicts (hashable keys) of admitted leaves."""
    leaves = _plain_leaves(protocol)
    keys = st.recursive(leaves, lambda k: st.tuples(k, k), max_leaves=3)
    return st.recursive(leaves, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(keys, inner, max_size=4)), max_leaves=12)


PLAIN = st.integers(0, pickle.HIGHEST_PROTOCOL).flatmap(lambda p: st.tuples(st.just(p), _plain(p)))
FOREIGN = st.sampled_from([_Hostile(), {1, 2}, frozenset(), bytearray(b"ab"), complex(1, 2), range(3), print,
                           [b"bytes-at-protocol-2"]])
#: hand-written hostile pickles: os.system("true"), eval("1"), and a global of the module ``this``
#: (never imported otherwise; importing it prints the Zen of Python)
HOSTILE = st.sampled_from([b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94\x93\x8c\x04true\x94\x85\x94R\x94.",
                           b"cbuiltins\neval\n(S'1'\ntR.", b"cthis\nd\n."])


@st.composite
def _mangled_pickle(draw) -> bytes:
    """A pickle of plain, foreign or hostile objects, kept or truncated, overwritten or spliced with
    random bytes."""
    protocol, obj = draw(PLAIN)
    foreign = st.builds(pickle.dumps, st.one_of(FOREIGN, st.lists(FOREIGN, max_size=2)),
                        protocol=st.integers(0, pickle.HIGHEST_PROTOCOL))
    data = draw(st.one_of(st.just(pickle.dumps(obj, protocol=protocol)), foreign, HOSTILE))
    i = draw(st.integers(0, len(data)))
    how = draw(st.sampled_from(["keep", "truncate", "overwrite", "insert"]))
    junk = draw(st.binary(min_size=1, max_size=4))
    return {"keep": data, "truncate": data[:i], "overwrite": data[:i] + junk + data[i + len(junk):],
            "insert": data[:i] + junk + data[i:]}[how]


def _walk(obj):
    """Every object reachable from ``obj`` through lists, tuples and dict keys/values."""
    stack, seen = [obj], set()
    while stack:
        item = stack.pop()
        yield item
        if isinstance(item, (list, tuple, dict)) and id(item) not in seen:
            seen.add(id(item))
            stack.extend(item.keys() if isinstance(item, dict) else ())
            stack.extend(item.values() if isinstance(item, dict) else item)


def _load_safely(fn, path):
    """``fn(path)`` (load_pickle / load_filenames), asserting that nothing but a ValueError naming the
    file comes out and that no callable named by the pickle ran and no module was imported."""
    modules, ran = set(sys.modules), len(_RAN)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return fn(path)
    except ValueError as e:
        assert str(path) in str(e)
        raise
    finally:
        assert len(_RAN) == ran and set(sys.modules) == modules


@settings(FAST, max_examples=150)
@given(data=st.one_of(st.binary(max_size=64), _mangled_pickle()))
def test_pickle_of_any_bytes_loads_plain_data_or_value_error(folder, data):
    """Any bytes (random, or a mangled pickle of plain or hostile objects): ``load_pickle`` returns
    only admitted plain types, or raises ValueError naming the file; ``load_filenames`` returns a
    list of str or raises ValueError; nothing named in the pickle is imported or called."""
    path = folder / "any.pickle"
    path.write_bytes(data)
    with contextlib.suppress(ValueError):  # _load_safely checked that the error names the file
        assert all(type(item) in ALLOWED for item in _walk(_load_safely(load_pickle, path)))
    try:
        names = _load_safely(load_filenames, path)
    except ValueError:
        return
    assert isinstance(names, list) and all(isinstance(n, str) for n in names)


@FAST
@given(case=PLAIN)
def test_plain_pickle_round_trips(folder, case):
    """A pickle (any protocol) of nested plain containers loads back identical: same types, values,
    NaNs and signed zeros (compared through a re-pickling)."""
    protocol, obj = case
    path = folder / "plain.pickle"
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    assert pickle.dumps(_load_safely(load_pickle, path), protocol=protocol) == pickle.dumps(obj, protocol=protocol)


@settings(FAST, max_examples=10)
@given(depth=st.integers(500, 3000), width=st.integers(500, 3000))
def test_deep_pickle_loads_in_memory_linear_in_its_size(folder, depth, width):
    """A pickle of ``depth`` nested lists whose innermost holds ``width`` Nones (a few kB) loads
    with a peak of traced memory linear in depth + width, not in depth x width."""
    path = folder / "deep.pickle"
    path.write_bytes(b"\x80\x02" + b"]" * depth + b"(" + b"N" * width + b"e" + b"a" * (depth - 1) + b".")
    tracemalloc.start()
    try:
        obj = _load_safely(load_pickle, path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000 + 1000 * (depth + width)
    for _ in range(depth - 1):
        obj = obj[0]
    assert obj == [None] * width


NAME_CHARS = st.sampled_from(list("ab_.-/\\: \r\n\t\x00\x7f\x85\x9f\u00e9\u2028"))
FILE_NAME = st.one_of(st.text(NAME_CHARS, max_size=8), st.sampled_from(["..", "a/../b", "C:x", "/abs", "a\r", "a\r\r"]),
                      st.builds(lambda a, b: f"{a}/{b}", st.text(st.characters(categories=["L", "N"]), min_size=1),
                                st.text(st.characters(categories=["L", "N"]), min_size=1)))


def _good_name(name) -> bool:
    """A relative image name as ``load_filenames`` documents it (after dropping one stray "\\r"), from the
    spec rather than the code: no Unicode control character (category Cc), not absolute and no ``..``
    part as a POSIX or a Windows path."""
    if not isinstance(name, str):
        return False
    name = name[:-1] if name.endswith("\r") else name
    paths = (PurePosixPath(name), PureWindowsPath(name))
    return (bool(name.strip()) and not any(unicodedata.category(c) == "Cc" for c in name)
            and not any(p.is_absolute() or p.anchor for p in paths) and not any(".." in p.parts for p in paths))


def _names_case(protocol: int):
    """(protocol, entries): names good and bad, plus non-str entries (huge ints only from protocol 2)."""
    huge = [st.just(-(10 ** 5000))] if protocol >= 2 else []
    entries = st.one_of(FILE_NAME, FILE_NAME, st.none(), st.integers(), *huge)
    return st.tuples(st.just(protocol), st.lists(entries, max_size=5))


@FAST
@given(case=st.integers(0, pickle.HIGHEST_PROTOCOL).flatmap(_names_case), as_tuple=st.booleans())
def test_filenames_pickle_accepts_exactly_the_documented_names(folder, case, as_tuple):
    """``load_filenames`` succeeds iff the pickle holds a non-empty list/tuple of good relative names;
    it then returns them as a list with one trailing "\\r" removed, else raises ValueError naming
    the file."""
    protocol, names = case
    path = folder / "filenames.pickle"
    path.write_bytes(pickle.dumps(tuple(names) if as_tuple else names, protocol=protocol))
    if not names or not all(map(_good_name, names)):
        with pytest.raises(ValueError, match="entry|empty"):
            _load_safely(load_filenames, path)
        return
    assert _load_safely(load_filenames, path) == [n[:-1] if n.endswith("\r") else n for n in names]


# -- shapes captions -----------------------------------------------------------------------

@settings(FAST, max_examples=30)
@given(seed=st.integers(0, 2 ** 63), index=st.integers(0, 10 ** 6), primary=st.integers(0, NUM_CLASSES - 1))
def test_shapes_captions_are_deterministic_for_a_seed(seed, index, primary):
    """From a seed, ``make_captions`` gives N_CAPTIONS distinct non-empty lowercase sentences ending
    in a full stop, each naming the primary object's colour and shape, and the same ones again
    for the same seed."""
    def captions():
        rng = scene_rng(seed, 0, index)
        scene = sample_scene(rng, primary, list(range(NUM_CLASSES)))
        return scene, make_captions(scene, rng)

    scene, first = captions()
    assert first == captions()[1]
    assert len(first) == len(set(first)) == N_CAPTIONS
    p = scene["objects"][0]
    for c in first:
        assert isinstance(c, str) and c.endswith(".") and len(c) > 1 and c == c.lower()
        assert mentions(c, p["colour"], p["shape"]) and tokenize(c)


# -- validators ----------------------------------------------------------------------------

NUMPY_DTYPES = [np.uint8, np.int16, np.int32, np.int64, np.float16, np.float32, np.float64, np.bool_, np.complex64]
SHAPES = st.one_of(hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=3),
                   st.tuples(st.integers(0, 2), st.sampled_from([1, 3, 4]), st.integers(0, 3), st.integers(0, 3)),
                   st.tuples(st.integers(0, 3), st.integers(0, 3)))


def _elements(dtype: np.dtype):
    """Mostly in-range values ([0, 255]) plus anything the dtype holds (NaN, Inf, negative, huge)."""
    if dtype.kind == "b":
        return hnp.from_dtype(dtype)
    in_range = st.integers(0, 255) if dtype.kind in "iu" else st.floats(0, 255, width=min(64, dtype.itemsize * 8))
    return st.one_of(in_range, hnp.from_dtype(dtype))


@st.composite
def _arrays(draw):
    """(input, kind of its dtype as numpy's ``dtype.kind``, values as float64 numpy or None for complex):
    numpy arrays of any listed dtype, rank 0-5 (zero sizes included), sometimes a reversed view;
    or the same as torch tensors, bfloat16 included."""
    dtype = np.dtype(draw(st.sampled_from(NUMPY_DTYPES)))
    a = draw(hnp.arrays(dtype, draw(SHAPES), elements=_elements(dtype)))
    if a.ndim and draw(st.booleans()):
        a = np.flip(a, axis=draw(st.integers(0, a.ndim - 1)))
    x = draw(st.sampled_from(["numpy", "torch", "bfloat16"]))
    if x == "torch" or (x == "bfloat16" and dtype.kind != "f"):
        x = torch.from_numpy(a.copy())
    elif x == "bfloat16":
        with np.errstate(over="ignore"):  # huge float64 values become Inf, which the checks must refuse
            x = torch.from_numpy(a.astype(np.float32)).to(torch.bfloat16)
    else:
        x = a
    values = None if dtype.kind == "c" else (x.double().numpy() if isinstance(x, torch.Tensor) else a.astype(np.float64))
    return x, dtype.kind, values


def _image_shape_ok(shape) -> bool:
    return len(shape) == 4 and shape[0] >= 1 and shape[1] == 3 and min(shape[2], shape[3]) >= 1


def _raises_named(fn, x, name: str):
    """``fn(x, name)``; a TypeError/ValueError must start with ``name``. Returns (result, error)."""
    try:
        return fn(x, name), None
    except (TypeError, ValueError) as e:
        assert str(e).startswith(name), str(e)
        return None, e


@settings(FAST, max_examples=200)
@given(case=_arrays(), name=NAME)
def test_check_images_accepts_exactly_valid_batches(case, name):
    """``check_images`` accepts iff the input is [N>0, 3, H>0, W>0], uint8 or floating with every
    value finite in [0, 255]; it then returns float32 with the input's values (floats rounded to
    float32). Anything else is a TypeError/ValueError starting with the argument name."""
    x, kind, values = case  # "u" is uint8, the only unsigned dtype drawn
    valid = _image_shape_ok(tuple(x.shape)) and (kind == "u" or (
        kind == "f" and np.isfinite(values).all() and (values >= 0).all() and (values <= 255).all()))
    out, error = _raises_named(check_images, x, name)
    assert (error is None) == valid, error
    if valid:
        assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and tuple(out.shape) == tuple(x.shape)
        np.testing.assert_array_equal(out.numpy(), values.astype(np.float32))


@FAST
@given(case=_arrays(), name=NAME)
def test_check_uint8_images_accepts_exactly_uint8_tensor_batches(case, name):
    """``check_uint8_images`` returns its input unchanged iff it is a uint8 torch tensor
    [N>0, 3, H>0, W>0]; anything else is a TypeError/ValueError starting with the argument name."""
    x, kind, _ = case
    valid = isinstance(x, torch.Tensor) and kind == "u" and _image_shape_ok(tuple(x.shape))
    out, error = _raises_named(check_uint8_images, x, name)
    assert (error is None) == valid, error
    assert out is (x if valid else None)


@settings(FAST, max_examples=150)
@given(case=_arrays(), name=NAME)
def test_check_features_accepts_exactly_finite_real_2d_arrays(case, name):
    """``check_features`` accepts iff the input is 2-d with >= 1 row, a real numeric dtype (not bool,
    not complex) and finite values; it then returns float64 numpy with the same values. Anything else
    is a TypeError/ValueError starting with the argument name (complex is never silently truncated)."""
    x, kind, values = case
    valid = x.ndim == 2 and x.shape[0] >= 1 and kind in "uif" and np.isfinite(values).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ComplexWarning is a silent conversion
        out, error = _raises_named(check_features, x, name)
    assert (error is None) == valid, error
    if valid:
        assert isinstance(out, np.ndarray) and out.dtype == np.float64
        np.testing.assert_array_equal(out, values)


CAPTION_ITEM = st.one_of(CAPTION, CAPTION, NOT_STR)
CAPTIONS_ARG = st.one_of(st.lists(CAPTION_ITEM, max_size=4), st.lists(CAPTION_ITEM, max_size=4).map(tuple),
                         CAPTION, st.binary(max_size=4), st.none(), st.integers(),
                         st.sets(st.text(max_size=3), max_size=2), st.dictionaries(st.text(max_size=2), st.text()))


@settings(FAST, max_examples=150)
@given(captions=CAPTIONS_ARG, name=NAME)
def test_check_captions_accepts_exactly_nonempty_sequences_of_usable_str(captions, name):
    """``check_captions`` returns ``list(captions)`` iff it is a non-empty list/tuple of str, each with
    a non-space character and no lone surrogate; a str, bytes, set, dict... or any bad element is a
    TypeError/ValueError starting with the argument name."""
    valid = (isinstance(captions, (list, tuple)) and len(captions) > 0
             and all(isinstance(c, str) and _usable_caption(c) for c in captions))
    out, error = _raises_named(check_captions, captions, name)
    assert (error is None) == valid, error
    if valid:
        assert out == list(captions) and type(out) is list
