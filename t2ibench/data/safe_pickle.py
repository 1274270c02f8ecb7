"""Loading released pickles (AttnGAN / StackGAN index and data files, VSE++'s vocabulary) without running code.

``pickle.load`` on a downloaded file can execute anything: a pickle may name any
importable callable (``os.system``, ``builtins.eval``...) and have it called while
loading. :func:`load_pickle` uses a :class:`pickle.Unpickler` whose ``find_class``
refuses *every* global, so only what the pickle protocol builds by itself can come
through: ``str``, ``bytes``, ``list``, ``tuple``, ``dict``, ``int``, ``float``, ``bool``
and ``None``. Anything else (a refused global, a set, a persistent id, a truncated or
corrupt file) raises :class:`ValueError` naming the file and the reason; nothing the
file names is ever imported or called.

Python-2 pickles (AttnGAN's and StackGAN's index files are) load: 8-bit Python-2
``str`` objects are decoded as UTF-8 and, if they are not valid UTF-8, as Latin-1.
Python-3 ``bytes`` come through from protocol 3 on; at protocols 0-2 Python 3 writes
them through the globals ``_codecs.encode`` / ``__builtin__.bytes``, which are refused
like every other global.

:func:`load_filenames` loads a ``filenames.pickle`` (a list of relative image names
without extension) and checks every name. Choice: names that end in a stray ``"\\r"``
(what a pickle saved with protocol 0 becomes after a CRLF line-ending conversion, as in
the AttnGAN birds pickles kept in ``shared/data/cub-meta``) are *repaired* (the ``"\\r"``
is removed) with a :class:`UserWarning` naming the file and the number of repaired
names; every other defect raises :class:`ValueError`.

Allowed globals (``load_pickle(path, allow=(...))``): a few released files pickle more than
plain containers. Each name in :data:`ALLOWANCES` admits an explicit set of globals, and
each of those resolves to a *builder of this module*, never to the object the file names
(nothing is imported, no code from the file runs); every other global is still refused:

* ``"numpy"``: numpy arrays, dtypes and scalars as numpy pickles them — protocols 0-4
  through ``numpy.core.multiarray._reconstruct`` (numpy 2 writes ``numpy._core...``),
  ``numpy.ndarray`` and ``numpy.dtype`` with the raw data as a (Python-2) str or, from
  Python 3 at protocol 2, through ``_codecs.encode(str, "latin1")``; protocol 5 through
  ``numpy.core.numeric._frombuffer``; scalars through ``numpy.core.multiarray.scalar``.
  The array is made with ``numpy.frombuffer`` from its shape, dtype and raw bytes (copied,
  so it is writable). Only plain numeric dtypes (bool, int, uint, float, complex, either
  byte order) are accepted: object and structured dtypes are refused. StackGAN's
  ``char-CNN-RNN-embeddings.pickle`` and ``class_info.pickle`` need this.
* ``"vsepp-vocabulary"``: VSE++'s ``Vocabulary`` (``fartashf/vsepp`` ``vocab.py``, pickled
  from ``vocab`` or, when ``vocab.py`` ran as a script, ``__main__``), rebuilt as the plain
  dict of its attributes (``{"word2idx": ..., "idx2word": ..., "idx": ...}``).

A Python-2 str read as UTF-8 (or, failing that, Latin-1) goes back to the exact bytes where
numpy needs them (the array's raw data): the builders encode it with the codec the load used.
With an allowance, the builders' placeholders are replaced by a recursive walk: a pickle nested
deeper than Python's recursion limit is a ValueError (without one, any depth loads).
"""
from __future__ import annotations

import io
import pickle
import re
import warnings
from pathlib import Path

import numpy as np

__all__ = ["load_pickle", "load_filenames", "ALLOWED_TYPES", "ALLOWANCES"]

#: The only Python types a loaded pickle may contain (without an allowance).
ALLOWED_TYPES = (str, bytes, list, tuple, dict, int, float, bool, type(None))

