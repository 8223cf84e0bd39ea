"""Serve the bare Git repositories under a directory over smart HTTP, for `make demo`.

    demo_git_server.py ROOT URL_FILE

`git http-backend` (CGI) behind aiohttp on a free 127.0.0.1 port, read-only and without
auth. Once listening, writes `http://127.0.0.1:PORT` to URL_FILE; stops on SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

from aiohttp import web

_BACKEND_TIMEOUT = 60.0


class GitBackend:
    def __init__(self, root: Path) -> None:
        self.root = root

    async def handle(self, request: web.Request) -> web.Response:
        if request.path.endswith("/git-receive-pack") or request.query.get("service") == (
            "git-receive-pack"
        ):
            return web.Response(status=403, text="this server is read-only\n")
        body = await request.read()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": request.method,
            "PATH_INFO": request.path,
            "QUERY_STRING": request.query_string,
            "CONTENT_TYPE": request.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": request.remote or "127.0.0.1",
            "GIT_PROTOCOL": request.headers.get("Git-Protocol", ""),
        }
        if body[:2] == b"\x1f\x8b":  # aiohttp hands a gzip request body over undecoded
            env["HTTP_CONTENT_ENCODING"] = "gzip"
        code, stdout, stderr = await _run_backend(env, body)
        head, payload = _split_cgi(stdout)
        if code != 0 and not head:
            return web.Response(status=500, text=stderr.decode(errors="replace"))
        status, headers = 200, {}
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.split()[0])
            elif key:
                headers[key.strip()] = value.strip()
        print(f"{request.method} {request.path_qs} {status}", flush=True)
        return web.Response(status=status, headers=headers, body=payload)


async def _run_backend(env: dict[str, str], body: bytes) -> tuple[int, bytes, bytes]:
    process = await asyncio.create_subprocess_exec(
        "git",
        "http-backend",
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(_BACKEND_TIMEOUT):
            stdout, stderr = await process.communicate(body)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return process.returncode or 0, stdout, stderr


def _split_cgi(output: bytes) -> tuple[bytes, bytes]:
    """CGI headers and body; the headers end at the first blank line, CRLF or LF."""
    ends = [(i, len(sep)) for sep in (b"\r\n\r\n", b"\n\n") if (i := output.find(sep)) >= 0]
    if not ends:
        return output, b""
    index, width = min(ends)
    return output[:index], output[index + width :]


def _publish(url_file: Path, url: str) -> None:
    # Written then renamed, so the demo never reads half a URL.
    partial = url_file.with_suffix(".partial")
    partial.write_text(url + "\n")
    partial.rename(url_file)


async def serve(root: Path, url_file: Path) -> None:
    app = web.Application(client_max_size=64 * 1024**2)
    app.router.add_route("*", "/{tail:.*}", GitBackend(root).handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        await web.SockSite(runner, sock).start()
        await asyncio.to_thread(_publish, url_file, f"http://127.0.0.1:{port}")
        print(f"serving {root} at http://127.0.0.1:{port}", flush=True)
        await stop.wait()
    finally:
        await asyncio.to_thread(url_file.unlink, missing_ok=True)
        await runner.cleanup()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    asyncio.run(serve(Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()))
