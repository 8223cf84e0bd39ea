"""The cluster overview: services, counts per kind, what needs attention, recent activity."""

from __future__ import annotations

from typing import Final

from gotk_api.objects import Obj
from gotk_inspect import health, object_ref, why

from gotk_ui.cache import FLUX_KINDS, ClusterCache, event_subject
from gotk_ui.html import Html, el, join
from gotk_ui.views.common import (
    ago,
    badge,
    cause_summary,
    object_link,
    search_path,
    state_badge,
)
from gotk_ui.views.services import services_table

__all__ = ["ATTENTION_LIMIT", "overview"]

ATTENTION_LIMIT: Final = 50
ACTIVITY_LIMIT: Final = 25
COLUMNS: Final = ("ready", "failing", "stalled", "reconciling", "suspended", "unknown")
_ORDER: Final = {"failing": 0, "stalled": 1, "suspended": 2}


def _bucket(obj: Obj) -> str:
    current = health(obj)
    return "suspended" if current.suspended else current.state


def counts_table(cache: ClusterCache) -> Html:
    rows = []
    for kind in FLUX_KINDS:
        counts = dict.fromkeys(COLUMNS, 0)
        total = 0
        for obj in cache.objects(kind):
            counts[_bucket(obj)] += 1
            total += 1
        if not total and kind == "ExternalArtifact":
            continue
        cells = [
            el(
                "td",
                el("a", counts[c], href=search_path(kind=kind, status=c)) if counts[c] else "0",
                class_=f"num c-{c}" + (" nz" if counts[c] else ""),
            )
            for c in COLUMNS
        ]
        rows.append(
            el(
                "tr",
                el("th", el("a", kind, href=search_path(kind=kind)), scope="row"),
                el("td", total, class_="num"),
                cells,
            )
        )
    titles = ["Kind", "Total", *(c.capitalize() for c in COLUMNS)]
    head = el("tr", [el("th", title) for title in titles])
    return el(
        "div", el("table", el("thead", head), el("tbody", rows), class_="counts"), class_="scroll"
    )


async def attention_list(cache: ClusterCache) -> Html:
    """Failing first, then stalled, then suspended; the newest problems first in each."""
    flagged = []
    for obj in cache.objects():
        current = health(obj)
        bucket = "suspended" if current.suspended else current.state
        if bucket in _ORDER:
            flagged.append((_ORDER[bucket], _neg_time(current.since), obj, current))
    flagged.sort(key=lambda item: (item[0], item[1]))
    if not flagged:
        return el("p", "Nothing needs attention: every object is Ready or on its way.", class_="ok")
    items = []
    for _order, _since, obj, current in flagged[:ATTENTION_LIMIT]:
        tree = await why(obj, cache.read)
        items.append(
            el(
                "li",
                el(
                    "div",
                    object_link(object_ref(obj)),
                    " ",
                    state_badge(current.state, suspended=current.suspended),
                    " ",
                    ago(current.since),
                    class_="head",
                ),
                cause_summary(tree) if not current.ready else None,
                class_="attention",
                data_state=current.state,
            )
        )
    more = len(flagged) - ATTENTION_LIMIT
    return join(
        el("ol", items, class_="attention-list"),
        el("p", el("a", f"and {more} more…", href=search_path(status="attention")))
        if more > 0
        else None,
    )


def _neg_time(value: str | None) -> str:
    """Sorts newer RFC 3339 times first (by complementing each digit)."""
    return "".join(chr(ord("9") - ord(c) + ord("0")) if c.isdigit() else c for c in value or "")


def activity(cache: ClusterCache) -> Html:
    events = sorted(cache.flux_events(), key=lambda e: e.get("time") or "", reverse=True)
    if not events:
        return el("p", "No recent events.", class_="muted")
    rows = []
    for event in events[:ACTIVITY_LIMIT]:
        subject = event_subject(event)
        tone = "failing" if event.get("type") == "Warning" else "info"
        rows.append(
            el(
                "li",
                ago(event.get("time")),
                " ",
                badge(event.get("type") or "Normal", tone),
                " ",
                object_link(subject) if subject else None,
                " ",
                el("strong", event.get("reason")),
                " ",
                el("span", event.get("message"), class_="message"),
                class_="event",
            )
        )
    return el("ul", rows, class_="events")


async def overview(cache: ClusterCache) -> Html:
    loading = cache.unsynced()
    return join(
        el("p", f"Still loading: {', '.join(loading)}…", class_="notice") if loading else None,
        el("h1", "Cluster overview"),
        el("section", el("h2", "Services"), services_table(cache), aria_label="Services"),
        el("section", el("h2", "Objects"), counts_table(cache), aria_label="Objects"),
        el(
            "section",
            el("h2", "Needs attention"),
            await attention_list(cache),
            aria_label="Needs attention",
            id="attention",
        ),
        el("section", el("h2", "Recent activity"), activity(cache), aria_label="Recent activity"),
    )
