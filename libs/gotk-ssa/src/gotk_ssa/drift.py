"""What applying an object would change: its live copy, a server-side dry-run apply, and the
drift between the two (fluxcd/pkg ssa's ``Diff`` and ``hasDrifted``, and ssa/jsondiff's
``Unstructured`` for the JSON patch and ignored paths).

The apply step plans with the same pieces; :func:`diff` alone changes nothing in the
cluster, so a CLI can show what a reconcile would do, and helm-controller what drifted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from gotk_api.objects import Obj, describe
from gotk_runtime import KubeClient, KubeError, NoKindMatch, NotFound, Resource

from gotk_ssa.changeset import Action, ChangeSetEntry
from gotk_ssa.errors import ApplyError
from gotk_ssa.inventory import ObjectRef
from gotk_ssa.jsonpatch import PatchOperation, compare, remove_paths
from gotk_ssa.metadata import any_in_metadata
from gotk_ssa.options import ApplyOptions

_IMMUTABLE = re.compile(r"is\simmutable|immutable\sfield")


@dataclass(frozen=True, slots=True)
class Target:
    """An object ready to apply: its API resource, the object as the API takes it, its ref."""

    resource: Resource
    obj: Obj
    ref: ObjectRef


@dataclass(frozen=True, slots=True)
class Diff:
    """One object's change-set entry; for a created or configured object, the dry-run result
    (``merged``) and, when it exists, the live object it would replace.

    For a configured object, ``patch`` holds the JSON patch (RFC 6902) that turns the live
    object into the merged one outside the ignored paths: labels and annotations only added
    or replaced (core controllers add their own, as Flux's jsondiff notes), everything but
    metadata and status compared in full.
    """

    entry: ChangeSetEntry
    live: Obj | None = None
    merged: Obj | None = None
    patch: tuple[PatchOperation, ...] = ()


async def diff(
    client: KubeClient, desired: Obj, options: ApplyOptions, *, ignore_paths: Sequence[str] = ()
) -> Diff:
    """Dry-run ``desired`` as ``options.field_manager`` and compare it with the live object.

    ``ignore_paths`` are JSON pointers left out of the comparison (``""``: skip the object).
    Raises ``ApplyError`` naming the object when the API server refuses the dry-run.
    """
    target = await resolve(client, desired)
    if "" in ignore_paths:
        return Diff(ChangeSetEntry(target.ref, Action.SKIPPED))
    live = await get_live(client, target)
    if is_skipped(target.obj, live, options):
        return Diff(ChangeSetEntry(target.ref, Action.SKIPPED))
    try:
        merged = await dry_run(client, target, options.field_manager)
    except KubeError as err:
        raise dry_run_failed(target.ref, err) from None
    if live is None:
        return Diff(ChangeSetEntry(target.ref, Action.CREATED), merged=merged)
    old, new = live, merged
    if ignore_paths:
        old, new = remove_paths(live, ignore_paths), remove_paths(merged, ignore_paths)
    if has_drifted(old, new):
        entry = ChangeSetEntry(target.ref, Action.CONFIGURED)
        return Diff(entry, live=live, merged=merged, patch=tuple(drift_patch(old, new)))
    return Diff(ChangeSetEntry(target.ref, Action.UNCHANGED))


async def resolve(client: KubeClient, desired: Obj) -> Target:
    """Find the object's API resource; a cluster-scoped object loses any namespace."""
    where = describe(desired)
    try:
        resource = await client.discovery.resource_of(desired)
    except NoKindMatch:
        raise ApplyError(
            f"{where} dry-run failed: no matches for kind '{desired.get('kind')}' in "
            f"version '{desired.get('apiVersion')}' (is its CRD installed?)"
        ) from None
    except KubeError as err:
        raise ApplyError(f"{where} dry-run failed: {err.message}") from None
    obj = _scoped(desired, resource)
    ref = ObjectRef.from_object(obj)
    if resource.namespaced and not ref.namespace:
        raise ApplyError(f"{ref} namespace not specified")
    return Target(resource, obj, ref)


async def get_live(client: KubeClient, target: Target) -> Obj | None:
    """The object as it is in the cluster, or None when there is none."""
    ref = target.ref
    try:
        return await client.get(target.resource, ref.name, ref.namespace or None)
    except NotFound:
        return None
    except KubeError as err:
        raise ApplyError(f"{ref} query failed: {err.message}") from None


def is_skipped(desired: Obj, live: Obj | None, options: ApplyOptions) -> bool:
    """Excluded (desired or live matches the exclusion selector), or create-only and there."""
    if any_in_metadata(desired, options.exclusion_selector):
        return True
    if live is None:
        return False
    return any_in_metadata(live, options.exclusion_selector) or any_in_metadata(
        desired, options.if_not_present_selector
    )


async def dry_run(client: KubeClient, target: Target, field_manager: str) -> Obj:
    """The object as a forced server-side apply would leave it; API errors propagate."""
    return await client.apply(
        target.resource, target.obj, field_manager=field_manager, force=True, dry_run=True
    )


def dry_run_failed(ref: ObjectRef, err: KubeError) -> ApplyError:
    api_reason = f" ({err.api_reason})" if err.api_reason else ""
    return ApplyError(f"{ref} dry-run failed{api_reason}: {err.message}")


def is_immutable_error(err: KubeError) -> bool:
    """The API server (or a CEL rule, or a webhook) refused to change an immutable field."""
    return err.status in (409, 422) and bool(_IMMUTABLE.search(err.message))


def has_drifted(existing: Obj, dry_run: Obj) -> bool:
    """Whether applying would change the live object: labels, annotations, or anything
    outside metadata and status (fluxcd/pkg ssa's hasDrifted)."""
    if not dry_run.get("metadata", {}).get("resourceVersion"):
        return True
    live_meta, new_meta = existing.get("metadata") or {}, dry_run.get("metadata") or {}
    for field in ("labels", "annotations"):
        if (live_meta.get(field) or {}) != (new_meta.get(field) or {}):
            return True
    return _body(existing) != _body(dry_run)


def drift_patch(live: Obj, merged: Obj) -> list[PatchOperation]:
    """The operations from `live` to `merged`: labels and annotations added or replaced,
    then everything outside metadata and status (fluxcd/pkg ssa/jsondiff)."""
    labels = [
        op
        for op in compare(_labels_and_annotations(live), _labels_and_annotations(merged))
        if op.op != "remove"
    ]
    return labels + compare(_body(live), _body(merged))


def _labels_and_annotations(obj: Obj) -> Obj:
    metadata = obj.get("metadata") or {}
    kept = {k: metadata[k] for k in ("labels", "annotations") if k in metadata}
    return {"metadata": kept}


def _body(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


def _scoped(obj: Obj, resource: Resource) -> Obj:
    """A cluster-scoped object loses any namespace kustomize gave it (the API ignores it)."""
    metadata = obj.get("metadata") or {}
    if resource.namespaced or "namespace" not in metadata:
        return obj
    return {**obj, "metadata": {k: v for k, v in metadata.items() if k != "namespace"}}
