"""The ASGI application: routes, security headers, optional token auth, and the cache's
lifetime (informers start with the app and stop with it)."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator
from importlib.resources import files
from typing import Final
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gotk_ui.auth import TokenAuth, login_form, login_submit
from gotk_ui.cache import ClusterCache
from gotk_ui.html import el
from gotk_ui.live import SharedRenders, live_stream
from gotk_ui.pages import Pages
from gotk_ui.views.common import page

__all__ = ["SECURITY_HEADERS", "create_app"]

SECURITY_HEADERS: Final = {
    # Every asset comes from the app itself: no CDN, no inline script or style.
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
ASSETS: Final = {
    "style.css": "text/css; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "icon.svg": "image/svg+xml",
}


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    *((k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()),
                ]
            await send(message)

        await self.app(scope, receive, with_headers)


def _load_assets() -> dict[str, tuple[bytes, str]]:
    folder = files("gotk_ui") / "assets"
    loaded = {}
    for name in ASSETS:
        body = (folder / name).read_bytes()
        loaded[name] = (body, '"' + hashlib.sha256(body).hexdigest()[:16] + '"')
    return loaded


def create_app(
    cache: ClusterCache, pages: Pages, *, auth_token: str | None = None, manage_cache: bool = True
) -> Starlette:
    """The UI over ``cache``; with ``manage_cache`` the app starts and stops its informers."""
    assets = _load_assets()

    async def page_route(request: Request) -> Response:
        rendered = await pages.render(request.url.path, request.query_params)
        if rendered is None:
            body = page("Not found", el("h1", "No such page"), live=None)
            return HTMLResponse(body, status_code=404)
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        live = "/live?" + urlencode({"path": path, "v": cache.changes.version})
        return HTMLResponse(
            page(rendered.title, rendered.main, live=live, active=rendered.active),
            headers={"Cache-Control": "no-store"},
        )

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in assets:
            return PlainTextResponse("not found\n", status_code=404)
        body, etag = assets[name]
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=ASSETS[name], headers=headers)

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(_: Request) -> Response:
        if cache.synced:
            return PlainTextResponse("ok")
        return PlainTextResponse(f"not ready: listing {', '.join(cache.unsynced())}", 503)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if manage_cache:
            cache.start()
        try:
            yield
        finally:
            if manage_cache:
                await cache.stop()

    middleware = [Middleware(SecurityHeaders)]
    if auth_token:
        middleware.append(Middleware(TokenAuth, token=auth_token))
    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/live", live_stream),
        Route("/assets/{name}", asset),
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login_submit, methods=["POST"]),
        Route("/{path:path}", page_route),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.pages = pages
    app.state.shared_renders = SharedRenders(pages)
    app.state.auth_token = auth_token
    return app
