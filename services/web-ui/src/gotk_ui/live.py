"""Live pages over Server-Sent Events: after every burst of cache changes, each open page's
``<main>`` is rendered again from the cache and sent if it differs from what was sent last.

The browser never reloads and never polls; the API server sees no request per browser (the
informers' watches bring every change). A page is rendered at most once per ``DEBOUNCE``
seconds however fast the cluster changes, and a comment every ``HEARTBEAT`` seconds keeps
proxies from closing an idle stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Final
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from gotk_ui.pages import Pages

__all__ = ["DEBOUNCE", "HEARTBEAT", "live_stream", "sse_message"]

DEBOUNCE: Final = 0.5
HEARTBEAT: Final = 15.0


def sse_message(event: str, data: str) -> str:
    lines = "".join(f"data: {line}\n" for line in data.split("\n"))
    return f"event: {event}\n{lines}\n"


async def live_stream(request: Request) -> Response:
    pages: Pages = request.app.state.pages
    target = urlsplit(request.query_params.get("path", "/"))
    params = dict(parse_qsl(target.query))
    if await pages.render(target.path, params) is None:
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
            seen = changes.version
            rendered = await pages.render(target.path, params)
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
