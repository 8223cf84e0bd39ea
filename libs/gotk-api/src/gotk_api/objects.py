"""The raw Kubernetes object as gotk passes it around: decoded JSON, before any parsing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

__all__ = ["Obj", "describe"]

Obj: TypeAlias = dict[str, Any]


def describe(obj: Mapping[str, Any]) -> str:
    """`Kind/namespace/name` (or `Kind/name`), the way Flux names an object in messages."""
    metadata = obj.get("metadata") or {}
    namespace, name = metadata.get("namespace"), metadata.get("name", "")
    kind = obj.get("kind", "")
    return f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"
