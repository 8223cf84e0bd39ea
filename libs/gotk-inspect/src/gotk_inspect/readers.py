"""``ObjectReader``s over the API server; an informer cache needs only a small adapter."""

from __future__ import annotations

from gotk_api.objects import Obj
from gotk_api.registry import UnknownKindError, find_kind
from gotk_runtime import KubeClient, NotFound, Resource

from gotk_inspect.refs import ObjectRef
from gotk_inspect.why import ObjectReader

__all__ = ["kube_reader", "resource_of"]


def resource_of(kind: str) -> Resource:
    """The REST resource of a Flux kind (``UnknownKindError`` for any other kind)."""
    model = find_kind(kind)
    if kind != model.KIND:
        raise UnknownKindError(f"unknown kind {kind!r}")
    return Resource(model.GROUP, model.VERSION, model.plural(), model.KIND, namespaced=True)


def kube_reader(client: KubeClient) -> ObjectReader:
    """Read objects with GET requests; a kind gotk does not know reads as missing."""

    async def read(ref: ObjectRef) -> Obj | None:
        try:
            resource = resource_of(ref.kind)
        except UnknownKindError:
            return None
        try:
            return await client.get(resource, ref.name, ref.namespace)
        except NotFound:
            return None

    return read