_NUMPY_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray")
_NUMPY_NUMERIC = ("numpy.core.numeric", "numpy._core.numeric")
#: ``{allowance: {(module, name): builder kind}}`` (see the module docstring).
ALLOWANCES = {
    "numpy": {**{(m, "_reconstruct"): "reconstruct" for m in _NUMPY_MODULES},
              **{(m, "scalar"): "scalar" for m in _NUMPY_MODULES},
              **{(m, "_frombuffer"): "frombuffer" for m in _NUMPY_NUMERIC},
              ("numpy", "ndarray"): "ndarray", ("numpy", "dtype"): "dtype", ("_codecs", "encode"): "encode"},
    "vsepp-vocabulary": {("vocab", "Vocabulary"): "vocabulary", ("__main__", "Vocabulary"): "vocabulary"},
}
#: Plain numeric dtype codes a pickled numpy dtype may name: kind letter + item size in bytes.
_DTYPE_CODE = re.compile(r"^(b1|[iu](1|2|4|8)|f(2|4|8|16)|c(8|16|32))$")


class _RefusedGlobal(pickle.UnpicklingError):
    def __init__(self, module: str, name: str):
        super().__init__(f"refused global {module!r}.{name!r}")
        self.module, self.name = module, name


class _Malformed(pickle.UnpicklingError):
    """An allowed global used with arguments or a state it never has in the released files."""


class _NDArrayType:
    """Stands for ``numpy.ndarray`` (the subtype argument of ``_reconstruct``); never instantiated."""


class _PendingDtype:
    """A ``numpy.dtype(code, align, copy)`` awaiting its state (byte order) from BUILD."""

    def __init__(self, code):
        code = code.decode("ascii", "replace") if isinstance(code, bytes) else code
        if not isinstance(code, str) or not _DTYPE_CODE.match(code):
            raise _Malformed(f"numpy dtype {code!r} is not a plain numeric dtype (bool, int, uint, float, complex)")
        self.dtype = np.dtype(code)

    def __setstate__(self, state):
        if not (isinstance(state, tuple) and len(state) in (8, 9) and state[0] in (3, 4)
                and state[1] in ("<", ">", "|", "=") and state[2:5] == (None, None, None)):
            raise _Malformed(f"numpy dtype state {_short_repr(state)} is not that of a plain numeric dtype")
        if state[1] in "<>":
            self.dtype = self.dtype.newbyteorder(state[1])


class _PendingArray:
    """``numpy.core.multiarray._reconstruct(ndarray, (0,), b'b')`` awaiting its state from BUILD."""

    def __init__(self, encoding: str):
        self.encoding, self.array = encoding, None

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 5 and state[0] == 1:
            state = state[1:]
        if not (isinstance(state, tuple) and len(state) == 4):
            raise _Malformed(f"numpy array state {_short_repr(state)} is not (version, shape, dtype, fortran, data)")
        shape, dtype, fortran, data = state
        self.array = _array_from(data, dtype, shape, "F" if fortran else "C", self.encoding)


class _AttributeObject:
    """An object rebuilt by NEWOBJ + BUILD as the plain dict of its attributes (its ``__dict__``)."""

    def __init__(self, what: str):
        self.what, self.state = what, None

    def __setstate__(self, state):
        if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
            raise _Malformed(f"the state of a {self.what} is {_short_repr(state)}, not a dict of attributes")
        self.state = state


def _raw_bytes(data, encoding: str) -> bytes:
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    if isinstance(data, str):  # a Python-2 str: back to its bytes with the codec the load used
        return data.encode(encoding)
    raise _Malformed(f"numpy raw data is a {type(data).__name__}, not bytes")


