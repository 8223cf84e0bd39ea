"""`.sourceignore` and `spec.ignore`: gitignore-style exclusion with Flux's exact matching.

Flux matches with a go-git-derived matcher (fluxcd/pkg sourceignore/gitignore) whose
results differ from git's in a few places, and artifacts must contain the same files as
Flux would put in them, so this module reproduces that matcher rather than using pathspec:

- a pattern without `/` matches any component of the path, so `vendor` excludes
  `vendor/x/y`, and a later `!vendor/x/keep.yaml` can re-include a file under an excluded
  directory (git cannot);
- components are matched with Go's `filepath.Match` (`*`, `?`, `[...]`, `[^...]`, `\\`);
- the last pattern that matches decides;
- a pattern read from `dir/.sourceignore` only applies below `dir/` (its domain).

Composition (GitRepository and OCIRepository): the VCS patterns always apply; the
default exclusions apply only when the repository has no `.sourceignore` patterns and
`spec.ignore` is unset — any user pattern replaces the defaults, as in Flux's
`SourceIgnoreFilter`.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = [
    "DEFAULT_EXCLUDE_PATTERNS",
    "IGNORE_FILE",
    "VCS_PATTERNS",
    "IgnoreMatcher",
    "IgnorePattern",
    "load_ignore_patterns",
    "parse_pattern",
    "read_patterns",
    "source_ignore_matcher",
]

IGNORE_FILE: Final = ".sourceignore"

VCS_PATTERNS: Final = (".git/", ".gitignore", ".gitmodules", ".gitattributes")
DEFAULT_EXCLUDE_PATTERNS: Final = (
    # images and archives
    "*.jpg",
    "*.jpeg",
    "*.gif",
    "*.png",
    "*.wmv",
    "*.flv",
    "*.tar.gz",
    "*.zip",
    # CI configuration
    ".github/",
    ".circleci/",
    ".travis.yml",
    ".gitlab-ci.yml",
    "appveyor.yml",
    ".drone.yml",
    "cloudbuild.yaml",
    "codeship-services.yml",
    "codeship-steps.yml",
    # tool configuration that should never reach a cluster
    "**/.goreleaser.yml",
    "**/.sops.yaml",
    "**/.flux.yaml",
)

_ANY_DIRS: Final = "**"


@functools.lru_cache(maxsize=1024)
def _component_regex(glob: str) -> re.Pattern[str] | None:
    """Translate one Go `filepath.Match` pattern; None when Go would call it malformed."""
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        i += 1
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "\\":
            if i >= n:
                return None
            out.append(re.escape(glob[i]))
            i += 1
        elif c == "[":
            negate = i < n and glob[i] == "^"
            if negate:
                i += 1
            members: list[str] = []
            while True:
                if i >= n:
                    return None
                if glob[i] == "]" and members:
                    i += 1
                    break
                lo, i = _class_char(glob, i)
                if lo is None:
                    return None
                if i < n and glob[i] == "-":
                    hi, i = _class_char(glob, i + 1)
                    if hi is None or hi < lo:
                        return None
                    members.append(f"{re.escape(lo)}-{re.escape(hi)}")
                else:
                    members.append(re.escape(lo))
            out.append(f"[{'^' if negate else ''}{''.join(members)}]")
        else:
            out.append(re.escape(c))
    return re.compile("".join(out), re.DOTALL)


def _class_char(glob: str, i: int) -> tuple[str | None, int]:
    if i >= len(glob) or glob[i] in "-]":
        return None, i
    if glob[i] == "\\":
        i += 1
        if i >= len(glob):
            return None, i
    return glob[i], i + 1


def _name_matches(glob: str, name: str) -> bool:
    regex = _component_regex(glob)
    return regex is not None and regex.fullmatch(name) is not None


@dataclass(frozen=True, slots=True)
class IgnorePattern:
    """One parsed line: `parts` split on `/`, scoped to paths under `domain`."""

    parts: tuple[str, ...]
    domain: tuple[str, ...] = ()
    inclusion: bool = False
    dir_only: bool = False
    is_glob: bool = False

    def match(self, path: Sequence[str], is_dir: bool) -> bool | None:
        """True = exclude, False = re-include, None = this pattern says nothing."""
        depth = len(self.domain)
        if len(path) <= depth or tuple(path[:depth]) != self.domain:
            return None
        rest = path[depth:]
        hit = self._glob_match(rest, is_dir) if self.is_glob else self._name_match(rest, is_dir)
        if not hit:
            return None
        return not self.inclusion

    def _name_match(self, path: Sequence[str], is_dir: bool) -> bool:
        for i, name in enumerate(path):
            if not _name_matches(self.parts[0], name):
                continue
            return not (self.dir_only and not is_dir and i == len(path) - 1)
        return False

    def _glob_match(self, path: Sequence[str], is_dir: bool) -> bool:
        # A leading "" (pattern starting with "/") anchors; "**" lets the next part float.
        remaining = list(path)
        matched = False
        floating = False
        for i, part in enumerate(self.parts):
            if part == "":
                floating = False
                continue
            if part == _ANY_DIRS:
                if i == len(self.parts) - 1:
                    break
                floating = True
                continue
            if _ANY_DIRS in part or not remaining:
                return False
            if floating:
                floating = False
                matched = False
                while remaining:
                    name = remaining.pop(0)
                    if _name_matches(part, name):
                        matched = True
                        break
            else:
                if not _name_matches(part, remaining[0]):
                    return False
                matched = True
                remaining.pop(0)
        if matched and self.dir_only and not is_dir and not remaining:
            return False
        return matched


def parse_pattern(line: str, domain: Sequence[str] = ()) -> IgnorePattern:
    inclusion = line.startswith("!")
    if inclusion:
        line = line[1:]
    if not line.endswith("\\ "):
        line = line.rstrip(" ")
    dir_only = line.endswith("/")
    if dir_only:
        line = line[:-1]
    return IgnorePattern(
        parts=tuple(line.split("/")),
        domain=tuple(domain),
        inclusion=inclusion,
        dir_only=dir_only,
        is_glob="/" in line,
    )


def read_patterns(text: str, domain: Sequence[str] = ()) -> list[IgnorePattern]:
    """Parse ignore-file text: one pattern per line, `#` comments and blank lines skipped."""
    lines = (line.removesuffix("\r") for line in text.split("\n"))
    return [
        parse_pattern(line, domain) for line in lines if line.strip() and not line.startswith("#")
    ]


def load_ignore_patterns(root: Path) -> list[IgnorePattern]:
    """Read `.sourceignore` in `root` and every subdirectory (not `.git`, no symlinks).

    Parent files come before their subdirectories', so deeper files take precedence.
    Blocking: call through asyncio.to_thread on the loop.
    """
    patterns: list[IgnorePattern] = []
    _load_into(root, (), patterns)
    return patterns


def _load_into(directory: Path, domain: tuple[str, ...], out: list[IgnorePattern]) -> None:
    ignore_file = directory / IGNORE_FILE
    try:
        text = ignore_file.read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        pass
    else:
        out.extend(read_patterns(text, domain))
    with os.scandir(directory) as entries:
        subdirs = sorted(
            e.name for e in entries if e.is_dir(follow_symlinks=False) and e.name != ".git"
        )
    for name in subdirs:
        _load_into(directory / name, (*domain, name), out)


class IgnoreMatcher:
    """An ordered pattern list; call it with a `/`-separated relative path."""

    def __init__(self, patterns: Iterable[IgnorePattern]) -> None:
        self.patterns: tuple[IgnorePattern, ...] = tuple(patterns)
        # Without any `!` pattern nothing below an excluded directory can come back, so
        # the archive walk may skip the whole subtree (e.g. a large `.git`).
        self.prunes_excluded_dirs = not any(p.inclusion for p in self.patterns)

    def match(self, parts: Sequence[str], is_dir: bool) -> bool:
        for pattern in reversed(self.patterns):
            verdict = pattern.match(parts, is_dir)
            if verdict is not None:
                return verdict
        return False

    def __call__(self, rel_path: str, is_dir: bool) -> bool:
        return self.match(rel_path.split("/"), is_dir)


def source_ignore_matcher(root: Path, spec_ignore: str | None = None) -> IgnoreMatcher:
    """The exclusion matcher Flux applies when archiving a Git or OCI source at `root`.

    Blocking (reads `.sourceignore` files): call through asyncio.to_thread on the loop.
    """
    user = load_ignore_patterns(root)
    if spec_ignore is not None:
        user.extend(read_patterns(spec_ignore))
    base = VCS_PATTERNS if user else (*VCS_PATTERNS, *DEFAULT_EXCLUDE_PATTERNS)
    return IgnoreMatcher([*(parse_pattern(p) for p in base), *user])
