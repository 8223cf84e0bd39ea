"""Kubernetes Events about the objects a controller reconciles.

Like Flux's recorder: the event names the object, carries the controller as reporting
component, and annotations ``<api group>/revision`` plus any ``event.toolkit.fluxcd.io/*``
annotation of the object. Repeats of an identical event (same object, type, reason and
message) within ten minutes bump ``count`` and ``lastTimestamp`` of the first instead of
creating new ones. Events are best effort: a failure to record one is logged, never raised.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any, Literal

from gotk_api.conditions import EVENT_METADATA_ANNOTATION_PREFIX

from gotk_runtime.errors import KubeError, NotFound
from gotk_runtime.kube.client import KubeClient
from gotk_runtime.kube.resource import EVENTS, split_api_version

__all__ = ["EventRecorder", "EventType"]

Obj = dict[str, Any]
EventType = Literal["Normal", "Warning"]

log = logging.getLogger(__name__)

_MAX_MESSAGE = 4096
_REMEMBERED = 4096


class EventRecorder:
    def __init__(
        self,
        client: KubeClient,
        controller: str,
        *,
        instance: str | None = None,
        aggregation_window: float = 600.0,
        timeout: float = 5.0,
    ) -> None:
        self.controller = controller
        self.instance = instance or os.environ.get("POD_NAME") or socket.gethostname()
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
        try:
            await asyncio.wait_for(
                self._record(obj, type_, reason, message[:_MAX_MESSAGE], revision, metadata),
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
        revision: str | None,
        metadata: dict[str, str] | None,
    ) -> None:
        meta = obj["metadata"]
        namespace = meta.get("namespace") or "default"
        key = (str(meta.get("uid", "")), meta["name"], namespace, type_, reason, message)
        now = time.monotonic()
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
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
        event = self._event(obj, namespace, type_, reason, message, stamp, revision, metadata)
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
        revision: str | None,
        metadata: dict[str, str] | None,
    ) -> Obj:
        meta = obj["metadata"]
        group, _ = split_api_version(obj.get("apiVersion", ""))
        prefix = f"{group}/" if group else ""
        annotations = {
            f"{prefix}{k[len(EVENT_METADATA_ANNOTATION_PREFIX) :]}": v
            for k, v in (meta.get("annotations") or {}).items()
            if k.startswith(EVENT_METADATA_ANNOTATION_PREFIX)
        }
        annotations.update({f"{prefix}{k}": v for k, v in (metadata or {}).items()})
        if revision:
            annotations[f"{prefix}revision"] = revision
        involved = {
            "apiVersion": obj.get("apiVersion"),
            "kind": obj.get("kind"),
            "name": meta["name"],
            "namespace": meta.get("namespace"),
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
        }
        event: Obj = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": f"{meta['name']}.{time.time_ns():x}",
                "namespace": namespace,
            },
            "involvedObject": {k: v for k, v in involved.items() if v},
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
