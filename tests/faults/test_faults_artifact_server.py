"""An artifact server that lies, stalls, drips or floods: kustomize-controller gives up,
says why in Ready, and goes on reconciling.

Promise: a Kustomization whose source artifact is served wrongly becomes Ready=False
(ArtifactFailed) within attempts x its timeout (spec.timeout, at least 30 s as in Flux)
plus the retry waits, with a message naming the artifact URL and what went wrong (digest
mismatch, timed out, above the size limit); the controller is not stuck: the same
Kustomization applies once the artifact is sound. (Flux's fetcher is a retryablehttp client
with no timeout and no context: a stalled server holds the reconcile without a bound.)

The server is a fake: source-controller's real artifact server never serves bytes that do
not match the digest it advertises, never stops mid-response or sends a byte at a time,
and never streams without end. The sources are GitRepositories nobody reconciles (labelled
for this test's own kustomize-controller, which runs with --http-retry=0), whose status
the test writes to point at the fake.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import re
import tarfile
from datetime import UTC, datetime

from aiohttp import web
from fixtures.artifacts import ServeApp
from fixtures.controllers import condition
from fixtures.faults import KUSTOMIZE, SOURCE, Api, gitrepository, in_process, kustomization
from gotk_envtest import ControlPlane


def _tarball(namespace: str) -> bytes:
    manifest = (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: served\n  namespace: {namespace}\n"
        "data:\n  from: fake-artifact-server\n"
    ).encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        info = tarfile.TarInfo("cm.yaml")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
    return raw.getvalue()


def _artifact_server(body: bytes) -> web.Application:
    async def sound(_request: web.Request) -> web.Response:
        return web.Response(body=body)

    async def stall(_request: web.Request) -> web.Response:
        await asyncio.sleep(3600)  # accepts the request, never answers
        raise AssertionError("unreachable")

    async def drip(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": str(len(body))})
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):  # the client gives up first
            for byte in body:
                await response.write(bytes([byte]))
                await asyncio.sleep(0.5)
        return response

    async def flood(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        block = b"\x00" * (1 << 20)
        with contextlib.suppress(ConnectionError):  # the client hangs up at its cap
            while True:
                await response.write(block)
        return response

    app = web.Application()
    for name, handler in (("lie", sound), ("sound", sound), ("stall", stall), ("drip", drip)):
        app.router.add_get(f"/{name}.tar.gz", handler)
    app.router.add_get("/flood.tar.gz", flood)
    return app


async def _point_source_at(api: Api, name: str, url: str, digest: str) -> None:
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    status = {
        "artifact": {
            "path": f"gitrepository/{api.namespace}/{name}/x.tar.gz",
            "url": url,
            "revision": f"master@sha1:{hashlib.sha1(url.encode()).hexdigest()}",
            "digest": digest,
            "lastUpdateTime": now,
        },
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Succeeded",
                "message": "stored by the test",
                "lastTransitionTime": now,
                "observedGeneration": 1,
            }
        ],
    }
    await api.call(
        "PATCH", api.path(SOURCE, "gitrepositories", name) + "/status", {"status": status}
    )


CASES = [
    ("lie", r"digest sha256:[0-9a-f]{64} does not match expected sha256:0{64}"),
    ("stall", r"timed out \(after 1 attempts\)"),
    ("drip", r"timed out \(after 1 attempts\)"),
    ("flood", r"larger than the limit of \d+ bytes"),
]


async def test_a_lying_stalling_dripping_or_flooding_server_fails_clearly_and_never_hangs(
    cluster: ControlPlane, namespace: str, serve_app: ServeApp
) -> None:
    api = Api(cluster, namespace)
    body = _tarball(namespace)
    good = f"sha256:{hashlib.sha256(body).hexdigest()}"
    base = await serve_app(_artifact_server(body))
    loop = asyncio.get_running_loop()
    # A failure stays on Ready for a minute (the retry would set it back to Unknown).
    async with in_process(
        "kustomize_controller", cluster, "--http-retry=0", "--min-retry-delay=60s"
    ):
        for name, _ in CASES:
            await api.create(SOURCE, "gitrepositories", gitrepository(name, f"{base}/{name}"))
            digest = "sha256:" + "0" * 64 if name == "lie" else good
            await _point_source_at(api, name, f"{base}/{name}.tar.gz", digest)
        started = loop.time()
        for name, _ in CASES:
            await api.create(
                KUSTOMIZE, "kustomizations", kustomization(name, name, path="./", timeout="30s")
            )
        for name, pattern in CASES:
            obj = await api.until_ready(
                api.path(KUSTOMIZE, "kustomizations", name), status="False", timeout=45
            )
            ready = condition(obj, "Ready")
            assert ready["reason"] == "ArtifactFailed", ready
            assert f"{base}/{name}.tar.gz" in ready["message"]
            assert re.search(pattern, ready["message"]), (name, ready["message"])
        # One attempt bounded by the timeout (Flux's 30 s minimum), all four at once.
        assert loop.time() - started < 45

        # The controller is still working: a sound artifact for one of them applies.
        await _point_source_at(api, "stall", f"{base}/sound.tar.gz", good)
        await api.request_reconcile(api.path(KUSTOMIZE, "kustomizations", "stall"))
        await api.until_ready(api.path(KUSTOMIZE, "kustomizations", "stall"), timeout=30)
        status, cm = await api.get(f"/api/v1/namespaces/{namespace}/configmaps/served")
        assert (status, cm.get("data")) == (200, {"from": "fake-artifact-server"})
        for name, _ in CASES:
            await api.call("DELETE", api.path(KUSTOMIZE, "kustomizations", name))
