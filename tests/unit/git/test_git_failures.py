"""How checkout and ls-remote fail: typed errors with Flux reasons and clear messages."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures.git_servers import GitHTTPServer, GitRepo, GitSSHServer, HangingServer
from source_controller.git import (
    CommitNotFound,
    EmptyRepository,
    GitError,
    GitRef,
    GitTimeout,
    InvalidSemverRange,
    NoMatchingTag,
    RefNotFound,
    RemoteUnreachable,
    RepositoryNotFound,
    URLInvalid,
    auth_from_secret,
    checkout,
    parse_git_url,
    remote_head,
)

TIMEOUT = 60.0


@pytest.fixture
def repo(make_git_repo: Callable[..., GitRepo]) -> GitRepo:
    r = make_git_repo()
    r.commit({"a.txt": "a\n"}, "first")
    r.tag("v0.1.0")
    return r


@pytest.mark.parametrize(
    ("ref", "needle"),
    [
        (GitRef(branch="nope"), "couldn't find remote ref"),
        (GitRef(tag="v9.9.9"), "couldn't find remote ref"),
        (GitRef(name="refs/pull/7/head"), "unable to resolve ref 'refs/pull/7/head'"),
    ],
    ids=["branch", "tag", "name"],
)
async def test_unknown_ref_fails_with_ref_not_found(
    git_http_server: GitHTTPServer, repo: GitRepo, tmp_path: Path, ref: GitRef, needle: str
) -> None:
    url = git_http_server.url(repo)
    with pytest.raises(RefNotFound) as caught:
        await checkout(url, ref, tmp_path / "co", timeout=TIMEOUT)
    assert caught.value.reason == "GitOperationFailed"
    assert str(caught.value).startswith(f"unable to clone '{url}': ")
    assert needle in str(caught.value)
    if ref.kind.value != "name":
        with pytest.raises(RefNotFound):
            await remote_head(url, ref, timeout=TIMEOUT)


async def test_commit_not_on_the_branch_is_not_found(
    git_http_server: GitHTTPServer, repo: GitRepo, tmp_path: Path
) -> None:
    other = repo.commit({"b.txt": "b\n"}, "elsewhere", branch="other")
    url = git_http_server.url(repo)
    with pytest.raises(CommitNotFound) as caught:
        await checkout(url, GitRef(commit=other, branch="master"), tmp_path / "co", timeout=TIMEOUT)
    assert other in str(caught.value)
    with pytest.raises(CommitNotFound):
        await checkout(url, GitRef(commit="0" * 40), tmp_path / "co2", timeout=TIMEOUT)


async def test_semver_without_a_matching_tag_says_so(
    git_http_server: GitHTTPServer, repo: GitRepo, tmp_path: Path
) -> None:
    url = git_http_server.url(repo)
    with pytest.raises(NoMatchingTag, match=r"no match found for semver: >=1\.0\.0"):
        await checkout(url, GitRef(semver=">=1.0.0"), tmp_path / "co", timeout=TIMEOUT)


async def test_malformed_semver_range_fails_before_any_network_call(
    hanging_server: HangingServer, tmp_path: Path
) -> None:
    with pytest.raises(InvalidSemverRange, match="semver parse error") as caught:
        await checkout(hanging_server.url(), GitRef(semver=">= one"), tmp_path, timeout=5)
    assert caught.value.stalling
    assert hanging_server.accepted == 0


async def test_empty_repository_is_reported_as_such(
    git_http_server: GitHTTPServer, make_git_repo: Callable[..., GitRepo], tmp_path: Path
) -> None:
    empty = make_git_repo()
    url = git_http_server.url(empty)
    with pytest.raises(EmptyRepository) as caught:
        await checkout(url, None, tmp_path / "co", timeout=TIMEOUT)
    assert caught.value.reason == "EmptyGitRepository"
    with pytest.raises(EmptyRepository):
        await remote_head(url, None, timeout=TIMEOUT)


async def test_missing_repository_over_http_and_ssh(
    git_http_server: GitHTTPServer,
    git_ssh_server: GitSSHServer,
    ssh_secret_data: dict[str, bytes],
) -> None:
    with pytest.raises(RepositoryNotFound):
        await remote_head(git_http_server.url("missing.git"), None, timeout=TIMEOUT)
    url = git_ssh_server.url("missing.git")
    auth = auth_from_secret(parse_git_url(url), ssh_secret_data)
    with pytest.raises(RepositoryNotFound):
        await remote_head(url, None, auth, timeout=TIMEOUT)


@pytest.mark.parametrize("scheme", ["http", "ssh"])
async def test_unreachable_host_fails_with_remote_unreachable(
    git_closed_port: int, ssh_secret_data: dict[str, bytes], scheme: str
) -> None:
    url = f"{scheme}://127.0.0.1:{git_closed_port}/repo.git"
    auth = auth_from_secret(parse_git_url(url), ssh_secret_data if scheme == "ssh" else None)
    with pytest.raises(RemoteUnreachable) as caught:
        await remote_head(url, None, auth, timeout=TIMEOUT)
    assert caught.value.reason == "GitOperationFailed"


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/repo.git", "git@github.com:org/repo.git", "http://", "https://h:port/x"],
)
async def test_url_that_git_should_not_see_is_invalid(url: str, tmp_path: Path) -> None:
    with pytest.raises(URLInvalid) as caught:
        await checkout(url, None, tmp_path, timeout=TIMEOUT)
    assert caught.value.reason == "URLInvalid"
    assert caught.value.stalling


async def test_timeout_kills_git_and_closes_the_connection(
    hanging_server: HangingServer, tmp_path: Path
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(GitTimeout, match=r"timed out after 1\.5s") as caught:
        await checkout(hanging_server.url(), None, tmp_path / "co", timeout=1.5)
    assert loop.time() - started < 10
    assert caught.value.reason == "GitOperationFailed"
    assert hanging_server.accepted >= 1
    for _ in range(100):
        if hanging_server.closed == hanging_server.accepted:
            break
        await asyncio.sleep(0.05)
    assert hanging_server.closed == hanging_server.accepted


async def test_cancellation_kills_git_and_closes_the_connection(
    hanging_server: HangingServer,
) -> None:
    task = asyncio.create_task(remote_head(hanging_server.url(), None, timeout=60))
    for _ in range(200):
        if hanging_server.accepted:
            break
        await asyncio.sleep(0.05)
    assert hanging_server.accepted == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(100):
        if hanging_server.closed:
            break
        await asyncio.sleep(0.05)
    assert hanging_server.closed == 1


def test_every_git_error_carries_a_flux_reason() -> None:
    import source_controller.git as git

    classes = [c for c in vars(git).values() if isinstance(c, type) and issubclass(c, GitError)]
    assert len(classes) >= 14
    for cls in classes:
        assert cls.reason in {
            "GitOperationFailed",
            "AuthenticationFailed",
            "URLInvalid",
            "EmptyGitRepository",
            "Failed",
        }
