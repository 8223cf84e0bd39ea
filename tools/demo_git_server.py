"""Serve a demo Git repository over smart HTTP until SIGTERM (used by tools/demo.sh).

Reuses the test suite's Git server (`git http-backend` behind aiohttp). Writes the clone
URL to `<dir>/url` once serving.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fixtures.git_servers import GitHTTPServer, GitRepo

MANIFESTS = {
    "deploy/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n",
    "deploy/settings.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: demo\n"
        "data:\n  greeting: ${greeting:=hello}\n  cluster: ${cluster_name}\n"
    ),
    "deploy/limits.yaml": (
        "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: demo-quota\n  namespace: demo\n"
        "spec:\n  hard:\n    configmaps: '20'\n"
    ),
}


def prepare(directory: Path) -> None:
    # A fresh repository each run: the demo starts from the same commit every time.
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    GitRepo(directory, "app").commit(MANIFESTS, "demo manifests")


async def serve(directory: Path) -> None:
    server = GitHTTPServer(directory)
    await server.start()
    await asyncio.to_thread((directory / "url").write_text, server.url("app.git"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()


if __name__ == "__main__":
    root = Path(sys.argv[1]).resolve()
    prepare(root)
    asyncio.run(serve(root))
