"""A hostile pickle payload for the tests that a loader refuses files without running their code."""
from __future__ import annotations

from pathlib import Path


class TouchOnLoad:
    """Pickles as a call to ``Path.touch(marker)``: unpickled without restriction, it creates ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))