def _array_from(data, dtype, shape, order, encoding: str) -> np.ndarray:
    if not isinstance(dtype, _PendingDtype):
        raise _Malformed(f"numpy array dtype is a {type(dtype).__name__}, not a pickled numpy dtype")
    if not (isinstance(shape, tuple) and all(type(d) is int and d >= 0 for d in shape)):
        raise _Malformed(f"numpy array shape {_short_repr(shape)} is not a tuple of non-negative ints")
    if order not in ("C", "F"):
        raise _Malformed(f"numpy array order {order!r} is not 'C' or 'F'")
    raw = _raw_bytes(data, encoding)
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if len(raw) != count * dtype.dtype.itemsize:
        raise _Malformed(f"numpy array of shape {shape} and dtype {dtype.dtype} needs "
                         f"{count * dtype.dtype.itemsize} bytes of data, the pickle holds {len(raw)}")
    return np.frombuffer(raw, dtype=dtype.dtype).reshape(shape, order=order).copy()


def _builder(kind: str, encoding: str):
    """The object an allowed global resolves to (see :data:`ALLOWANCES`)."""
    if kind == "ndarray":
        return _NDArrayType
    if kind == "dtype":
        def dtype(code, align=False, copy=True):
            return _PendingDtype(code)
        return dtype
    if kind == "encode":
        def encode(text, codec="utf-8"):
            if not isinstance(text, str) or codec not in ("latin1", "latin-1"):
                raise _Malformed(f"_codecs.encode is allowed only as numpy pickles raw data "
                                 f"(a str and 'latin1'), got {_short_repr(text)}, {codec!r}")
            return text.encode("latin1")
        return encode
    if kind == "reconstruct":
        def reconstruct(subtype, shape, code):
            if subtype is not _NDArrayType or shape != (0,) or _raw_bytes(code, encoding) != b"b":
                raise _Malformed("numpy _reconstruct is allowed only for a plain numpy.ndarray")
            return _PendingArray(encoding)
        return reconstruct
    if kind == "frombuffer":
        def frombuffer(data, dtype, shape, order):
            return _array_from(data, dtype, shape, order, encoding)
        return frombuffer
    if kind == "scalar":
        def scalar(dtype, data=None):
            return _array_from(data, dtype, (), "C", encoding)[()]
        return scalar
    if kind == "vocabulary":
        class Vocabulary(_AttributeObject):
            def __new__(cls, *args):
                if args:
                    raise _Malformed("VSE++'s Vocabulary is rebuilt without arguments")
                obj = object.__new__(cls)
                _AttributeObject.__init__(obj, "VSE++ Vocabulary")
                return obj

            def __init__(self, *args):  # __new__ did the work (NEWOBJ calls only __new__)
                pass
        return Vocabulary
    raise AssertionError(kind)


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals of the given allowances (none by default),
    each to a builder of this module, and no persistent id."""

    def __init__(self, file, encoding: str, allowed: dict):
        super().__init__(file, encoding=encoding, errors="strict")
        self._allowed, self._encoding = allowed, encoding

    def find_class(self, module, name):  # noqa: D401 - pickle API
        kind = self._allowed.get((module, name))
        if kind is None:
            raise _RefusedGlobal(module, name)
        return _builder(kind, self._encoding)

    def persistent_load(self, pid):
        raise pickle.UnpicklingError(f"refused persistent id {pid!r}")


def _unpickle(data: bytes, encoding: str, allowed: dict):
    return _RestrictedUnpickler(io.BytesIO(data), encoding, allowed).load()


def _finish(obj, memo: dict):
    """Replace the builders' placeholders by what they stand for (arrays, dtypes, dicts),
    in place for lists and dicts (so shared and cyclic references stay as they were)."""
    key = id(obj)
    if key in memo:
        return memo[key]
    if isinstance(obj, _PendingArray):
        if obj.array is None:
            raise _Malformed("a numpy array without its state (shape, dtype, data)")
        out = memo[key] = obj.array
    elif isinstance(obj, _PendingDtype):
        out = memo[key] = obj.dtype
    elif isinstance(obj, _AttributeObject):
        if obj.state is None:
            raise _Malformed(f"a {obj.what} without its attributes")
        out = memo[key] = _finish(obj.state, memo)
    elif isinstance(obj, list):
        memo[key] = obj
        obj[:] = [_finish(v, memo) for v in obj]
        out = obj
    elif isinstance(obj, dict):
        memo[key] = obj
        items = [(_finish(k, memo), _finish(v, memo)) for k, v in obj.items()]
        obj.clear()
        obj.update(items)
        out = obj
    elif isinstance(obj, tuple):
        out = memo[key] = tuple(_finish(v, memo) for v in obj)
    elif obj is _NDArrayType or callable(obj):
        raise _Malformed("a bare numpy type or function object outside its use")
    else:
        out = obj
    return out


def _short_repr(obj, limit: int = 60) -> str:
    """``repr(obj)`` cut to ``limit`` characters; an int too long for ``repr`` (over
    ``sys.get_int_max_str_digits()`` digits, alone or inside a tuple) is described instead."""
    try:
        text = repr(obj)
    except ValueError:
        return f"<{type(obj).__name__} too large to show>"
    return text if len(text) <= limit else text[:limit] + "..."


def _describe(where) -> str:
    """The text of a place ``(step, parent place)`` built by :func:`_check_plain`, innermost
    first: ``"element 0 of the value of key 'a' in the top-level object"``; at most 10 steps."""
    steps = []
    while where is not None:
        (kind, arg), where = where
        steps.append(f"element {arg} of" if kind == "element" else "a key in" if kind == "key"
                     else f"the value of key {_short_repr(arg)} in")
    if len(steps) > 10:
        steps[5:-5] = [f"... ({len(steps) - 10} more levels) ..."]
    return " ".join(steps + ["the top-level object"])


def _check_plain(obj, path, extra_types: tuple = ()) -> None:
    """Raise ValueError unless ``obj`` is built only of :data:`ALLOWED_TYPES` (and ``extra_types``;
    an iterative walk).

    Places are linked ``(step, parent)`` pairs, made into text only for the error message, so
    a deeply nested pickle costs memory linear in its size (text for every item is quadratic
    in the depth: gigabytes for a 60 kB file) and no dict key is ``repr``-ed unless named.
    """
    seen: set[int] = set()
    stack = [(obj, None)]
    while stack:
        item, where = stack.pop()
        if type(item) not in ALLOWED_TYPES and not isinstance(item, extra_types):
            extra = ", numpy arrays/scalars/dtypes" if extra_types else ""
            raise ValueError(f"{path}: {_describe(where)} is a {type(item).__name__}; only plain "
                             f"str/bytes/list/tuple/dict/int/float/bool/None{extra} are accepted in this pickle")
        if isinstance(item, (list, tuple, dict)):
            if id(item) in seen:
                continue
            seen.add(id(item))
            if isinstance(item, dict):
                for k, v in item.items():
                    stack.append((k, (("key", None), where)))
                    stack.append((v, (("value", k), where)))
            else:
                for j, v in enumerate(item):
                    stack.append((v, (("element", j), where)))


def load_pickle(path, allow=()):
    """Load the pickle at ``path`` without importing anything (see the module docstring).

    ``allow``: names of :data:`ALLOWANCES` (``"numpy"``, ``"vsepp-vocabulary"``) whose globals are
    rebuilt by this module's builders; by default every global is refused.

    Raises ValueError (naming the file) when the file is missing or unreadable, when the
    pickle names a global that is not allowed (the message names it, e.g. ``'posix'.'system'``),
    when an allowed global is used otherwise than in the released files (e.g. an object dtype),
    when it is corrupt or truncated, or when it holds anything but plain str/bytes/list/tuple/
    dict/int/float/bool/None (and, with ``"numpy"``, numpy arrays, scalars and dtypes).
    """
    path = Path(path)
    unknown = [a for a in allow if a not in ALLOWANCES]
    if unknown:
        raise ValueError(f"load_pickle: unknown allowance(s) {unknown}; expected names of {sorted(ALLOWANCES)}")
    allowed = {g: kind for a in allow for g, kind in ALLOWANCES[a].items()}
    if not path.is_file():
        raise ValueError(f"pickle file not found: expected a file at {path}")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ValueError(f"{path}: cannot read the pickle file ({e})") from e
    try:
        try:
            obj = _unpickle(data, "utf-8", allowed)
        except UnicodeDecodeError:
            # A Python-2 8-bit str that is not UTF-8: Latin-1 maps every byte.
            obj = _unpickle(data, "latin1", allowed)
        if allowed:
            obj = _finish(obj, {})
    except _RefusedGlobal as e:
        what = (f"only the globals of {', '.join(repr(a) for a in allow)} are allowed here" if allowed else
                "index pickles are loaded without importing anything, so every global is refused")
        raise ValueError(f"{path}: the pickle refers to the global {e.module!r}.{e.name!r}; {what} "
                         "(nothing was imported or run)") from None
    except _Malformed as e:
        raise ValueError(f"{path}: {e} (refused; nothing was imported or run)") from None
    except RecursionError:
        raise ValueError(f"{path}: the pickle is nested too deeply to load") from None
    except Exception as e:  # UnpicklingError, EOFError, ValueError, IndexError, MemoryError...
        raise ValueError(f"{path}: not a readable pickle ({type(e).__name__}: {e})") from None
    _check_plain(obj, path, (np.ndarray, np.generic, np.dtype) if "numpy" in allow else ())
    return obj


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # Unicode's control characters (category Cc): C0, DEL, C1
_DRIVE = re.compile(r"^[A-Za-z]:")


def _name_problem(name) -> str | None:
    if not isinstance(name, str):
        return f"is a {type(name).__name__} ({_short_repr(name)}), not a str"
    if not name.strip():
        return "is empty"
    if _CONTROL.search(name):
        return f"contains a control character ({name!r:.80})"
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return f"is an absolute path ({name!r:.80})"
    if ".." in re.split(r"[/\\]", name):
        return f"contains a '..' component ({name!r:.80})"
    return None


def load_filenames(path) -> list[str]:
    """Load a ``filenames.pickle``: a list of relative names such as ``"001.Black_footed_Albatross/Black_Footed_Albatross_0046_18"``.

    The pickle is read with :func:`load_pickle` (no globals). Then:

    * names ending in a stray ``"\\r"`` (a protocol-0 pickle whose line endings were
      converted to CRLF) are repaired by removing that ``"\\r"``, with a ``UserWarning``
      that names the file and says how many names were repaired;
    * anything else that is wrong raises ValueError saying which entry and what: the
      object is not a list (or tuple), the list is empty, an entry is not a ``str``, a
      name is empty, contains a control character, is absolute, or has a ``..``
      component.
    """
    path = Path(path)
    obj = load_pickle(path)
    if not isinstance(obj, (list, tuple)):
        raise ValueError(f"{path}: expected a list of file names, got a {type(obj).__name__}")
    if len(obj) == 0:
        raise ValueError(f"{path}: the list of file names is empty")
    names = list(obj)
    repaired = 0
    for i, n in enumerate(names):
        if isinstance(n, str) and n.endswith("\r"):
            names[i] = n[:-1]
            repaired += 1
    bad = [(i, p) for i, n in enumerate(names) if (p := _name_problem(n)) is not None]
    if bad:
        i, problem = bad[0]
        more = f" ({len(bad)} bad entries in all)" if len(bad) > 1 else ""
        raise ValueError(f"{path}: entry {i} of the file-name list {problem}{more}; expected relative "
                         "image names such as 'class/image' without extension")
    if repaired:
        warnings.warn(f"{path}: repaired {repaired} of {len(names)} file names that ended in a stray "
                      "'\\r' (the pickle's line endings were converted to CRLF); the '\\r' was removed",
                      UserWarning, stacklevel=2)
    return names
