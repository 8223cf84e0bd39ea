"""`status.inventory` (Flux 2.8): the objects of the current release, CRDs of the chart's
`crds/` included, hooks excluded, as `{id: "<ns>_<name>_<group>_<kind>", v: "<version>"}`.

Namespaced objects without a namespace in the manifest live in the release namespace;
whether a kind is namespaced comes from discovery (a kind the server does not serve is
assumed namespaced, Flux's NamespaceCheckSkipped). RBAC names write `:` as `__`, as
cli-utils' ids do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import yaml
from gotk_api.kustomize_types import ResourceInventory, ResourceRef
from gotk_api.objects import Obj
from gotk_runtime import KubeClient, KubeError

__all__ = ["build_inventory", "manifest_objects"]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RBAC_GROUP = "rbac.authorization.k8s.io"
_RBAC_KINDS = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})


def manifest_objects(manifest: str) -> list[Obj]:
    """The objects of a release manifest (Helm's `---`-separated YAML)."""
    try:
        docs = list(yaml.load_all(manifest, Loader=_Loader))
    except yaml.YAMLError:
        return []
    return [d for d in docs if isinstance(d, dict) and d.get("kind") and d.get("metadata")]


async def build_inventory(
    client: KubeClient, objects: Iterable[Obj], namespace: str
) -> ResourceInventory:
    entries: dict[str, ResourceRef] = {}
    for obj in objects:
        api_version = str(obj.get("apiVersion", ""))
        kind = str(obj["kind"])
        group, _, version = api_version.rpartition("/")
        metadata = obj.get("metadata") or {}
        name = str(metadata.get("name", ""))
        object_namespace = str(metadata.get("namespace") or "")
        if not object_namespace:
            try:
                resource = await client.discovery.resource_for(api_version, kind)
                namespaced = resource.namespaced
            except KubeError:
                namespaced = True
            object_namespace = namespace if namespaced else ""
        if group == _RBAC_GROUP and kind in _RBAC_KINDS:
            name = name.replace(":", "__")
        ref_id = "_".join((object_namespace, name, group, kind))
        entries[ref_id] = ResourceRef(id=ref_id, v=version)
    await asyncio.sleep(0)
    return ResourceInventory(entries=sorted(entries.values(), key=lambda r: r.id))
