"""``--events-addr``: events POSTed to a notification-controller stand-in (a real aiohttp
server on 127.0.0.1), alongside the Kubernetes Events on the real API server."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any

import pytest
from aiohttp import web
from fixtures.artifacts import ServeApp
from fixtures.runtime import running, runtime_options
from gotk_api.objects import Obj
from gotk_envtest import free_port
from gotk_runtime import KubeClient, Manager, RuntimeOptions, runtime_flags
from gotk_runtime.events import EventForwarder, EventRecorder
from gotk_runtime.kube.resource import EVENTS

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def git_repository(namespace: str, **annotations: str) -> Obj:
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {
            "name": "podinfo",
            "namespace": namespace,
            "uid": "7d0cdc51-ddcf-4743-b223-83ca5c699632",
            "resourceVersion": "42",
            "annotations": annotations,
        },
    }


class Receiver:
    """What notification-controller's event endpoint sees."""

    def __init__(self) -> None:
        self.events: asyncio.Queue[Obj] = asyncio.Queue()
        self.content_types: list[str] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        self.content_types.append(request.content_type)
        await self.events.put(await request.json())
        return web.Response(status=202)

    async def next(self) -> Obj:
        return await asyncio.wait_for(self.events.get(), 10)


async def hanging(request: web.Request) -> web.Response:
    await asyncio.sleep(3600)
    return web.Response()


@pytest.fixture
async def receiver(serve_app: ServeApp) -> tuple[Receiver, str]:
    receiver = Receiver()
    return receiver, await serve_app(receiver.app()) + "/"


def test_events_addr_flag_defaults_to_off_and_parses() -> None:
    assert runtime_flags().parse_args([]).events_addr == ""
    args = runtime_flags().parse_args(["--events-addr=http://nc.flux-system.svc/"])
    options = RuntimeOptions.from_args(args, "source-controller")
    assert options.events_addr == "http://nc.flux-system.svc/"


async def test_forwarded_event_has_flux_fields_and_prefixed_metadata(
    kube: KubeClient, namespace: str, receiver: tuple[Receiver, str]
) -> None:
    server, url = receiver
    recorder = EventRecorder(
        kube, "source-controller", instance="source-controller-0", forwarder=EventForwarder(url)
    )
    obj = git_repository(
        namespace,
        **{"event.toolkit.fluxcd.io/deploymentID": "e076e315", "other.io/ignored": "x"},
    )
    try:
        await recorder.normal(
            obj,
            "NewArtifact",
            "stored artifact for commit 'abc'",
            revision="main@sha1:abc",
            metadata={"digest": "sha256:0f"},
        )
        posted = await server.next()
    finally:
        await recorder.close()
    assert STAMP.match(posted.pop("timestamp"))
    assert posted == {
        "involvedObject": {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "name": "podinfo",
            "namespace": namespace,
            "uid": "7d0cdc51-ddcf-4743-b223-83ca5c699632",
            "resourceVersion": "42",
        },
        "severity": "info",
        "message": "stored artifact for commit 'abc'",
        "reason": "NewArtifact",
        "metadata": {
            "source.toolkit.fluxcd.io/revision": "main@sha1:abc",
            "source.toolkit.fluxcd.io/digest": "sha256:0f",
            "event.toolkit.fluxcd.io/deploymentID": "e076e315",
        },
        "reportingController": "source-controller",
        "reportingInstance": "source-controller-0",
    }
    assert server.content_types == ["application/json"]
    # The Kubernetes Event carries the same metadata as annotations.
    listed = await kube.list(EVENTS, namespace)
    [event] = listed["items"]
    assert event["metadata"]["annotations"] == posted["metadata"]
    assert (event["type"], event["reason"]) == ("Normal", "NewArtifact")


