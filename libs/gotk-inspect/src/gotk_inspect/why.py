"""Why is this object not Ready? Walk its dependencies and sources down to the root causes.

``why(obj, read)`` returns a tree: the object itself at the root, and below it every
referenced object (``dependsOn`` entries, the source, a HelmRelease's HelmChart and that
chart's HelmRepository, ...) that is not Ready, recursively. A leaf is where the walk ends:
an object that is not Ready although everything it references is (its own Ready reason,
message and lastTransitionTime say why), a reference to an object that does not exist, or a
``dependsOn`` cycle. Those leaves are the root causes (``root_causes``).

Objects are read through an ``ObjectReader`` so the same walk serves an informer cache (the
web UI) and the API server (the CLI, see ``kube_reader``). Each object is read once per walk;
a cycle ends at the first object seen twice on the same path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from typing import Literal

from gotk_api.objects import Obj

from gotk_inspect.health import Health, State, health
from gotk_inspect.refs import ObjectRef, Relation, object_ref, references

__all__ = ["MAX_DEPTH", "NodeState", "ObjectReader", "WhyNode", "root_causes", "why"]

ObjectReader = Callable[[ObjectRef], Awaitable[Obj | None]]
"""Reads one Flux object; None when it does not exist."""

NodeState = State | Literal["missing", "cycle"]

MAX_DEPTH = 32
"""References deeper than this are not followed (Flux chains are a few levels deep)."""

MISSING_REASON = "NotFound"
CYCLE_REASON = "DependencyCycle"


@dataclass(frozen=True, slots=True)
class WhyNode:
    """One object in the walk and the not-Ready objects it references."""

    ref: ObjectRef
    state: NodeState
    reason: str
    message: str
    since: str | None
    """When the deciding condition last changed (RFC 3339), if known."""
    relation: Relation | None = None
    """How the parent references this object; None at the root."""
    field: str | None = None
    """The parent's field naming this object, e.g. ``spec.sourceRef``."""
    suspended: bool = False
    children: tuple[WhyNode, ...] = ()

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    @property
    def is_root_cause(self) -> bool:
        """Not Ready, and nothing it references explains why."""
        return not self.ready and not self.children

    def walk(self) -> Iterator[WhyNode]:
        """This node and every node below it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()


def _from_health(ref: ObjectRef, current: Health) -> WhyNode:
    return WhyNode(
        ref, current.state, current.reason, current.message, current.since,
        suspended=current.suspended,
    )  # fmt: skip


async def why(obj: Obj, read: ObjectReader, *, max_depth: int = MAX_DEPTH) -> WhyNode:
    """The tree of what keeps ``obj`` from Ready (see the module docstring).

    A Ready ``obj`` still lists referenced objects that are not Ready (e.g. it was applied
    from an artifact its source can no longer refresh); an empty ``children`` means nothing
    it references is in trouble.
    """
    seen: dict[ObjectRef, Obj | None] = {object_ref(obj): obj}

    async def lookup(ref: ObjectRef) -> Obj | None:
        if ref not in seen:
            seen[ref] = await read(ref)
        return seen[ref]

    async def visit(current: Obj, path: tuple[ObjectRef, ...]) -> WhyNode:
        ref = path[-1]
        node = _from_health(ref, health(current))
        if len(path) > max_depth:
            return node
        children = []
        for reference in references(current):
            target = reference.target
            if target in path:
                cycle = " → ".join(str(r) for r in (*path[path.index(target) :], target))
                child = WhyNode(target, "cycle", CYCLE_REASON, f"dependsOn cycle: {cycle}", None)
            else:
                found = await lookup(target)
                if found is None:
                    message = f"{target.kind} '{target.namespace}/{target.name}' not found"
                    child = WhyNode(target, "missing", MISSING_REASON, message, None)
                else:
                    child = await visit(found, (*path, target))
            if not child.ready:
                children.append(replace(child, relation=reference.relation, field=reference.field))
        return replace(node, children=tuple(children))

    return await visit(obj, (object_ref(obj),))


def root_causes(node: WhyNode) -> list[WhyNode]:
    """The leaves of the tree that are not Ready, each object once, in walk order."""
    causes: dict[ObjectRef, WhyNode] = {}
    for item in node.walk():
        if item.is_root_cause and item.ref not in causes:
            causes[item.ref] = item
    return list(causes.values())
