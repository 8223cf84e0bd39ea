"""Flux's inventory: `{id: "<ns>_<name>_<group>_<kind>", v: "<version>"}` per applied object.

The id is cli-utils' ObjMetadata string: an empty namespace for cluster-scoped objects, an
empty group for the core API, and `:` in the names of RBAC objects written as `__`.
Kustomization and HelmRelease keep the same `status.inventory`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gotk_api.kustomize_types import ResourceInventory, ResourceRef

from gotk_ssa.errors import InventoryError
from gotk_ssa.stages import sort_key

RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC_KINDS = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})
_SEPARATOR = "_"
_COLON = "__"


@dataclass(frozen=True, order=True)
class ObjectRef:
    """Identity of one applied object; `version` is carried but not part of the identity."""

    namespace: str
    name: str
    group: str
    kind: str
    version: str = ""

    @property
    def id(self) -> str:
        name = self.name
        if self.group == RBAC_GROUP and self.kind in RBAC_KINDS:
            name = name.replace(":", _COLON)
        return _SEPARATOR.join((self.namespace, name, self.group, self.kind))

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @classmethod
    def from_object(cls, obj: Mapping[str, Any]) -> ObjectRef:
        group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
        metadata = obj.get("metadata") or {}
        return cls(
            namespace=metadata.get("namespace") or "",
            name=metadata.get("name", ""),
            group=group,
            kind=obj.get("kind", ""),
            version=version,
        )

    @classmethod
    def parse(cls, entry_id: str, version: str = "") -> ObjectRef:
        """Parse an id the way cli-utils does: namespace first, then kind and group last."""
        namespace, sep, rest = entry_id.partition(_SEPARATOR)
        name_group, sep2, kind = rest.rpartition(_SEPARATOR)
        name, sep3, group = name_group.rpartition(_SEPARATOR)
        if not (sep and sep2 and sep3):
            raise InventoryError(f"unable to parse stored object metadata: {entry_id}")
        return cls(namespace, name.replace(_COLON, ":"), group, kind, version)

    def identity(self) -> tuple[str, str, str, str]:
        return (self.namespace, self.name, self.group, self.kind)

    def as_object(self) -> dict[str, Any]:
        """A minimal object (apiVersion, kind, name, namespace) for deletes and sorting."""
        metadata: dict[str, Any] = {"name": self.name}
        if self.namespace:
            metadata["namespace"] = self.namespace
        return {"apiVersion": self.api_version, "kind": self.kind, "metadata": metadata}

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}/{where}{self.name}"


def inventory_from_objects(objects: Iterable[Mapping[str, Any]]) -> ResourceInventory:
    """The inventory of `objects`, in the given (apply) order, without duplicates."""
    entries: list[ResourceRef] = []
    seen: set[str] = set()
    for obj in objects:
        ref = ObjectRef.from_object(obj)
        if ref.id not in seen:
            seen.add(ref.id)
            entries.append(ResourceRef(id=ref.id, v=ref.version))
    return ResourceInventory(entries=entries)


def list_refs(inventory: ResourceInventory | None) -> list[ObjectRef]:
    """The inventory's objects sorted in Flux's apply order."""
    refs = [ObjectRef.parse(e.id, e.v) for e in (inventory.entries if inventory else [])]
    return sorted(refs, key=lambda r: sort_key(r.as_object()))


def stale_refs(old: ResourceInventory | None, new: ResourceInventory | None) -> list[ObjectRef]:
    """Objects in `old` that are no longer in `new` (the prune candidates), sorted as Flux.

    Identity ignores the version, so an object that only moved API version is not stale.
    """
    keep = {ObjectRef.parse(e.id).identity() for e in (new.entries if new else [])}
    return [ref for ref in list_refs(old) if ref.identity() not in keep]


def add_refs(inventory: ResourceInventory, refs: Iterable[ObjectRef]) -> ResourceInventory:
    """`inventory` with `refs` appended, leaving out those it already lists.

    Objects whose deletion failed are kept this way, so the next reconcile retries them.
    """
    known = {e.id for e in inventory.entries}
    extra = [ResourceRef(id=r.id, v=r.version) for r in refs if r.id not in known]
    return ResourceInventory(entries=[*inventory.entries, *extra])
