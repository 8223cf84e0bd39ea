"""Live pages over Server-Sent Events: after every burst of cache changes, each open page's
``<main>`` is rendered again from the cache and sent if it differs from what was sent last.

The browser never reloads and never polls; the API server sees no request per browser (the
informers' watches bring every change). A page is rendered at most once per ``DEBOUNCE``
seconds however fast the cluster changes, and once per change however many browsers show
it (``SharedRenders``); a comment every ``HEARTBEAT`` seconds keeps proxies from closing an
idle stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Final
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from gotk_ui.pages import Pages, Rendered

__all__ = ["DEBOUNCE", "HEARTBEAT", "SharedRenders", "live_stream", "sse_message"]

DEBOUNCE: Final = 0.5
HEARTBEAT: Final = 15.0
REMEMBERED_PAGES: Final = 256


class SharedRenders:
    """The latest rendering of each live page, keyed by path and query, with the cache
    version it was rendered at: streams of the same page share one render per change."""

    def __init__(self, pages: Pages) -> None:
        self.pages = pages
        self._latest: dict[str, tuple[int, Rendered | None]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def render(self, path: str, params: dict[str, str]) -> tuple[int, Rendered | None]:
        key = f"{path}?{sorted(params.items())}"
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            version = self.pages.cache.changes.version
            latest = self._latest.get(key)
            if latest is not None and latest[0] == version:
                return latest
            latest = (version, await self.pages.render(path, params))
            self._latest.pop(key, None)
            self._latest[key] = latest
            if len(self._latest) > REMEMBERED_PAGES:
                oldest = next(iter(self._latest))
                del self._latest[oldest]
                if not self._locks[oldest].locked():
                    del self._locks[oldest]
            return latest


def sse_message(event: str, data: str) -> str:
    lines = "".join(f"data: {line}\n" for line in data.split("\n"))
    return f"event: {event}\n{lines}\n"


async def live_stream(request: Request) -> Response:
    pages: Pages = request.app.state.pages
    shared: SharedRenders = request.app.state.shared_renders
    target = urlsplit(request.query_params.get("path", "/"))
    params = dict(parse_qsl(target.query))
    _, first = await shared.render(target.path, params)
    if first is None:
        return Response("no such page\n", status_code=404)
    try:
        seen = int(request.query_params.get("v", "-1"))
    except ValueError:
        seen = -1
    changes = pages.cache.changes

    async def stream() -> AsyncIterator[str]:
        nonlocal seen
        last = ""
        yield f"retry: 3000\n: connected at version {changes.version}\n\n"
        while True:
            if seen == changes.version:
                try:
                    await asyncio.wait_for(changes.wait(seen), HEARTBEAT)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                await asyncio.sleep(DEBOUNCE)
            seen, rendered = await shared.render(target.path, params)
            if rendered is None:
                return
            if rendered.main != last:
                last = rendered.main
                yield sse_message("main", f"{seen}\n{rendered.main}")

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
