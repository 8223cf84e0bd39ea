"""Semantic versions and ranges with the semantics of Masterminds/semver v3.

Flux resolves GitRepository `ref.semver`, OCIRepository `ref.semver` and HelmChart
`version` with that Go library, so gotk follows its rules rather than npm's or PEP 440's:

- versions are coerced: `v1.2`, `1` and leading zeros (`2025.01.02`) are accepted;
- a range is OR groups (`||`) of AND-ed comparisons (space or comma separated), with
  `= != > < >= <= ~ ~> ^`, wildcards `x X *`, and hyphen ranges `1.2 - 1.4.5`;
- a prerelease version only satisfies an AND group that itself names a prerelease
  (`>=1.2.3-0`), unless `include_prerelease` is set;
- build metadata is ignored for ordering and equality.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import total_ordering

from gotk_api.errors import GotkError

__all__ = [
    "Constraint",
    "InvalidConstraint",
    "InvalidVersion",
    "SemverError",
    "Version",
    "latest",
    "parse_constraint",
    "parse_tag_version",
    "parse_version",
]

_MAX_SEGMENT = 2**64 - 1
_ALLOWED_IDENT = re.compile(r"[0-9A-Za-z-]+\Z")
_NUMERIC = re.compile(r"[0-9]+\Z")

_LOOSE_VERSION = re.compile(
    r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?"
    r"(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
    r"(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?\Z"
)

# The Go library's version pattern inside constraints. Its character class contains a
# literal `|` (a quirk kept so the same strings are accepted).
_CV = (
    r"v?([0-9|xX*]+)(\.[0-9|xX*]+)?(\.[0-9|xX*]+)?"
    r"(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
    r"(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
)
_OPS = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^"
_CONSTRAINT = re.compile(rf"^\s*({_OPS})\s*({_CV})\s*\Z", re.ASCII)
_RANGE = re.compile(rf"\s*({_CV})\s+-\s+({_CV})\s*", re.ASCII)
_FIND = re.compile(rf"({_OPS})\s*({_CV})", re.ASCII)
_VALID_GROUP = re.compile(
    rf"^(\s*({_OPS})\s*({_CV})\s*)((?:\s+|,\s*)({_OPS})\s*({_CV})\s*)*\Z", re.ASCII
)


class SemverError(GotkError, ValueError):
    """A version or a version range could not be parsed."""


class InvalidVersion(SemverError):
    def __init__(self, text: str, cause: str) -> None:
        super().__init__(f"invalid semantic version {text!r}: {cause}")
        self.text = text
        self.cause = cause


class InvalidConstraint(SemverError):
    def __init__(self, text: str, cause: str) -> None:
        super().__init__(f"invalid semver range {text!r}: {cause}")
        self.text = text
        self.cause = cause


def _validate_prerelease(pre: str, text: str) -> None:
    for part in pre.split("."):
        if not part:
            raise InvalidVersion(text, "empty prerelease identifier")
        if _NUMERIC.match(part):
            if len(part) > 1 and part[0] == "0":
                raise InvalidVersion(text, "numeric prerelease identifier starts with 0")
        elif not _ALLOWED_IDENT.match(part):
            raise InvalidVersion(text, "invalid prerelease string")


def _validate_metadata(meta: str, text: str) -> None:
    for part in meta.split("."):
        if not part or not _ALLOWED_IDENT.match(part):
            raise InvalidVersion(text, "invalid metadata string")


def _segment(raw: str, text: str) -> int:
    value = int(raw.lstrip(".") or "0")
    if value > _MAX_SEGMENT:
        raise InvalidVersion(text, "version segment out of range")
    return value


def _compare_pre_part(a: str, b: str) -> int:
    if a == b:
        return 0
    if not a:
        return -1
    if not b:
        return 1
    a_num = _NUMERIC.match(a) is not None and int(a) <= _MAX_SEGMENT
    b_num = _NUMERIC.match(b) is not None and int(b) <= _MAX_SEGMENT
    if a_num and b_num:
        return 1 if int(a) > int(b) else -1
    if a_num:
        return -1
    if b_num:
        return 1
    return 1 if a > b else -1


def _compare_prerelease(a: str, b: str) -> int:
    a_parts, b_parts = a.split("."), b.split(".")
    for i in range(max(len(a_parts), len(b_parts))):
        d = _compare_pre_part(
            a_parts[i] if i < len(a_parts) else "", b_parts[i] if i < len(b_parts) else ""
        )
        if d:
            return d
    return 0


@total_ordering
@dataclass(frozen=True, slots=True, eq=False)
class Version:
    """A parsed version; `original` is the text it came from (a tag keeps its `v`)."""

    major: int
    minor: int
    patch: int
    prerelease: str = ""
    metadata: str = ""
    original: str = field(default="", compare=False)

    def compare(self, other: Version) -> int:
        """-1, 0 or 1 by semver precedence (prereleases count, metadata does not)."""
        mine = (self.major, self.minor, self.patch)
        theirs = (other.major, other.minor, other.patch)
        if mine != theirs:
            return -1 if mine < theirs else 1
        if self.prerelease == other.prerelease:
            return 0
        if not self.prerelease:
            return 1
        if not other.prerelease:
            return -1
        return _compare_prerelease(self.prerelease, other.prerelease)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self.compare(other) == 0

    def __lt__(self, other: Version) -> bool:
        return self.compare(other) < 0

    def __hash__(self) -> int:
        return hash((self.major, self.minor, self.patch, self.prerelease))

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += f"-{self.prerelease}"
        if self.metadata:
            text += f"+{self.metadata}"
        return text


def parse_version(text: str) -> Version:
    """Parse leniently, like Masterminds' `NewVersion` (a `v`, missing parts, leading 0s)."""
    m = _LOOSE_VERSION.match(text)
    if m is None:
        raise InvalidVersion(text, "not a semantic version")
    pre, meta = m.group(5) or "", m.group(8) or ""
    if pre:
        _validate_prerelease(pre, text)
    if meta:
        _validate_metadata(meta, text)
    return Version(
        major=_segment(m.group(1), text),
        minor=_segment(m.group(2) or "", text),
        patch=_segment(m.group(3) or "", text),
        prerelease=pre,
        metadata=meta,
        original=text,
    )


