"""Flux's envsubst dialect: bash-like `${...}` expansion, with plain `$var` left alone.

Flux uses its fork of drone/envsubst (fluxcd/pkg/envsubst); this is a re-implementation of
its grammar and quirks, so manifests expand exactly as they would under Flux:

- `${var}`; `$${...}` writes a literal `${...}` and `$$` a `$`; `$var` stays as written.
- defaults `${var:=x}`, `${var:-x}`, `${var=x}` (also `:?`, `:+`, which, like Flux, act
  as defaults too): the default applies when the value is empty or unset;
- `${#var}`, `${var:pos}`, `${var:pos:len}`, `${var,}`/`${var,,}`/`${var^}`/`${var^^}`,
  `${var#glob}`, `${var##glob}`, `${var%glob}`, `${var%%glob}`,
  `${var/from/to}`, `${var//from/to}`, `${var/#from/to}`, `${var/%from/to}`;
- defaults and arguments may nest `${...}`.

In strict mode a variable that is not set is an error, unless a default operator
handles it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["EnvsubstError", "VariableNotSetError", "expand"]

_DEFAULT_OPS = frozenset({"-", "+", "=", "?", ":-", ":+", ":=", ":?"})


class EnvsubstError(ValueError):
    """The text has a malformed `${...}` expression."""


class VariableNotSetError(EnvsubstError):
    """Strict mode: a referenced variable has no value and no default."""

    def __init__(self, name: str) -> None:
        super().__init__(f'variable not set (strict mode): "{name}"')
        self.name = name


@dataclass
class _Text:
    value: str


@dataclass
class _Func:
    param: str
    op: str = ""
    args: list[_Node] = field(default_factory=list)


_Node = _Text | _Func


def _is_ident(char: str) -> bool:
    return char.isalnum() or char == "_"


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def at_open(self) -> bool:
        return self.peek() == "$" and self.peek(1) == "{"

    def parse(self) -> list[_Node]:
        nodes: list[_Node] = []
        while self.pos < len(self.text):
            if self.at_open():
                self.pos += 2
                nodes.append(self.parse_func())
                continue
            chunk: list[str] = []
            while self.pos < len(self.text) and not self.at_open():
                if self.peek() == "$" and self.peek(1) == "$":
                    chunk.append("$")
                    self.pos += 2
                else:
                    chunk.append(self.peek())
                    self.pos += 1
            nodes.append(_Text("".join(chunk)))
        return nodes

    def scan(self, accept: Callable[[str, int], bool]) -> str:
        """Consume the longest run of accepted characters (indexed from 1)."""
        start = self.pos
        while self.pos < len(self.text) and accept(self.peek(), self.pos - start + 1):
            self.pos += 1
        return self.text[start : self.pos]

    def expect_close(self, error: str = "bad substitution") -> None:
        if self.peek() != "}":
            raise EnvsubstError(error)
        self.pos += 1

    def parse_func(self) -> _Func:
        if self.peek() == "#":
            self.pos += 1
            name = self.scan(lambda c, _i: _is_ident(c))
            if not name:
                raise EnvsubstError("bad substitution")
            self.expect_close()
            return _Func(param=name, op="#")
        name = self.scan(lambda c, _i: _is_ident(c))
        if not name:
            raise EnvsubstError("unable to parse variable name")
        nxt = self.peek()
        if nxt == ":":
            if self.peek(1) in ("=", "-", "?", "+"):
                return self.parse_default(name)
            return self.parse_substr(name)
        if nxt == "=":
            return self.parse_default(name)
        if nxt in (",", "^"):
            op = self.scan(lambda c, i: c in ",^" and i < 3)
            self.expect_close()
            return _Func(param=name, op=op)
        if nxt == "/":
            return self.parse_replace(name)
        if nxt in ("#", "%"):
            marker = nxt
            op = self.scan(lambda c, i: c == marker and i < 3)
            node = _Func(param=name, op=op, args=[self.parse_param(lambda c: c != "}")])
            self.expect_close()
            return node
        self.expect_close("missing closing brace")
        return _Func(param=name)

    def parse_param(self, accept: Callable[[str], bool], *, escapes: bool = False) -> _Node:
        if self.at_open():
            self.pos += 2
            return self.parse_func()
        chars: list[str] = []
        while self.pos < len(self.text) and not self.at_open():
            char, nxt = self.peek(), self.peek(1)
            if escapes and ((char == "$" and nxt == "$") or (char == "\\" and nxt in ("/", "\\"))):
                chars.append(nxt)
                self.pos += 2
                continue
            if not accept(char):
                break
            chars.append(char)
            self.pos += 1
        if not chars:
            raise EnvsubstError("unable to parse substitution within function")
        return _Text("".join(chars))

    def parse_default(self, name: str) -> _Func:
        op = "=" if self.peek() == "=" else self.text[self.pos : self.pos + 2]
        self.pos += len(op)
        node = _Func(param=name, op=op)
        while self.peek() != "}":
            node.args.append(self.parse_param(lambda c: c != "}"))
        self.pos += 1
        return node

    def parse_substr(self, name: str) -> _Func:
        self.pos += 1
        node = _Func(param=name, op=":", args=[self.parse_param(lambda c: c not in ":}")])
        if self.peek() == "}":
            self.pos += 1
            return node
        if self.peek() != ":":
            raise EnvsubstError("bad substitution")
        self.scan(lambda c, _i: c == ":")
        node.args.append(self.parse_param(lambda c: c != "}"))
        self.expect_close()
        return node

    def parse_replace(self, name: str) -> _Func:
        op = self.scan(lambda c, i: (i == 1 and c == "/") or (i == 2 and c in "/#%"))
        node = _Func(param=name, op=op)
        node.args.append(self.parse_param(lambda c: c != "/", escapes=True))
        if self.peek() != "/":
            raise EnvsubstError("bad substitution")
        self.pos += 1
        if self.peek() != "}":
            node.args.append(self.parse_param(lambda c: c != "}", escapes=True))
        self.expect_close()
        return node


def _glob_regex(pattern: str) -> re.Pattern[str] | None:
    """Go path.Match as a regex: `*` and `?` stop at `/`; None when malformed."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\" and index + 1 < len(pattern):
            index += 1
            out.append(re.escape(pattern[index]))
        elif char == "[":
            end = pattern.find("]", index + 2)
            if end < 0:
                return None
            body = pattern[index + 1 : end]
            negate = body.startswith("^")
            body = body[1:] if negate else body
            out.append("[" + ("^" if negate else "") + body.replace("\\", "\\\\") + "]")
            index = end
        else:
            out.append(re.escape(char))
        index += 1
    try:
        return re.compile("".join(out), re.DOTALL)
    except re.error:
        return None


