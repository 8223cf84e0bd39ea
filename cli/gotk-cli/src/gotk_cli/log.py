"""Progress lines on stderr with Flux's markers, so stdout carries only tables."""

from __future__ import annotations

import sys
from typing import TextIO

__all__ = ["Log"]


class Log:
    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def _write(self, marker: str, message: str) -> None:
        stream = self._stream or sys.stderr
        print(f"{marker} {message}", file=stream, flush=True)

    def action(self, message: str) -> None:
        self._write("►", message)

    def waiting(self, message: str) -> None:
        self._write("◎", message)

    def success(self, message: str) -> None:
        self._write("✔", message)

    def failure(self, message: str) -> None:
        self._write("✗", message)

    def generate(self, message: str) -> None:
        self._write("✚", message)

    def warning(self, message: str) -> None:
        self._write("⚠️", message)
