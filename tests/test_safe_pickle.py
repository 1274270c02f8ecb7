"""The restricted unpickler: nothing a pickle names is imported or run; Python-2 pickles
load; ``filenames.pickle`` names are checked and CRLF damage is repaired with a warning."""
from __future__ import annotations

import os
import pickle
import warnings

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from t2ibench.data.safe_pickle import load_filenames, load_pickle


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _EvalEvil:
    def __reduce__(self):
        return (eval, ("__import__('os').getcwd()",))


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("protocol", range(0, pickle.HIGHEST_PROTOCOL + 1))
def test_malicious_pickle_is_refused_and_nothing_runs(tmp_path, protocol):
    marker = tmp_path / "pwned"
    p = _write(tmp_path / "filenames.pickle", pickle.dumps(["a/b", _Evil(marker)], protocol=protocol))
    # sanity: the plain unpickler would run it
    with pytest.raises(ValueError, match=r"filenames\.pickle.*refers to the global '(posix|os|nt)'\.'system'"):
        load_pickle(p)
    with pytest.raises(ValueError, match="system"):
        load_filenames(p)
    assert not marker.exists()
    q = _write(tmp_path / "eval.pickle", pickle.dumps(_EvalEvil(), protocol=protocol))
    with pytest.raises(ValueError, match=r"'(builtins|__builtin__)'\.'eval'"):
        load_pickle(q)


def test_plain_unpickler_would_have_run_it(tmp_path):
    """The fixture is really malicious: the ordinary pickle.load creates the marker."""
    marker = tmp_path / "pwned"
    pickle.loads(pickle.dumps(_Evil(marker)))
    assert marker.exists()


def test_python2_pickles_load(tmp_path):
    # protocol 0, Python-2 str (S) with UTF-8 bytes, and unicode (V)
    p0 = b"(lp0\nS'001.Black/bird_1'\np1\naS'caf\\xc3\\xa9'\np2\naVna\\u00efve\np3\na."
    assert load_pickle(_write(tmp_path / "p0.pickle", p0)) == ["001.Black/bird_1", "caf\u00e9", "na\u00efve"]
    # protocol 2, SHORT_BINSTRING (U) that is not UTF-8 -> Latin-1
    p2 = b"\x80\x02]q\x00(U\x03abcq\x01U\x04caf\xe9q\x02K\x07I1\nNe."
    assert load_pickle(_write(tmp_path / "p2.pickle", p2)) == ["abc", "caf\u00e9", 7, 1, None]
    # a protocol-2 dict with tuples, floats, bools and bytes round-trips
    obj = {"a": (1, 2.5, True, None), "b": [-(10**30), "x"], (): {}}
    assert load_pickle(_write(tmp_path / "d.pickle", pickle.dumps(obj, protocol=2))) == obj
    # Python-3 bytes exist at protocol level from protocol 3 on; before, pickle writes them
    # through the global _codecs.encode, which is refused like any other
    assert load_pickle(_write(tmp_path / "b3.pickle", pickle.dumps([b"\x00\xff"], protocol=3))) == [b"\x00\xff"]
    with pytest.raises(ValueError, match="_codecs"):
        load_pickle(_write(tmp_path / "b2.pickle", pickle.dumps([b"\x00\xff"], protocol=2)))


