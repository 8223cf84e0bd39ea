"""Garbage collection: delete the objects that left the inventory, if this Kustomization
still owns them and they did not opt out (fluxcd/pkg ssa's DeleteAll)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from gotk_api.conditions import PRUNE_FAILED_REASON
from gotk_runtime import GenericError, KubeClient, KubeError, NoKindMatch, NotFound

from kustomize_controller.apply import DELETED, SKIPPED, ChangeSetEntry
from kustomize_controller.apply_plan import SSAPolicy, is_prunable, ssa_policy
from kustomize_controller.inventory import ObjectRef


class PruneError(GenericError):
    reason = PRUNE_FAILED_REASON


@dataclass
class PruneResult:
    changes: list[ChangeSetEntry] = field(default_factory=list)
    survivors: list[ObjectRef] = field(default_factory=list)
    """Objects whose deletion was not confirmed; they stay in the inventory for a retry."""
    errors: list[str] = field(default_factory=list)

    def raise_for_errors(self) -> None:
        if self.errors:
            raise PruneError(f"delete failed, errors: {'; '.join(self.errors)}")


async def delete_objects(
    client: KubeClient, refs: Sequence[ObjectRef], owner_name: str, owner_namespace: str
) -> PruneResult:
    """Delete ``refs`` in reverse apply order, background propagation; never raises."""
    result = PruneResult()
    for ref in reversed(refs):
        try:
            action = await _delete(client, ref, owner_name, owner_namespace)
        except KubeError as err:
            result.survivors.append(ref)
            result.errors.append(f"{ref} delete failed: {err.message}")
            continue
        result.changes.append(ChangeSetEntry(ref, action))
    return result


async def _delete(client: KubeClient, ref: ObjectRef, owner_name: str, owner_namespace: str) -> str:
    try:
        resource = await client.discovery.resource_for(ref.api_version, ref.kind)
    except NoKindMatch:
        # The kind is gone (its CRD was deleted), and so are its objects.
        return DELETED
    namespace = ref.namespace or None
    try:
        live = await client.get(resource, ref.name, namespace)
    except NotFound:
        return DELETED
    if not is_prunable(live, owner_name, owner_namespace) or ssa_policy(live) is SSAPolicy.IGNORE:
        return SKIPPED
    with contextlib.suppress(NotFound):
        await client.delete(resource, ref.name, namespace, propagation_policy="Background")
    return DELETED
