"""YAML from an artifact, loaded only if its anchors and aliases stay within bounds.

An alias bomb is small text whose aliases expand, when the document is walked or written out
again (JSON for the API server, a values file for Helm), into gigabytes: ten levels of ten
aliases is ten billion nodes. Before a document is constructed, its event stream is scanned
(C-speed, no objects built) and the size it would have with every alias expanded is added
up; past the limit the document is refused with ``ExcessiveAliasing``, a ``yaml.YAMLError``,
so every caller's existing "invalid YAML" handling names the file. Text without an anchor
(``&``) or without an alias (``*``) cannot expand anything and skips the scan.
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = [
    "MAX_EXPANDED_SIZE",
    "ExcessiveAliasing",
    "check_aliases",
    "load_all_yaml",
    "load_yaml",
]

MAX_EXPANDED_SIZE = 128 << 20
"""Bytes of scalar text (plus one per node) a YAML stream may expand to through aliases."""

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ExcessiveAliasing(yaml.YAMLError):
    """The document's aliases would expand it past the limit (an alias bomb)."""


def check_aliases(data: str | bytes, *, limit: int = MAX_EXPANDED_SIZE) -> None:
    """Raise ``ExcessiveAliasing`` if ``data`` expanded through its aliases exceeds ``limit``."""
    anchor, alias = (b"&", b"*") if isinstance(data, bytes) else ("&", "*")
    if anchor not in data or alias not in data:  # type: ignore[operator]
        return
    sizes: dict[str, int] = {}
    stack: list[tuple[str | None, int]] = []
    total = 0

    def add(weight: int) -> None:
        nonlocal total
        if stack:
            anchor_name, size = stack[-1]
            stack[-1] = (anchor_name, size + weight)
        total += weight
        if total > limit:
            raise ExcessiveAliasing(
                f"the YAML expands to more than {limit >> 20} MiB through its aliases "
                "(an alias bomb?); it was refused before being expanded"
            )

    for event in yaml.parse(data, Loader=_Loader):
        if isinstance(event, yaml.ScalarEvent):
            weight = len(event.value) + 1
            if event.anchor:
                sizes[event.anchor] = weight
            add(weight)
        elif isinstance(event, yaml.AliasEvent):
            add(sizes.get(event.anchor or "", 1))
        elif isinstance(event, yaml.CollectionStartEvent):
            stack.append((event.anchor, 1))
            total += 1
        elif isinstance(event, yaml.CollectionEndEvent) and stack:
            anchor_name, size = stack.pop()
            if anchor_name:
                sizes[anchor_name] = size
            if stack:
                parent_anchor, parent_size = stack[-1]
                stack[-1] = (parent_anchor, parent_size + size)


def load_yaml(data: str | bytes, *, loader: type[yaml.SafeLoader] | None = None) -> Any:
    """``yaml.load`` with a safe loader (C if available), after ``check_aliases``."""
    check_aliases(data)
    return yaml.load(data, Loader=loader or _Loader)


def load_all_yaml(data: str | bytes, *, loader: type[yaml.SafeLoader] | None = None) -> list[Any]:
    """Every document of ``data`` (see ``load_yaml``)."""
    check_aliases(data)
    return list(yaml.load_all(data, Loader=loader or _Loader))
