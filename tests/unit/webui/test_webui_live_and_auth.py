"""Live updates over SSE, and the optional bearer token."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from fixtures.web_ui import RunningUI, create_flux, ready_condition, serve_ui
from gotk_envtest import ControlPlane
from gotk_inspect import resource_of

KS_SPEC = {
    "interval": "5m",
    "prune": True,
    "sourceRef": {"kind": "GitRepository", "name": "repo"},
}


async def test_a_status_change_is_pushed_to_an_open_page(
    web_ui: RunningUI, ui_namespace: str
) -> None:
    namespace = ui_namespace
    client = web_ui.client
    ks = await create_flux(
        client, "Kustomization", namespace, "app", KS_SPEC,
        conditions=[ready_condition("True", "ReconciliationSucceeded", "Applied revision v1")],
    )  # fmt: skip
    _, page, _ = await web_ui.get(f"/kustomizations/{namespace}/app")
    version = page.split("v%3D", 1)[1].split('"', 1)[0] if "v%3D" in page else "-1"
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{web_ui.url}/live",
            params={"path": f"/kustomizations/{namespace}/app", "v": version},
        ) as stream,
    ):
        assert stream.status == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        ks["status"]["conditions"] = [
            ready_condition("False", "HealthCheckFailed", "timeout waiting for Deployment/web")
        ]
        await client.replace(resource_of("Kustomization"), ks, subresource="status")
        received = ""
        while "HealthCheckFailed" not in received:
            line = await asyncio.wait_for(stream.content.readline(), 15)
            received += line.decode()
        assert "event: main" in received
        assert "timeout waiting for Deployment/web" in received


@pytest.fixture(scope="module")
async def guarded_ui(cluster: ControlPlane) -> object:
    async with serve_ui(str(cluster.kubeconfig), auth_token="let-me-in") as ui:
        yield ui


async def test_token_guards_pages_streams_and_leaves_health_open(guarded_ui: RunningUI) -> None:
    ui = guarded_ui
    status, body, headers = await ui.get("/", headers={"Accept": "text/html"})
    assert status == 401
    assert 'action="/login"' in body
    status, _, headers = await ui.get("/live?path=/")
    assert (status, headers.get("www-authenticate")) == (401, "Bearer")
    status, _, _ = await ui.get("/", headers={"Authorization": "Bearer wrong"})
    assert status == 401
    status, body, _ = await ui.get("/", headers={"Authorization": "Bearer let-me-in"})
    assert status == 200
    assert "Cluster overview" in body
    for open_path in ("/healthz", "/readyz", "/assets/style.css"):
        status, _, _ = await ui.get(open_path)
        assert status == 200, open_path


async def test_login_form_sets_a_session_cookie_that_is_not_the_token(
    guarded_ui: RunningUI,
) -> None:
    # unsafe: the jar keeps cookies of an IP-address host (127.0.0.1) only when told to.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.post(
            f"{guarded_ui.url}/login",
            data={"token": "nope", "next": "/search"},
            allow_redirects=False,
        ) as response:
            assert response.status == 401
        async with session.post(
            f"{guarded_ui.url}/login",
            data={"token": "let-me-in", "next": "//evil.example.com/"},
            allow_redirects=False,
        ) as response:
            assert response.status == 303
            assert response.headers["location"] == "/"
            cookie = response.headers["set-cookie"]
            assert "HttpOnly" in cookie
            assert "let-me-in" not in cookie
        async with session.get(f"{guarded_ui.url}/search") as response:
            assert response.status == 200
