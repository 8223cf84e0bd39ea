"""The one way gotk runs a child process (git, kustomize, helm, sops).

Every child starts in its own session, so it and everything it spawns (git's ssh,
remote helpers, pagers) form one process group. On timeout or cancellation the whole
group gets SIGTERM, then SIGKILL after a grace period, and the leader is reaped before
`run` returns: no orphan keeps a socket or a temp dir alive after a reconcile gave up.

Secrets travel through the environment, stdin or files, never argv. Every error
message passes through `redact_secrets`, which replaces each given secret and the userinfo of
any URL with `***`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gotk_runtime.errors import GotkError

__all__ = [
    "DEFAULT_PATH",
    "CompletedProcess",
    "ProcessError",
    "ProcessFailed",
    "ProcessStartFailed",
    "ProcessTimeout",
    "minimal_env",
    "redact_secrets",
    "run",
]

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
STDERR_TAIL_BYTES = 2048
KILL_GRACE_SECONDS = 2.0
REAP_TIMEOUT_SECONDS = 5.0
MASK = "***"

_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")


class ProcessError(GotkError):
    """A child process could not be started or did not succeed."""

    def __init__(self, message: str, *, command: str) -> None:
        super().__init__(message)
        self.command = command


class ProcessStartFailed(ProcessError):
    """The executable is missing or could not be started."""


class ProcessTimeout(ProcessError):
    """The child ran past its timeout; its process group was killed."""

    def __init__(self, message: str, *, command: str, timeout: float) -> None:
        super().__init__(message, command=command)
        self.timeout = timeout


class ProcessFailed(ProcessError):
    """The child exited non-zero (or was killed by a signal)."""

    def __init__(
        self, message: str, *, command: str, returncode: int, stderr_tail: str, stdout: bytes
    ) -> None:
        super().__init__(message, command=command)
        self.returncode = returncode
        self.stderr_tail = stderr_tail
        self.stdout = stdout


@dataclass(frozen=True, slots=True)
class CompletedProcess:
    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes


def redact_secrets(text: str, secrets: Sequence[str] = ()) -> str:
    """Replace every secret, and the userinfo of any URL, with `***`."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)


def minimal_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """PATH, HOME and LANG=C, plus `extra`: nothing else of the parent's leaks in."""
    env = {
        "PATH": os.environ.get("PATH") or DEFAULT_PATH,
        "HOME": os.environ.get("HOME") or "/nonexistent",
        "LANG": "C",
    }
    if extra:
        env.update(extra)
    return env


def _command_text(argv: Sequence[str], secrets: Sequence[str]) -> str:
    return redact_secrets(" ".join(argv), secrets)


def _tail(data: bytes, secrets: Sequence[str]) -> str:
    text = data[-STDERR_TAIL_BYTES:].decode("utf-8", errors="replace").strip()
    return redact_secrets(text, secrets)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


async def _kill_group(proc: asyncio.subprocess.Process, grace: float) -> None:
    """SIGTERM the child's process group, SIGKILL what is left after `grace`, reap."""
    _signal_group(proc.pid, signal.SIGTERM)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(proc.wait(), grace)
    # Stragglers in the group (an ssh under git) may outlive the leader's exit.
    _signal_group(proc.pid, signal.SIGKILL)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(proc.wait(), REAP_TIMEOUT_SECONDS)


async def run(
    argv: Sequence[str],
    *,
    timeout: float,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
    redact: Sequence[str] = (),
    check: bool = True,
    kill_grace: float = KILL_GRACE_SECONDS,
) -> CompletedProcess:
    """Run `argv` to completion within `timeout` seconds.

    The environment is `minimal_env(env)`. With `check`, a non-zero exit raises
    `ProcessFailed`; a timeout raises `ProcessTimeout`; cancellation kills the group
    and re-raises `CancelledError`. Messages never contain any `redact` string.
    """
    secrets = tuple(redact)
    command = _command_text(argv, secrets)
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=minimal_env(env),
            stdin=asyncio.subprocess.PIPE if input is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        reason = redact_secrets(exc.strerror or str(exc), secrets)
        raise ProcessStartFailed(f"cannot start `{command}`: {reason}", command=command) from None

    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(input), timeout)
    except TimeoutError:
        await _kill_group(proc, kill_grace)
        raise ProcessTimeout(
            f"`{command}` timed out after {timeout:g}s", command=command, timeout=timeout
        ) from None
    except BaseException:
        # Cancellation (or anything else) must not leave the group running.
        await asyncio.shield(_kill_group(proc, kill_grace))
        raise

    returncode = proc.returncode if proc.returncode is not None else -1
    result = CompletedProcess(tuple(argv), returncode, stdout, stderr)
    if check and returncode != 0:
        tail = _tail(stderr, secrets)
        how = f"was killed by signal {-returncode}" if returncode < 0 else f"exited {returncode}"
        message = f"`{command}` {how}" + (f": {tail}" if tail else "")
        raise ProcessFailed(
            message, command=command, returncode=returncode, stderr_tail=tail, stdout=stdout
        )
    return result
