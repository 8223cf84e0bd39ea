"""Events about the objects a controller reconciles: Kubernetes Events, and (with
``--events-addr``) the same event POSTed to notification-controller.

Like Flux's recorder: the event names the object, carries the controller as reporting
component, and metadata ``<api group>/revision`` (controller metadata is prefixed with the
object's API group) plus every ``event.toolkit.fluxcd.io/*`` annotation of the object, key
unchanged (notification-controller strips that prefix, and lets controller metadata win).
Repeats of an identical Kubernetes Event (same object, type, reason and message) within ten
minutes bump ``count`` and ``lastTimestamp`` of the first instead of creating new ones.
``Trace`` events become Normal Kubernetes Events and are never forwarded.

Events are best effort: a failure to record one is logged, never raised. Forwarding never
holds up a reconcile: events go through a bounded queue to one background task that posts
them (5 s timeout, two retries on connection errors and 5xx); when the endpoint is down and
the queue is full, new events are dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any, Literal

import aiohttp
import orjson
from gotk_api.conditions import EVENT_METADATA_ANNOTATION_PREFIX
from gotk_api.objects import Obj

from gotk_runtime.errors import KubeError, NotFound
from gotk_runtime.kube.client import KubeClient
from gotk_runtime.kube.resource import EVENTS, split_api_version

__all__ = ["EventForwarder", "EventRecorder", "EventType"]

EventType = Literal["Normal", "Warning", "Trace"]

log = logging.getLogger(__name__)

_MAX_MESSAGE = 4096
_MAX_FORWARDED_MESSAGE = 39000  # the Event API's limit in notification-controller
_REMEMBERED = 4096
_SEVERITIES: dict[str, str] = {"Normal": "info", "Warning": "error"}


class EventForwarder:
    """Posts events (``fluxcd/pkg`` event v1beta1 JSON) to one address, in the background.

    The posting task starts with the first event and belongs to the forwarder: ``close()``
    gives queued events ``drain`` seconds to go out, then cancels it.
    """

    def __init__(
        self,
        address: str,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        retry_delay: float = 1.0,
        queue_size: int = 1000,
    ) -> None:
        self.address = address
        self.dropped = 0
        self._timeout = timeout
        self._retries = retries
        self._retry_delay = retry_delay
        self._queue: asyncio.Queue[Obj] = asyncio.Queue(queue_size)
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def submit(self, event: Obj) -> bool:
        """Queue ``event`` without waiting; False if it was dropped (queue full or closed)."""
        if self._closed:
            return False
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="event-forwarder")
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped % 100 == 1:
                log.warning(
                    "event queue to notification-controller is full; %d events dropped",
                    self.dropped,
                )
            return False
        return True

    async def close(self, drain: float = 5.0) -> None:
        self._closed = True
        task, self._task = self._task, None
        if task is None:
            return
        if drain > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), drain)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self._timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                event = await self._queue.get()
                try:
                    await self._post(session, orjson.dumps(event), event)
                finally:
                    self._queue.task_done()

    async def _post(self, session: aiohttp.ClientSession, body: bytes, event: Obj) -> None:
        headers = {"Content-Type": "application/json"}
        cause = ""
        for attempt in range(self._retries + 1):
            if attempt:
                await asyncio.sleep(self._retry_delay * 2 ** (attempt - 1))
            try:
                async with session.post(self.address, data=body, headers=headers) as response:
                    # 429 is notification-controller saying "duplicate": delivered already.
                    if response.status < 300 or response.status == 429:
                        return
                    cause = f"HTTP {response.status}"
                    if response.status < 500:
                        break
            except (aiohttp.ClientError, TimeoutError, OSError) as err:
                cause = str(err) or type(err).__name__
        involved = event["involvedObject"]
        log.warning(
            "cannot forward event %s for %s %s/%s to notification-controller: %s",
            event["reason"],
            involved.get("kind"),
            involved.get("namespace"),
            involved.get("name"),
            cause,
        )


class EventRecorder:
    def __init__(
        self,
        client: KubeClient,
        controller: str,
        *,
        instance: str | None = None,
        aggregation_window: float = 600.0,
        timeout: float = 5.0,
        forwarder: EventForwarder | None = None,
    ) -> None:
        self.controller = controller
        self.instance = instance or os.environ.get("POD_NAME") or socket.gethostname()
        self.forwarder = forwarder
        self._client = client
        self._window = aggregation_window
        self._timeout = timeout
        self._recent: OrderedDict[tuple[str, ...], tuple[str, int, float]] = OrderedDict()

    async def normal(self, obj: Obj, reason: str, message: str, **kwargs: Any) -> None:
        await self.record(obj, "Normal", reason, message, **kwargs)

    async def warning(self, obj: Obj, reason: str, message: str, **kwargs: Any) -> None:
        await self.record(obj, "Warning", reason, message, **kwargs)

    async def record(
        self,
        obj: Obj,
        type_: EventType,
        reason: str,
        message: str,
        *,
        revision: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        """Record an event about ``obj``; ``metadata`` keys are prefixed with its API group."""
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        annotations = event_metadata(obj, revision, metadata)
        if self.forwarder is not None and type_ != "Trace":
            self._forward(self.forwarder, obj, type_, reason, message, stamp, annotations)
        kube_type: EventType = "Normal" if type_ == "Trace" else type_
        try:
            await asyncio.wait_for(
                self._record(obj, kube_type, reason, message[:_MAX_MESSAGE], stamp, annotations),
                self._timeout,
            )
        except (KubeError, TimeoutError) as err:
            meta = obj.get("metadata", {})
            log.warning(
                "cannot record event %s for %s/%s: %s",
                reason,
                meta.get("namespace"),
                meta.get("name"),
                err,
            )

    async def _record(
        self,
        obj: Obj,
        type_: EventType,
        reason: str,
        message: str,
        stamp: str,
        annotations: dict[str, str],
    ) -> None:
        meta = obj["metadata"]
        namespace = meta.get("namespace") or "default"
        key = (str(meta.get("uid", "")), meta["name"], namespace, type_, reason, message)
        now = time.monotonic()
        seen = self._recent.get(key)
        if seen is not None and now - seen[2] < self._window:
            name, count, _ = seen
            try:
                await self._client.patch(
                    EVENTS,
                    name,
                    {"count": count + 1, "lastTimestamp": stamp},
                    namespace=namespace,
                )
                self._remember(key, (name, count + 1, now))
                return
            except NotFound:
                pass
        event = self._event(obj, namespace, type_, reason, message, stamp, annotations)
        created = await self._client.create(EVENTS, event, namespace=namespace)
        self._remember(key, (created["metadata"]["name"], 1, now))

    def _remember(self, key: tuple[str, ...], value: tuple[str, int, float]) -> None:
        self._recent[key] = value
        self._recent.move_to_end(key)
        while len(self._recent) > _REMEMBERED:
            self._recent.popitem(last=False)

    def _event(
        self,
        obj: Obj,
        namespace: str,
        type_: EventType,
        reason: str,
        message: str,
        stamp: str,
        annotations: dict[str, str],
    ) -> Obj:
        meta = obj["metadata"]
        event: Obj = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": f"{meta['name']}.{time.time_ns():x}",
                "namespace": namespace,
            },
            "involvedObject": involved_object(obj),
            "type": type_,
            "reason": reason,
            "message": message,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "source": {"component": self.controller},
            "reportingComponent": self.controller,
            "reportingInstance": self.instance[:128],
        }
        if annotations:
            event["metadata"]["annotations"] = annotations
        return event

    def _forward(
        self,
        forwarder: EventForwarder,
        obj: Obj,
        type_: EventType,
        reason: str,
        message: str,
        stamp: str,
        annotations: dict[str, str],
    ) -> None:
        involved = involved_object(obj)
        # notification-controller rejects events without kind, name and namespace (as Flux,
        # events about cluster-scoped objects stay Kubernetes Events only).
        if not all(involved.get(k) for k in ("kind", "name", "namespace")):
            return
        event: Obj = {
            "involvedObject": involved,
            "severity": _SEVERITIES[type_],
            "timestamp": stamp,
            "message": message[:_MAX_FORWARDED_MESSAGE],
            "reason": reason,
            "reportingController": self.controller,
            "reportingInstance": self.instance,
        }
        if annotations:
            event["metadata"] = annotations
        forwarder.submit(event)

    async def close(self, drain: float = 5.0) -> None:
        """Stop forwarding; queued events get ``drain`` seconds to go out."""
        if self.forwarder is not None:
            await self.forwarder.close(drain)


def event_metadata(
    obj: Obj, revision: str | None, metadata: dict[str, str] | None
) -> dict[str, str]:
    """The object's ``event.toolkit.fluxcd.io/*`` annotations, then the controller's metadata
    with keys prefixed by the object's API group."""
    group, _ = split_api_version(obj.get("apiVersion", ""))
    prefix = f"{group}/" if group else ""
    annotations = {
        k: v
        for k, v in (obj["metadata"].get("annotations") or {}).items()
        if k.startswith(EVENT_METADATA_ANNOTATION_PREFIX)
    }
    annotations.update({f"{prefix}{k}": v for k, v in (metadata or {}).items()})
    if revision:
        annotations[f"{prefix}revision"] = revision
    return annotations


def involved_object(obj: Obj) -> dict[str, str]:
    meta = obj["metadata"]
    fields = {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "name": meta.get("name"),
        "namespace": meta.get("namespace"),
        "uid": meta.get("uid"),
        "resourceVersion": meta.get("resourceVersion"),
    }
    return {k: str(v) for k, v in fields.items() if v}
