"""gotk_inspect: read-only inspection of Flux objects, shared by the web UI and the CLI.

- ``health(obj)``: the object's state (ready, failing, stalled, reconciling, unknown), the
  deciding condition's reason, message and since-when, and whether it is suspended;
- ``references(obj)``: the Flux objects it depends on (dependsOn, sourceRef, chartRef, the
  HelmChart of a chart template, GitRepository includes);
- ``why(obj, read)``: the tree of not-Ready objects that keep it from Ready, down to the root
  causes (``root_causes(tree)``); ``read`` is an ``ObjectReader`` — ``kube_reader(client)``
  for the API server, or any ``async (ObjectRef) -> Obj | None`` over a cache.

Everything works on raw objects (decoded JSON, as ``KubeClient`` and ``Informer`` give them).
"""

from gotk_inspect.health import Health, State, health
from gotk_inspect.readers import kube_reader, resource_of
from gotk_inspect.refs import ObjectRef, Reference, Relation, object_ref, references
from gotk_inspect.why import MAX_DEPTH, NodeState, ObjectReader, WhyNode, root_causes, why

__all__ = [
    "MAX_DEPTH",
    "Health",
    "NodeState",
    "ObjectReader",
    "ObjectRef",
    "Reference",
    "Relation",
    "State",
    "WhyNode",
    "health",
    "kube_reader",
    "object_ref",
    "references",
    "resource_of",
    "root_causes",
    "why",
]
