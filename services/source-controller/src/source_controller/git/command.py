"""Run git for one operation under one deadline, and turn its failures into `GitError`s."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

from gotk_runtime.process import (
    CompletedProcess,
    ProcessFailed,
    ProcessStartFailed,
    ProcessTimeout,
    redact_secrets,
    run,
)

from source_controller.git.errors import (
    CredentialsRejected,
    GitOperationFailed,
    GitTimeout,
    HostKeyVerificationFailed,
    RefNotFound,
    RemoteUnreachable,
    RepositoryNotFound,
    TLSVerificationFailed,
)
from source_controller.git.transport import GitTransport

__all__ = ["GitRunner", "classify_failure"]

GIT = "git"

# (needles in git's lower-cased stderr, error class, what to tell the user first)
_FAILURES: tuple[tuple[tuple[str, ...], type[GitOperationFailed], str], ...] = (
    (("couldn't find remote ref",), RefNotFound, ""),
    (
        (
            "host key verification failed",
            "remote host identification has changed",
            "no matching host key type",
        ),
        HostKeyVerificationFailed,
        "SSH host key verification failed (the key is not in known_hosts, or differs)",
    ),
    (
        (
            "authentication failed",
            "could not read username",
            "could not read password",
            "permission denied (publickey",
            "permission denied, please try again",
            "returned error: 401",
            "returned error: 403",
        ),
        CredentialsRejected,
        "authentication failed",
    ),
    (
        (
            "ssl certificate problem",
            "server certificate verification failed",
            "certificate verify failed",
            "unable to set client certificate",
            "could not load pem client certificate",
        ),
        TLSVerificationFailed,
        "TLS handshake failed",
    ),
    (
        (
            "does not appear to be a git repository",
            "repository not found",
            "returned error: 404",
            "' not found",
        ),
        RepositoryNotFound,
        "repository not found",
    ),
    (
        (
            "could not resolve host",
            "could not resolve hostname",
            "failed to connect",
            "couldn't connect to server",
            "connection refused",
            "connection timed out",
            "network is unreachable",
            "no route to host",
            "connection reset",
            "empty reply from server",
            "connection closed by",
            "proxy connect aborted",
            "received http code 407",
        ),
        RemoteUnreachable,
        "cannot reach the remote",
    ),
)


_NOISE = (
    "could not read from remote repository",
    "please make sure you have",
    "and the repository exists",
    # OpenSSH's changed-host-key banner: hints that name our temp files, not causes.
    "@@@",
    "ssh-keygen",
    "offending",
    "remove with",
    "add correct host key",
    "please contact",
    "fingerprint",
    "someone could be",
    "it is also possible",
    "it is possible",
    "man-in-the-middle",
    "sha256:",
)


def _git_lines(stderr: str) -> str:
    """git's own explanation: its `fatal:`/`error:` lines without the prefix."""
    picked: list[str] = []
    for raw in stderr.splitlines():
        line = raw.strip()
        for prefix in ("fatal: ", "error: ", "ssh: "):
            if line.startswith(prefix):
                line = line[len(prefix) :]
                break
        lowered = line.lower()
        if not line or lowered.startswith(("hint:", "warning:")):
            continue
        if any(noise in lowered for noise in _NOISE):
            continue
        picked.append(line)
    return "; ".join(picked[-3:])


def classify_failure(
    context: str, stderr: str, *, has_credentials: bool = True
) -> GitOperationFailed:
    """The most specific `GitOperationFailed` for git's (already redacted) stderr."""
    lowered = stderr.lower()
    detail = _git_lines(stderr)
    if "could not read username" in lowered or "could not read password" in lowered:
        # git asked for credentials after a 401 and (by design) had no way to get any.
        detail = (
            "the server rejected the credentials from the secret (HTTP 401)"
            if has_credentials
            else "the server requires credentials and none were given (HTTP 401)"
        )
    for needles, cls, summary in _FAILURES:
        if any(needle in lowered for needle in needles):
            text = f"{summary}: {detail}" if summary and detail else summary or detail
            return cls(f"{context}: {text}")
    return GitOperationFailed(f"{context}: {detail or 'git failed without a message'}")


@dataclass(slots=True)
class GitRunner:
    """Runs `git <args>` with the transport's env, all calls sharing one deadline."""

    transport: GitTransport
    context: str
    timeout: float
    deadline: float

    @classmethod
    def start(cls, transport: GitTransport, context: str, timeout: float) -> GitRunner:
        return cls(transport, context, timeout, asyncio.get_running_loop().time() + timeout)

    def fail(self, cls: type[GitOperationFailed], text: str) -> GitOperationFailed:
        return cls(f"{self.context}: {redact_secrets(text, self.transport.redact)}")

    async def __call__(
        self, *args: str, cwd: str | os.PathLike[str] | None = None
    ) -> CompletedProcess:
        remaining = self.deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise self._timeout()
        try:
            return await run_git(self.transport, args, cwd=cwd, timeout=remaining)
        except ProcessTimeout:
            raise self._timeout() from None
        except ProcessFailed as exc:
            raise classify_failure(
                self.context, exc.stderr_tail, has_credentials=self.transport.has_credentials
            ) from None
        except ProcessStartFailed as exc:
            raise GitOperationFailed(f"{self.context}: {exc}") from None

    async def output(self, *args: str, cwd: str | os.PathLike[str] | None = None) -> str:
        result = await self(*args, cwd=cwd)
        return result.stdout.decode("utf-8", errors="replace")

    async def probe(self, *args: str, cwd: str | os.PathLike[str] | None = None) -> str | None:
        """stdout of a command whose failure is an answer (e.g. `rev-parse --verify`), or None."""
        remaining = self.deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise self._timeout()
        try:
            result = await run_git(self.transport, args, cwd=cwd, timeout=remaining, check=False)
        except ProcessTimeout:
            raise self._timeout() from None
        except ProcessStartFailed as exc:
            raise GitOperationFailed(f"{self.context}: {exc}") from None
        if result.returncode != 0:
            return None
        return result.stdout.decode("utf-8", errors="replace")

    def _timeout(self) -> GitTimeout:
        return GitTimeout(f"{self.context}: timed out after {self.timeout:g}s")


async def run_git(
    transport: GitTransport,
    args: tuple[str, ...],
    *,
    cwd: str | os.PathLike[str] | None,
    timeout: float,
    check: bool = True,
) -> CompletedProcess:
    # Outside a work tree git would discover and read whatever repo encloses our cwd.
    return await run(
        [GIT, *args],
        cwd=cwd if cwd is not None else transport.workdir,
        env=transport.env,
        timeout=timeout,
        redact=transport.redact,
        check=check,
    )
