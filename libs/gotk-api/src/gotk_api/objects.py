"""The raw Kubernetes object as gotk passes it around: decoded JSON, before any parsing."""

from __future__ import annotations

from typing import Any, TypeAlias

__all__ = ["Obj"]

Obj: TypeAlias = dict[str, Any]
