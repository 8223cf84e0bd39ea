"""Submodules (opt-in, same credentials) and sparse checkout, over real transports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures.git_servers import GitHTTPServer, GitRepo, GitSSHServer
from source_controller.git import GitAuth, GitRef, auth_from_secret, checkout, parse_git_url

TIMEOUT = 60.0


@pytest.fixture
def superproject(make_git_repo: Callable[..., GitRepo]) -> tuple[GitRepo, GitRepo]:
    sub = make_git_repo()
    sub.commit({"lib.txt": "library\n"}, "library")
    top = make_git_repo()
    top.commit({"main.txt": "main\n"}, "main")
    top.add_submodule(sub, "vendor/lib")
    return top, sub


@pytest.fixture(params=["file", "http", "ssh"])
def superproject_access(
    superproject: tuple[GitRepo, GitRepo], request: pytest.FixtureRequest
) -> tuple[str, GitAuth]:
    """The superproject's URL and working credentials on each transport."""
    kind, repo = request.param, superproject[0]
    if kind == "file":
        url = repo.file_url
        return url, auth_from_secret(parse_git_url(url), None)
    if kind == "http":
        server: GitHTTPServer = request.getfixturevalue("git_http_auth_server")
        creds = request.getfixturevalue("git_credentials")
        url = server.url(repo)
        data = {k: creds[k].encode() for k in ("username", "password")}
        return url, auth_from_secret(parse_git_url(url), data)
    ssh: GitSSHServer = request.getfixturevalue("git_ssh_server")
    url = ssh.url(repo)
    return url, auth_from_secret(parse_git_url(url), request.getfixturevalue("ssh_secret_data"))


async def test_submodules_are_checked_out_only_when_asked(
    superproject: tuple[GitRepo, GitRepo],
    superproject_access: tuple[str, GitAuth],
    tmp_path: Path,
) -> None:
    top, _ = superproject
    url, auth = superproject_access

    plain = await checkout(url, GitRef(), tmp_path / "plain", auth, timeout=TIMEOUT)
    assert not (tmp_path / "plain" / "vendor" / "lib" / "lib.txt").exists()

    deep = await checkout(
        url, GitRef(), tmp_path / "deep", auth, timeout=TIMEOUT, recurse_submodules=True
    )
    assert (tmp_path / "deep" / "vendor" / "lib" / "lib.txt").read_text() == "library\n"
    assert deep.sha == plain.sha == top.git("rev-parse", "HEAD")


async def test_sparse_checkout_materialises_only_the_given_directories(
    make_git_repo: Callable[..., GitRepo], git_http_server: GitHTTPServer, tmp_path: Path
) -> None:
    repo = make_git_repo()
    repo.commit({"apps/a.yaml": "a\n", "infra/b.yaml": "b\n", "docs/c.md": "c\n", "top.txt": "t\n"})
    url = git_http_server.url(repo)
    commit = await checkout(
        url, None, tmp_path / "co", timeout=TIMEOUT, sparse_paths=["./apps", "infra/"]
    )
    assert commit.sha == repo.git("rev-parse", "HEAD")
    assert (tmp_path / "co" / "apps" / "a.yaml").exists()
    assert (tmp_path / "co" / "infra" / "b.yaml").exists()
    assert not (tmp_path / "co" / "docs").exists()
    assert not (tmp_path / "co" / "top.txt").exists()