def parse_tag_version(text: str) -> Version:
    """Parse a Git tag or OCI tag as Flux does: three dot-separated parts are required."""
    if len(text.split(".", 2)) != 3:
        raise InvalidVersion(text, "expected MAJOR.MINOR.PATCH")
    return parse_version(text)


@dataclass(frozen=True, slots=True)
class _Comparison:
    op: str
    version: Version
    text: str
    dirty: bool
    minor_dirty: bool
    patch_dirty: bool

    def check(self, v: Version, include_pre: bool) -> bool:
        if v.prerelease and not include_pre:
            return False
        return _CHECKS[self.op](self, v)

    def __str__(self) -> str:
        return f"{self.op}{self.text}"


def _is_x(part: str) -> bool:
    return part in ("x", "X", "*")


def _parse_comparison(text: str, whole: str) -> _Comparison:
    m = _CONSTRAINT.match(text)
    if m is None:
        raise InvalidConstraint(whole, f"improper constraint {text.strip()!r}")
    op, ver = m.group(1), m.group(2)
    major, minor, patch, pre = m.group(3), m.group(4) or "", m.group(5) or "", m.group(6) or ""
    dirty = minor_dirty = patch_dirty = False
    if _is_x(major):
        ver, dirty = f"0.0.0{pre}", True
    elif not minor or _is_x(minor[1:]):
        ver, dirty, minor_dirty = f"{major}.0.0{pre}", True, True
    elif not patch or _is_x(patch[1:]):
        ver, dirty, patch_dirty = f"{major}{minor}.0{pre}", True, True
    try:
        version = parse_version(ver)
    except InvalidVersion as exc:
        raise InvalidConstraint(whole, exc.cause) from None
    return _Comparison(op, version, m.group(2), dirty, minor_dirty, patch_dirty)


def _not_equal(c: _Comparison, v: Version) -> bool:
    con = c.version
    if c.dirty:
        if con.major != v.major:
            return True
        if con.minor != v.minor and not c.minor_dirty:
            return True
        if c.minor_dirty:
            return False
        if con.patch != v.patch and not c.patch_dirty:
            return True
        if c.patch_dirty:
            if v.prerelease or con.prerelease:
                return _compare_prerelease(v.prerelease, con.prerelease) != 0
            return False
    return v != con


def _greater_than(c: _Comparison, v: Version) -> bool:
    con = c.version
    if not c.dirty:
        return v.compare(con) > 0
    if v.major != con.major:
        return v.major > con.major
    if c.minor_dirty:
        return False
    if c.patch_dirty:
        return v.minor > con.minor
    return v.compare(con) > 0


