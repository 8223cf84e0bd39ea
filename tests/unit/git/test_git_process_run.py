"""gotk_runtime.process.run: timeouts and cancellation kill the whole process group."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from gotk_runtime.process import (
    ProcessFailed,
    ProcessStartFailed,
    ProcessTimeout,
    minimal_env,
    redact_secrets,
    run,
)


def _gone(pid: int) -> bool:
    """True once `pid` no longer runs (absent, or a zombie waiting for init)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in status


async def _wait_gone(pid: int) -> bool:
    for _ in range(100):
        if _gone(pid):
            return True
        await asyncio.sleep(0.05)
    return False


def _pid_in(path: Path) -> int | None:
    text = path.read_text().strip() if path.exists() else ""
    return int(text) if text else None


async def _read_pid(path: Path) -> int:
    for _ in range(200):
        pid = _pid_in(path)
        if pid is not None:
            return pid
        await asyncio.sleep(0.02)
    raise AssertionError("the child never wrote its grandchild's pid")


SPAWN_GRANDCHILD = 'sleep 300 & echo $! > "$1"; wait'


async def test_run_returns_output_and_exit_code() -> None:
    result = await run(["sh", "-c", "printf out; printf err >&2"], timeout=10)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"out", b"err")


async def test_input_is_fed_to_stdin() -> None:
    result = await run(["cat"], input=b"hello", timeout=10)
    assert result.stdout == b"hello"


async def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    with pytest.raises(ProcessTimeout, match=r"timed out after 0\.5s") as caught:
        await run(["sh", "-c", SPAWN_GRANDCHILD, "sh", str(pidfile)], timeout=0.5)
    assert caught.value.timeout == 0.5
    assert await _wait_gone(await _read_pid(pidfile))


async def test_cancellation_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    task = asyncio.create_task(run(["sh", "-c", SPAWN_GRANDCHILD, "sh", str(pidfile)], timeout=60))
    grandchild = await _read_pid(pidfile)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _wait_gone(grandchild)


async def test_a_child_ignoring_sigterm_is_killed_after_the_grace(tmp_path: Path) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(ProcessTimeout):
        await run(["sh", "-c", "trap '' TERM; sleep 300"], timeout=0.2, kill_grace=0.3)
    assert loop.time() - started < 5


async def test_failure_message_has_exit_code_and_redacted_stderr_tail() -> None:
    secret = "s3cr3t-token"
    argv = ["sh", "-c", f"echo 'denied for {secret} at https://bob:pw@host/x' >&2; exit 3"]
    with pytest.raises(ProcessFailed) as caught:
        await run(argv, timeout=10, redact=[secret])
    error = caught.value
    assert error.returncode == 3
    assert "exited 3" in str(error)
    assert "denied for ***" in error.stderr_tail
    assert "https://***@host/x" in error.stderr_tail
    assert secret not in str(error)
    assert "bob:pw" not in str(error)


async def test_check_false_returns_the_failure() -> None:
    result = await run(["sh", "-c", "exit 4"], timeout=10, check=False)
    assert result.returncode == 4


async def test_missing_executable_is_a_typed_error() -> None:
    with pytest.raises(ProcessStartFailed):
        await run(["/nonexistent/gotk-no-such-binary"], timeout=10)


async def test_environment_is_minimal_plus_what_the_caller_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOTK_LEAKY_SECRET", "do-not-inherit")
    result = await run(["env"], env={"EXTRA": "1"}, timeout=10)
    names = {line.split("=", 1)[0] for line in result.stdout.decode().splitlines()}
    assert names <= {"PATH", "HOME", "LANG", "EXTRA", "PWD", "SHLVL", "_"}
    assert "EXTRA" in names
    assert "GOTK_LEAKY_SECRET" not in names


def test_minimal_env_defaults() -> None:
    env = minimal_env({"A": "b"})
    assert env["LANG"] == "C"
    assert env["A"] == "b"
    assert "PATH" in env
    assert "HOME" in env
    assert set(env) == {"PATH", "HOME", "LANG", "A"}


@pytest.mark.parametrize(
    ("text", "secrets", "expected"),
    [
        ("token abc123 here", ["abc123"], "token *** here"),
        ("https://user:pass@example.com/r.git", [], "https://***@example.com/r.git"),
        ("ssh://git@host/r", [], "ssh://***@host/r"),
        ("long secretsecret and secret", ["secret", "secretsecret"], "long *** and ***"),
        ("nothing", ["", "zzz"], "nothing"),
    ],
)
def test_redact_secrets(text: str, secrets: list[str], expected: str) -> None:
    assert redact_secrets(text, secrets) == expected
