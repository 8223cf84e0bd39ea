"""Structured logs: JSON (``--log-encoding=json``, Flux's default) or console text.

The controller binds the object being reconciled to a context variable, so every record
logged while reconciling it carries ``kind``, ``namespace`` and ``name`` without the
reconciler passing them around.
"""

from __future__ import annotations

import contextvars
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import orjson

__all__ = ["bind_object", "configure_logging", "log_fields"]

_fields: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "gotk_log_fields", default=None
)
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "error": logging.ERROR}
_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message"}


def log_fields() -> dict[str, Any]:
    return dict(_fields.get() or {})


@contextmanager
def bind_object(**fields: Any) -> Iterator[None]:
    """Add ``fields`` (e.g. kind, namespace, name) to every record logged in this context."""
    token = _fields.set({**(_fields.get() or {}), **fields})
    try:
        yield
    finally:
        _fields.reset(token)


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # Kept apart from the record's own attributes: the object's `name` is not the logger's.
        record.gotk_fields = _fields.get() or {}
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "level": record.levelname.lower(),
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(_extra(record))
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{k}={v}" for k, v in _extra(record).items())
        line = (
            f"{time.strftime('%H:%M:%S', time.localtime(record.created))} "
            f"{record.levelname:<7} {record.name}: {record.getMessage()}"
        )
        if extra:
            line += f"  {extra}"
        if record.exc_info and record.exc_info[0] is not None:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _extra(record: logging.LogRecord) -> dict[str, Any]:
    fields = dict(getattr(record, "gotk_fields", None) or {})
    fields.update(
        (k, v)
        for k, v in vars(record).items()
        if k not in _RESERVED and k != "gotk_fields" and not k.startswith("_")
    )
    return fields


def configure_logging(
    level: Literal["debug", "info", "error"] | str = "info",
    encoding: Literal["json", "console"] | str = "json",
) -> None:
    """Send all logs to stderr in the chosen encoding (replaces the root handlers)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if encoding == "json" else ConsoleFormatter())
    handler.addFilter(_ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(_LEVELS.get(level, logging.INFO))
