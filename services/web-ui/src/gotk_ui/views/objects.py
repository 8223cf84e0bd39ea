"""The page of one Flux object: state and why, revisions, conditions, chains, events,
inventory, and for a HelmRelease its history and values."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml
from gotk_api.objects import Obj
from gotk_inspect import ObjectRef, health, why
from gotk_runtime import KubeClient

from gotk_ui.cache import ClusterCache
from gotk_ui.html import Child, Html, el, join
from gotk_ui.inventory import LiveHealth, parse_inventory, tree
from gotk_ui.views.chains import dependency_tree, referrers, source_chain, why_tree
from gotk_ui.views.common import ago, badge, cause_summary, object_link, state_badge
from gotk_ui.views.helm import history_table, values_section

__all__ = ["object_page"]

_LIVE_TONES = {
    "Current": "ready",
    "InProgress": "reconciling",
    "Failed": "failing",
    "Terminating": "suspended",
    "NotFound": "missing",
    "Unknown": "unknown",
}


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def _facts(obj: Obj) -> list[tuple[str, Child]]:
    kind, spec, status = obj.get("kind"), obj.get("spec") or {}, obj.get("status") or {}
    facts: list[tuple[str, Any]] = []
    if kind == "Kustomization":
        facts += [
            ("Last applied revision", status.get("lastAppliedRevision")),
            ("Last attempted revision", status.get("lastAttemptedRevision")),
            ("Path", spec.get("path") or "./"),
            ("Target namespace", spec.get("targetNamespace")),
            ("Prune", "yes" if spec.get("prune") else "no"),
        ]
    elif kind == "HelmRelease":
        latest = (status.get("history") or [{}])[0]
        chart = f"{latest['chartName']}@{latest['chartVersion']}" if latest else None
        facts += [
            (
                "Release",
                f"{spec.get('targetNamespace') or obj['metadata']['namespace']}/"
                f"{spec.get('releaseName') or obj['metadata']['name']}",
            ),
            ("Last release", chart),
            ("Last attempted revision", status.get("lastAttemptedRevision")),
            ("Last attempted action", status.get("lastAttemptedReleaseAction")),
            ("Failures", status.get("failures") or None),
        ]
    else:
        artifact = status.get("artifact") or {}
        facts += [
            ("URL", _without_credentials(str(spec["url"])) if spec.get("url") else None),
            (
                "Chart",
                f"{spec.get('chart')} {spec.get('version') or ''}".strip()
                if kind == "HelmChart"
                else None,
            ),
            ("Artifact revision", artifact.get("revision")),
            ("Artifact digest", artifact.get("digest")),
            (
                "Artifact updated",
                ago(artifact["lastUpdateTime"]) if artifact.get("lastUpdateTime") else None,
            ),
        ]
    metadata = obj["metadata"]
    facts += [
        ("Interval", spec.get("interval")),
        ("Generation", _generation(metadata, status)),
        ("Last handled request", status.get("lastHandledReconcileAt")),
    ]
    return [(label, value) for label, value in facts if value not in (None, "")]


def _generation(metadata: Obj, status: Obj) -> str:
    return f"{metadata.get('generation')} (observed {status.get('observedGeneration')})"


def _conditions(obj: Obj) -> Html:
    conditions = (obj.get("status") or {}).get("conditions") or []
    if not conditions:
        return el("p", "No conditions yet: the controller has not reconciled it.", class_="muted")
    rows = [
        el(
            "tr",
            el("th", c.get("type"), scope="row"),
            el("td", badge(c.get("status", "?"), _condition_tone(c))),
            el("td", c.get("reason")),
            el("td", c.get("message"), class_="wrap message"),
            el("td", ago(c.get("lastTransitionTime"))),
        )
        for c in conditions
    ]
    head = el("tr", [el("th", h) for h in ("Type", "Status", "Reason", "Message", "Since")])
    return el(
        "div",
        el("table", el("thead", head), el("tbody", rows), class_="conditions"),
        class_="scroll",
    )


def _condition_tone(condition: Obj) -> str:
    negative = condition.get("type") in ("Stalled", "Reconciling", "FetchFailed", "BuildFailed")
    value = condition.get("status")
    if value == "Unknown":
        return "reconciling"
    return "failing" if (value == "True") == negative else "ready"


def _event_badge(event: Obj) -> Html:
    kind = event.get("type") or "Normal"
    return badge(kind, "failing" if kind == "Warning" else "info")


def _events(cache: ClusterCache, ref: ObjectRef) -> Html:
    events = cache.events_for(ref)
    if not events:
        return el("p", "No events.", class_="muted")
    return el(
        "ul",
        [
            el(
                "li",
                ago(e.get("time")),
                " ",
                _event_badge(e),
                " ",
                el("strong", e.get("reason")),
                f" (x{e['count']})" if (e.get("count") or 1) > 1 else None,
                " ",
                el("span", e.get("message"), class_="message"),
                class_="event",
            )
            for e in events[:50]
        ],
        class_="events",
    )


async def _inventory(cache: ClusterCache, live: LiveHealth, obj: Obj) -> Html:
    entries = parse_inventory(obj)
    if not entries:
        return el("p", "Nothing applied yet.", class_="muted")
    statuses = await live.statuses(entries)
    groups = []
    for namespace, kinds in tree(entries).items():
        kind_items = []
        for kind, items in kinds.items():
            rows = []
            for entry in items:
                status = statuses.get(entry)
                name: Child = entry.name
                if entry.is_flux:
                    name = object_link(
                        ObjectRef(entry.kind, entry.namespace, entry.name),
                        show_kind=False,
                        here=entry.namespace,
                    )
                rows.append(
                    el(
                        "li",
                        name,
                        " ",
                        badge(status.status, _LIVE_TONES[status.status])
                        if status
                        else badge("Not checked", "unknown"),
                        " ",
                        el("span", status.message, class_="muted") if status else None,
                        data_health=status.status if status else "NotChecked",
                    )
                )
            kind_items.append(
                el("li", el("span", kind, class_="kind"), f" ({len(items)})", el("ul", rows))
            )
        label = f"namespace {namespace}" if namespace else "cluster-scoped"
        groups.append(el("li", el("strong", label), el("ul", kind_items)))
    return join(
        el("p", f"{len(entries)} objects", class_="muted"),
        el("ul", groups, class_="inventory-tree"),
    )


def _section(title: str, body: Child, **attrs: str) -> Html:
    return el("section", el("h2", title), body, aria_label=title, **attrs)


async def object_page(
    cache: ClusterCache, live: LiveHealth, client: KubeClient, ref: ObjectRef
) -> Html:
    obj = cache.get(ref)
    if obj is None:
        return join(
            el("h1", el("span", ref.kind, class_="kind"), " ", f"{ref.namespace}/{ref.name}"),
            el(
                "p",
                f"No {ref.kind} '{ref.namespace}/{ref.name}' in the cluster "
                "(not yet created, or deleted).",
                class_="notice",
            ),
        )
    current = health(obj)
    tree_ = await why(obj, cache.read)
    here = ref.namespace
    facts = el(
        "dl",
        [join(el("dt", label), el("dd", value)) for label, value in _facts(obj)],
        class_="facts",
    )
    related = referrers(cache, ref)
    chain = source_chain(cache, obj)
    deps = dependency_tree(cache, obj)
    sections: list[Child] = [
        el(
            "h1",
            el("span", ref.kind, class_="kind"),
            " ",
            el("span", ref.namespace, class_="ns"),
            "/",
            ref.name,
        ),
        el(
            "p",
            state_badge(current.state, suspended=current.suspended),
            " ",
            el("strong", current.reason) if current.reason else None,
            " ",
            el("span", current.message, class_="message"),
            " ",
            ago(current.since) if current.since else None,
            class_="status-line",
        ),
    ]
    if not current.ready or tree_.children:
        sections.append(
            _section(
                "Why not Ready" if not current.ready else "Problems below",
                join(
                    cause_summary(tree_, here=here),
                    el("details", el("summary", "full walk"), why_tree(tree_, here=here)),
                ),
                class_="why",
            )
        )
    sections += [
        _section("Summary", facts),
        _section("Conditions", _conditions(obj)),
    ]
    if chain is not None:
        sections.append(_section("Source chain", chain))
    if deps is not None:
        sections.append(_section("Depends on", deps))
    for label, refs in related.items():
        sections.append(
            _section(
                label,
                el(
                    "ul",
                    [
                        el(
                            "li",
                            object_link(r, here=here),
                            " ",
                            state_badge(health(cache.get(r) or {}).state),
                        )
                        for r in refs
                    ],
                ),
            )
        )
    if ref.kind in ("Kustomization", "HelmRelease"):
        sections.append(_section("Inventory", await _inventory(cache, live, obj)))
    if ref.kind == "HelmRelease":
        sections.append(_section("History", history_table(obj)))
        sections.append(_section("Values", await values_section(client, obj)))
    sections.append(_section("Events", _events(cache, ref)))
    spec_yaml = yaml.safe_dump(obj.get("spec") or {}, sort_keys=False, allow_unicode=True)
    sections.append(
        _section("Spec", el("details", el("summary", "show"), el("pre", el("code", spec_yaml))))
    )
    return join(sections)
