"""Take fields over from kubectl & co before server-side apply (fluxcd/pkg ssa's cleanup).

A field set by ``kubectl apply`` (client-side), ``kubectl create``/``edit``, or by a
controller before it used server-side apply belongs to another field manager, so a later
server-side apply that drops it leaves it in place. Before applying an object that already
exists, its ``metadata.managedFields`` entries from the managers a controller names are
folded into the controller's own Apply entry (one JSON patch, which also removes the
annotations and labels the controller names, such as kubectl's last-applied one); the apply
that follows then removes any field that left the source. Objects matching the cleanup
``exclusions`` keep their other owners.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from gotk_api.objects import Obj
from gotk_runtime import KubeClient, Resource

from gotk_ssa.metadata import any_in_metadata

Operation = Literal["Apply", "Update"]

MANAGED_FIELDS_PATH = "/metadata/managedFields"
_MEMBER = "."


@dataclass(frozen=True, slots=True)
class FieldManager:
    """Entries to take over: by manager-name prefix (or exact name) and operation."""

    name: str
    operation: Operation
    exact: bool = False

    def matches(self, entry: Mapping[str, Any]) -> bool:
        # Subresource entries (status, scale) are written by other controllers: never taken.
        if entry.get("operation") != self.operation or entry.get("subresource"):
            return False
        manager = str(entry.get("manager", ""))
        return manager == self.name if self.exact else manager.startswith(self.name)


@dataclass(frozen=True, slots=True)
class CleanupOptions:
    """What to remove and take over before applying an existing object."""

    annotations: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    managers: tuple[FieldManager, ...] = ()
    exclusions: Mapping[str, str] = field(default_factory=dict)
    """Objects (desired or live) matching this selector are left alone."""


def cleanup_patch(
    desired: Mapping[str, Any], existing: Mapping[str, Any], options: CleanupOptions, owner: str
) -> list[Obj]:
    """The JSON patch (RFC 6902) cleaning ``existing`` up before ``desired`` is applied by
    ``owner``; empty when there is nothing to do or either object matches the exclusions."""
    if any_in_metadata(desired, options.exclusions) or any_in_metadata(
        existing, options.exclusions
    ):
        return []
    metadata = existing.get("metadata") or {}
    ops: list[Obj] = []
    for field_name, keys in (("annotations", options.annotations), ("labels", options.labels)):
        present = metadata.get(field_name) or {}
        ops += [
            {"op": "remove", "path": f"/metadata/{field_name}/{_pointer_token(key)}"}
            for key in keys
            if key in present
        ]
    entries = take_over_entries(metadata.get("managedFields") or [], options.managers, owner)
    if entries is not None:
        ops.append({"op": "replace", "path": MANAGED_FIELDS_PATH, "value": entries})
    return ops


def take_over_entries(
    entries: Sequence[Mapping[str, Any]], managers: Sequence[FieldManager], owner: str
) -> list[Obj] | None:
    """``managedFields`` with every entry matching ``managers`` merged into ``owner``'s Apply
    entry (created from the first match if ``owner`` has none), placed last; ``None`` when no
    entry matches."""
    own_index = None
    for i, entry in enumerate(entries):
        if (
            entry.get("manager") == owner
            and entry.get("operation") == "Apply"
            and not entry.get("subresource")
        ):
            own_index = i
    own: Obj | None = dict(entries[own_index]) if own_index is not None else None
    kept: list[Obj] = []
    taken = False
    for i, entry in enumerate(entries):
        if i == own_index:
            continue
        if not any(m.matches(entry) for m in managers):
            kept.append(dict(entry))
            continue
        taken = True
        if own is None:
            own = {**entry, "manager": owner, "operation": "Apply"}
        else:
            own["fieldsV1"] = merge_fields(own.get("fieldsV1"), entry.get("fieldsV1"))
    if not taken or own is None:
        return None
    return [*kept, own]


def merge_fields(a: Obj | None, b: Obj | None) -> Obj | None:
    """Union of two ``fieldsV1`` sets. Their JSON form is a trie whose ``{}`` leaves are
    members and whose ``"."`` key marks an inner node that is itself a member."""
    if a is None:
        return b
    if b is None:
        return a
    return _merge_node(a, b, top=True)


def _merge_node(a: Obj, b: Obj, *, top: bool = False) -> Obj:
    member = not top and (not a or not b or _MEMBER in a or _MEMBER in b)
    children: Obj = {}
    for key in {*a, *b} - {_MEMBER}:
        if key in a and key in b:
            children[key] = _merge_node(a[key], b[key])
        else:
            children[key] = a[key] if key in a else b[key]
    if children and member:
        children[_MEMBER] = {}
    return dict(sorted(children.items()))


def _pointer_token(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


async def clean_up(
    client: KubeClient,
    resource: Resource,
    desired: Obj,
    existing: Obj,
    options: CleanupOptions,
    owner: str,
) -> Obj | None:
    """Patch ``existing`` as :func:`cleanup_patch` says; the updated object, or ``None`` when
    nothing needed patching. API errors propagate as :class:`gotk_runtime.KubeError`."""
    ops = cleanup_patch(desired, existing, options, owner)
    if not ops:
        return None
    metadata = existing.get("metadata") or {}
    return await client.patch(
        resource,
        str(metadata.get("name", "")),
        ops,
        namespace=metadata.get("namespace") or None,
        patch_type="json",
        field_manager=owner,
    )
