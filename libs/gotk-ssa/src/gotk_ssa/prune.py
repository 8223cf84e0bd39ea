"""Garbage collection: delete the objects that left the inventory, if their owner still
owns them and they did not opt out (fluxcd/pkg ssa's ``DeleteAll``)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gotk_runtime import KubeClient, KubeError, NoKindMatch, NotFound

from gotk_ssa.changeset import Action, ChangeSetEntry
from gotk_ssa.errors import PruneError
from gotk_ssa.inventory import ObjectRef
from gotk_ssa.metadata import any_in_metadata, has_labels
from gotk_ssa.options import DeleteOptions


@dataclass
class PruneResult:
    changes: list[ChangeSetEntry] = field(default_factory=list)
    survivors: list[ObjectRef] = field(default_factory=list)
    """Objects whose deletion was not confirmed; they stay in the inventory for a retry."""
    errors: list[str] = field(default_factory=list)

    def raise_for_errors(self) -> None:
        if self.errors:
            raise PruneError(f"delete failed, errors: {'; '.join(self.errors)}")


def is_prunable(obj: Mapping[str, Any], options: DeleteOptions) -> bool:
    """May garbage collection delete this live object? Only when it carries every inclusion
    label (its owner's) and matches none of the exclusions."""
    return has_labels(obj, options.inclusions) and not any_in_metadata(obj, options.exclusions)


async def delete_objects(
    client: KubeClient, refs: Sequence[ObjectRef], options: DeleteOptions
) -> PruneResult:
    """Delete ``refs`` in reverse apply order, background propagation; never raises."""
    result = PruneResult()
    for ref in reversed(refs):
        try:
            action = await _delete(client, ref, options)
        except KubeError as err:
            result.survivors.append(ref)
            result.errors.append(f"{ref} delete failed: {err.message}")
            continue
        result.changes.append(ChangeSetEntry(ref, action))
    return result


async def _delete(client: KubeClient, ref: ObjectRef, options: DeleteOptions) -> Action:
    try:
        resource = await client.discovery.resource_for(ref.api_version, ref.kind)
    except NoKindMatch:
        # The kind is gone (its CRD was deleted), and so are its objects.
        return Action.DELETED
    namespace = ref.namespace or None
    try:
        live = await client.get(resource, ref.name, namespace)
    except NotFound:
        return Action.DELETED
    if not is_prunable(live, options):
        return Action.SKIPPED
    with contextlib.suppress(NotFound):
        await client.delete(resource, ref.name, namespace, propagation_policy="Background")
    return Action.DELETED
