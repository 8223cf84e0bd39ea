"""What the UI knows about the cluster: one informer per Flux kind, plus Events, Leases and
Deployments, all kept in memory and watched (pages never make the API server list).

Events are trimmed hard on arrival: an Event about anything but a Flux object keeps only its
name (the informer needs a key and resourceVersion); a Flux one keeps the few fields the pages
show. Every change bumps ``changes``, which the live (SSE) streams wait on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Final

from gotk_api.groups import HELM_GROUP, KUSTOMIZE_GROUP, SOURCE_GROUP
from gotk_api.objects import Obj
from gotk_inspect import ObjectRef, resource_of
from gotk_runtime import Informer, KubeClient, Resource, trim_object
from gotk_runtime.kube import EVENTS, LEASES

__all__ = [
    "APPLIER_KINDS",
    "DEPLOYMENTS",
    "FLUX_KINDS",
    "SOURCE_KINDS",
    "Changes",
    "ClusterCache",
    "event_subject",
    "trim_event",
]

log = logging.getLogger(__name__)

SOURCE_KINDS: Final = ("GitRepository", "OCIRepository", "HelmRepository", "HelmChart", "Bucket")
APPLIER_KINDS: Final = ("Kustomization", "HelmRelease")
FLUX_KINDS: Final = (*SOURCE_KINDS, "ExternalArtifact", *APPLIER_KINDS)
FLUX_GROUPS: Final = frozenset({SOURCE_GROUP, KUSTOMIZE_GROUP, HELM_GROUP})
DEPLOYMENTS: Final = Resource("apps", "v1", "deployments", "Deployment", namespaced=True)
MAX_EVENT_MESSAGE: Final = 4096


class Changes:
    """A version number that grows with every cache change, and a way to wait for it."""

    def __init__(self) -> None:
        self.version = 0
        self._changed = asyncio.Event()

    def bump(self) -> None:
        self.version += 1
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait(self, seen: int) -> int:
        """Return the current version once it differs from ``seen``."""
        while self.version == seen:
            await self._changed.wait()
        return self.version


def trim_event(obj: Obj) -> Obj:
    """Keep only what the pages show; an Event about a non-Flux object keeps just its name.

    Trims in place (and returns ``obj``): the informer caches the object it was given."""
    metadata = obj.get("metadata") or {}
    slim: Obj = {
        "metadata": {
            "name": metadata.get("name"),
            "namespace": metadata.get("namespace"),
            "resourceVersion": metadata.get("resourceVersion"),
        }
    }
    involved = obj.get("involvedObject") or {}
    group = str(involved.get("apiVersion") or "").rpartition("/")[0]
    if group not in FLUX_GROUPS:
        obj.clear()
        obj.update(slim)
        return obj
    series = obj.get("series") or {}
    slim.update(
        involvedObject={
            "kind": involved.get("kind"),
            "namespace": involved.get("namespace") or metadata.get("namespace"),
            "name": involved.get("name"),
        },
        type=obj.get("type") or "Normal",
        reason=obj.get("reason") or "",
        message=str(obj.get("message") or "")[:MAX_EVENT_MESSAGE],
        count=series.get("count") or obj.get("count") or 1,
        time=series.get("lastObservedTime")
        or obj.get("lastTimestamp")
        or obj.get("eventTime")
        or obj.get("firstTimestamp")
        or metadata.get("creationTimestamp"),
        controller=obj.get("reportingController")
        or (obj.get("source") or {}).get("component")
        or "",
    )
    obj.clear()
    obj.update(slim)
    return obj


def _with_kind(kind: str) -> Callable[[Obj], Obj]:
    """Trim like every informer, and make sure the object says its kind (list items of a
    built-in kind do not; the pages and gotk_inspect read it)."""

    def transform(obj: Obj) -> Obj:
        obj.setdefault("kind", kind)
        return trim_object(obj)

    return transform


def event_subject(event: Obj) -> ObjectRef | None:
    involved = event.get("involvedObject")
    if not involved:
        return None
    return ObjectRef(str(involved["kind"]), str(involved["namespace"]), str(involved["name"]))


class ClusterCache:
    """Informers over the Flux kinds (all namespaces), their Events, and the controllers'
    Leases and Deployments in ``runtime_namespace``."""

    def __init__(self, client: KubeClient, runtime_namespace: str) -> None:
        self.client = client
        self.runtime_namespace = runtime_namespace
        self.changes = Changes()
        self.kinds: dict[str, Informer] = {
            kind: Informer(client, resource_of(kind), transform=_with_kind(kind))
            for kind in FLUX_KINDS
        }
        self.events = Informer(client, EVENTS, transform=trim_event)
        self.leases = Informer(client, LEASES, namespace=runtime_namespace)
        self.deployments = Informer(client, DEPLOYMENTS, namespace=runtime_namespace)
        self._events_by_subject: dict[ObjectRef, dict[str, Obj]] = defaultdict(dict)
        self._tasks: list[asyncio.Task[None]] = []
        for informer in self.informers:
            informer.add_handler(self._changed)
        self.events.add_handler(self._index_event)

    @property
    def informers(self) -> list[Informer]:
        return [*self.kinds.values(), self.events, self.leases, self.deployments]

    # --- lifecycle

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(i.run(), name=f"ui-informer-{i.resource}") for i in self.informers
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    @property
    def synced(self) -> bool:
        """Whether every Flux kind has been listed (Events, Leases and Deployments are
        optional: the UI's RBAC may not grant them)."""
        return all(informer.synced for informer in self.kinds.values())

    def unsynced(self) -> list[str]:
        return [kind for kind, informer in self.kinds.items() if not informer.synced]

    async def wait_synced(self) -> None:
        await asyncio.gather(*(informer.wait_synced() for informer in self.kinds.values()))

    # --- reading

    def get(self, ref: ObjectRef) -> Obj | None:
        informer = self.kinds.get(ref.kind)
        return informer.get(f"{ref.namespace}/{ref.name}") if informer else None

    async def read(self, ref: ObjectRef) -> Obj | None:
        """``gotk_inspect.ObjectReader`` over the cache."""
        return self.get(ref)

    def objects(self, kind: str | None = None) -> Iterator[Obj]:
        """Every cached object of ``kind`` (of every Flux kind if None)."""
        for name, informer in self.kinds.items():
            if kind is None or kind == name:
                yield from informer

    def count(self, kind: str) -> int:
        return len(self.kinds[kind])

    def namespaces(self) -> list[str]:
        return sorted({o["metadata"]["namespace"] for o in self.objects()})

    def events_for(self, ref: ObjectRef) -> list[Obj]:
        """Events about ``ref``, newest first."""
        found = self._events_by_subject.get(ref) or {}
        return sorted(found.values(), key=lambda e: e.get("time") or "", reverse=True)

    def flux_events(self) -> list[Obj]:
        """Every cached Event about a Flux object, unsorted."""
        return [e for by_key in self._events_by_subject.values() for e in by_key.values()]

    # --- handlers

    def _changed(self, _type: str, _obj: Obj, _old: Obj | None) -> None:
        self.changes.bump()

    def _index_event(self, event_type: str, event: Obj, _old: Obj | None) -> None:
        subject = event_subject(event)
        if subject is None:
            return
        key = f"{event['metadata']['namespace']}/{event['metadata']['name']}"
        if event_type == "DELETED":
            by_key = self._events_by_subject.get(subject)
            if by_key is not None:
                by_key.pop(key, None)
                if not by_key:
                    del self._events_by_subject[subject]
        else:
            self._events_by_subject[subject][key] = event
