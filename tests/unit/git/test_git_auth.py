"""Credentials over real servers: basic, bearer, custom CA, mTLS, SSH keys and host keys."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import asyncssh
import pytest
from fixtures.git_servers import GitHTTPServer, GitRepo, GitSSHServer, TLSFiles
from source_controller.git import (
    AuthenticationFailed,
    CredentialsRejected,
    GitError,
    GitRef,
    HostKeyVerificationFailed,
    TLSVerificationFailed,
    auth_from_secret,
    checkout,
    parse_git_url,
    remote_head,
)

TIMEOUT = 60.0


@pytest.fixture
def repo(make_git_repo: Callable[..., GitRepo]) -> GitRepo:
    r = make_git_repo()
    r.commit({"a.txt": "a\n"}, "only commit")
    return r


def _assert_secret_free(error: GitError, *secrets: str) -> None:
    text = f"{error} {error!r} {error.args!r}"
    for secret in secrets:
        assert secret not in text


async def test_basic_auth_with_the_right_password_clones(
    git_http_auth_server: GitHTTPServer,
    git_credentials: dict[str, str],
    repo: GitRepo,
    tmp_path: Path,
) -> None:
    url = git_http_auth_server.url(repo)
    data = {k: git_credentials[k].encode() for k in ("username", "password")}
    auth = auth_from_secret(parse_git_url(url), data)
    commit = await checkout(url, None, tmp_path / "co", auth, timeout=TIMEOUT)
    assert commit.sha == repo.git("rev-parse", "HEAD")


async def test_wrong_password_is_rejected_without_leaking_it(
    git_http_auth_server: GitHTTPServer, repo: GitRepo, tmp_path: Path
) -> None:
    url = git_http_auth_server.url(repo)
    password = "wrong-horse-battery-staple"
    auth = auth_from_secret(
        parse_git_url(url), {"username": b"gotk-user", "password": password.encode()}
    )
    with pytest.raises(CredentialsRejected) as caught:
        await checkout(url, None, tmp_path / "co", auth, timeout=TIMEOUT)
    assert caught.value.reason == "GitOperationFailed"
    assert "authentication failed" in str(caught.value)
    assert url in str(caught.value)
    header = auth.authorization_header()
    assert header is not None
    _assert_secret_free(caught.value, password, header.split()[1])


async def test_missing_credentials_are_rejected(
    git_http_auth_server: GitHTTPServer, repo: GitRepo
) -> None:
    url = git_http_auth_server.url(repo)
    with pytest.raises(CredentialsRejected):
        await remote_head(url, None, timeout=TIMEOUT)


async def test_password_in_url_userinfo_is_used_and_never_shown(
    git_http_auth_server: GitHTTPServer,
    git_credentials: dict[str, str],
    repo: GitRepo,
    tmp_path: Path,
) -> None:
    user, password = git_credentials["username"], git_credentials["password"]
    good = git_http_auth_server.url(repo).replace("://", f"://{user}:{password}@")
    commit = await checkout(good, None, tmp_path / "co", timeout=TIMEOUT)
    assert commit.sha == repo.git("rev-parse", "HEAD")

    bad = git_http_auth_server.url(repo).replace("://", f"://{user}:not-{password}@")
    with pytest.raises(CredentialsRejected) as caught:
        await checkout(bad, None, tmp_path / "bad", timeout=TIMEOUT)
    _assert_secret_free(caught.value, password)


async def test_bearer_token_authenticates_and_a_wrong_one_is_not_echoed(
    git_http_auth_server: GitHTTPServer,
    git_credentials: dict[str, str],
    repo: GitRepo,
) -> None:
    url = git_http_auth_server.url(repo)
    token = git_credentials["bearerToken"]
    good = auth_from_secret(parse_git_url(url), {"bearerToken": token.encode()})
    head = await remote_head(url, None, good, timeout=TIMEOUT)
    assert head is not None
    assert head.sha == repo.git("rev-parse", "HEAD")

    wrong = "tok-not-the-right-one"
    bad = auth_from_secret(parse_git_url(url), {"bearerToken": wrong.encode()})
    with pytest.raises(CredentialsRejected) as caught:
        await remote_head(url, None, bad, timeout=TIMEOUT)
    _assert_secret_free(caught.value, wrong)


async def test_https_with_the_secret_ca_verifies_the_server(
    git_https_server: GitHTTPServer, git_tls: TLSFiles, repo: GitRepo, tmp_path: Path
) -> None:
    url = git_https_server.url(repo)
    auth = auth_from_secret(parse_git_url(url), {"ca.crt": git_tls.ca_pem})
    commit = await checkout(url, None, tmp_path / "co", auth, timeout=TIMEOUT)
    assert commit.revision == f"master@sha1:{repo.git('rev-parse', 'HEAD')}"


async def test_https_without_the_ca_fails_tls_verification(
    git_https_server: GitHTTPServer, repo: GitRepo
) -> None:
    with pytest.raises(TLSVerificationFailed):
        await remote_head(git_https_server.url(repo), None, timeout=TIMEOUT)


async def test_mtls_client_certificate_from_the_secret_is_presented(
    git_mtls_server: GitHTTPServer, git_tls: TLSFiles, repo: GitRepo
) -> None:
    url = git_mtls_server.url(repo)
    only_ca = auth_from_secret(parse_git_url(url), {"ca.crt": git_tls.ca_pem})
    with pytest.raises(GitError):
        await remote_head(url, None, only_ca, timeout=TIMEOUT)
    data = {
        "ca.crt": git_tls.ca_pem,
        "tls.crt": git_tls.client_cert_pem,
        "tls.key": git_tls.client_key_pem,
    }
    head = await remote_head(url, None, auth_from_secret(parse_git_url(url), data), timeout=TIMEOUT)
    assert head is not None
    assert head.sha == repo.git("rev-parse", "HEAD")


async def test_ssh_with_an_encrypted_identity_and_its_password(
    git_ssh_server: GitSSHServer,
    ssh_client_key: asyncssh.SSHKey,
    repo: GitRepo,
    tmp_path: Path,
) -> None:
    url = git_ssh_server.url(repo)
    data = {
        "identity": ssh_client_key.export_private_key("openssh", passphrase="key-pass-123"),
        "password": b"key-pass-123",
        "known_hosts": git_ssh_server.known_hosts(),
    }
    commit = await checkout(
        url, None, tmp_path / "co", auth_from_secret(parse_git_url(url), data), timeout=TIMEOUT
    )
    assert commit.sha == repo.git("rev-parse", "HEAD")


@pytest.mark.parametrize("password", [b"", b"not-the-pass"], ids=["missing", "wrong"])
async def test_ssh_encrypted_identity_without_the_right_password_fails_auth(
    git_ssh_server: GitSSHServer,
    ssh_client_key: asyncssh.SSHKey,
    repo: GitRepo,
    password: bytes,
) -> None:
    url = git_ssh_server.url(repo)
    data = {
        "identity": ssh_client_key.export_private_key("openssh", passphrase="key-pass-123"),
        "password": password,
        "known_hosts": git_ssh_server.known_hosts(),
    }
    with pytest.raises(AuthenticationFailed) as caught:
        await remote_head(url, None, auth_from_secret(parse_git_url(url), data), timeout=TIMEOUT)
    assert caught.value.reason == "AuthenticationFailed"
    _assert_secret_free(caught.value, "key-pass-123")


async def test_ssh_host_key_mismatch_is_refused(
    git_ssh_server: GitSSHServer, ssh_secret_data: dict[str, bytes], repo: GitRepo
) -> None:
    url = git_ssh_server.url(repo)
    impostor = asyncssh.generate_private_key("ssh-ed25519")
    data = {**ssh_secret_data, "known_hosts": git_ssh_server.known_hosts(impostor)}
    with pytest.raises(HostKeyVerificationFailed) as caught:
        await remote_head(url, None, auth_from_secret(parse_git_url(url), data), timeout=TIMEOUT)
    assert caught.value.reason == "GitOperationFailed"
    assert git_ssh_server.commands == [] or all(repo.path not in c for c in git_ssh_server.commands)


async def test_ssh_host_missing_from_known_hosts_is_refused(
    git_ssh_server: GitSSHServer, ssh_secret_data: dict[str, bytes], repo: GitRepo
) -> None:
    url = git_ssh_server.url(repo)
    data = {
        **ssh_secret_data,
        "known_hosts": b"[127.0.0.1]:1 "
        + b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n",
    }
    with pytest.raises(HostKeyVerificationFailed):
        await remote_head(url, None, auth_from_secret(parse_git_url(url), data), timeout=TIMEOUT)


async def test_ssh_unauthorized_key_is_rejected(
    git_ssh_server: GitSSHServer, ssh_secret_data: dict[str, bytes], repo: GitRepo
) -> None:
    url = git_ssh_server.url(repo)
    stranger = asyncssh.generate_private_key("ssh-ed25519").export_private_key("openssh")
    data = {**ssh_secret_data, "identity": stranger}
    with pytest.raises(CredentialsRejected):
        await remote_head(url, None, auth_from_secret(parse_git_url(url), data), timeout=TIMEOUT)


async def test_git_never_sees_secrets_in_argv(
    git_http_auth_server: GitHTTPServer,
    git_credentials: dict[str, str],
    repo: GitRepo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gotk_runtime import process

    seen: list[list[str]] = []
    real_run = process.run

    async def spy(argv: list[str], **kwargs: object) -> process.CompletedProcess:
        seen.append(list(argv))
        return await real_run(argv, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("source_controller.git.command.run", spy)
    user, password = git_credentials["username"], git_credentials["password"]
    url = git_http_auth_server.url(repo).replace("://", f"://{user}:{password}@")
    await checkout(url, GitRef(branch="master"), tmp_path / "co", timeout=TIMEOUT)
    assert seen
    assert all(password not in arg for argv in seen for arg in argv)
    config = (tmp_path / "co" / ".git" / "config").read_text()
    assert password not in config
