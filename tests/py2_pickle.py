"""Writing pickles as Python 2's ``cPickle`` (protocol 2) wrote them, for tests of released files.

Python 3 cannot write a Python-2 ``str`` (it writes ``bytes`` through ``_codecs.encode``), so
released files pickled by Python 2 (StackGAN's embeddings, VSE++'s vocabulary and checkpoints)
are rebuilt here opcode by opcode: a Python ``str`` in the input is written as a Python-2
``str`` (``SHORT_BINSTRING`` / ``BINSTRING``, Latin-1 bytes), :class:`Unicode` as a Python-2
``unicode`` (``BINUNICODE``), ``bytes`` as a Python-2 ``str`` holding those bytes (numpy's raw
array data). Globals, ``REDUCE`` + ``BUILD``, ``NEWOBJ`` + ``BUILD`` and persistent ids are
spelled out with the classes below. Memo opcodes are written after globals and containers
(``BINPUT``), as the Python-2 pickler does; nothing is read back from the memo.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np


class Unicode(str):
    """A Python-2 ``unicode`` object (written ``BINUNICODE``)."""


@dataclass
class Global:
    module: str
    name: str


@dataclass
class Reduce:
    """``func(*args)`` (``REDUCE``), then ``BUILD`` with ``state`` unless it is ``None``."""
    func: Global
    args: tuple
    state: object = None


@dataclass
class NewObj:
    """``cls.__new__(cls)`` (``NEWOBJ``) then ``BUILD`` with ``state`` (Python 2's protocol 2 for objects)."""
    cls: Global
    state: object = field(default_factory=dict)


@dataclass
class PersId:
    """A persistent id (``BINPERSID``) whose value is ``obj``."""
    obj: object


class _Writer:
    def __init__(self):
        self.out = bytearray(b"\x80\x02")
        self.memo = 0

    def put(self):
        if self.memo < 256:
            self.out += b"q" + bytes([self.memo])
        else:
            self.out += b"r" + struct.pack("<I", self.memo)
        self.memo += 1

    def py2_str(self, raw: bytes):
        if len(raw) < 256:
            self.out += b"U" + bytes([len(raw)]) + raw
        else:
            self.out += b"T" + struct.pack("<i", len(raw)) + raw
        self.put()

    def save(self, obj):
        if obj is None:
            self.out += b"N"
        elif obj is True or obj is False:
            self.out += b"\x88" if obj else b"\x89"
        elif isinstance(obj, int):
            if 0 <= obj < 256:
                self.out += b"K" + bytes([obj])
            elif 0 <= obj < 65536:
                self.out += b"M" + struct.pack("<H", obj)
            elif -2**31 <= obj < 2**31:
                self.out += b"J" + struct.pack("<i", obj)
            else:
                raw = obj.to_bytes((obj.bit_length() + 8) // 8, "little", signed=True)
                self.out += b"\x8a" + bytes([len(raw)]) + raw
        elif isinstance(obj, float):
            self.out += b"G" + struct.pack(">d", obj)
        elif isinstance(obj, Unicode):
            raw = str(obj).encode("utf-8")
            self.out += b"X" + struct.pack("<I", len(raw)) + raw
            self.put()
        elif isinstance(obj, str):
            self.py2_str(obj.encode("latin1"))
        elif isinstance(obj, bytes):
            self.py2_str(obj)
        elif isinstance(obj, tuple):
            if not obj:
                self.out += b")"
            elif len(obj) <= 3:
                for v in obj:
                    self.save(v)
                self.out += {1: b"\x85", 2: b"\x86", 3: b"\x87"}[len(obj)]
            else:
                self.out += b"("
                for v in obj:
                    self.save(v)
                self.out += b"t"
            self.put()
        elif isinstance(obj, list):
            self.out += b"]"
            self.put()
            if obj:
                self.out += b"("
                for v in obj:
                    self.save(v)
                self.out += b"e"
        elif isinstance(obj, dict):
            self.out += b"}"
            self.put()
            if obj:
                self.out += b"("
                for k, v in obj.items():
                    self.save(k)
                    self.save(v)
                self.out += b"u"
        elif isinstance(obj, Global):
            self.out += b"c" + f"{obj.module}\n{obj.name}\n".encode("ascii")
            self.put()
        elif isinstance(obj, Reduce):
            self.save(obj.func)
            self.save(obj.args)
            self.out += b"R"
            self.put()
            if obj.state is not None:
                self.save(obj.state)
                self.out += b"b"
        elif isinstance(obj, NewObj):
            self.save(obj.cls)
            self.out += b")\x81"
            self.put()
            self.save(obj.state)
            self.out += b"b"
        elif isinstance(obj, PersId):
            self.save(obj.obj)
            self.out += b"Q"
        else:
            raise TypeError(f"py2_pickle: cannot write a {type(obj).__name__}")


def dumps(obj) -> bytes:
    """``obj`` as Python 2's ``cPickle.dumps(obj, 2)`` would write it (see the module docstring)."""
    w = _Writer()
    w.save(obj)
    return bytes(w.out + b".")


def numpy_array(a: np.ndarray, module: str = "numpy.core.multiarray") -> Reduce:
    """How numpy (1.x, Python 2) pickles a plain array: ``_reconstruct(ndarray, (0,), 'b')`` and
    the state ``(1, shape, dtype, is_fortran, raw data as a Python-2 str)``."""
    dtype = Reduce(Global("numpy", "dtype"), (a.dtype.str[1:], 0, 1),
                   (3, a.dtype.str[0], None, None, None, -1, -1, 0))
    return Reduce(Global(module, "_reconstruct"), (Global("numpy", "ndarray"), (0,), "b"),
                  (1, tuple(a.shape), dtype, False, np.ascontiguousarray(a).tobytes()))