@pytest.mark.parametrize(
    ("type_", "severity", "kube_type"),
    [("Normal", "info", "Normal"), ("Warning", "error", "Warning"), ("Trace", None, "Normal")],
)
async def test_event_type_maps_to_severity_and_trace_is_not_forwarded(
    kube: KubeClient,
    namespace: str,
    receiver: tuple[Receiver, str],
    type_: Any,
    severity: str | None,
    kube_type: str,
) -> None:
    server, url = receiver
    recorder = EventRecorder(kube, "kustomize-controller", forwarder=EventForwarder(url))
    obj = git_repository(namespace)
    try:
        await recorder.record(obj, type_, "Progressing", "first")
        # Events go out in order: once the marker arrives, "first" was sent or never will be.
        await recorder.normal(obj, "Marker", "second")
        posted = [await server.next()]
        if posted[0]["reason"] != "Marker":
            posted.append(await server.next())
    finally:
        await recorder.close()
    assert [(p["reason"], p["severity"]) for p in posted] == [
        *([("Progressing", severity)] if severity else []),
        ("Marker", "info"),
    ]
    events = {e["reason"]: e for e in (await kube.list(EVENTS, namespace))["items"]}
    assert events["Progressing"]["type"] == kube_type


async def test_cluster_scoped_object_is_not_forwarded(receiver: tuple[Receiver, str]) -> None:
    server, url = receiver
    forwarder = EventForwarder(url)
    recorder = EventRecorder(_NoKube(), "source-controller", forwarder=forwarder)  # type: ignore[arg-type]
    cluster_scoped = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flux"}}
    try:
        await recorder.normal(cluster_scoped, "Seen", "a namespace")
        await recorder.normal(git_repository("flux"), "Marker", "namespaced")
        assert (await server.next())["reason"] == "Marker"
    finally:
        await recorder.close()


class _NoKube:
    """Stands in for the API server where only the forwarded half is under test."""

    async def create(self, *args: Any, **kwargs: Any) -> Obj:
        return {"metadata": {"name": "e"}}


@pytest.mark.parametrize("endpoint", ["refused", "hanging"])
async def test_dead_endpoint_neither_slows_nor_fails_recording(
    kube: KubeClient,
    namespace: str,
    serve_app: ServeApp,
    caplog: pytest.LogCaptureFixture,
    endpoint: str,
) -> None:
    if endpoint == "refused":
        url = f"http://127.0.0.1:{free_port()}/"
    else:
        app = web.Application()
        app.router.add_post("/", hanging)
        url = await serve_app(app) + "/"
    forwarder = EventForwarder(url, timeout=0.3, retries=1, retry_delay=0.05)
    recorder = EventRecorder(kube, "source-controller", forwarder=forwarder)
    obj = git_repository(namespace)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="gotk_runtime.events"):
        for i in range(20):
            await recorder.warning(obj, "BuildFailed", f"attempt {i}")
        recording = time.monotonic() - started
        # Only the Kubernetes Events were waited for, not the 20 x 2 x 0.3 s of posting.
        assert recording < 3.0
        await asyncio.sleep(1.0)
        await recorder.close(drain=0)
    assert len((await kube.list(EVENTS, namespace))["items"]) == 20
    failures = [r for r in caplog.records if "cannot forward event BuildFailed" in r.message]
    assert failures
    assert "GitRepository" in failures[0].message


async def test_full_queue_drops_new_events_instead_of_growing(serve_app: ServeApp) -> None:
    app = web.Application()
    app.router.add_post("/", hanging)
    forwarder = EventForwarder(await serve_app(app) + "/", timeout=0.2, queue_size=3)
    try:
        accepted = [forwarder.submit({"n": n}) for n in range(10)]
    finally:
        await forwarder.close(drain=0)
    assert accepted == [True] * 3 + [False] * 7
    assert forwarder.dropped == 7
    assert not forwarder.submit({"n": 10})


async def test_close_gives_queued_events_time_to_go_out(receiver: tuple[Receiver, str]) -> None:
    server, url = receiver
    forwarder = EventForwarder(url)
    for n in range(5):
        forwarder.submit({"n": n})
    await forwarder.close(drain=5)
    assert server.events.qsize() == 5


async def test_manager_forwards_events_while_running_and_stops_on_shutdown(
    kube: KubeClient, namespace: str, receiver: tuple[Receiver, str]
) -> None:
    server, url = receiver
    manager = Manager(runtime_options(namespace, events_addr=url), kube)
    forwarder = manager.events.forwarder
    assert forwarder is not None
    assert forwarder.address == url
    async with running(manager):
        await manager.events.normal(git_repository(namespace), "NewArtifact", "stored")
        assert (await server.next())["reportingController"] == "gotk-test-controller"
    assert not forwarder.submit({"after": "shutdown"})


async def test_manager_without_events_addr_does_not_forward(kube: KubeClient) -> None:
    assert Manager(runtime_options("default"), kube).events.forwarder is None
