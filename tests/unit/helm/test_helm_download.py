"""Downloads from a real HTTP server: streaming size cap, auth, redirects, unreachable host."""

from __future__ import annotations

import base64
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from source_controller.helm.auth import RepositoryAuth
from source_controller.helm.download import download
from source_controller.helm.errors import IndexTooLarge, RepositoryAuthFailed, RepositoryFetchFailed

MiB = 1 << 20


class Server:
    def __init__(self) -> None:
        self.sent = 0
        self.seen_auth: list[str | None] = []
        self.url = ""
        self.other_url = ""

    async def endless(self, request: web.Request) -> web.StreamResponse:
        """A chunked body with no Content-Length that never ends (a 200 MiB+ index)."""
        response = web.StreamResponse()
        await response.prepare(request)
        chunk = b"#" * 65536
        while self.sent < 200 * MiB:
            await response.write(chunk)
            self.sent += len(chunk)
        return response

    async def private(self, request: web.Request) -> web.Response:
        self.seen_auth.append(request.headers.get("Authorization"))
        if request.headers.get("Authorization") != "Basic " + base64.b64encode(b"u:p").decode():
            return web.Response(status=401)
        return web.Response(body=b"apiVersion: v1\n")

    async def elsewhere(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(f"{self.other_url}/private")


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server()
    app = web.Application()
    app.router.add_get("/endless", state.endless)
    app.router.add_get("/private", state.private)
    app.router.add_get("/elsewhere", state.elsewhere)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = _port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    state.url = f"http://127.0.0.1:{port}"
    state.other_url = f"http://localhost:{port}"  # same server, another origin
    try:
        yield state
    finally:
        await runner.cleanup()


async def test_endless_index_stops_at_the_cap_without_buffering_it(
    server: Server, tmp_path: Path
) -> None:
    with pytest.raises(IndexTooLarge, match="above the limit of 1048576 bytes") as caught:
        await download(
            f"{server.url}/endless",
            tmp_path / "index.yaml",
            auth=RepositoryAuth(),
            repository_url=server.url,
            timeout=30,
            max_size=MiB,
            what="index",
            too_large=IndexTooLarge,
        )
    assert caught.value.reason == "IndexationFailed"
    assert server.sent < 50 * MiB, "the server was cut off long before the end"


@pytest.mark.parametrize(
    ("auth", "message"),
    [(RepositoryAuth(), "no credentials were sent"), (RepositoryAuth("u", "wrong"), "401")],
)
async def test_rejected_credentials_are_authentication_failed(
    server: Server, tmp_path: Path, auth: RepositoryAuth, message: str
) -> None:
    with pytest.raises(RepositoryAuthFailed, match=message):
        await download(
            f"{server.url}/private",
            tmp_path / "x",
            auth=auth,
            repository_url=server.url,
            timeout=30,
            max_size=MiB,
            what="index",
        )


async def test_credentials_follow_a_redirect_to_another_origin_only_with_pass_credentials(
    server: Server, tmp_path: Path
) -> None:
    with pytest.raises(RepositoryAuthFailed):
        await download(
            f"{server.url}/elsewhere",
            tmp_path / "x",
            auth=RepositoryAuth("u", "p"),
            repository_url=server.url,
            timeout=30,
            max_size=MiB,
            what="chart",
        )
    assert server.seen_auth == [None]
    got = await download(
        f"{server.url}/elsewhere",
        tmp_path / "x",
        auth=RepositoryAuth("u", "p", pass_credentials=True),
        repository_url=server.url,
        timeout=30,
        max_size=MiB,
        what="chart",
    )
    assert got.size == len(b"apiVersion: v1\n")
    assert (tmp_path / "x").read_bytes() == b"apiVersion: v1\n"


async def test_unreachable_host_is_a_fetch_failure(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_port()}"
    with pytest.raises(RepositoryFetchFailed, match="cannot connect") as caught:
        await download(
            f"{url}/index.yaml",
            tmp_path / "x",
            auth=RepositoryAuth("u", "p"),
            repository_url=url,
            timeout=30,
            max_size=MiB,
            what="index",
        )
    assert caught.value.reason == "Failed"
