"""What the UI's cache keeps of an Event (little, in the object the informer holds), and how
live streams share renders."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from gotk_inspect import ObjectRef
from gotk_ui.cache import Changes, event_subject, trim_event
from gotk_ui.html import Html
from gotk_ui.live import SharedRenders
from gotk_ui.pages import Rendered


def _event(api_version: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "e1", "namespace": "apps", "resourceVersion": "7",
                     "managedFields": [{"manager": "x"}]},
        "involvedObject": {"apiVersion": api_version, "kind": "Kustomization", "name": "web"},
        "type": "Warning",
        "reason": "HealthCheckFailed",
        "message": "m" * 10_000,
        "lastTimestamp": "2026-01-02T03:04:05Z",
        "reportingComponent": "kustomize-controller",
        "source": {"component": "kustomize-controller"},
    }  # fmt: skip


def test_flux_event_is_trimmed_in_place_to_what_pages_show() -> None:
    event = _event("kustomize.toolkit.fluxcd.io/v1")
    assert trim_event(event) is event
    assert set(event) == {
        "metadata", "involvedObject", "type", "reason", "message", "count", "time", "controller",
    }  # fmt: skip
    assert event["time"] == "2026-01-02T03:04:05Z"
    assert event["controller"] == "kustomize-controller"
    assert len(event["message"]) == 4096
    assert event_subject(event) == ObjectRef("Kustomization", "apps", "web")


def test_other_events_keep_only_their_name() -> None:
    event = _event("apps/v1")
    assert trim_event(event) is event
    assert event == {"metadata": {"name": "e1", "namespace": "apps", "resourceVersion": "7"}}
    assert event_subject(event) is None


class _CountingPages:
    """Stands in for Pages: renders the cache version, counting renders."""

    def __init__(self) -> None:
        self.cache = SimpleNamespace(changes=Changes())
        self.renders = 0

    async def render(self, path: str, params: dict[str, str]) -> Rendered | None:
        self.renders += 1
        await asyncio.sleep(0.01)
        return Rendered(path, Html(str(self.cache.changes.version)))


async def test_streams_of_one_page_share_one_render_per_change() -> None:
    pages = _CountingPages()
    shared = SharedRenders(pages)  # type: ignore[arg-type]
    results = await asyncio.gather(*(shared.render("/", {}) for _ in range(5)))
    assert pages.renders == 1
    assert {version for version, _ in results} == {0}
    pages.cache.changes.bump()
    await asyncio.gather(*(shared.render("/", {}) for _ in range(5)))
    await shared.render("/search", {"q": "x"})
    assert pages.renders == 3
