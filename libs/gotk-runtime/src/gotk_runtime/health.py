"""The HTTP endpoints of a controller: ``/metrics`` and ``/healthz`` + ``/readyz``."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from gotk_runtime.metrics import Registry

__all__ = ["EndpointServer", "health_app", "metrics_app", "split_addr"]


def split_addr(addr: str) -> tuple[str, int]:
    """``:8080`` → (``0.0.0.0``, 8080); ``127.0.0.1:0`` → (``127.0.0.1``, 0)."""
    host, _, port = addr.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)


def metrics_app(registry: Registry) -> web.Application:
    async def metrics(_: web.Request) -> web.Response:
        return web.Response(
            body=registry.exposition().encode(),
            headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
        )

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    return app


def health_app(ready: Callable[[], bool]) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def readyz(_: web.Request) -> web.Response:
        if ready():
            return web.Response(text="ok")
        return web.Response(status=503, text="not ready")

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


class EndpointServer:
    """One aiohttp app on one address; ``port`` is the bound port once started."""

    def __init__(self, app: web.Application, addr: str) -> None:
        self._runner = web.AppRunner(app, access_log=None)
        self._host, self._port = split_addr(addr)
        self.port = self._port

    async def start(self) -> None:
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        if self._runner.addresses:
            self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        await self._runner.cleanup()
