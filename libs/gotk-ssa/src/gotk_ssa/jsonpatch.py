"""JSON documents compared and trimmed with RFC 6901 pointers and RFC 6902 operations: what
fluxcd/pkg ssa/jsondiff gets from wI2L/jsondiff (compare) and evanphx/json-patch (removing
ignored paths).

Maps are compared key by key; lists of equal length element by element, other lists are
replaced whole; anything else that differs is replaced. Pure functions over JSON values.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from gotk_ssa.errors import InvalidIgnoreRule

__all__ = ["PatchOperation", "compare", "escape", "parse_pointer", "remove_paths"]

Op = Literal["add", "remove", "replace"]


@dataclass(frozen=True, slots=True)
class PatchOperation:
    """One RFC 6902 operation; `value` is unused for `remove`."""

    op: Op
    path: str
    value: Any = None

    def as_json(self) -> dict[str, Any]:
        if self.op == "remove":
            return {"op": "remove", "path": self.path}
        return {"op": self.op, "path": self.path, "value": self.value}


def escape(token: str) -> str:
    """A map key as one RFC 6901 reference token (`~` → `~0`, `/` → `~1`)."""
    return token.replace("~", "~0").replace("/", "~1")


def parse_pointer(pointer: str) -> list[str]:
    """The reference tokens of `pointer` (`""` is the whole document: no tokens)."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise InvalidIgnoreRule(f"JSON pointer '{pointer}' does not start with '/'")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def compare(old: Any, new: Any, path: str = "") -> list[PatchOperation]:
    """The operations that turn `old` into `new`, each at its deepest differing path."""
    if isinstance(old, dict) and isinstance(new, dict):
        ops: list[PatchOperation] = []
        for key, value in old.items():
            where = f"{path}/{escape(str(key))}"
            if key not in new:
                ops.append(PatchOperation("remove", where))
            else:
                ops.extend(compare(value, new[key], where))
        for key, value in new.items():
            if key not in old:
                ops.append(PatchOperation("add", f"{path}/{escape(str(key))}", value))
        return ops
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [
            op
            for i, (a, b) in enumerate(zip(old, new, strict=True))
            for op in compare(a, b, f"{path}/{i}")
        ]
    if type(old) is type(new) and old == new:
        return []
    return [PatchOperation("replace", path, new)]


def remove_paths(document: dict[str, Any], pointers: Iterable[str]) -> dict[str, Any]:
    """A copy of `document` without what `pointers` point at; a pointer to nothing is fine."""
    result = copy.deepcopy(document)
    for pointer in pointers:
        tokens = parse_pointer(pointer)
        if not tokens:
            return {}
        parent: Any = result
        for token in tokens[:-1]:
            parent = _child(parent, token)
            if parent is None:
                break
        else:
            _remove(parent, tokens[-1])
    return result


def _child(node: Any, token: str) -> Any:
    if isinstance(node, dict):
        return node.get(token)
    if isinstance(node, list) and token.isdigit() and int(token) < len(node):
        return node[int(token)]
    return None


def _remove(node: Any, token: str) -> None:
    if isinstance(node, dict):
        node.pop(token, None)
    elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
        del node[int(token)]
