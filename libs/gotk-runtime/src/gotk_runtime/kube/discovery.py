"""API discovery: which resource (plural, scope) serves an apiVersion and kind."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from gotk_runtime.errors import NoKindMatch, NotFound
from gotk_runtime.kube.resource import Resource, split_api_version

if TYPE_CHECKING:
    from gotk_runtime.kube.client import KubeClient

__all__ = ["Discovery"]


_Cache = dict[str, dict[str, Resource]]
_caches: dict[str, _Cache] = {}


def _cache_for(host: str) -> _Cache:
    """One cache per API server: an impersonating client sees the same resources as the
    controller's, so it need not rediscover them on every reconcile."""
    return _caches.setdefault(host, {})


class Discovery:
    """A per-groupVersion cache of the server's resource lists, shared by every client of
    the same API server in this process.

    A miss refetches the groupVersion once, so a CRD installed after start-up is found;
    concurrent misses of one groupVersion wait for a single fetch.
    """

    def __init__(self, client: KubeClient) -> None:
        self._client = client
        self._cache = _cache_for(client.config.host)
        self._locks: dict[str, asyncio.Lock] = {}

    async def resource_for(self, api_version: str, kind: str) -> Resource:
        resources = self._cache.get(api_version)
        if resources is None or kind not in resources:
            resources = await self._fetch(api_version, kind, resources)
        try:
            return resources[kind]
        except KeyError:
            raise NoKindMatch(
                f"no resource for kind {kind!r} in {api_version!r}", status=404
            ) from None

    async def resource_of(self, obj: dict[str, Any]) -> Resource:
        """The resource serving ``obj`` (by its apiVersion and kind)."""
        return await self.resource_for(obj["apiVersion"], obj["kind"])

    def invalidate(self) -> None:
        self._cache.clear()

    async def _fetch(
        self, api_version: str, kind: str, stale: dict[str, Resource] | None
    ) -> dict[str, Resource]:
        lock = self._locks.setdefault(api_version, asyncio.Lock())
        async with lock:
            current = self._cache.get(api_version)
            if current is not None and current is not stale and kind in current:
                return current  # fetched by another task while this one waited
            group, version = split_api_version(api_version)
            path = f"/apis/{group}/{version}" if group else f"/api/{version}"
            try:
                listing = await self._client.request("GET", path)
            except NotFound:
                raise NoKindMatch(f"the server does not serve {api_version!r}") from None
            resources = {
                entry["kind"]: Resource(
                    group, version, entry["name"], entry["kind"], bool(entry["namespaced"])
                )
                for entry in listing.get("resources", ())
                if "/" not in entry["name"]  # subresources such as deployments/status
            }
            self._cache[api_version] = resources
            return resources
