"""List + watch one kind into an in-memory cache and tell handlers what changed.

The cache holds trimmed dicts: ``metadata.managedFields`` and kubectl's last-applied
annotation are dropped on arrival (they are often half of an object's size and no
controller reads them). After a ``410 Gone`` the informer relists and diffs the new list
against the cache, so handlers hear about every change exactly once: objects whose
resourceVersion is unchanged are not re-announced, vanished ones are announced deleted.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Iterator
from typing import Literal

from gotk_api.objects import Obj

from gotk_runtime.errors import Gone, KubeError
from gotk_runtime.kube.client import KubeClient
from gotk_runtime.kube.resource import Resource, object_key

__all__ = ["EventHandler", "EventType", "Informer", "trim_object"]

EventType = Literal["ADDED", "MODIFIED", "DELETED"]
EventHandler = Callable[[EventType, Obj, Obj | None], None]
"""Called with (event type, new object or last state if deleted, previous cached object)."""

LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"

log = logging.getLogger(__name__)


def trim_object(obj: Obj) -> Obj:
    """Drop the fields no controller reads, in place; return ``obj``."""
    metadata = obj.get("metadata")
    if metadata:
        metadata.pop("managedFields", None)
        annotations = metadata.get("annotations")
        if annotations and annotations.pop(LAST_APPLIED_ANNOTATION, None) and not annotations:
            del metadata["annotations"]
    return obj


class Informer:
    """A cache of one kind, optionally restricted to a namespace and a label selector."""

    def __init__(
        self,
        client: KubeClient,
        resource: Resource,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        page_size: int = 500,
        watch_timeout: int = 300,
        max_backoff: float = 30.0,
        transform: Callable[[Obj], Obj] = trim_object,
    ) -> None:
        self.resource = resource
        self.namespace = namespace
        self.label_selector = label_selector or None
        self.resource_version = ""
        self._client = client
        self._page_size = page_size
        self._watch_timeout = watch_timeout
        self._max_backoff = max_backoff
        self._transform = transform
        self._cache: dict[str, Obj] = {}
        self._handlers: list[EventHandler] = []
        self._synced = asyncio.Event()

    # --- reading the cache

    def get(self, key: str) -> Obj | None:
        """The cached object for ``namespace/name`` (or ``name``); do not mutate it."""
        return self._cache.get(key)

    def keys(self) -> list[str]:
        return list(self._cache)

    def __iter__(self) -> Iterator[Obj]:
        return iter(list(self._cache.values()))

    def __len__(self) -> int:
        return len(self._cache)

    @property
    def synced(self) -> bool:
        return self._synced.is_set()

    async def wait_synced(self) -> None:
        await self._synced.wait()

    def add_handler(self, handler: EventHandler) -> None:
        """Register a handler; it also hears ADDED for everything already cached."""
        self._handlers.append(handler)
        for obj in list(self._cache.values()):
            self._call(handler, "ADDED", obj, None)

    # --- the loop

    async def run(self) -> None:
        """List, then watch, forever (until cancelled)."""
        failures = 0
        while True:
            try:
                if not self.resource_version:
                    await self._relist()
                    self._synced.set()
                if await self._watch():
                    failures = 0
                    continue
            except Gone:
                log.info(
                    "resourceVersion %s of %s expired, relisting",
                    self.resource_version,
                    self.resource,
                )
                self.resource_version = ""
                continue
            except KubeError as err:
                log.warning("%s list/watch failed: %s", self.resource, err)
            failures += 1
            await asyncio.sleep(_backoff(failures, self._max_backoff))

    async def _watch(self) -> bool:
        """Watch from the current resourceVersion; True if the stream delivered anything."""
        started = time.monotonic()
        delivered = False
        async for event in self._client.watch(
            self.resource,
            self.namespace,
            resource_version=self.resource_version,
            label_selector=self.label_selector,
            timeout_seconds=int(self._watch_timeout * random.uniform(1.0, 2.0)),
        ):
            delivered = True
            obj = event.object
            if event.type != "BOOKMARK":
                self._apply(event.type, obj)  # type: ignore[arg-type]
            self.resource_version = obj["metadata"]["resourceVersion"]
        # A server-side timeout after a quiet period is normal; an instant close is not.
        return delivered or time.monotonic() - started > 1.0

    async def _relist(self) -> None:
        items, resource_version = await self._list_all()
        fresh = {object_key(item): item for item in items}
        previous, self._cache = self._cache, dict(fresh)
        self.resource_version = resource_version
        for key, obj in fresh.items():
            old = previous.pop(key, None)
            if old is None:
                self._dispatch("ADDED", obj, None)
            elif old["metadata"].get("resourceVersion") != obj["metadata"].get("resourceVersion"):
                self._dispatch("MODIFIED", obj, old)
        for old in previous.values():
            self._dispatch("DELETED", old, old)

    async def _list_all(self) -> tuple[list[Obj], str]:
        items: list[Obj] = []
        token: str | None = None
        try:
            while True:
                page = await self._client.list(
                    self.resource,
                    self.namespace,
                    label_selector=self.label_selector,
                    limit=self._page_size,
                    continue_token=token,
                )
                # Trim page by page: the untrimmed list is never held whole.
                items.extend(self._transform(item) for item in page.get("items") or ())
                metadata = page.get("metadata", {})
                token = metadata.get("continue")
                if not token:
                    return items, str(metadata.get("resourceVersion", ""))
        except Gone:
            # The continue token outlived its snapshot: take one unpaginated list instead.
            page = await self._client.list(
                self.resource, self.namespace, label_selector=self.label_selector
            )
            items = [self._transform(item) for item in page.get("items") or ()]
            return items, str(page["metadata"].get("resourceVersion", ""))

    def _apply(self, event_type: EventType, obj: Obj) -> None:
        self._transform(obj)
        key = object_key(obj)
        if event_type == "DELETED":
            old = self._cache.pop(key, None)
            self._dispatch("DELETED", obj, old)
            return
        old = self._cache.get(key)
        if old is not None and old["metadata"].get("resourceVersion") == obj["metadata"].get(
            "resourceVersion"
        ):
            return
        self._cache[key] = obj
        self._dispatch("ADDED" if old is None else "MODIFIED", obj, old)

    def _dispatch(self, event_type: EventType, obj: Obj, old: Obj | None) -> None:
        for handler in self._handlers:
            self._call(handler, event_type, obj, old)

    def _call(
        self, handler: EventHandler, event_type: EventType, obj: Obj, old: Obj | None
    ) -> None:
        try:
            handler(event_type, obj, old)
        except Exception:
            log.exception("%s event handler failed for %s", self.resource, object_key(obj))


def _backoff(failures: int, cap: float) -> float:
    """Capped exponential backoff with jitter: ~0.8 s, 1.6 s, ... up to ``cap``."""
    delay: float = min(cap, 0.8 * 2 ** (failures - 1))
    return delay * random.uniform(0.5, 1.0)