def _trim_prefix(value: str, pattern: str, *, longest: bool) -> str:
    regex = _glob_regex(pattern)
    if regex is None:
        return value
    match = ""
    for length in range(len(value), 0, -1):
        if regex.fullmatch(value[:length]):
            match = value[:length]
            if longest:
                break
    return value[len(match) :] if match else value


def _trim_suffix(value: str, pattern: str, *, longest: bool) -> str:
    # Flux reverses both string and pattern and trims a prefix; kept for compatibility.
    return _trim_prefix(value[::-1], pattern[::-1], longest=longest)[::-1]


def _substr(value: str, args: list[str]) -> str:
    try:
        pos = int(args[0])
    except ValueError:
        return value
    if pos < 0:
        pos = max(len(value) + pos, 0)
    if len(args) == 1:
        return value[pos:]
    try:
        length = int(args[1])
    except ValueError:
        return value
    if pos + length >= len(value):
        return value[pos:]
    return value[pos : pos + length]


def _apply(op: str, value: str, args: list[str]) -> str:
    if op in _DEFAULT_OPS or op == "":
        return "".join(args) if value == "" and args else value
    if op == "#" and not args:
        return str(len(value.encode()))
    simple: dict[str, Callable[[], str]] = {
        ",": lambda: value[:1].lower() + value[1:],
        ",,": value.lower,
        "^": lambda: value[:1].upper() + value[1:],
        "^^": value.upper,
        "#": lambda: _trim_prefix(value, args[0], longest=False),
        "##": lambda: _trim_prefix(value, args[0], longest=True),
        "%": lambda: _trim_suffix(value, args[0], longest=False),
        "%%": lambda: _trim_suffix(value, args[0], longest=True),
        ":": lambda: _substr(value, args),
        "/": lambda: value.replace(args[0], args[1] if len(args) > 1 else "", 1),
        "//": lambda: value.replace(args[0], args[1] if len(args) > 1 else ""),
        "/#": lambda: (
            (args[1] + value[len(args[0]) :])
            if len(args) == 2 and value.startswith(args[0])
            else value
        ),
        "/%": lambda: (
            (value[: len(value) - len(args[0])] + args[1])
            if len(args) == 2 and value.endswith(args[0])
            else value
        ),
    }
    handler = simple.get(op)
    return handler() if handler else ("".join(args) if value == "" and args else value)


def _evaluate(nodes: list[_Node], lookup: Callable[[str], str | None], strict: bool) -> str:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, _Text):
            out.append(node.value)
            continue
        args = [_evaluate([arg], lookup, strict) for arg in node.args]
        value = lookup(node.param)
        if value is None:
            if strict and node.op not in _DEFAULT_OPS:
                raise VariableNotSetError(node.param)
            value = ""
        out.append(_apply(node.op, value, args))
    return "".join(out)


def expand(text: str, variables: dict[str, str], *, strict: bool = False) -> str:
    """Expand every `${...}` in `text` from `variables`."""
    return _evaluate(_Parser(text).parse(), variables.get, strict)
