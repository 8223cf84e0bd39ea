"""Which page a path is, rendered from the cache: one dispatch shared by the HTTP routes and
the live (SSE) streams, so a live update is exactly what a reload would show."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote

from gotk_api.registry import find_kind
from gotk_inspect import ObjectRef
from gotk_runtime import KubeClient

from gotk_ui.cache import FLUX_KINDS, ClusterCache
from gotk_ui.html import Html
from gotk_ui.inventory import LiveHealth
from gotk_ui.views.graph import graph_page
from gotk_ui.views.objects import object_page
from gotk_ui.views.overview import overview
from gotk_ui.views.search import Filters, search_page

__all__ = ["Pages", "Rendered"]

_PLURALS: Final = {find_kind(kind).plural(): kind for kind in FLUX_KINDS}


@dataclass(frozen=True, slots=True)
class Rendered:
    title: str
    main: Html
    active: str = ""


class Pages:
    def __init__(self, cache: ClusterCache, client: KubeClient) -> None:
        self.cache = cache
        self.client = client
        self.live_health = LiveHealth(client, cache)

    @staticmethod
    def object_ref(path: str) -> ObjectRef | None:
        """``/<plural>/<namespace>/<name>`` → the object, if ``plural`` is a Flux kind's."""
        parts = path.strip("/").split("/")
        if len(parts) != 3 or parts[0] not in _PLURALS or not all(parts):
            return None
        return ObjectRef(_PLURALS[parts[0]], unquote(parts[1]), unquote(parts[2]))

    async def render(self, path: str, params: Mapping[str, str]) -> Rendered | None:
        """The page at ``path`` (None: no such page)."""
        if path == "/":
            return Rendered("Overview", await overview(self.cache), "overview")
        if path == "/graph":
            main = graph_page(self.cache, params.get("namespace") or None)
            return Rendered("Graph", main, "graph")
        if path == "/search":
            filters = Filters(
                q=params.get("q", "").strip(),
                kind=params.get("kind", ""),
                namespace=params.get("namespace", ""),
                status=params.get("status", ""),
            )
            return Rendered("Search", await search_page(self.cache, filters), "search")
        ref = self.object_ref(path)
        if ref is None:
            return None
        main = await object_page(self.cache, self.live_health, self.client, ref)
        return Rendered(f"{ref.kind} {ref.namespace}/{ref.name}", main)
