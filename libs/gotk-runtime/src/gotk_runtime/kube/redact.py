"""The API server's error text about a Secret, with the values it quotes masked.

Refusing a Secret, the API server quotes what it refused: server-side apply prints the
offending value (`.stringData.pin: expected string, got &value.valueUnstructured{Value:
12345678}`), validation prints `Invalid value: "<value>"`, and older JSON decoders print the
bytes around the error (`...|"token":"hunter2"|...`). Flux masks such text before it reaches
a condition, an event or a log; so does gotk, for every request to a Secret path and for
helm's error lines that name a Secret. Field paths, keys and reasons are kept.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["MASK", "is_secret_path", "mask_secret_values"]

MASK: Final = "***"
_SMD_VALUE: Final = re.compile(r"&value\.valueUnstructured\{Value:.*", re.DOTALL)
_QUOTED_VALUE: Final = re.compile(
    r'\b(Invalid|Unsupported|Duplicate|Forbidden) value: ("(?:[^"\\]|\\.)*"|[^:,\n]*)'
)
_JSON_CONTEXT: Final = re.compile(r"\.\.\.\|.*?\|\.\.\.", re.DOTALL)
_SECRET_PATH: Final = re.compile(r"^/api/v1/(?:namespaces/[^/]+/)?secrets(?:/|$|\?)")


def mask_secret_values(message: str) -> str:
    """`message` with every value it quotes replaced by `***`.

    A structured-merge-diff value may span lines (a multi-line string), so everything from
    it to the end of the message goes.
    """
    message = _SMD_VALUE.sub(f"{MASK} (value masked)", message)
    message = _QUOTED_VALUE.sub(rf'\1 value: "{MASK}"', message)
    return _JSON_CONTEXT.sub(f"...|{MASK}|...", message)


def is_secret_path(path: str) -> bool:
    """True for a request path of core v1 Secrets (one, or a collection)."""
    return bool(_SECRET_PATH.match(path))
