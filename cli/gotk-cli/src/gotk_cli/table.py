"""Flux's tables: left-aligned columns, the message last; fitted to the terminal's width."""

from __future__ import annotations

from collections.abc import Sequence

from gotk_cli.style import Style

__all__ = ["Table", "format_table"]

_GAP = "   "
_ELLIPSIS = "…"


class Table:
    """A table that can print more rows later (`get --watch`) in the columns it started with.

    ``status_column`` is the index of the READY column, coloured by ``style``; ``width``
    (a terminal's) cuts the last column so that no line wraps.
    """

    def __init__(
        self,
        header: Sequence[str],
        *,
        style: Style | None = None,
        status_column: int | None = None,
        width: int | None = None,
    ) -> None:
        self.header = tuple(header)
        self.style = style or Style(False)
        self.status_column = status_column
        self.width = width
        self.widths: list[int] = []

    def render(self, rows: Sequence[Sequence[str]], *, header: bool = True) -> str:
        """The lines for ``rows`` (and the header first, with ``header``)."""
        lines = [self.header, *rows] if header else list(rows)
        if not self.widths:
            count = len(self.header) - 1
            self.widths = [max(len(line[i]) for line in [self.header, *rows]) for i in range(count)]
        return "\n".join(self._line(line) for line in lines)

    def _line(self, cells: Sequence[str]) -> str:
        padded = [cell.ljust(width) for cell, width in zip(cells, self.widths, strict=False)]
        head = _GAP.join([*padded, ""])
        last = cells[-1]
        if self.width is not None and len(head) + len(last) > self.width:
            room = max(self.width - len(head) - 1, 0)
            last = last[:room] + _ELLIPSIS if room else ""
        if self.status_column is not None and self.status_column < len(padded):
            padded[self.status_column] = self.style.status(padded[self.status_column])
            head = _GAP.join([*padded, ""])
        return (head + last).rstrip()


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns; the last column (the message) is never padded."""
    return Table(header).render(rows)
