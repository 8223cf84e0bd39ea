"""`gotk tree` and `gotk trace`: what a Kustomization or HelmRelease manages, and who
manages an object, read from inventories and Flux's ownership labels."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from gotk_api.objects import Obj
from gotk_runtime import NoKindMatch, NotFound, Resource

from gotk_cli.cluster import Cluster
from gotk_cli.errors import CliError
from gotk_cli.kinds import HELMRELEASE, KUSTOMIZATION, CliKind, kind_named

__all__ = ["InventoryEntry", "Tree", "build_tree", "find_resource", "trace"]

_APPLIERS = {
    ("kustomize.toolkit.fluxcd.io", "Kustomization"): KUSTOMIZATION,
    ("helm.toolkit.fluxcd.io", "HelmRelease"): HELMRELEASE,
}
_OWNER_LABELS = (
    (KUSTOMIZATION, "kustomize.toolkit.fluxcd.io/name", "kustomize.toolkit.fluxcd.io/namespace"),
    (HELMRELEASE, "helm.toolkit.fluxcd.io/name", "helm.toolkit.fluxcd.io/namespace"),
)


@dataclass(frozen=True)
class InventoryEntry:
    """One `status.inventory.entries[]` id: `<namespace>_<name>_<group>_<kind>`."""

    namespace: str
    name: str
    group: str
    kind: str

    @classmethod
    def parse(cls, entry_id: str) -> InventoryEntry:
        parts = entry_id.split("_")
        if len(parts) != 4:
            raise CliError(f"malformed inventory entry {entry_id!r}")
        return cls(*parts)

    def text(self) -> str:
        """Flux's FmtObjMetadata: `Kind/namespace/name`, `Kind/name` when cluster-scoped."""
        return (
            f"{self.kind}/{self.namespace}/{self.name}"
            if self.namespace
            else f"{self.kind}/{self.name}"
        )


@dataclass
class Tree:
    text: str
    children: list[Tree] = field(default_factory=list)

    def render(self) -> str:
        """Flux's tree printer: `├── `, `│   `, `└── `."""
        lines = [self.text]
        self._render(lines, "")
        return "\n".join(lines) + "\n"

    def _render(self, lines: list[str], prefix: str) -> None:
        for index, child in enumerate(self.children):
            last = index == len(self.children) - 1
            lines.append(prefix + ("└── " if last else "├── ") + child.text)
            child._render(lines, prefix + ("    " if last else "│   "))


async def build_tree(
    cluster: Cluster, kind: CliKind, name: str, namespace: str, *, compact: bool
) -> Tree:
    """The applier and its inventory; nested Kustomizations and HelmReleases expanded."""
    obj = await cluster.get(kind, name, namespace)
    root = Tree(f"{kind.kind}/{namespace}/{name}")
    await _expand(cluster, root, obj, compact, seen={(kind.kind, namespace, name)})
    return root


async def _expand(
    cluster: Cluster, node: Tree, obj: Obj, compact: bool, seen: set[tuple[str, str, str]]
) -> None:
    inventory = ((obj.get("status") or {}).get("inventory") or {}).get("entries") or []
    for raw in inventory:
        entry = InventoryEntry.parse(str(raw.get("id", "")))
        applier = _APPLIERS.get((entry.group, entry.kind))
        if compact and not entry.group.endswith(".toolkit.fluxcd.io"):
            continue
        child = Tree(entry.text())
        node.children.append(child)
        key = (entry.kind, entry.namespace, entry.name)
        if applier is not None and key not in seen:
            seen.add(key)
            try:
                nested = await cluster.get(applier, entry.name, entry.namespace)
            except CliError:
                continue
            await _expand(cluster, child, nested, compact, seen)


async def find_resource(cluster: Cluster, kind: str, api_version: str | None) -> Resource:
    """The resource serving ``kind`` (a kind, e.g. `Deployment`, or its lower-case form)."""
    client = cluster.client
    if api_version:
        try:
            return await client.discovery.resource_for(api_version, kind)
        except NoKindMatch:
            raise CliError(f"the API server serves no {kind} in {api_version}") from None
    versions = ["v1"]
    groups = await client.request("GET", "/apis")
    versions += [g["preferredVersion"]["groupVersion"] for g in groups.get("groups", [])]
    for version in versions:
        path = f"/api/{version}" if version == "v1" else f"/apis/{version}"
        listing = await client.request("GET", path)
        for entry in listing.get("resources", []):
            if "/" in entry["name"]:
                continue
            if kind.lower() in (entry["kind"].lower(), entry["name"], *entry.get("shortNames", [])):
                return await client.discovery.resource_for(version, entry["kind"])
    raise CliError(f"no resource of kind {kind!r} is served by the cluster; try --api-version")


