"""Each gotk service's health and leader, from its leader-election Leases and Deployments.

A service's Lease is ``<controller-name>-leader-election`` (a sharded instance appends
``-<hash of its selector>``), in the runtime namespace. A lease renewed within its duration
means a live leader; a Deployment of the same name tells how many replicas are ready. Either
may be absent (leader election off, or not deployed by the chart): the page then says what
it could not see, with the time of the service's last Event as a sign of life.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from gotk_api.objects import Obj

from gotk_ui.cache import ClusterCache
from gotk_ui.html import Html, el
from gotk_ui.views.common import ago, badge, parse_time

__all__ = ["KNOWN_SERVICES", "ServiceHealth", "service_health", "services_table"]

KNOWN_SERVICES: Final = ("source-controller", "kustomize-controller", "helm-controller")
LEASE_SUFFIX: Final = "-leader-election"


@dataclass(frozen=True, slots=True)
class ServiceHealth:
    name: str
    state: str
    """running, degraded, down or unseen."""
    detail: str
    leader: str | None
    renewed: str | None
    last_event: str | None


def _lease_fresh(lease: Obj, now: datetime) -> bool:
    spec = lease.get("spec") or {}
    renewed = parse_time(spec.get("renewTime"))
    duration = spec.get("leaseDurationSeconds") or 15
    return (
        bool(spec.get("holderIdentity"))
        and renewed is not None
        and ((now - renewed).total_seconds() <= duration)
    )


def service_health(cache: ClusterCache, now: datetime | None = None) -> list[ServiceHealth]:
    now = now or datetime.now(UTC)
    leases: dict[str, list[Obj]] = {}
    for lease in cache.leases:
        name = lease["metadata"]["name"]
        service, sep, _ = name.partition(LEASE_SUFFIX)
        if sep:
            leases.setdefault(service, []).append(lease)
    deployments = {d["metadata"]["name"]: d for d in cache.deployments}
    last_events: dict[str, str] = {}
    for event in cache.flux_events():
        controller, when = event.get("controller") or "", event.get("time") or ""
        if when > last_events.get(controller, ""):
            last_events[controller] = when
    found = []
    for name in sorted({*KNOWN_SERVICES, *leases}, key=lambda n: (n not in KNOWN_SERVICES, n)):
        held = [lease for lease in leases.get(name, []) if _lease_fresh(lease, now)]
        deployment = deployments.get(name)
        leader = (held[0]["spec"].get("holderIdentity") if held else None) or None
        renewed = held[0]["spec"].get("renewTime") if held else None
        state, detail = _state(name, leases.get(name, []), held, deployment)
        found.append(ServiceHealth(name, state, detail, leader, renewed, last_events.get(name)))
    return found


def _state(
    name: str, leases: list[Obj], held: list[Obj], deployment: Obj | None
) -> tuple[str, str]:
    notes = []
    state = "unseen"
    if deployment is not None:
        wanted = (deployment.get("spec") or {}).get("replicas", 1)
        ready = (deployment.get("status") or {}).get("readyReplicas") or 0
        notes.append(f"{ready}/{wanted} replicas ready")
        state = "running" if ready >= wanted and wanted else "degraded" if ready else "down"
    if leases:
        if held:
            notes.append(f"leader elected ({len(held)}/{len(leases)} leases held)")
            state = "running" if state in ("unseen", "running") else state
        else:
            notes.append("no live leader: the lease has expired")
            state = "down"
    if not notes:
        notes.append("no Lease or Deployment found (leader election off, or not deployed)")
    return state, "; ".join(notes)


_TONES: Final = {"running": "ready", "degraded": "reconciling", "down": "failing"}


def services_table(cache: ClusterCache) -> Html:
    rows = [
        el(
            "tr",
            el("th", service.name, scope="row"),
            el("td", badge(service.state.capitalize(), _TONES.get(service.state, "unknown"))),
            el("td", service.leader or "—", class_="wrap"),
            el("td", ago(service.last_event)),
            el("td", service.detail, class_="wrap muted"),
        )
        for service in service_health(cache)
    ]
    head = el(
        "tr",
        el("th", "Service"),
        el("th", "Health"),
        el("th", "Leader"),
        el("th", "Last event"),
        el("th", "Detail"),
    )
    return el(
        "div", el("table", el("thead", head), el("tbody", rows), class_="services"), class_="scroll"
    )
