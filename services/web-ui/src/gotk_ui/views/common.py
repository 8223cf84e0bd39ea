"""Pieces every page uses: links to objects, state badges, times, the page shell."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final
from urllib.parse import quote, urlencode

from gotk_api.registry import find_kind
from gotk_inspect import Health, ObjectRef, WhyNode, root_causes

from gotk_ui.html import Child, Html, el, join, raw

__all__ = [
    "STATE_LABELS",
    "ago",
    "badge",
    "cause_summary",
    "object_link",
    "object_path",
    "page",
    "parse_time",
    "search_path",
    "state_badge",
]

STATE_LABELS: Final = {
    "ready": "Ready",
    "failing": "Failing",
    "stalled": "Stalled",
    "reconciling": "Reconciling",
    "unknown": "Unknown",
    "missing": "Missing",
    "cycle": "Cycle",
}


def object_path(ref: ObjectRef) -> str:
    plural = find_kind(ref.kind).plural() if ref.kind else "objects"
    return f"/{plural}/{quote(ref.namespace, safe='')}/{quote(ref.name, safe='')}"


def search_path(**params: str) -> str:
    query = urlencode({k: v for k, v in params.items() if v})
    return f"/search?{query}" if query else "/search"


def object_link(ref: ObjectRef, *, show_kind: bool = True, here: str | None = None) -> Html:
    """A link to ``ref``'s page, reading ``Kind namespace/name`` (``here``: omit a namespace
    equal to it)."""
    label = ref.name if ref.namespace == here else f"{ref.namespace}/{ref.name}"
    return el(
        "a",
        el("span", ref.kind, class_="kind") if show_kind else None,
        " " if show_kind else None,
        label,
        href=object_path(ref),
        class_="obj",
    )


def badge(text: str, tone: str) -> Html:
    return el("span", text, class_=f"badge st-{tone}")


def state_badge(state: str, *, suspended: bool = False) -> Html:
    return join(
        badge(STATE_LABELS.get(state, state), state),
        " " if suspended else None,
        badge("Suspended", "suspended") if suspended else None,
    )


def health_badge(current: Health) -> Html:
    return state_badge(current.state, suspended=current.suspended)


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def ago(value: str | None, now: datetime | None = None) -> Html:
    """``<time>`` with a relative label (the page script keeps it current)."""
    moment = parse_time(value)
    if moment is None:
        return el("span", "—", class_="muted")
    now = now or datetime.now(UTC)
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return el("time", _age((now - moment).total_seconds()), datetime=stamp, title=stamp)


def cause_summary(tree: WhyNode, *, here: str | None = None) -> Html:
    """The root causes of a not-Ready object, one line each; empty when it is Ready."""
    if tree.ready and not tree.children:
        return Html("")
    lines = []
    for cause in root_causes(tree):
        is_self = cause.ref == tree.ref and cause.state != "cycle"
        lines.append(
            el(
                "li",
                el("span", "root cause", class_="label") if not is_self else None,
                " " if not is_self else None,
                object_link(cause.ref, here=here) if not is_self else None,
                " " if not is_self else None,
                badge(STATE_LABELS.get(cause.state, cause.state), cause.state),
                " ",
                el("strong", cause.reason) if cause.reason else None,
                ": " if cause.reason and cause.message else None,
                el("span", cause.message, class_="message"),
                " " if cause.since else None,
                ago(cause.since) if cause.since else None,
                class_="cause",
            )
        )
    return el("ul", lines, class_="causes") if lines else Html("")


def page(title: str, main: Child, *, live: str | None, active: str = "") -> Html:
    """The whole document around one page's ``<main>``; ``live`` is the path whose rendering
    the page script keeps current over SSE."""
    nav = [
        el("a", label, href=href, aria_current="page" if key == active else None)
        for key, label, href in (
            ("overview", "Overview", "/"),
            ("graph", "Graph", "/graph"),
            ("search", "Search", "/search"),
        )
    ]
    header = el(
        "header",
        el("a", raw("gotk"), href="/", class_="brand"),
        el("nav", nav),
        el(
            "form",
            el(
                "input",
                type="search",
                name="q",
                placeholder="Find by name…",
                aria_label="Find by name",
            ),
            action="/search",
            role="search",
        ),
    )
    return join(
        raw("<!doctype html>"),
        el(
            "html",
            el(
                "head",
                el("meta", charset="utf-8"),
                el("meta", name="viewport", content="width=device-width, initial-scale=1"),
                el("meta", name="color-scheme", content="light dark"),
                el("title", f"{title} · gotk"),
                el("link", rel="stylesheet", href="/assets/style.css"),
                el("link", rel="icon", href="/assets/icon.svg", type="image/svg+xml"),
                el("script", src="/assets/app.js", defer=True),
            ),
            el(
                "body",
                header,
                el("main", main, id="main", data_live=live),
                el("footer", el("span", "read-only", class_="muted"), id="live-status"),
            ),
            lang="en",
        ),
    )
