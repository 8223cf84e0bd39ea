"""`gotk events`: the Kubernetes Events of a namespace (or one object), oldest first."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import TextIO

from gotk_api.objects import Obj
from gotk_runtime.kube import EVENTS

from gotk_cli.cluster import Cluster
from gotk_cli.errors import CliError
from gotk_cli.style import terminal_width
from gotk_cli.table import Table

__all__ = ["event_row", "events", "human_duration"]

HEADER = ("LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE")


def human_duration(seconds: float) -> str:
    """Kubernetes' HumanDuration, as `kubectl get events` shows ages: 45s, 5m10s, 3h, 2d."""
    seconds = max(int(seconds), 0)
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h"
    return f"{hours // 24}d"


def _last_seen(event: Obj) -> str:
    return str(
        event.get("lastTimestamp")
        or (event.get("series") or {}).get("lastObservedTime")
        or event.get("eventTime")
        or event["metadata"].get("creationTimestamp", "")
    )


def event_row(event: Obj, now: datetime, *, with_namespace: bool) -> list[str]:
    stamp = _last_seen(event)
    try:
        seen = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        age = human_duration((now - seen).total_seconds())
    except ValueError:
        age = "<unknown>"
    involved = event.get("involvedObject") or {}
    cells = [
        age,
        str(event.get("type", "")),
        str(event.get("reason", "")),
        f"{involved.get('kind', '')}/{involved.get('name', '')}",
        " ".join(str(event.get("message", "")).split()),
    ]
    return [event["metadata"].get("namespace", ""), *cells] if with_namespace else cells


def _for_selector(for_: str | None) -> str | None:
    if not for_:
        return None
    kind, sep, name = for_.partition("/")
    if not sep or not kind or not name:
        raise CliError(f"invalid --for {for_!r}: expected <kind>/<name>")
    return f"involvedObject.kind={kind},involvedObject.name={name}"


async def events(
    cluster: Cluster,
    namespace: str | None,
    out: TextIO,
    *,
    for_: str | None = None,
    watch: bool = False,
    timeout: float = 300.0,
) -> None:
    """Print the Events (of ``for_``, `Kind/name`), then with ``watch`` each new one."""
    selector = _for_selector(for_)
    items, version = await cluster.list_resource(EVENTS, namespace, field_selector=selector)
    items.sort(key=_last_seen)
    with_namespace = namespace is None
    table = Table(("NAMESPACE", *HEADER) if with_namespace else HEADER, width=terminal_width(out))
    now = datetime.now(UTC)
    rows = [event_row(e, now, with_namespace=with_namespace) for e in items]
    if not rows and not watch:
        where = "any namespace" if namespace is None else f'"{namespace}" namespace'
        raise CliError(f"no events found in {where}")
    print(table.render(rows), file=out, flush=True)
    if not watch:
        return
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            async for event in cluster.watch(EVENTS, namespace, version, field_selector=selector):
                if event.type == "DELETED":
                    continue
                row = event_row(event.object, datetime.now(UTC), with_namespace=with_namespace)
                print(table.render([row], header=False), file=out, flush=True)
