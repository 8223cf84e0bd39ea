"""Search and filters across namespaces: by name, kind, namespace and status; every object
that is not Ready shows its root cause."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from gotk_api.objects import Obj
from gotk_inspect import Health, health, object_ref, why

from gotk_ui.cache import FLUX_KINDS, ClusterCache
from gotk_ui.html import Html, el, join
from gotk_ui.views.common import ago, cause_summary, object_link, state_badge

__all__ = ["STATUSES", "Filters", "matches", "search_page"]

RESULT_LIMIT: Final = 500
STATUSES: Final = {
    "": "any status",
    "notready": "not Ready",
    "attention": "needs attention",
    "ready": "Ready",
    "failing": "Failing",
    "stalled": "Stalled",
    "reconciling": "Reconciling",
    "suspended": "Suspended",
    "unknown": "Unknown",
}


@dataclass(frozen=True, slots=True)
class Filters:
    q: str = ""
    kind: str = ""
    namespace: str = ""
    status: str = ""


def matches(obj: Obj, current: Health, filters: Filters) -> bool:
    metadata = obj["metadata"]
    if filters.kind and obj.get("kind") != filters.kind:
        return False
    if filters.namespace and metadata.get("namespace") != filters.namespace:
        return False
    if filters.q and filters.q.lower() not in f"{metadata['namespace']}/{metadata['name']}".lower():
        return False
    match filters.status:
        case "":
            return True
        case "suspended":
            return current.suspended
        case "attention":
            return current.suspended or current.state in ("failing", "stalled")
        case "notready":
            return not current.ready
        case state:
            return not current.suspended and current.state == state


def _select(name: str, options: dict[str, str], chosen: str, label: str) -> Html:
    return el(
        "label",
        el("span", label),
        el(
            "select",
            [
                el("option", text, value=value, selected=value == chosen)
                for value, text in options.items()
            ],
            name=name,
        ),
    )


def _form(cache: ClusterCache, filters: Filters) -> Html:
    kinds = {"": "any kind", **{k: k for k in FLUX_KINDS}}
    namespaces = {"": "all namespaces", **{n: n for n in cache.namespaces()}}
    return el(
        "form",
        el(
            "label",
            el("span", "Name"),
            el(
                "input",
                type="search",
                name="q",
                value=filters.q,
                placeholder="part of namespace/name",
            ),
        ),
        _select("kind", kinds, filters.kind, "Kind"),
        _select("namespace", namespaces, filters.namespace, "Namespace"),
        _select("status", STATUSES, filters.status, "Status"),
        el("button", "Filter", type="submit"),
        class_="filters",
        action="/search",
    )


async def search_page(cache: ClusterCache, filters: Filters) -> Html:
    found = []
    for obj in cache.objects():
        current = health(obj)
        if matches(obj, current, filters):
            found.append((obj, current))
    found.sort(
        key=lambda item: (
            item[0]["metadata"]["namespace"],
            item[0]["kind"],
            item[0]["metadata"]["name"],
        )
    )
    rows = []
    for obj, current in found[:RESULT_LIMIT]:
        cause = cause_summary(await why(obj, cache.read)) if not current.ready else None
        status = obj.get("status") or {}
        revision = (
            status.get("lastAppliedRevision")
            or status.get("lastAttemptedRevision")
            or (status.get("artifact") or {}).get("revision")
            or ""
        )
        rows.append(
            el(
                "tr",
                el("td", object_link(object_ref(obj))),
                el("td", state_badge(current.state, suspended=current.suspended)),
                el(
                    "td",
                    el("strong", current.reason),
                    cause or el("span", current.message, class_="message"),
                    class_="wrap",
                ),
                el("td", el("code", revision), class_="wrap"),
                el("td", ago(current.since)),
                data_state=current.state,
            )
        )
    head = el("tr", [el("th", h) for h in ("Object", "Status", "Reason", "Revision", "Since")])
    summary = f"{len(found)} objects" + (
        f", showing the first {RESULT_LIMIT}" if len(found) > RESULT_LIMIT else ""
    )
    return join(
        el("h1", "Search"),
        _form(cache, filters),
        el("p", summary, class_="muted", id="result-count"),
        el(
            "div",
            el("table", el("thead", head), el("tbody", rows), class_="results"),
            class_="scroll",
        )
        if rows
        else el("p", "No objects match.", class_="muted"),
    )
