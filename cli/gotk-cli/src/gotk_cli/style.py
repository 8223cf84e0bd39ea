"""Colours, only where a person reads them: a terminal, no --no-color, no NO_COLOR."""

from __future__ import annotations

import os
import shutil
from typing import TextIO

__all__ = ["Style", "terminal_width"]

_CODES = {"green": "32", "red": "31", "yellow": "33", "bold": "1", "dim": "2"}
_STATUS = {"True": "green", "False": "red", "Unknown": "yellow"}


class Style:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    @classmethod
    def for_stream(cls, stream: TextIO, *, no_color: bool = False) -> Style:
        """Colour on a TTY unless --no-color or NO_COLOR (any non-empty value, no-color.org)."""
        wanted = not no_color and not os.environ.get("NO_COLOR")
        isatty = getattr(stream, "isatty", None)
        return cls(wanted and bool(isatty and isatty()))

    def paint(self, text: str, colour: str) -> str:
        if not self.enabled or not text:
            return text
        return f"\x1b[{_CODES[colour]}m{text}\x1b[0m"

    def status(self, text: str) -> str:
        """A Ready status cell: True green, False red, Unknown yellow."""
        colour = _STATUS.get(text.strip())
        return self.paint(text, colour) if colour else text


def terminal_width(stream: TextIO) -> int | None:
    """Columns of the terminal ``stream`` writes to; ``None`` when it is not a terminal."""
    isatty = getattr(stream, "isatty", None)
    if not (isatty and isatty()):
        return None
    return shutil.get_terminal_size().columns