def _less_than(c: _Comparison, v: Version) -> bool:
    return v.compare(c.version) < 0


def _greater_equal(c: _Comparison, v: Version) -> bool:
    return v.compare(c.version) >= 0


def _less_equal(c: _Comparison, v: Version) -> bool:
    con = c.version
    if not c.dirty:
        return v.compare(con) <= 0
    if v.major > con.major:
        return False
    return not (v.major == con.major and v.minor > con.minor and not c.minor_dirty)


def _tilde(c: _Comparison, v: Version) -> bool:
    con = c.version
    if v < con:
        return False
    if (con.major, con.minor, con.patch) == (0, 0, 0) and not (c.minor_dirty or c.patch_dirty):
        return True
    if v.major != con.major:
        return False
    return v.minor == con.minor or c.minor_dirty


def _tilde_or_equal(c: _Comparison, v: Version) -> bool:
    if c.dirty:
        return _tilde(c, v)
    return v == c.version


def _caret(c: _Comparison, v: Version) -> bool:
    con = c.version
    if v < con:
        return False
    if con.major > 0 or c.minor_dirty:
        return v.major == con.major
    if v.major > 0:
        return False
    if con.minor > 0 or c.patch_dirty:
        return v.minor == con.minor
    if v.minor > 0:
        return False
    return v.patch == con.patch


_CHECKS = {
    "": _tilde_or_equal,
    "=": _tilde_or_equal,
    "!=": _not_equal,
    ">": _greater_than,
    "<": _less_than,
    ">=": _greater_equal,
    "=>": _greater_equal,
    "<=": _less_equal,
    "=<": _less_equal,
    "~": _tilde,
    "~>": _tilde,
    "^": _caret,
}


def _rewrite_hyphen_ranges(text: str) -> str:
    out = text
    for m in _RANGE.finditer(text):
        out = out.replace(m.group(0), f">= {m.group(1)}, <= {m.group(11)} ", 1)
    return out


@dataclass(frozen=True, slots=True)
class Constraint:
    """A parsed range: OR of AND groups. `check(version)` says whether it satisfies it."""

    text: str
    groups: tuple[tuple[_Comparison, ...], ...]
    include_prerelease: bool = False

    def check(self, version: Version) -> bool:
        for group in self.groups:
            # A group that names a prerelease opts the whole group in to prereleases.
            include = self.include_prerelease or any(c.version.prerelease for c in group)
            if all(c.check(version, include) for c in group):
                return True
        return False

    def __contains__(self, version: Version) -> bool:
        return self.check(version)

    def __str__(self) -> str:
        return " || ".join(" ".join(str(c) for c in group) for group in self.groups)


def parse_constraint(text: str, *, include_prerelease: bool = False) -> Constraint:
    """Parse a range like `>= 1.2, < 2.0 || ^3`; raise `InvalidConstraint` if malformed."""
    rewritten = _rewrite_hyphen_ranges(text)
    groups: list[tuple[_Comparison, ...]] = []
    for part in rewritten.split("||"):
        if not _VALID_GROUP.match(part):
            shown = part.strip() or "(empty)"
            raise InvalidConstraint(text, f"improper constraint {shown!r}")
        found = [m.group(0) for m in _FIND.finditer(part)] or [part]
        groups.append(tuple(_parse_comparison(s, text) for s in found))
    return Constraint(text, tuple(groups), include_prerelease)


def latest(
    versions: Iterable[str],
    constraint: str | Constraint,
    *,
    strict_tags: bool = True,
) -> str | None:
    """The original text of the highest version that satisfies `constraint`, or None.

    Strings that are not versions are skipped (with `strict_tags`, as Flux skips Git
    and OCI tags without three parts). Among versions of equal precedence (they differ
    only in build metadata) the one listed last wins, so callers that order their
    input by age get Flux's newest-wins tie-break.
    """
    rng = parse_constraint(constraint) if isinstance(constraint, str) else constraint
    parser = parse_tag_version if strict_tags else parse_version
    best: Version | None = None
    for text in versions:
        try:
            candidate = parser(text)
        except InvalidVersion:
            continue
        if rng.check(candidate) and (best is None or candidate >= best):
            best = candidate
    return best.original if best is not None else None
