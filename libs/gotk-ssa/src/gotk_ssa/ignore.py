"""Drift ignore rules: JSON pointers disregarded on every object or on those a target selects
(fluxcd/pkg ssa/jsondiff's ``IgnoreRule`` and ``SelectorRegex``).

A target's group, version, kind, name and namespace are regular expressions matched against
the whole value; its label and annotation selectors use Kubernetes' label selector syntax
(``a=b``, ``a!=b``, ``a in (b,c)``, ``a notin (b)``, ``a``, ``!a``, ``a>1``). An unset field
matches anything. Rules are compiled once, so a bad pattern fails before any object is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from gotk_ssa.errors import InvalidIgnoreRule
from gotk_ssa.jsonpatch import parse_pointer

__all__ = ["IgnoreRule", "LabelSelector", "ObjectSelector", "ignored_paths"]

_KEY = r"[^\s!=<>(),]+"
_NOT_EXISTS = re.compile(rf"!\s*({_KEY})")
_SET = re.compile(rf"({_KEY})\s+(in|notin)\s*\(([^()]*)\)")
_COMPARE = re.compile(rf"({_KEY})\s*(==|=|!=|>|<)\s*([^\s!=<>(),]*)")
_EXISTS = re.compile(_KEY)

Operator = Literal["exists", "!", "=", "!=", "in", "notin", ">", "<"]


@dataclass(frozen=True, slots=True)
class _Requirement:
    key: str
    operator: Operator
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key, "")
        match self.operator:
            case "exists":
                return present
            case "!":
                return not present
            case "=" | "in":
                return present and value in self.values
            case "!=" | "notin":
                return not present or value not in self.values
            case ">" | "<":
                if not present or not _is_int(value):
                    return False
                (bound,) = self.values
                return int(value) > int(bound) if self.operator == ">" else int(value) < int(bound)


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A parsed label (or annotation) selector; every requirement must hold."""

    requirements: tuple[_Requirement, ...]

    @classmethod
    def parse(cls, text: str) -> LabelSelector:
        return cls(tuple(_requirement(part) for part in _split(text) if part.strip()))

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(r.matches(labels) for r in self.requirements)


def _split(text: str) -> list[str]:
    """Split on the commas outside `( )`."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _is_int(value: str) -> bool:
    return bool(re.fullmatch(r"[-+]?[0-9]+", value))


def _requirement(text: str) -> _Requirement:
    part = text.strip()
    if m := _NOT_EXISTS.fullmatch(part):
        return _Requirement(m.group(1), "!")
    if m := _SET.fullmatch(part):
        values = frozenset(v.strip() for v in m.group(3).split(",") if v.strip())
        return _Requirement(m.group(1), "in" if m.group(2) == "in" else "notin", values)
    if m := _COMPARE.fullmatch(part):
        key, operator, value = m.groups()
        if operator in (">", "<"):
            if not _is_int(value):
                raise InvalidIgnoreRule(f"'{part}': '{operator}' needs an integer value")
            return _Requirement(key, ">" if operator == ">" else "<", frozenset({value}))
        return _Requirement(key, "!=" if operator == "!=" else "=", frozenset({value}))
    if _EXISTS.fullmatch(part):
        return _Requirement(part, "exists")
    raise InvalidIgnoreRule(f"unable to parse requirement '{part}'")


@dataclass(frozen=True, slots=True)
class ObjectSelector:
    """Which objects a rule applies to; None fields match anything."""

    group: re.Pattern[str] | None = None
    version: re.Pattern[str] | None = None
    kind: re.Pattern[str] | None = None
    name: re.Pattern[str] | None = None
    namespace: re.Pattern[str] | None = None
    labels: LabelSelector | None = None
    annotations: LabelSelector | None = None

    @classmethod
    def compile(
        cls,
        *,
        group: str | None = None,
        version: str | None = None,
        kind: str | None = None,
        name: str | None = None,
        namespace: str | None = None,
        label_selector: str | None = None,
        annotation_selector: str | None = None,
    ) -> ObjectSelector:
        """Compile the patterns; raise InvalidIgnoreRule naming the one that does not."""
        return cls(
            group=_pattern("group", group),
            version=_pattern("version", version),
            kind=_pattern("kind", kind),
            name=_pattern("name", name),
            namespace=_pattern("namespace", namespace),
            labels=_selector("labelSelector", label_selector),
            annotations=_selector("annotationSelector", annotation_selector),
        )

    def matches(self, obj: Mapping[str, Any]) -> bool:
        group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
        metadata = obj.get("metadata") or {}
        for pattern, value in (
            (self.group, group),
            (self.version, version),
            (self.kind, str(obj.get("kind", ""))),
            (self.name, str(metadata.get("name") or "")),
            (self.namespace, str(metadata.get("namespace") or "")),
        ):
            if pattern is not None and not pattern.fullmatch(value):
                return False
        for selector, field in ((self.labels, "labels"), (self.annotations, "annotations")):
            if selector is not None and not selector.matches(metadata.get(field) or {}):
                return False
        return True


def _pattern(field: str, text: str | None) -> re.Pattern[str] | None:
    if not text:
        return None
    try:
        return re.compile(text)
    except re.error as err:
        raise InvalidIgnoreRule(
            f"target.{field}: invalid regular expression '{text}': {err}"
        ) from None


def _selector(field: str, text: str | None) -> LabelSelector | None:
    if not text:
        return None
    try:
        return LabelSelector.parse(text)
    except InvalidIgnoreRule as err:
        raise InvalidIgnoreRule(f"target.{field}: {err}") from None


@dataclass(frozen=True, slots=True)
class IgnoreRule:
    """JSON pointers to disregard, on the objects `target` selects (all when None); the
    pointer `""` disregards an object entirely."""

    paths: tuple[str, ...]
    target: ObjectSelector | None = None

    @classmethod
    def compile(cls, paths: Sequence[str], target: ObjectSelector | None = None) -> IgnoreRule:
        for path in paths:
            parse_pointer(path)
        return cls(tuple(paths), target)


def ignored_paths(rules: Iterable[IgnoreRule], obj: Mapping[str, Any]) -> list[str]:
    """The pointers of every rule whose target selects `obj`."""
    return [
        path
        for rule in rules
        if rule.target is None or rule.target.matches(obj)
        for path in rule.paths
    ]