def test_refuses_non_plain_types_and_corrupt_files(tmp_path):
    with pytest.raises(ValueError, match="set"):
        load_pickle(_write(tmp_path / "s.pickle", pickle.dumps({"a", "b"}, protocol=4)))
    with pytest.raises(ValueError, match="bytearray"):
        load_pickle(_write(tmp_path / "ba.pickle", pickle.dumps([bytearray(b"x")], protocol=5)))
    with pytest.raises(ValueError, match="persistent id"):
        load_pickle(_write(tmp_path / "pid.pickle", b"(lp0\nPhello\na."))
    data = pickle.dumps(["x" * 50] * 10, protocol=2)
    with pytest.raises(ValueError, match=r"trunc\.pickle: not a readable pickle"):
        load_pickle(_write(tmp_path / "trunc.pickle", data[: len(data) // 2]))
    with pytest.raises(ValueError, match="not a readable pickle"):
        load_pickle(_write(tmp_path / "junk.pickle", b"this is not a pickle at all"))
    with pytest.raises(ValueError, match=r"expected a file at .*missing\.pickle"):
        load_pickle(tmp_path / "missing.pickle")
    # a self-referencing list is plain data and loads
    a = []
    a.append(a)
    out = load_pickle(_write(tmp_path / "cyc.pickle", pickle.dumps(a, protocol=2)))
    assert out[0] is out


_plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10)
    | st.binary(max_size=10),
    lambda kids: st.lists(kids, max_size=4) | st.tuples(kids, kids)
    | st.dictionaries(st.text(max_size=5), kids, max_size=4),
    max_leaves=20)


def _has_bytes(obj) -> bool:
    if isinstance(obj, bytes):
        return True
    if isinstance(obj, dict):
        return any(_has_bytes(k) or _has_bytes(v) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return any(_has_bytes(v) for v in obj)
    return False


@settings(max_examples=60, deadline=None)
@given(obj=_plain, protocol=st.integers(0, pickle.HIGHEST_PROTOCOL))
def test_plain_data_round_trips(tmp_path_factory, obj, protocol):
    assume(protocol >= 3 or not _has_bytes(obj))  # see test_python2_pickles_load
    p = tmp_path_factory.mktemp("rt") / "x.pickle"
    p.write_bytes(pickle.dumps(obj, protocol=protocol))
    assert load_pickle(p) == obj


@pytest.mark.parametrize("names, problem", [
    ({"a": 1}, "expected a list of file names, got a dict"),
    ([], "empty"),
    (["a/b", 3], "entry 1 .* is a int"),
    (["a/b", b"c/d"], "entry 1 .* is a bytes"),  # (pickled at protocol 3 below)
    (["a/b", "  "], "entry 1 .* is empty"),
    (["../etc/passwd"], "entry 0 .* '\\.\\.' component"),
    (["a/../../b"], "'\\.\\.' component"),
    (["/etc/passwd"], "absolute path"),
    (["C:\\birds\\x"], "absolute path"),
    (["a/b\nc"], "control character"),
    (["a/b\r\r"], "control character"),
])
def test_load_filenames_rejects_junk(tmp_path, names, problem):
    p = _write(tmp_path / "filenames.pickle", pickle.dumps(names, protocol=3))
    with pytest.raises(ValueError, match=f"filenames.pickle: .*{problem}"):
        load_filenames(p)


def test_load_filenames_repairs_stray_cr(tmp_path):
    p = _write(tmp_path / "filenames.pickle", pickle.dumps(["a/b\r", "c/d", "e/f\r"], protocol=2))
    with pytest.warns(UserWarning, match=r"filenames\.pickle: repaired 2 of 3"):
        assert load_filenames(p) == ["a/b", "c/d", "e/f"]
    clean = _write(tmp_path / "clean.pickle", pickle.dumps(("a/b", "c/d"), protocol=2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_filenames(clean) == ["a/b", "c/d"]


@pytest.mark.parametrize("split, n", [("train", 8855), ("test", 2933)])
def test_shared_attngan_birds_pickles(shared_dir, split, n):
    """AttnGAN's birds pickles as kept in shared/ (protocol 0, CRLF-damaged): every name is
    repaired, and the result equals the plain-text list next to them."""
    meta = shared_dir / "data" / "cub-meta"
    with pytest.warns(UserWarning, match=f"repaired {n} of {n} file names"):
        names = load_filenames(meta / split / "filenames.pickle")
    assert len(names) == n and not any("\r" in s for s in names)
    assert names == (meta / f"{split}_filenames.txt").read_text().split()
    assert names[0].startswith("00") and "/" in names[0]


def test_shared_class_info(shared_dir):
    meta = shared_dir / "data" / "cub-meta"
    ids = load_pickle(meta / "test" / "class_info.pickle")
    assert len(ids) == 2933 and min(ids) == 1 and max(ids) <= 200
    # the train one is a pickled numpy array: its global is refused and named
    with pytest.raises(ValueError, match=r"refers to the global 'numpy\.core\.multiarray"):
        load_pickle(meta / "train" / "class_info.pickle")
