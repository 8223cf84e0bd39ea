"""A namespace's sources, appliers and dependsOn edges as an SVG drawn on the server.

Layout is layered, left to right: an object sits one column right of the furthest object it
references (so sources come first, then HelmCharts, then appliers, then what depends on
them); within a column, nodes are ordered by the mean row of what they reference (one
barycentre pass, enough to keep chains straight). A reference into another namespace, or to
an object that does not exist, is drawn as a dashed node. Each node links to its page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import quote

from gotk_api.objects import Obj
from gotk_inspect import ObjectRef, health, object_ref, references

from gotk_ui.cache import ClusterCache
from gotk_ui.html import Html, el, join
from gotk_ui.views.common import STATE_LABELS, object_path

__all__ = ["MAX_NODES", "graph_page", "layout"]

MAX_NODES: Final = 400
NODE_W: Final = 210
NODE_H: Final = 44
COL_GAP: Final = 70
ROW_GAP: Final = 14
PAD: Final = 12
KIND_ORDER: Final = {
    k: i
    for i, k in enumerate(
        (
            "GitRepository",
            "OCIRepository",
            "Bucket",
            "HelmRepository",
            "ExternalArtifact",
            "HelmChart",
            "Kustomization",
            "HelmRelease",
        )
    )
}


@dataclass
class Node:
    ref: ObjectRef
    state: str
    suspended: bool = False
    external: bool = False
    layer: int = 0
    row: int = 0
    parents: list[ObjectRef] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Edge:
    source: ObjectRef
    target: ObjectRef
    relation: str


def layout(
    objects: list[Obj], lookup: Callable[[ObjectRef], Obj | None]
) -> tuple[dict[ObjectRef, Node], list[Edge]]:
    """Nodes (with layer and row) and edges for ``objects``; ``lookup`` finds referenced
    objects outside the set."""
    nodes: dict[ObjectRef, Node] = {}
    for obj in objects:
        current = health(obj)
        nodes[object_ref(obj)] = Node(object_ref(obj), current.state, current.suspended)
    edges = []
    for obj in objects:
        ref = object_ref(obj)
        for reference in references(obj):
            target = reference.target
            if target not in nodes:
                found = lookup(target)
                state = health(found).state if found is not None else "missing"
                nodes[target] = Node(target, state, external=True)
            edges.append(Edge(target, ref, reference.relation))
            nodes[ref].parents.append(target)
    _assign_layers(nodes)
    columns: dict[int, list[Node]] = {}
    for node in sorted(
        nodes.values(), key=lambda n: (KIND_ORDER.get(n.ref.kind, 99), n.ref.namespace, n.ref.name)
    ):
        columns.setdefault(node.layer, []).append(node)
    for layer in sorted(columns):
        column = columns[layer]
        if layer:

            def barycentre(node: Node) -> float:
                rows = [nodes[p].row for p in node.parents if nodes[p].layer < node.layer]
                return sum(rows) / len(rows) if rows else float(node.row)

            column.sort(key=barycentre)
        for row, node in enumerate(column):
            node.row = row
    return nodes, edges


def _assign_layers(nodes: dict[ObjectRef, Node]) -> None:
    done: dict[ObjectRef, int] = {}
    visiting: set[ObjectRef] = set()

    def depth(ref: ObjectRef) -> int:
        if ref in done:
            return done[ref]
        visiting.add(ref)
        parents = [p for p in nodes[ref].parents if p not in visiting]
        layer = 1 + max((depth(p) for p in parents), default=-1)
        visiting.discard(ref)
        done[ref] = layer
        return layer

    for ref in list(nodes):
        nodes[ref].layer = depth(ref)


def _xy(node: Node) -> tuple[int, int]:
    return PAD + node.layer * (NODE_W + COL_GAP), PAD + node.row * (NODE_H + ROW_GAP)


def _label(text: str, limit: int = 27) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_svg(nodes: dict[ObjectRef, Node], edges: list[Edge], namespace: str) -> Html:
    width = PAD * 2 + (max((n.layer for n in nodes.values()), default=0) + 1) * (NODE_W + COL_GAP)
    rows = max((n.row for n in nodes.values()), default=0) + 1
    height = PAD * 2 + rows * (NODE_H + ROW_GAP)
    paths = []
    for edge in edges:
        x1, y1 = _xy(nodes[edge.source])
        x2, y2 = _xy(nodes[edge.target])
        x1, y1, y2 = x1 + NODE_W, y1 + NODE_H // 2, y2 + NODE_H // 2
        mid = (x1 + x2) // 2
        paths.append(
            el(
                "path",
                d=f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2 - 4},{y2}",
                class_=f"edge rel-{edge.relation}",
                marker_end="url(#arrow)",
            )
        )
    boxes = []
    for node in nodes.values():
        x, y = _xy(node)
        failing = node.state in ("failing", "stalled", "missing")
        name = (
            node.ref.name
            if node.ref.namespace == namespace
            else str(node.ref)[len(node.ref.kind) + 1 :]
        )
        classes = (
            f"node st-{node.state}"
            + (" external" if node.external else "")
            + (" suspended" if node.suspended else "")
        )
        boxes.append(
            el(
                "a",
                el(
                    "title",
                    f"{node.ref} — {STATE_LABELS.get(node.state, node.state)}"
                    + (" (suspended)" if node.suspended else ""),
                ),
                el("rect", x=x, y=y, width=NODE_W, height=NODE_H, rx=6),
                el("text", node.ref.kind, x=x + 10, y=y + 17, class_="k"),
                el("text", _label(name), x=x + 10, y=y + 34, class_="n"),
                el("circle", cx=x + NODE_W - 14, cy=y + 14, r=8, class_="flag")
                if failing
                else None,
                el("text", "!", x=x + NODE_W - 14, y=y + 19, class_="flag-mark")
                if failing
                else None,
                href=object_path(node.ref),
                class_=classes,
                data_ref=str(node.ref),
                data_state=node.state,
            )
        )
    marker = el(
        "marker",
        el("path", d="M0,0 L8,4 L0,8 z"),
        id="arrow",
        viewBox="0 0 8 8",
        refX=7,
        refY=4,
        markerWidth=8,
        markerHeight=8,
        orient="auto",
    )
    return el(
        "svg",
        el("defs", marker),
        el("g", paths, class_="edges"),
        el("g", boxes, class_="nodes"),
        xmlns="http://www.w3.org/2000/svg",
        viewBox=f"0 0 {width} {height}",
        width=width,
        height=height,
        role="img",
        aria_label=f"Graph of namespace {namespace}",
        class_="graph",
    )


def graph_page(cache: ClusterCache, namespace: str | None) -> Html:
    namespaces = cache.namespaces()
    if namespace is None:
        namespace = "flux-system" if "flux-system" in namespaces else next(iter(namespaces), "")
    picker = el(
        "nav",
        [
            el(
                "a",
                ns,
                href=f"/graph?namespace={quote(ns)}",
                aria_current="page" if ns == namespace else None,
            )
            for ns in namespaces
        ],
        class_="namespaces",
        aria_label="Namespaces",
    )
    objects = [o for o in cache.objects() if o["metadata"]["namespace"] == namespace]
    shown = sorted(objects, key=lambda o: (KIND_ORDER.get(o["kind"], 99), o["metadata"]["name"]))
    note = None
    if len(shown) > MAX_NODES:
        note = el("p", f"Showing {MAX_NODES} of {len(shown)} objects.", class_="notice")
        shown = shown[:MAX_NODES]
    if not shown:
        body = el("p", "No Flux objects in this namespace.", class_="muted")
    else:
        nodes, edges = layout(shown, cache.get)
        body = el("div", render_svg(nodes, edges, namespace), class_="graph-wrap scroll")
    legend = el(
        "p",
        "Arrows run from what is referenced to what references it (source → applier, "
        "dependency → dependent). Failing objects carry a red mark; dashed boxes live in "
        "another namespace or do not exist.",
        class_="muted small",
    )
    return join(el("h1", "Graph ", el("span", namespace, class_="ns")), picker, note, legend, body)
