"""The artifact HTTP server: read-only GET/HEAD of regular files under the storage root.

Flux serves `--storage-path` with Go's `http.FileServer`, started only on the leader.
gotk answers 503 while not leading (consumers retry 5xx) instead of refusing connections,
lists no directories, resolves symlinks and serves only regular files inside the root,
never a file being written (`.tmp-*`) or any other dot-file or `.lock`, and rejects encoded
separators, dot segments and backslashes in the raw request path before any decoding can
turn them into traversal. A Range it cannot satisfy (malformed, or numbers too long to be
a size) is a 416, as Go's FileServer answers. ETags are strong: an artifact is only
ever replaced by renaming a new file over it, which changes inode and mtime.
"""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import os
import re
import socket
import stat
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Final
from urllib.parse import unquote

from aiohttp import web

__all__ = ["ArtifactServer", "create_artifact_app"]

_CHUNK: Final = 256 << 10
_FORBIDDEN_ENCODED: Final = re.compile(r"%(2f|5c|00)", re.IGNORECASE)
# 19 digits hold any file size; a longer number is refused before int() (Python refuses
# strings past 4300 digits with a ValueError, which would be a 500 and a traceback).
_RANGE_RE: Final = re.compile(r"^bytes=(\d{0,19})-(\d{0,19})$")


@dataclass(frozen=True, slots=True)
class _OpenFile:
    fd: int
    size: int
    mtime: float
    etag: str


class ArtifactServer:
    """Owns the aiohttp app and its listener; `serving` is flipped by leader election."""

    def __init__(
        self,
        root: Path,
        *,
        serving: bool = True,
        is_serving: Callable[[], bool] | None = None,
    ) -> None:
        """`is_serving` (e.g. "holds the leader lease") overrides the `serving` toggle."""
        self.root = Path(os.path.realpath(root))
        self.serving = serving
        self.app = create_artifact_app(self.root, is_serving or (lambda: self.serving))
        self._runner: web.AppRunner | None = None

    async def start(self, host: str = "0.0.0.0", port: int = 9090) -> int:
        """Listen on host:port (port 0 picks a free one); return the bound port."""
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            sock.close()
            raise
        runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, shutdown_timeout=5.0
        )
        await runner.setup()
        try:
            await web.SockSite(runner, sock).start()
        except BaseException:
            await runner.cleanup()
            sock.close()
            raise
        self._runner = runner
        bound: int = sock.getsockname()[1]
        return bound

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()


def create_artifact_app(root: Path, is_serving: Callable[[], bool]) -> web.Application:
    """An aiohttp app serving files below `root` while `is_serving()` is true."""
    real_root = os.path.realpath(root)

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.method not in ("GET", "HEAD"):
            raise web.HTTPMethodNotAllowed(request.method, ["GET", "HEAD"])
        if not is_serving():
            raise web.HTTPServiceUnavailable(text="not the leader\n", headers={"Retry-After": "5"})
        segments = _path_segments(request.raw_path)
        if segments is None:
            raise web.HTTPNotFound()
        opened = await asyncio.to_thread(_open_regular, real_root, segments)
        if opened is None:
            raise web.HTTPNotFound()
        try:
            return await _respond(request, opened, segments[-1])
        finally:
            os.close(opened.fd)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


def _path_segments(raw_path: str) -> list[str] | None:
    """Decoded path segments, or None for anything that is not a plain file path."""
    path = raw_path.split("?", 1)[0]
    if not path.startswith("/") or "\\" in path or _FORBIDDEN_ENCODED.search(path):
        return None
    segments: list[str] = []
    for raw in path[1:].split("/"):
        try:
            segment = unquote(raw, errors="strict")
        except UnicodeDecodeError:
            return None
        if segment in ("", ".", "..") or "/" in segment or "\\" in segment or "\x00" in segment:
            return None
        # No artifact name starts with a dot or ends with .lock: those are writes in
        # progress (.tmp-*), per-artifact locks and other files that are not artifacts.
        if segment.startswith(".") or segment.endswith(".lock"):
            return None
        segments.append(segment)
    return segments or None


def _open_regular(real_root: str, segments: list[str]) -> _OpenFile | None:
    """Open the file if, with every symlink resolved, it is a regular file under the root."""
    real = os.path.realpath(os.path.join(real_root, *segments))
    if not real.startswith(real_root + os.sep):
        return None
    try:
        # O_NONBLOCK: opening a FIFO must not park the worker thread waiting for a writer.
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        return None
    etag = f'"{st.st_ino:x}-{st.st_size:x}-{st.st_mtime_ns:x}"'
    return _OpenFile(fd, st.st_size, st.st_mtime, etag)


async def _respond(request: web.Request, f: _OpenFile, name: str) -> web.StreamResponse:
    headers = {
        "ETag": f.etag,
        "Last-Modified": formatdate(f.mtime, usegmt=True),
        "Accept-Ranges": "bytes",
        "Content-Type": _content_type(name),
    }
    if _etag_matches(request.headers.get("If-None-Match"), f.etag):
        return web.Response(status=304, headers=headers)

    start, end = 0, f.size - 1
    status = 200
    range_header = request.headers.get("Range")
    if_range = request.headers.get("If-Range")
    # Multipart ranges are answered with the whole file, which RFC 9110 allows.
    if (
        range_header is not None
        and "," not in range_header
        and (if_range is None or if_range == f.etag)
    ):
        parsed = _parse_range(range_header, f.size)
        if parsed is None:
            headers["Content-Range"] = f"bytes */{f.size}"
            return web.Response(status=416, headers=headers)
        start, end = parsed
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{f.size}"

    length = end - start + 1 if f.size else 0
    response = web.StreamResponse(status=status, headers=headers)
    response.content_length = length
    await response.prepare(request)
    if request.method == "GET":
        offset, remaining = start, length
        while remaining > 0:
            chunk = await asyncio.to_thread(os.pread, f.fd, min(_CHUNK, remaining), offset)
            if not chunk:
                break  # truncated under us; the client sees a short body and retries
            await response.write(chunk)
            offset += len(chunk)
            remaining -= len(chunk)
    with contextlib.suppress(ConnectionResetError):
        await response.write_eof()
    return response


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(start, end) inclusive, or None when malformed or unsatisfiable (416, as Go does)."""
    match = _RANGE_RE.match(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            return None
        return max(0, size - suffix), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        return None
    return start, min(end, size - 1)


def _etag_matches(header: str | None, etag: str) -> bool:
    if header is None:
        return False
    candidates = [c.strip().removeprefix("W/") for c in header.split(",")]
    return "*" in candidates or etag in candidates


def _content_type(name: str) -> str:
    guessed, encoding = mimetypes.guess_type(name, strict=False)
    if encoding == "gzip":
        return "application/gzip"
    return guessed or "application/octet-stream"