def _owner(labels: dict[str, str]) -> tuple[CliKind, str, str] | None:
    """The applier named by Flux's ownership labels, if any."""
    for applier, name_label, namespace_label in _OWNER_LABELS:
        if name_label in labels:
            return applier, labels[name_label], labels.get(namespace_label, "")
    return None


def _ready(obj: Obj) -> tuple[bool, str, str]:
    for condition in (obj.get("status") or {}).get("conditions") or ():
        if condition.get("type") == "Ready":
            return (
                condition.get("status") == "True",
                str(condition.get("lastTransitionTime", "")),
                " ".join(str(condition.get("message", "")).split()),
            )
    return False, "", "waiting to be reconciled"


def _section(title: str, name: str, fields: list[tuple[str, str]], obj: Obj) -> str:
    ready, since, message = _ready(obj)
    rows = [(title, name), *[(k, v) for k, v in fields if v]]
    rows.append(("Status", f"Last reconciled at {since}" if ready else "Not ready"))
    rows.append(("Message", message))
    return "\n".join(f"{label + ':':<16}{value}" for label, value in rows)


def _source_fields(obj: Obj) -> list[tuple[str, str]]:
    spec = obj.get("spec") or {}
    ref = spec.get("ref") or {}
    fields = [("Namespace", obj["metadata"]["namespace"])]
    if obj["kind"] == "HelmChart":
        fields += [("Chart", spec.get("chart", "")), ("Version", spec.get("version", ""))]
    else:
        fields.append(("URL", spec.get("url") or spec.get("endpoint") or ""))
    fields += [
        ("Branch", ref.get("branch", "")),
        ("Tag", ref.get("tag", "")),
        ("Semver", ref.get("semver", "")),
        ("Revision", ((obj.get("status") or {}).get("artifact") or {}).get("revision", "")),
    ]
    return fields


async def trace(cluster: Cluster, resource: Resource, name: str, namespace: str | None) -> str:
    """Flux's `trace` report: the object, its applier, the applier's source(s)."""
    try:
        obj = await cluster.client.get(resource, name, namespace if resource.namespaced else None)
    except NotFound:
        where = f"{namespace}/{name}" if resource.namespaced else name
        raise CliError(f"{resource.kind} {where} not found") from None
    labels = (obj.get("metadata") or {}).get("labels") or {}
    owner_ref = _owner(labels)
    if owner_ref is None:
        raise CliError(
            f"{resource.kind} {name} is not managed by Flux"
            " (no kustomize.toolkit.fluxcd.io/name or helm.toolkit.fluxcd.io/name label)"
        )
    applier, owner_name, owner_namespace = owner_ref
    sections = [
        "\n".join(
            [
                f"{'Object:':<16}{resource.kind}/{name}",
                *([f"{'Namespace:':<16}{namespace}"] if resource.namespaced else []),
                f"{'Status:':<16}Managed by Flux",
            ]
        )
    ]
    owner = await cluster.get(applier, owner_name, owner_namespace)
    spec = owner.get("spec") or {}
    fields = [("Namespace", owner_namespace)]
    if applier is KUSTOMIZATION:
        fields += [("Path", spec.get("path", "")), ("Revision", applier.revision(owner))]
    else:
        fields.append(("Revision", applier.revision(owner)))
    sections.append(_section(applier.kind, owner_name, fields, owner))
    for source in await _sources(cluster, applier, owner):
        sections.append(
            _section(source["kind"], source["metadata"]["name"], _source_fields(source), source)
        )
    return "\n" + "\n---\n".join(sections) + "\n"


async def _sources(cluster: Cluster, applier: CliKind, owner: Obj) -> list[Obj]:
    """The applier's source and, for a HelmChart, the chart's own source."""
    from gotk_cli.reconcile import source_of

    source = source_of(applier, owner)
    if source is None:
        return []
    kind, name, namespace, _ = source
    try:
        found = [await cluster.get(kind, name, namespace)]
    except CliError:
        return []
    ref = (found[0].get("spec") or {}).get("sourceRef") or {}
    if kind.kind == "HelmChart" and ref:
        with contextlib.suppress(CliError):
            chart_source = kind_named(str(ref["kind"]))
            found.append(await cluster.get(chart_source, str(ref["name"]), namespace))
    return found
