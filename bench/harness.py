"""What the fleet benchmarks share: creating objects with bounded concurrency, counting Ready
objects, and running a controller as its own process with its log beside the cluster."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from gotk_envtest import ControlPlane, free_port
from procstats import cpu_seconds

Obj = dict[str, Any]
IN_FLIGHT = 16


async def bounded(calls: Iterable[Callable[[], Awaitable[None]]], limit: int = IN_FLIGHT) -> None:
    semaphore = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Awaitable[None]]) -> None:
        async with semaphore:
            await call()

    await asyncio.gather(*(one(call) for call in calls))


async def create(plane: ControlPlane, path: str, obj: Obj) -> None:
    status, body = await plane.request("POST", path, obj)
    assert status == 201, body


async def count_ready(plane: ControlPlane, path: str) -> int:
    """How many objects listed at `path` have Ready=True."""
    status, body = await plane.request("GET", path)
    assert status == 200, body
    return sum(
        1
        for item in body["items"]
        for c in (item.get("status") or {}).get("conditions") or []
        if c["type"] == "Ready" and c["status"] == "True"
    )


def start_controller(
    module: str, plane: ControlPlane, concurrent: int, *extra: str
) -> subprocess.Popen[bytes]:
    """Start `python -m module`, its output going to <cluster workdir>/<module>.log."""
    with (plane.workdir / f"{module}.log").open("wb") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                module,
                f"--kubeconfig={plane.kubeconfig}",
                f"--metrics-addr=127.0.0.1:{free_port()}",
                f"--health-addr=127.0.0.1:{free_port()}",
                f"--concurrent={concurrent}",
                "--log-level=error",
                *extra,
            ],
            env={**os.environ},
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def check_alive(process: subprocess.Popen[bytes], module: str, plane: ControlPlane) -> None:
    if process.poll() is not None:
        tail = (plane.workdir / f"{module}.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{module} exited with {process.returncode}:\n{tail}")


def error_lines(plane: ControlPlane, module: str) -> int:
    text = (plane.workdir / f"{module}.log").read_text(errors="replace")
    return sum(1 for line in text.splitlines() if '"level":"error"' in line)


def plane_cpu(plane: ControlPlane, *names: str) -> float:
    """CPU seconds of the control plane's processes (all, or those named)."""
    return sum(cpu_seconds(pid) for name, pid in plane.pids.items() if not names or name in names)


def stop_all(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=60)
