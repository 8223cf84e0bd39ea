"""The environment a git process runs in: isolated config plus this remote's credentials.

Credentials reach git only through its environment (`GIT_CONFIG_COUNT`/`KEY_n`/`VALUE_n`
for an `http.<origin>.extraHeader`, TLS files and the proxy) and through files in a
private 0700 temp dir (keys, known_hosts, CA) removed when the context exits. Nothing
secret is ever in argv, and no system or user git/ssh configuration is read.
"""

from __future__ import annotations

import asyncio
import os
import shlex
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gotk_artifacts.scratch import scratch_dir

from source_controller.credentials import write_private
from source_controller.git.auth import GitAuth
from source_controller.git.errors import AuthenticationFailed
from source_controller.git.url import GitURL

__all__ = ["GitTransport", "git_transport"]

SSH_CONNECT_TIMEOUT_SECONDS = 30


@dataclass(frozen=True, slots=True)
class GitTransport:
    """What every git command for one remote needs: its env and the strings to redact."""

    url: GitURL
    env: dict[str, str]
    workdir: Path
    """The private temp dir: HOME for git and ssh, and the cwd of commands outside a repo."""
    redact: tuple[str, ...] = field(default=())
    has_credentials: bool = False


def _write_private(path: Path, data: bytes) -> None:
    # ssh refuses a key or known_hosts file whose last line is not terminated.
    write_private(path, data if data.endswith(b"\n") else data + b"\n")


def _unencrypted_identity(identity: bytes, passphrase: str) -> bytes:
    """The SSH key in OpenSSH format without encryption, so ssh never needs to prompt."""
    import asyncssh  # Only SSH remotes pay for importing it.

    try:
        key = asyncssh.import_private_key(identity, passphrase or None)
    except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError) as exc:
        text = str(exc).lower()
        if "passphrase" in text and not passphrase:
            raise AuthenticationFailed(
                "SSH identity key is encrypted but no 'password' field was provided in the secret"
            ) from None
        if "passphrase" in text or "decrypt" in text:
            raise AuthenticationFailed(
                "unable to decrypt the SSH identity key with the secret's 'password'"
            ) from None
        raise AuthenticationFailed(
            "invalid 'identity' in the secret: not an SSH private key"
        ) from None
    return bytes(key.export_private_key("openssh"))


def _ssh_command(known_hosts: Path | None, identity: Path | None) -> str:
    options = [
        "BatchMode=yes",
        "StrictHostKeyChecking=yes",
        f"UserKnownHostsFile={known_hosts or os.devnull}",
        f"GlobalKnownHostsFile={os.devnull}",
        "IdentitiesOnly=yes",
        "IdentityAgent=none",
        "PasswordAuthentication=no",
        "KbdInteractiveAuthentication=no",
        "LogLevel=ERROR",
        f"ConnectTimeout={SSH_CONNECT_TIMEOUT_SECONDS}",
    ]
    argv = ["ssh", "-F", os.devnull]
    for option in options:
        argv += ["-o", option]
    if identity is not None:
        argv += ["-i", str(identity)]
    return shlex.join(argv)


def _prepare(url: GitURL, auth: GitAuth, workdir: Path) -> dict[str, str]:
    config: list[tuple[str, str]] = [
        ("init.templateDir", ""),
        ("advice.detachedHead", "false"),
        ("gc.auto", "0"),
        ("maintenance.auto", "false"),
        ("core.hooksPath", os.devnull),
    ]
    if url.scheme == "file":
        # Relative submodule URLs of a file:// remote are file:// too (tests only).
        config.append(("protocol.file.allow", "always"))
    else:
        config.append(("protocol.file.allow", "never"))

    scoped = f"http.{url.origin}."
    header = auth.authorization_header()
    if header:
        config.append((scoped + "extraHeader", f"Authorization: {header}"))
    if auth.ca_cert:
        _write_private(workdir / "ca.crt", auth.ca_cert)
        config.append((scoped + "sslCAInfo", str(workdir / "ca.crt")))
    if auth.client_cert:
        _write_private(workdir / "tls.crt", auth.client_cert)
        _write_private(workdir / "tls.key", auth.client_key)
        config.append((scoped + "sslCert", str(workdir / "tls.crt")))
        config.append((scoped + "sslKey", str(workdir / "tls.key")))
    if auth.proxy is not None:
        config.append(("http.proxy", auth.proxy.url()))

    known_hosts = identity = None
    if auth.known_hosts:
        known_hosts = workdir / "known_hosts"
        _write_private(known_hosts, auth.known_hosts)
    if auth.identity:
        identity = workdir / "identity"
        _write_private(identity, _unencrypted_identity(auth.identity, auth.password))

    env = {
        "HOME": str(workdir),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_SSH_VARIANT": "ssh",
        "GIT_SSH_COMMAND": _ssh_command(known_hosts, identity),
        "GIT_CONFIG_COUNT": str(len(config)),
    }
    for i, (key, value) in enumerate(config):
        env[f"GIT_CONFIG_KEY_{i}"] = key
        env[f"GIT_CONFIG_VALUE_{i}"] = value
    return env


@asynccontextmanager
async def git_transport(url: GitURL, auth: GitAuth | None) -> AsyncIterator[GitTransport]:
    """Create the private temp dir and env for `url`; remove the dir on exit, always."""
    auth = auth or GitAuth()
    async with scratch_dir("gotk-git-") as workdir:
        env = await asyncio.to_thread(_prepare, url, auth, workdir)
        redact = (*auth.secrets(), *((url.password,) if url.password else ()))
        has_credentials = bool(auth.authorization_header() or auth.identity or auth.client_cert)
        yield GitTransport(url, env, workdir, redact, has_credentials)
