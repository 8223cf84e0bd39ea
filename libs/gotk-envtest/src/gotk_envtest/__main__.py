"""`python -m gotk_envtest up|down`: a control plane that keeps running in the background."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .controlplane import ControlPlane

_DEFAULT_DIR = Path(".gotk/envtest")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _read_pid(directory: Path) -> int | None:
    try:
        pid = int((directory / "pid").read_text())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def up(directory: Path, profile: str, crds: Path) -> int:
    directory = directory.resolve()
    if _read_pid(directory) is None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "ready").unlink(missing_ok=True)
        log = (directory / "serve.log").open("ab")
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gotk_envtest",
                "_serve",
                "--dir",
                str(directory),
                "--profile",
                profile,
                "--crds",
                str(crds.resolve()),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        while not (directory / "ready").exists():
            if child.poll() is not None:
                sys.stderr.write((directory / "serve.log").read_text()[-4000:])
                return 1
            time.sleep(0.2)
    print(f"export KUBECONFIG={directory / 'cluster' / 'kubeconfig'}")
    return 0


def down(directory: Path) -> int:
    pid = _read_pid(directory.resolve())
    if pid is None:
        print(f"no control plane running in {directory}")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    return 0 if not _alive(pid) else 1


async def _serve(directory: Path, profile: str, crds: Path) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    plane = ControlPlane(directory / "cluster", profile, [crds])  # type: ignore[arg-type]
    try:
        await plane.start()
        (directory / "pid").write_text(str(os.getpid()))
        (directory / "ready").write_text(plane.server)
        await stop.wait()
    finally:
        await plane.stop()
        for name in ("pid", "ready"):
            (directory / name).unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gotk_envtest")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("up", "_serve"):
        command = commands.add_parser(name)
        command.add_argument("--profile", choices=["minimal", "full"], default="minimal")
        command.add_argument("--dir", type=Path, default=_DEFAULT_DIR)
        command.add_argument("--crds", type=Path, default=Path("config/crds"))
    commands.add_parser("down").add_argument("--dir", type=Path, default=_DEFAULT_DIR)
    args = parser.parse_args(argv)
    if args.command == "up":
        return up(args.dir, args.profile, args.crds)
    if args.command == "down":
        return down(args.dir)
    asyncio.run(_serve(args.dir, args.profile, args.crds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
