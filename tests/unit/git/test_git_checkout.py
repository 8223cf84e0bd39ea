"""Checkout and ls-remote of every ref kind over file://, smart HTTP and SSH (real servers)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from fixtures.git_servers import GitHTTPServer, GitRepo, GitSSHServer
from source_controller.git import (
    GitAuth,
    GitRef,
    auth_from_secret,
    checkout,
    parse_git_url,
    remote_head,
)

TIMEOUT = 60.0


@dataclass
class Remote:
    kind: str
    url: Callable[[GitRepo], str]
    auth: Callable[[str], GitAuth]


@pytest.fixture(params=["file", "http", "ssh"])
def remote(
    request: pytest.FixtureRequest,
) -> Remote:
    kind = request.param
    if kind == "file":
        return Remote(
            kind, lambda r: r.file_url, lambda u: auth_from_secret(parse_git_url(u), None)
        )
    if kind == "http":
        server: GitHTTPServer = request.getfixturevalue("git_http_server")
        return Remote(kind, server.url, lambda u: auth_from_secret(parse_git_url(u), None))
    ssh: GitSSHServer = request.getfixturevalue("git_ssh_server")
    data = request.getfixturevalue("ssh_secret_data")
    return Remote(kind, ssh.url, lambda u: auth_from_secret(parse_git_url(u), data))


@pytest.fixture
def repo(make_git_repo: Callable[..., GitRepo]) -> GitRepo:
    """master and feature/x branches, v1.0.0 (lightweight) and v1.1.0 (annotated) tags."""
    r = make_git_repo()
    r.commit({"app.yaml": "v: 1\n"}, "first")
    r.tag("v1.0.0")
    r.commit({"app.yaml": "v: 2\n"}, "second")
    r.tag("v1.1.0", message="release 1.1.0")
    r.commit({"app.yaml": "v: 3\n"}, "third on master")
    r.commit({"feature.txt": "x\n"}, "feature work", branch="feature/x")
    return r


async def _checkout(remote: Remote, repo: GitRepo, ref: GitRef, dest: Path) -> tuple[str, str]:
    url = remote.url(repo)
    commit = await checkout(url, ref, dest, remote.auth(url), timeout=TIMEOUT)
    return commit.revision, commit.sha


async def test_empty_ref_checks_out_master_with_branch_revision(
    remote: Remote, repo: GitRepo, tmp_path: Path
) -> None:
    sha = repo.git("rev-parse", "master")
    url = remote.url(repo)
    commit = await checkout(url, GitRef(), tmp_path / "co", remote.auth(url), timeout=TIMEOUT)
    assert commit.sha == sha
    assert commit.revision == f"master@sha1:{sha}"
    assert commit.reference == "refs/heads/master"
    assert commit.message == "third on master"
    assert commit.author.email == "test@gotk.invalid"
    assert (tmp_path / "co" / "app.yaml").read_text() == "v: 3\n"


async def test_branch_with_slash_keeps_it_in_the_revision(
    remote: Remote, repo: GitRepo, tmp_path: Path
) -> None:
    sha = repo.git("rev-parse", "feature/x")
    revision, got = await _checkout(remote, repo, GitRef(branch="feature/x"), tmp_path / "co")
    assert (revision, got) == (f"feature/x@sha1:{sha}", sha)
    assert (tmp_path / "co" / "feature.txt").exists()


async def test_branch_checkout_is_shallow(remote: Remote, repo: GitRepo, tmp_path: Path) -> None:
    await _checkout(remote, repo, GitRef(branch="master"), tmp_path / "co")
    shallow = tmp_path / "co" / ".git" / "shallow"
    assert shallow.exists()
    assert len(shallow.read_text().split()) == 1


@pytest.mark.parametrize("tag", ["v1.0.0", "v1.1.0"], ids=["lightweight", "annotated"])
async def test_tag_revision_names_the_tag_and_the_peeled_commit(
    remote: Remote, repo: GitRepo, tmp_path: Path, tag: str
) -> None:
    sha = repo.git("rev-parse", f"{tag}^{{commit}}")
    revision, got = await _checkout(remote, repo, GitRef(tag=tag, branch="master"), tmp_path / "co")
    assert (revision, got) == (f"{tag}@sha1:{sha}", sha)


async def test_semver_picks_the_highest_matching_tag(
    remote: Remote, repo: GitRepo, tmp_path: Path
) -> None:
    repo.tag("v2.0.0-rc.1", "master")
    repo.tag("not-a-version", "master")
    sha = repo.git("rev-parse", "v1.1.0^{commit}")
    ref = GitRef(semver=">=1.0.0 <2.0.0", tag="v1.0.0")
    revision, got = await _checkout(remote, repo, ref, tmp_path / "co")
    assert (revision, got) == (f"v1.1.0@sha1:{sha}", sha)


async def test_semver_range_with_prerelease_selects_prereleases(
    remote: Remote, repo: GitRepo, tmp_path: Path
) -> None:
    sha = repo.git("rev-parse", "master")
    repo.tag("v2.0.0-rc.1", "master")
    revision, _ = await _checkout(remote, repo, GitRef(semver=">=2.0.0-0"), tmp_path / "co")
    assert revision == f"v2.0.0-rc.1@sha1:{sha}"


async def test_name_ref_keeps_the_full_reference_in_the_revision(
    remote: Remote, repo: GitRepo, tmp_path: Path
) -> None:
    pr_sha = repo.commit({"pr.txt": "pr\n"}, "pull request", branch="pr-source")
    repo.set_ref("refs/pull/1/head", pr_sha)
    revision, got = await _checkout(
        remote, repo, GitRef(name="refs/pull/1/head", branch="master"), tmp_path / "pr"
    )
    assert (revision, got) == (f"refs/pull/1/head@sha1:{pr_sha}", pr_sha)

    master = repo.git("rev-parse", "master")
    revision, _ = await _checkout(remote, repo, GitRef(name="refs/heads/master"), tmp_path / "b")
    assert revision == f"refs/heads/master@sha1:{master}"

    tagged = repo.git("rev-parse", "v1.1.0^{commit}")
    revision, got = await _checkout(remote, repo, GitRef(name="refs/tags/v1.1.0"), tmp_path / "t")
    assert (revision, got) == (f"refs/tags/v1.1.0@sha1:{tagged}", tagged)


async def test_commit_alone_gives_a_bare_sha_revision(
    remote: Remote, repo: GitRepo, tmp_path: Path
) -> None:
    old = repo.git("rev-parse", "v1.0.0^{commit}")
    revision, got = await _checkout(remote, repo, GitRef(commit=old, tag="v1.1.0"), tmp_path / "c")
    assert (revision, got) == (f"sha1:{old}", old)
    assert (tmp_path / "c" / "app.yaml").read_text() == "v: 1\n"
    assert not (tmp_path / "c" / ".git" / "shallow").exists()


async def test_commit_with_branch_names_the_branch(
    remote: Remote, repo: GitRepo, tmp_path: Path
) -> None:
    old = repo.git("rev-parse", "v1.1.0^{commit}")
    revision, got = await _checkout(
        remote, repo, GitRef(commit=old, branch="master"), tmp_path / "c"
    )
    assert (revision, got) == (f"master@sha1:{old}", old)


@pytest.mark.parametrize(
    "ref",
    [
        GitRef(),
        GitRef(branch="feature/x"),
        GitRef(tag="v1.1.0"),
        GitRef(semver="~1.0"),
        GitRef(name="refs/heads/feature/x"),
        GitRef(name="refs/tags/v1.1.0"),
    ],
    ids=["default", "branch", "annotated-tag", "semver", "name-branch", "name-tag"],
)
async def test_remote_head_matches_what_checkout_finds(
    remote: Remote, repo: GitRepo, tmp_path: Path, ref: GitRef
) -> None:
    url = remote.url(repo)
    auth = remote.auth(url)
    head = await remote_head(url, ref, auth, timeout=TIMEOUT)
    commit = await checkout(url, ref, tmp_path / "co", auth, timeout=TIMEOUT)
    assert head is not None
    assert (head.revision, head.sha) == (commit.revision, commit.sha)


async def test_remote_head_is_none_for_a_pinned_commit(remote: Remote, repo: GitRepo) -> None:
    url = remote.url(repo)
    sha = repo.git("rev-parse", "master")
    assert await remote_head(url, GitRef(commit=sha), remote.auth(url), timeout=TIMEOUT) is None


async def test_remote_head_sees_a_new_commit(remote: Remote, repo: GitRepo) -> None:
    url = remote.url(repo)
    before = await remote_head(url, GitRef(branch="master"), remote.auth(url), timeout=TIMEOUT)
    sha = repo.commit({"new.txt": "n\n"}, "new")
    after = await remote_head(url, GitRef(branch="master"), remote.auth(url), timeout=TIMEOUT)
    assert before is not None
    assert after is not None
    assert before.sha != after.sha
    assert after.revision == f"master@sha1:{sha}"
