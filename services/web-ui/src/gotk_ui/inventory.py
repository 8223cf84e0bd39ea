"""A Kustomization's or HelmRelease's inventory as a tree, each entry with its live health.

``status.inventory.entries[].id`` is ``<namespace>_<name>_<group>_<kind>`` (namespace empty
for cluster-scoped objects, group empty for the core group) and ``v`` the version. Flux
objects in an inventory take their health from the cache; any other object is read when a
page shows it (bounded in number, concurrency and time, and remembered for a few seconds), so
a page view never lists anything. Secrets are never read: their entries say so.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from gotk_api.objects import Obj
from gotk_inspect import ObjectRef, health
from gotk_runtime import Forbidden, KubeClient, KubeError, NoKindMatch, NotFound

from gotk_ui.cache import FLUX_GROUPS, ClusterCache
from gotk_ui.kstatus import LiveStatus, live_status

__all__ = ["InventoryEntry", "LiveHealth", "parse_inventory", "tree"]

MAX_READS: Final = 200
"""Entries beyond this many per page view are listed without their health."""
READ_CONCURRENCY: Final = 8
READ_TIMEOUT: Final = 5.0
REMEMBER_SECONDS: Final = 10.0


@dataclass(frozen=True, slots=True)
class InventoryEntry:
    namespace: str
    name: str
    group: str
    kind: str
    version: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def is_flux(self) -> bool:
        return self.group in FLUX_GROUPS


def parse_inventory(obj: Obj) -> list[InventoryEntry]:
    """The entries of ``status.inventory``, sorted for display; malformed ids are skipped."""
    entries = []
    for entry in ((obj.get("status") or {}).get("inventory") or {}).get("entries") or ():
        parts = str(entry.get("id", "")).split("_")
        if len(parts) != 4 or not parts[1] or not parts[3]:
            continue
        namespace, name, group, kind = parts
        entries.append(InventoryEntry(namespace, name, group, kind, str(entry.get("v", ""))))
    return sorted(entries, key=lambda e: (e.namespace, e.kind, e.name))


def tree(entries: Iterable[InventoryEntry]) -> dict[str, dict[str, list[InventoryEntry]]]:
    """namespace ("" for cluster-scoped) → kind → entries."""
    grouped: dict[str, dict[str, list[InventoryEntry]]] = {}
    for entry in entries:
        grouped.setdefault(entry.namespace, {}).setdefault(entry.kind, []).append(entry)
    return grouped


class LiveHealth:
    """Health of inventory entries: from the cache for Flux kinds, else a GET remembered
    for ``REMEMBER_SECONDS``."""

    def __init__(self, client: KubeClient, cache: ClusterCache) -> None:
        self._client = client
        self._cache = cache
        self._remembered: dict[InventoryEntry, tuple[float, LiveStatus]] = {}
        self._limit = asyncio.Semaphore(READ_CONCURRENCY)

    async def statuses(self, entries: list[InventoryEntry]) -> dict[InventoryEntry, LiveStatus]:
        found: dict[InventoryEntry, LiveStatus] = {}
        to_read: list[InventoryEntry] = []
        now = time.monotonic()
        for entry in entries:
            if entry.is_flux:
                found[entry] = self._flux_status(entry)
            elif entry.kind == "Secret" and not entry.group:
                found[entry] = LiveStatus("Unknown", "Secrets are not read by the UI")
            elif (seen := self._remembered.get(entry)) and now - seen[0] < REMEMBER_SECONDS:
                found[entry] = seen[1]
            elif len(to_read) < MAX_READS:
                to_read.append(entry)
        if to_read:
            tasks = [asyncio.ensure_future(self._read(entry)) for entry in to_read]
            done, pending = await asyncio.wait(tasks, timeout=READ_TIMEOUT)
            for task in pending:
                task.cancel()
            for entry, task in zip(to_read, tasks, strict=True):
                if task in done and not task.cancelled() and task.exception() is None:
                    found[entry] = task.result()
                    self._remembered[entry] = (now, found[entry])
        if len(self._remembered) > 20 * MAX_READS:
            self._remembered.clear()
        return found

    def _flux_status(self, entry: InventoryEntry) -> LiveStatus:
        obj = self._cache.get(ObjectRef(entry.kind, entry.namespace, entry.name))
        if obj is None:
            return LiveStatus("NotFound", "not found in the cluster")
        current = health(obj)
        status = {"ready": "Current", "failing": "Failed", "stalled": "Failed"}.get(
            current.state, "InProgress"
        )
        return LiveStatus(status, current.message)  # type: ignore[arg-type]

    async def _read(self, entry: InventoryEntry) -> LiveStatus:
        async with self._limit:
            try:
                resource = await self._client.discovery.resource_for(entry.api_version, entry.kind)
            except NoKindMatch:
                return LiveStatus("Unknown", f"the cluster does not serve {entry.api_version}")
            except KubeError as err:
                return LiveStatus("Unknown", f"cannot read: {err}")
            try:
                obj = await self._client.get(resource, entry.name, entry.namespace or None)
            except NotFound:
                return live_status(None)
            except Forbidden:
                return LiveStatus("Unknown", "the UI may not read this kind")
            except KubeError as err:
                return LiveStatus("Unknown", f"cannot read: {err}")
            obj.setdefault("kind", entry.kind)
            return live_status(obj)
