"""Optional bearer-token access: the whole UI behind one shared token.

A request is let in with ``Authorization: Bearer <token>`` (what a reverse proxy such as
oauth2-proxy injects) or with the session cookie the login form sets (so a person can use a
browser directly; EventSource cannot send headers, but it sends cookies). The cookie holds an
HMAC of the token, not the token. Health endpoints and the static assets stay open.
"""

from __future__ import annotations

import hashlib
import hmac
from http.cookies import SimpleCookie
from typing import Final
from urllib.parse import parse_qs, quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gotk_ui.html import el, join
from gotk_ui.views.common import page

__all__ = ["COOKIE", "TokenAuth", "login_form", "login_submit"]

COOKIE: Final = "gotk_ui_session"
OPEN_PATHS: Final = ("/healthz", "/readyz", "/login", "/assets/")


def session_value(token: str) -> str:
    return hmac.new(token.encode(), b"gotk-ui-session", hashlib.sha256).hexdigest()


class TokenAuth:
    """ASGI middleware letting in only requests that carry the token."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token
        self.session = session_value(token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.allowed(scope):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            response: Response = login_page(request.url.path, status_code=401)
        else:
            response = Response(
                "unauthorized\n", status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        await response(scope, receive, send)

    def allowed(self, scope: Scope) -> bool:
        path: str = scope["path"]
        if path.startswith(OPEN_PATHS):
            return True
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(credential.strip(), self.token):
            return True
        cookies = SimpleCookie(headers.get(b"cookie", b"").decode("latin-1"))
        morsel = cookies.get(COOKIE)
        return morsel is not None and hmac.compare_digest(morsel.value, self.session)


def _safe_next(target: str) -> str:
    """Only a path on this site (no scheme, no ``//host``) may be returned to."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


def login_page(next_path: str, *, status_code: int = 200, error: bool = False) -> HTMLResponse:
    body = join(
        el("h1", "Sign in"),
        el("p", "This gotk UI needs its access token.", class_="muted"),
        el("p", "That token is not right.", class_="notice") if error else None,
        el(
            "form",
            el("label", el("span", "Token"), el("input", type="password", name="token",
                                                 autocomplete="current-password", required=True)),
            el("input", type="hidden", name="next", value=_safe_next(next_path)),
            el("button", "Sign in", type="submit"),
            method="post",
            action="/login",
            class_="filters",
        ),
    )  # fmt: skip
    return HTMLResponse(page("Sign in", body, live=None), status_code=status_code)


async def login_form(request: Request) -> Response:
    return login_page(request.query_params.get("next", "/"))


async def login_submit(request: Request) -> Response:
    token: str | None = request.app.state.auth_token
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    given = (form.get("token") or [""])[0]
    target = _safe_next((form.get("next") or ["/"])[0])
    if token is None:
        return RedirectResponse(target, status_code=303)
    if not hmac.compare_digest(given, token):
        return login_page(target, status_code=401, error=True)
    response = RedirectResponse(quote(target, safe="/?=&%"), status_code=303)
    response.set_cookie(
        COOKIE,
        session_value(token),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response
