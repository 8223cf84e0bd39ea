"""Check out a GitRepository's `spec.ref` with the git binary, and ask a remote cheaply.

Like Flux, branch, tag, semver and name refs are fetched with depth 1; a pinned commit
gets a full fetch of its branch (or of all branches) because its depth is unknown.
`remote_head` answers from `git ls-remote` alone, so a reconcile can skip the fetch
when the commit it stored last time is still the one the ref points at.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from source_controller.git.auth import GitAuth, auth_from_secret
from source_controller.git.command import GitRunner
from source_controller.git.errors import (
    CommitNotFound,
    EmptyRepository,
    InvalidSemverRange,
    NoMatchingTag,
    RefNotFound,
)
from source_controller.git.refs import (
    PEELED_SUFFIX,
    GitRef,
    RefKind,
    RefSpec,
    RemoteHead,
    RemoteRefs,
    format_revision,
    highest_tags,
)
from source_controller.git.transport import git_transport
from source_controller.git.url import GitURL, parse_git_url
from source_controller.semver import Constraint, InvalidConstraint, parse_constraint

__all__ = ["Commit", "Signature", "checkout", "remote_head"]

_TARGET_REF = "refs/gotk/target"
_LOG_FORMAT = "%H%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B"


@dataclass(frozen=True, slots=True)
class Signature:
    name: str
    email: str
    when: datetime


@dataclass(frozen=True, slots=True)
class Commit:
    """The checked-out commit. `revision` is the string Flux puts in `status.artifact`."""

    sha: str
    reference: str
    """The full ref it was reached through (`refs/heads/main`), empty for a bare commit."""
    revision: str
    author: Signature
    committer: Signature
    message: str

    @property
    def short_message(self) -> str:
        """The subject line cut at 50 characters, as Flux shows it in events."""
        subject = self.message.split("\n", 1)[0]
        return subject if len(subject) <= 50 else subject[:50] + "..."


@dataclass(frozen=True, slots=True)
class _Target:
    sha: str
    reference: str
    absolute: bool


RefInput = GitRef | RefSpec | Mapping[str, str | None] | None


def _as_ref(ref: RefInput) -> GitRef:
    return ref if isinstance(ref, GitRef) else GitRef.from_spec(ref)


def _semver_range(ref: GitRef) -> Constraint:
    try:
        return parse_constraint(ref.semver)
    except InvalidConstraint as exc:
        raise InvalidSemverRange(f"semver parse error: {exc}") from None


def _default_auth(url: GitURL, auth: GitAuth | None) -> GitAuth:
    return auth if auth is not None else auth_from_secret(url, None)


async def checkout(
    url: str,
    ref: RefInput,
    dest_dir: str | os.PathLike[str],
    auth: GitAuth | None = None,
    *,
    timeout: float,
    recurse_submodules: bool = False,
    sparse_paths: Sequence[str] | None = None,
) -> Commit:
    """Fetch `ref` of `url` into `dest_dir` (absent or empty) and check it out.

    `timeout` bounds the whole operation; every git process is killed when it runs out.
    Raises a `GitError` subclass carrying the Flux reason.
    """
    target_url = parse_git_url(url)
    git_ref = _as_ref(ref)
    constraint = _semver_range(git_ref) if git_ref.kind is RefKind.SEMVER else None
    auth = _default_auth(target_url, auth)
    dest = Path(dest_dir)
    async with git_transport(target_url, auth) as transport:
        git = GitRunner.start(transport, f"unable to clone '{target_url.display}'", timeout)
        dest = await asyncio.to_thread(dest.absolute)
        await git("init", "--quiet", str(dest))
        await git("remote", "add", "origin", target_url.url, cwd=dest)
        if sparse_paths:
            patterns = [f"/{p.removeprefix('./').strip('/')}/" for p in sparse_paths]
            await git(
                "sparse-checkout", "set", "--no-cone", "--end-of-options", *patterns, cwd=dest
            )
        target = await _fetch(git, git_ref, constraint, dest)
        await git("checkout", "--quiet", "--detach", target.sha, cwd=dest)
        if recurse_submodules:
            await git("submodule", "update", "--init", "--recursive", "--quiet", cwd=dest)
        return await _read_commit(git, dest, target)


async def remote_head(
    url: str, ref: RefInput, auth: GitAuth | None = None, *, timeout: float
) -> RemoteHead | None:
    """The revision and commit `ref` points at now, from `git ls-remote`, without fetching.

    None when ls-remote cannot tell: a pinned `commit` (Flux always fetches those) or
    semver tags of equal precedence that only their commit dates can order.
    """
    target_url = parse_git_url(url)
    git_ref = _as_ref(ref)
    if git_ref.kind is RefKind.COMMIT:
        return None
    constraint = _semver_range(git_ref) if git_ref.kind is RefKind.SEMVER else None
    auth = _default_auth(target_url, auth)
    async with git_transport(target_url, auth) as transport:
        git = GitRunner.start(
            transport, f"unable to list remote for '{target_url.display}'", timeout
        )
        if constraint is not None:
            refs = await _ls_remote(git, target_url.url, "refs/tags/*")
            winners = _semver_winners(git, refs, constraint, git_ref)
            if len(winners) != 1:
                return None
            tag = winners[0]
            tag_sha = refs.tags()[tag]
            return RemoteHead(format_revision(f"refs/tags/{tag}", tag_sha), tag_sha)
        reference = _wanted_ref(git_ref)
        patterns = [reference]
        if reference.startswith("refs/tags/") and not reference.endswith(PEELED_SUFFIX):
            patterns.append(reference + PEELED_SUFFIX)
        refs = await _ls_remote(git, target_url.url, *patterns)
        sha = refs.resolve(reference)
        if sha is None:
            if git_ref.kind is RefKind.BRANCH and not await _ls_remote(git, target_url.url):
                raise EmptyRepository(f"{git.context}: git repository is empty")
            raise git.fail(RefNotFound, f"couldn't find remote ref '{reference}'")
        absolute = git_ref.kind is RefKind.NAME
        return RemoteHead(format_revision(reference, sha, absolute=absolute), sha)


def _wanted_ref(ref: GitRef) -> str:
    if ref.kind is RefKind.NAME:
        return ref.name
    if ref.kind is RefKind.TAG:
        return f"refs/tags/{ref.tag}"
    return f"refs/heads/{ref.effective_branch}"


async def _ls_remote(
    git: GitRunner, remote: str, *patterns: str, cwd: Path | None = None
) -> RemoteRefs:
    return RemoteRefs.parse(
        await git.output("ls-remote", "--end-of-options", remote, *patterns, cwd=cwd)
    )


def _semver_winners(
    git: GitRunner, refs: RemoteRefs, constraint: Constraint, ref: GitRef
) -> list[str]:
    winners = highest_tags(refs.tags(), constraint)
    if not winners:
        raise git.fail(NoMatchingTag, f"no match found for semver: {ref.semver}")
    return winners


async def _fetch(git: GitRunner, ref: GitRef, constraint: Constraint | None, dest: Path) -> _Target:
    kind = ref.kind
    if kind is RefKind.COMMIT:
        return await _fetch_commit(git, ref, dest)
    if kind is RefKind.NAME:
        return await _fetch_name(git, ref.name, dest)
    if kind is RefKind.SEMVER:
        assert constraint is not None
        tag = await _choose_semver_tag(git, ref, constraint, dest)
        return await _fetch_tag(git, tag, dest)
    if kind is RefKind.TAG:
        return await _fetch_tag(git, ref.tag, dest)
    return await _fetch_branch(git, ref.effective_branch, dest)


async def _rev_parse(git: GitRunner, dest: Path, rev: str) -> str | None:
    out = await git.probe(
        "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}", cwd=dest
    )
    return out.strip() if out else None


async def _must_rev_parse(git: GitRunner, dest: Path, rev: str) -> str:
    sha = await _rev_parse(git, dest, rev)
    if sha is None:
        raise git.fail(RefNotFound, f"unable to resolve '{rev}' to a commit")
    return sha


async def _fetch_branch(git: GitRunner, branch: str, dest: Path, *, reference: str = "") -> _Target:
    local = f"refs/remotes/origin/{branch}"
    try:
        await git(
            "fetch",
            "--quiet",
            "--depth=1",
            "--no-tags",
            "--end-of-options",
            "origin",
            f"+refs/heads/{branch}:{local}",
            cwd=dest,
        )
    except RefNotFound:
        if not await _ls_remote(git, "origin", cwd=dest):
            raise EmptyRepository(f"{git.context}: git repository is empty") from None
        raise
    sha = await _must_rev_parse(git, dest, local)
    return _Target(sha, reference or f"refs/heads/{branch}", absolute=bool(reference))


async def _fetch_tag(git: GitRunner, tag: str, dest: Path, *, reference: str = "") -> _Target:
    local = f"refs/tags/{tag}"
    await git(
        "fetch",
        "--quiet",
        "--depth=1",
        "--no-tags",
        "--end-of-options",
        "origin",
        f"+{local}:{local}",
        cwd=dest,
    )
    sha = await _must_rev_parse(git, dest, local)
    return _Target(sha, reference or local, absolute=bool(reference))


async def _fetch_name(git: GitRunner, name: str, dest: Path) -> _Target:
    if name.startswith("refs/heads/"):
        return await _fetch_branch(git, name.removeprefix("refs/heads/"), dest, reference=name)
    if name.startswith("refs/tags/"):
        tag = name.removeprefix("refs/tags/").removesuffix(PEELED_SUFFIX)
        return await _fetch_tag(git, tag, dest, reference=name)
    refs = await _ls_remote(git, "origin", name, cwd=dest)
    if refs.resolve(name) is None:
        raise git.fail(RefNotFound, f"unable to resolve ref '{name}' to a specific commit")
    # Not a branch or tag (refs/pull/1/head...): its history is unknown, so fetch it whole.
    await git(
        "fetch",
        "--quiet",
        "--no-tags",
        "--end-of-options",
        "origin",
        f"+{name}:{_TARGET_REF}",
        cwd=dest,
    )
    sha = await _must_rev_parse(git, dest, _TARGET_REF)
    return _Target(sha, name, absolute=True)


async def _fetch_commit(git: GitRunner, ref: GitRef, dest: Path) -> _Target:
    if ref.branch:
        refspecs = [f"+refs/heads/{ref.branch}:refs/remotes/origin/{ref.branch}"]
    else:
        refspecs = ["+refs/heads/*:refs/remotes/origin/*"]
        if ref.name:
            refspecs.append(f"+{ref.name.removesuffix(PEELED_SUFFIX)}:{_TARGET_REF}")
    await git("fetch", "--quiet", "--no-tags", "--end-of-options", "origin", *refspecs, cwd=dest)
    sha = await _rev_parse(git, dest, ref.commit)
    if sha is None and not ref.branch:
        # Servers that allow fetching any reachable commit by id (protocol v2 and
        # uploadpack.allowReachableSHA1InWant) can still provide it.
        await git.probe(
            "fetch", "--quiet", "--no-tags", "--end-of-options", "origin", ref.commit, cwd=dest
        )
        sha = await _rev_parse(git, dest, ref.commit)
    if sha is None:
        where = f" on branch '{ref.branch}'" if ref.branch else ""
        raise git.fail(CommitNotFound, f"unable to resolve commit object for '{ref.commit}'{where}")
    if ref.name:
        return _Target(sha, ref.name, absolute=True)
    return _Target(sha, f"refs/heads/{ref.branch}" if ref.branch else "", absolute=False)


async def _choose_semver_tag(
    git: GitRunner, ref: GitRef, constraint: Constraint, dest: Path
) -> str:
    refs = await _ls_remote(git, "origin", "refs/tags/*", cwd=dest)
    winners = _semver_winners(git, refs, constraint, ref)
    if len(winners) == 1:
        return winners[0]
    # Equal precedence (only build metadata differs): Flux picks the newest commit.
    refspecs = [f"+refs/tags/{tag}:refs/tags/{tag}" for tag in winners]
    await git(
        "fetch",
        "--quiet",
        "--depth=1",
        "--no-tags",
        "--end-of-options",
        "origin",
        *refspecs,
        cwd=dest,
    )
    dated: list[tuple[int, int, str]] = []
    for index, tag in enumerate(winners):
        out = await git.output(
            "log", "-1", "--format=%ct", "--end-of-options", f"refs/tags/{tag}^{{commit}}", cwd=dest
        )
        dated.append((int(out.strip() or "0"), index, tag))
    return max(dated)[2]


def _parse_signature(name: str, email: str, when: str) -> Signature:
    return Signature(name=name, email=email, when=datetime.fromisoformat(when))


async def _read_commit(git: GitRunner, dest: Path, target: _Target) -> Commit:
    out = await git.output(
        "show", "--no-patch", "--no-color", f"--format={_LOG_FORMAT}", "HEAD", cwd=dest
    )
    sha, a_name, a_email, a_when, c_name, c_email, c_when, message = out.split("\x00", 7)
    return Commit(
        sha=sha,
        reference=target.reference,
        revision=format_revision(target.reference, sha, absolute=target.absolute),
        author=_parse_signature(a_name, a_email, a_when),
        committer=_parse_signature(c_name, c_email, c_when),
        message=message.rstrip("\n"),
    )
