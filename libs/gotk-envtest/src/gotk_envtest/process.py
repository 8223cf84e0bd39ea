"""A child process of the control plane: started in its own session, logged to a file, and
killed (whole process group) when stopped or when the parent dies."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import subprocess
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Linux only: the kernel kills the child when the process that started it exits, so a
    # crashed or SIGKILLed test run never leaves an API server or etcd behind.
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class ManagedProcess:
    """One long-running binary (etcd, kube-apiserver, ...) of a control plane."""

    def __init__(
        self, name: str, argv: list[str], log_path: Path, env: dict[str, str] | None = None
    ):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.env = env
        self._popen: subprocess.Popen[bytes] | None = None
        self.wanted = False  # False once stopped on purpose, so a dead process is not an error

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else None

    def start(self) -> None:
        self.wanted = True
        if self.running:
            return
        with self.log_path.open("ab") as log:
            self._popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    def exit_message(self) -> str:
        """The tail of the log, for an error when the process died during start-up."""
        code = self._popen.poll() if self._popen else None
        tail = self.log_path.read_text(errors="replace").splitlines()[-15:]
        return f"{self.name} exited with code {code}; last log lines:\n" + "\n".join(tail)

    async def stop(self, grace: float = 10.0) -> None:
        self.wanted = False
        popen = self._popen
        if popen is None or popen.poll() is not None:
            return
        self._signal_group(popen.pid, signal.SIGTERM)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while popen.poll() is None and loop.time() < deadline:
            await asyncio.sleep(0.05)
        if popen.poll() is None:
            self._signal_group(popen.pid, signal.SIGKILL)
            while popen.poll() is None:
                await asyncio.sleep(0.02)

    def kill_now(self) -> None:
        """Synchronous last-resort kill, for interpreter shutdown paths."""
        if self._popen is not None and self._popen.poll() is None:
            self._signal_group(self._popen.pid, signal.SIGKILL)
            self._popen.wait()

    @staticmethod
    def _signal_group(pid: int, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
