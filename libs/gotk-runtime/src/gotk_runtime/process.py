"""The one way gotk runs a child process (git, kustomize, helm, sops).

Every child starts in its own session, so it and everything it spawns (git's ssh,
remote helpers, pagers) form one process group. On timeout or cancellation the whole
group gets SIGTERM, then SIGKILL after a grace period, and the leader is reaped before
`run` returns: no orphan keeps a socket or a temp dir alive after a reconcile gave up.

Every child is also bounded: its address space (`RLIMIT_AS`, default 2 GiB: enough for the
Go tools' start-up reservations, far below what a YAML alias bomb wants), its CPU time
(`RLIMIT_CPU`, the timeout on every core plus a second), and the output gotk keeps from it
(stdout past `max_output` kills the group; of stderr only the tail is kept). The limits are
set with prlimit(2) on the child right after it starts, so the parent never forks with a
preexec hook.

Secrets travel through the environment, stdin or files, never argv. Every error
message passes through `redact_secrets`, which replaces each given secret and the userinfo of
any URL with `***`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import resource
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gotk_runtime.errors import GotkError

__all__ = [
    "DEFAULT_PATH",
    "CompletedProcess",
    "ProcessError",
    "ProcessFailed",
    "ProcessLimits",
    "ProcessOutputTooLarge",
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
READ_CHUNK = 1 << 16
STDERR_HEAD_BYTES = 4096

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


class ProcessOutputTooLarge(ProcessError):
    """The child wrote more than `max_output` bytes to stdout; its process group was killed."""


class ProcessFailed(ProcessError):
    """The child exited non-zero (or was killed by a signal)."""

    def __init__(
        self,
        message: str,
        *,
        command: str,
        returncode: int,
        stderr_tail: str,
        stdout: bytes,
        memory_limit: str = "",
    ) -> None:
        super().__init__(message, command=command)
        self.returncode = returncode
        self.stderr_tail = stderr_tail
        self.stdout = stdout
        self.memory_limit = memory_limit
        """Set (e.g. "2 GiB") when the child failed on reaching its memory limit."""

    @property
    def out_of_memory(self) -> bool:
        return bool(self.memory_limit)


@dataclass(frozen=True, slots=True)
class ProcessLimits:
    """What one child may use; None: no limit of that kind."""

    address_space: int | None = 2 << 30
    max_output: int | None = 256 << 20
    stderr_kept: int = 1 << 20
    cpu: bool = True
    """Limit CPU time to the timeout on every core (plus a second)."""


DEFAULT_LIMITS = ProcessLimits()


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
    limits: ProcessLimits = DEFAULT_LIMITS,
) -> CompletedProcess:
    """Run `argv` to completion within `timeout` seconds, within `limits`.

    The environment is `minimal_env(env)`. With `check`, a non-zero exit raises
    `ProcessFailed`; a timeout raises `ProcessTimeout`; too much output raises
    `ProcessOutputTooLarge`; cancellation kills the group and re-raises `CancelledError`.
    Messages never contain any `redact` string.
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

    _limit(proc.pid, limits, timeout)
    try:
        output = await asyncio.wait_for(_communicate(proc, input, limits), timeout)
    except TimeoutError:
        await _kill_group(proc, kill_grace)
        raise ProcessTimeout(
            f"`{command}` timed out after {timeout:g}s", command=command, timeout=timeout
        ) from None
    except BaseException:
        # Cancellation (or anything else) must not leave the group running.
        await asyncio.shield(_kill_group(proc, kill_grace))
        raise

    if output.overflow:
        raise ProcessOutputTooLarge(
            f"`{command}` wrote more than {limits.max_output} bytes of output; it was stopped",
            command=command,
        )
    stdout, stderr = output.stdout, output.stderr
    returncode = proc.returncode if proc.returncode is not None else -1
    result = CompletedProcess(tuple(argv), returncode, stdout, stderr)
    if check and returncode != 0:
        tail = _tail(stderr, secrets)
        how = f"was killed by signal {-returncode}" if returncode < 0 else f"exited {returncode}"
        memory_limit = _gib(limits.address_space) if _out_of_memory(output.stderr_head) else ""
        if memory_limit:
            how += f" after reaching its memory limit ({memory_limit})"
        message = f"`{command}` {how}" + (f": {tail}" if tail else "")
        raise ProcessFailed(
            message,
            command=command,
            returncode=returncode,
            stderr_tail=tail,
            stdout=stdout,
            memory_limit=memory_limit,
        )
    return result


@dataclass(frozen=True, slots=True)
class _Output:
    stdout: bytes
    stderr: bytes
    stderr_head: bytes
    overflow: bool


_OOM_MARKERS = (b"fatal error: out of memory", b"MemoryError", b"Cannot allocate memory")


def _out_of_memory(stderr_head: bytes) -> bool:
    return any(marker in stderr_head for marker in _OOM_MARKERS)


def _gib(size: int | None) -> str:
    return f"{(size or 0) / (1 << 30):g} GiB"


def _limit(pid: int, limits: ProcessLimits, timeout: float) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError, ValueError, OSError):
        if limits.address_space is not None:
            resource.prlimit(pid, resource.RLIMIT_AS, (limits.address_space,) * 2)
        if limits.cpu and math.isfinite(timeout):
            seconds = math.ceil(timeout * (os.cpu_count() or 1)) + 1
            resource.prlimit(pid, resource.RLIMIT_CPU, (seconds, seconds + 1))


async def _communicate(
    proc: asyncio.subprocess.Process, input: bytes | None, limits: ProcessLimits
) -> _Output:
    """`proc.communicate`, keeping at most `max_output` bytes of stdout (past that, the group
    is killed and the rest drained unread), the start and the last `stderr_kept` bytes of
    stderr; returns once the child has exited and its pipes are closed."""
    overflow = False

    async def feed() -> None:
        if input is None or proc.stdin is None:
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            proc.stdin.write(input)
            await proc.stdin.drain()
        proc.stdin.close()

    async def read_stdout() -> bytes:
        nonlocal overflow
        assert proc.stdout is not None
        chunks: list[bytes] = []
        size = 0
        while chunk := await proc.stdout.read(READ_CHUNK):
            if overflow:
                continue
            size += len(chunk)
            if limits.max_output is not None and size > limits.max_output:
                overflow = True
                chunks.clear()
                _signal_group(proc.pid, signal.SIGKILL)
                continue
            chunks.append(chunk)
        return b"".join(chunks)

    async def read_stderr() -> tuple[bytes, bytes]:
        assert proc.stderr is not None
        head = b""
        kept = bytearray()
        while chunk := await proc.stderr.read(READ_CHUNK):
            if len(head) < STDERR_HEAD_BYTES:
                head += chunk[: STDERR_HEAD_BYTES - len(head)]
            kept += chunk
            if len(kept) > limits.stderr_kept:
                del kept[: len(kept) - limits.stderr_kept]
        return head, bytes(kept)

    _, stdout, (head, stderr) = await asyncio.gather(feed(), read_stdout(), read_stderr())
    await proc.wait()
    return _Output(stdout, stderr, head, overflow)
