"""HTML built from Python values, escaped by construction.

``Html`` is markup that is already safe; every other value that reaches ``el`` or ``join``
is escaped. Views build pages only through these helpers, so object data (names, messages,
values) can never become markup, and no template engine is needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape as _escape
from typing import TypeAlias

__all__ = ["Child", "Html", "el", "escape", "join", "raw"]


class Html(str):
    """A string of trusted markup."""

    __slots__ = ()


Child: TypeAlias = Html | str | int | float | Iterable["Child"] | None

_VOID = frozenset({"br", "hr", "img", "input", "meta", "link", "col"})


def escape(value: object) -> Html:
    if isinstance(value, Html):
        return value
    return Html(_escape(str(value), quote=True))


def raw(markup: str) -> Html:
    """Trust ``markup`` as it is: for constant markup written in this package only."""
    return Html(markup)


def _render(child: Child, out: list[str]) -> None:
    if child is None or child is False:
        return
    if isinstance(child, Html):
        out.append(child)
    elif isinstance(child, str | int | float):
        out.append(_escape(str(child), quote=False))
    else:
        for item in child:
            _render(item, out)


def join(*children: Child) -> Html:
    out: list[str] = []
    for child in children:
        _render(child, out)
    return Html("".join(out))


def el(tag: str, *children: Child, **attrs: str | int | bool | None) -> Html:
    """``<tag attrs>children</tag>``; ``class_`` → ``class``, ``data_x`` → ``data-x``;
    True renders a bare attribute, False and None leave it out."""
    parts = [tag]
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        name = key.rstrip("_").replace("_", "-")
        parts.append(name if value is True else f'{name}="{_escape(str(value), quote=True)}"')
    opening = f"<{' '.join(parts)}>"
    if tag in _VOID:
        return Html(opening)
    out = [opening]
    for child in children:
        _render(child, out)
    out.append(f"</{tag}>")
    return Html("".join(out))
