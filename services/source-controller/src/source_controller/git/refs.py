"""`spec.ref` resolution rules and Flux's revision strings.

Precedence is commit > name > semver > tag > branch, and an empty ref means branch
`master`. Revisions are `<short ref>@sha1:<commit>` (`main@sha1:…`, `v1.0.0@sha1:…`,
the chosen tag for semver), the full ref for `name` (`refs/pull/1/head@sha1:…`), and a
bare `sha1:<commit>` for a commit pinned without a branch or name.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from source_controller.git.errors import InvalidRef
from source_controller.semver import Constraint, InvalidVersion, Version, parse_tag_version

__all__ = [
    "DEFAULT_BRANCH",
    "GitRef",
    "RefKind",
    "RefSpec",
    "RemoteHead",
    "RemoteRefs",
    "format_revision",
    "hash_digest",
    "highest_tags",
]

DEFAULT_BRANCH = "master"
PEELED_SUFFIX = "^{}"


class RefSpec(Protocol):
    """What `GitRepository.spec.ref` looks like (gotk_api's model satisfies it)."""

    @property
    def branch(self) -> str | None: ...
    @property
    def tag(self) -> str | None: ...
    @property
    def semver(self) -> str | None: ...
    @property
    def name(self) -> str | None: ...
    @property
    def commit(self) -> str | None: ...


class RefKind(enum.Enum):
    COMMIT = "commit"
    NAME = "name"
    SEMVER = "semver"
    TAG = "tag"
    BRANCH = "branch"


_COMMIT = re.compile(r"[0-9a-fA-F]{4,64}")


@dataclass(frozen=True, slots=True)
class GitRef:
    branch: str = ""
    tag: str = ""
    semver: str = ""
    name: str = ""
    commit: str = ""

    @classmethod
    def from_spec(cls, spec: RefSpec | Mapping[str, str | None] | None) -> GitRef:
        """From `spec.ref` (a model, a dict, or None for the default branch)."""
        if spec is None:
            return cls()
        if isinstance(spec, Mapping):
            values = {key: spec.get(key) for key in ("branch", "tag", "semver", "name", "commit")}
        else:
            values = {
                "branch": spec.branch,
                "tag": spec.tag,
                "semver": spec.semver,
                "name": spec.name,
                "commit": spec.commit,
            }
        ref = cls(**{key: (value or "").strip() for key, value in values.items()})
        ref.validate()
        return ref

    def validate(self) -> None:
        """Refuse values git would take for options or that cannot name a ref or commit."""
        if self.commit and not _COMMIT.fullmatch(self.commit):
            raise InvalidRef(
                f"spec.ref.commit '{self.commit}' is not a commit SHA (4 to 64 hex digits)"
            )
        for field in ("branch", "tag", "name"):
            value = getattr(self, field)
            if value.startswith("-") or any(c.isspace() or ord(c) < 32 for c in value):
                raise InvalidRef(f"spec.ref.{field} {value!r} is not a valid Git reference name")

    @property
    def kind(self) -> RefKind:
        if self.commit:
            return RefKind.COMMIT
        if self.name:
            return RefKind.NAME
        if self.semver:
            return RefKind.SEMVER
        if self.tag:
            return RefKind.TAG
        return RefKind.BRANCH

    @property
    def effective_branch(self) -> str:
        return self.branch or DEFAULT_BRANCH

    def describe(self) -> str:
        """The ref as a user wrote it, for messages."""
        kind = self.kind
        if kind is RefKind.COMMIT:
            return f"commit '{self.commit}'"
        if kind is RefKind.NAME:
            return f"ref '{self.name}'"
        if kind is RefKind.SEMVER:
            return f"semver '{self.semver}'"
        if kind is RefKind.TAG:
            return f"tag '{self.tag}'"
        return f"branch '{self.effective_branch}'"


class RemoteHead(NamedTuple):
    """What `git ls-remote` says a ref points at, as a Flux revision and a commit sha."""

    revision: str
    sha: str


def hash_digest(sha: str) -> str:
    """`sha1:<hex>` (Flux names the algorithm by the hash length)."""
    algorithm = "sha256" if len(sha) == 64 else "sha1"
    return f"{algorithm}:{sha}"


def format_revision(reference: str, sha: str, *, absolute: bool = False) -> str:
    """Flux's revision: the ref minus its `refs/<kind>/` prefix (or all of it), `@`, digest."""
    if not reference:
        return hash_digest(sha)
    if not absolute:
        parts = reference.split("/", 2)
        if len(parts) < 3:
            return hash_digest(sha)
        reference = parts[2]
    return f"{reference}@{hash_digest(sha)}"


@dataclass(frozen=True, slots=True)
class RemoteRefs:
    """Parsed `git ls-remote` output: ref name -> object id, annotated tags peeled."""

    refs: Mapping[str, str]

    @classmethod
    def parse(cls, output: str) -> RemoteRefs:
        refs: dict[str, str] = {}
        for line in output.splitlines():
            sha, _, name = line.partition("\t")
            if sha and name:
                refs[name.strip()] = sha.strip()
        return cls(refs)

    def resolve(self, name: str) -> str | None:
        """The commit `name` points at; an annotated tag resolves through its `^{}` entry."""
        if name.endswith(PEELED_SUFFIX):
            return self.refs.get(name)
        if name.startswith("refs/tags/") and name + PEELED_SUFFIX in self.refs:
            return self.refs[name + PEELED_SUFFIX]
        return self.refs.get(name)

    def tags(self) -> dict[str, str]:
        """Tag short name -> commit, for every tag."""
        out: dict[str, str] = {}
        for name in self.refs:
            if name.startswith("refs/tags/") and not name.endswith(PEELED_SUFFIX):
                sha = self.resolve(name)
                if sha:
                    out[name.removeprefix("refs/tags/")] = sha
        return out

    def __bool__(self) -> bool:
        return bool(self.refs)


def highest_tags(tags: Iterable[str], constraint: Constraint) -> list[str]:
    """The tags of the highest version satisfying `constraint` (several if metadata differs)."""
    best: Version | None = None
    winners: list[str] = []
    for tag in sorted(tags):
        try:
            version = parse_tag_version(tag)
        except InvalidVersion:
            continue
        if not constraint.check(version):
            continue
        if best is None or version > best:
            best, winners = version, [tag]
        elif version == best:
            winners.append(tag)
    return winners
