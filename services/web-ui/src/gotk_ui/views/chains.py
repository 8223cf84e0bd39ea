"""How an object hangs together with others: the why-tree, its source chain, its dependsOn
chain, and who references it."""

from __future__ import annotations

from typing import Final

from gotk_api.objects import Obj
from gotk_inspect import ObjectRef, WhyNode, health, object_ref, references

from gotk_ui.cache import ClusterCache
from gotk_ui.html import Html, el
from gotk_ui.views.common import STATE_LABELS, ago, badge, object_link, state_badge

__all__ = ["dependency_tree", "referrers", "source_chain", "why_tree"]

MAX_CHAIN: Final = 8
SOURCE_RELATIONS: Final = frozenset({"sourceRef", "chartRef", "chart"})


def why_tree(node: WhyNode, *, here: str) -> Html:
    """The why-walk as nested lists; root causes are marked."""

    def item(current: WhyNode) -> Html:
        return el(
            "li",
            el("span", current.relation, class_="rel") if current.relation else None,
            " " if current.relation else None,
            object_link(current.ref, here=here),
            " ",
            badge(STATE_LABELS.get(current.state, current.state), current.state),
            " ",
            el("strong", current.reason) if current.reason else None,
            " ",
            el("span", current.message, class_="message"),
            " " if current.since else None,
            ago(current.since) if current.since else None,
            el("span", "root cause", class_="badge st-cause") if current.is_root_cause else None,
            el("ul", [item(child) for child in current.children]) if current.children else None,
            class_="root-cause" if current.is_root_cause else None,
        )

    return el("ul", item(node), class_="why-tree")


def _step(
    ref: ObjectRef, obj: Obj | None, relation: str | None, here: str, below: Html | None = None
) -> Html:
    state = el("span", "missing", class_="badge st-missing")
    if obj is not None:
        current = health(obj)
        state = state_badge(current.state, suspended=current.suspended)
    return el(
        "li",
        el("span", relation, class_="rel") if relation else None,
        " " if relation else None,
        object_link(ref, here=here),
        " ",
        state,
        below,
    )


def source_chain(cache: ClusterCache, obj: Obj) -> Html | None:
    """``this → its source → that source's source``, e.g. HelmRelease → HelmChart →
    HelmRepository; None for an object without a source."""
    here = obj["metadata"]["namespace"]
    steps: list[Html] = []
    current: Obj | None = obj
    seen = {object_ref(obj)}
    while current is not None and len(steps) < MAX_CHAIN:
        nxt = next((r for r in references(current) if r.relation in SOURCE_RELATIONS), None)
        if nxt is None or nxt.target in seen:
            break
        seen.add(nxt.target)
        current = cache.get(nxt.target)
        steps.append(_step(nxt.target, current, nxt.relation, here))
    if not steps:
        return None
    return el("ol", _step(object_ref(obj), obj, None, here), steps, class_="chain")


def dependency_tree(cache: ClusterCache, obj: Obj) -> Html | None:
    """The dependsOn entries, and theirs, as a tree (a cycle is shown once and ends there)."""
    here = obj["metadata"]["namespace"]

    def children(current: Obj, path: tuple[ObjectRef, ...]) -> list[Html]:
        items = []
        for reference in references(current):
            if reference.relation != "dependsOn":
                continue
            target = reference.target
            found = cache.get(target)
            if target in path:
                items.append(el("li", object_link(target, here=here), " ", badge("Cycle", "cycle")))
                continue
            below = children(found, (*path, target)) if found is not None else []
            items.append(_step(target, found, None, here, el("ul", below) if below else None))
        return items

    items = children(obj, (object_ref(obj),))
    return el("ul", items, class_="deps") if items else None


def referrers(cache: ClusterCache, ref: ObjectRef) -> dict[str, list[ObjectRef]]:
    """Objects that reference ``ref``, by relation (``dependsOn`` → required by, others →
    used by)."""
    found: dict[str, list[ObjectRef]] = {}
    for other in cache.objects():
        for reference in references(other):
            if reference.target == ref:
                key = "Required by" if reference.relation == "dependsOn" else "Used by"
                found.setdefault(key, []).append(object_ref(other))
    return found
