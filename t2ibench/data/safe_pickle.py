"""Loading the pickled index files of AttnGAN / StackGAN layouts without running code.

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
"""
from __future__ import annotations

import io
import pickle
import re
import warnings
from pathlib import Path

__all__ = ["load_pickle", "load_filenames", "ALLOWED_TYPES"]

#: The only Python types a loaded pickle may contain.
ALLOWED_TYPES = (str, bytes, list, tuple, dict, int, float, bool, type(None))


class _RefusedGlobal(pickle.UnpicklingError):
    def __init__(self, module: str, name: str):
        super().__init__(f"refused global {module!r}.{name!r}")
        self.module, self.name = module, name


class _NoGlobalsUnpickler(pickle.Unpickler):
    """An unpickler that resolves no global at all (and no persistent id)."""

    def find_class(self, module, name):  # noqa: D401 - pickle API
        raise _RefusedGlobal(module, name)

    def persistent_load(self, pid):
        raise pickle.UnpicklingError(f"refused persistent id {pid!r}")


def _unpickle(data: bytes, encoding: str):
    return _NoGlobalsUnpickler(io.BytesIO(data), encoding=encoding, errors="strict").load()


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


def _check_plain(obj, path) -> None:
    """Raise ValueError unless ``obj`` is built only of :data:`ALLOWED_TYPES` (iterative walk).

    Places are linked ``(step, parent)`` pairs, made into text only for the error message, so
    a deeply nested pickle costs memory linear in its size (text for every item is quadratic
    in the depth: gigabytes for a 60 kB file) and no dict key is ``repr``-ed unless named.
    """
    seen: set[int] = set()
    stack = [(obj, None)]
    while stack:
        item, where = stack.pop()
        if type(item) not in ALLOWED_TYPES:
            raise ValueError(f"{path}: {_describe(where)} is a {type(item).__name__}; only plain "
                             "str/bytes/list/tuple/dict/int/float/bool/None are accepted in an index pickle")
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


def load_pickle(path):
    """Load the pickle at ``path`` without resolving any global (see the module docstring).

    Raises ValueError (naming the file) when the file is missing or unreadable, when the
    pickle names a global (the message names it, e.g. ``'posix'.'system'``), when it is
    corrupt or truncated, or when it holds anything but plain str/bytes/list/tuple/dict/
    int/float/bool/None.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"pickle file not found: expected a file at {path}")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ValueError(f"{path}: cannot read the pickle file ({e})") from e
    try:
        try:
            obj = _unpickle(data, "utf-8")
        except UnicodeDecodeError:
            # A Python-2 8-bit str that is not UTF-8: Latin-1 maps every byte.
            obj = _unpickle(data, "latin1")
    except _RefusedGlobal as e:
        raise ValueError(f"{path}: the pickle refers to the global {e.module!r}.{e.name!r}; "
                         "index pickles are loaded without importing anything, so every global is "
                         "refused (nothing was imported or run)") from None
    except RecursionError:
        raise ValueError(f"{path}: the pickle is nested too deeply to load") from None
    except Exception as e:  # UnpicklingError, EOFError, ValueError, IndexError, MemoryError...
        raise ValueError(f"{path}: not a readable pickle ({type(e).__name__}: {e})") from None
    _check_plain(obj, path)
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
