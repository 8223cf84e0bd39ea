"""Deleting a Kustomization: prune what it applied, as `spec.deletionPolicy` says.

MirrorPrune (the default) follows `spec.prune`; Delete and WaitForTermination always prune;
Orphan never does. Without an inventory nothing is deleted. When the impersonated service
account is gone, pruning is skipped with a Warning event and the finalizer still goes, as
in Flux (deletion must not hang on a missing account).
"""

from __future__ import annotations

import asyncio
import logging

from gotk_api.kustomize import Kustomization
from gotk_api.objects import Obj
from gotk_runtime import EventRecorder, KubeClient, KubeError, NotFound, Resource
from gotk_ssa import Action, ObjectRef, PruneError, delete_objects, list_refs

from kustomize_controller.apply_options import delete_options
from kustomize_controller.impersonation import apply_client, service_account_name

log = logging.getLogger(__name__)

SERVICE_ACCOUNTS = Resource("", "v1", "serviceaccounts", "ServiceAccount", True)


def should_delete_resources(ks: Kustomization) -> bool:
    if ks.spec.suspend or not ks.status.inventory or not ks.status.inventory.entries:
        return False
    policy = ks.get_deletion_policy()
    if policy == "MirrorPrune":
        return ks.spec.prune
    return policy in ("Delete", "WaitForTermination")


async def finalize_kustomization(
    controller_client: KubeClient,
    events: EventRecorder,
    obj: Obj,
    ks: Kustomization,
    *,
    default_service_account: str,
    insecure_exec: bool = False,
    insecure_tls: bool = False,
) -> None:
    if not should_delete_resources(ks):
        return
    refs = list_refs(ks.status.inventory)
    revision = ks.status.last_applied_revision
    account = service_account_name(ks, default_service_account)
    if (
        account
        and ks.spec.kube_config is None
        and not await _exists(controller_client, ks, account)
    ):
        listing = "\n".join(str(r) for r in refs)
        await events.warning(
            obj, "PruneFailed", f"unable to prune objects: \n{listing}", revision=revision
        )
        return
    async with apply_client(
        controller_client,
        ks,
        default_service_account=default_service_account,
        insecure_exec=insecure_exec,
        insecure_tls=insecure_tls,
    ) as client:
        result = await delete_objects(client, refs, delete_options(ks))
        if result.errors:
            await events.warning(
                obj, "PruneFailed", "pruning for deleted resource failed", revision=revision
            )
            raise PruneError(f"delete failed, errors: {'; '.join(result.errors)}")
        deleted = [e for e in result.changes if e.action != Action.SKIPPED]
        if deleted:
            await events.normal(
                obj, "Progressing", "\n".join(str(e) for e in deleted), revision=revision
            )
        waits = ks.get_deletion_policy() == "WaitForTermination" and deleted
        if waits and not await _terminated(client, [e.ref for e in deleted], ks.get_timeout()):
            await events.warning(
                obj,
                "PruneFailed",
                "failed to wait for resources termination",
                revision=revision,
            )


async def _exists(client: KubeClient, ks: Kustomization, account: str) -> bool:
    try:
        await client.get(SERVICE_ACCOUNTS, account, ks.namespace)
    except NotFound:
        return False
    except KubeError:
        return True  # let the delete itself report the problem
    return True


async def _terminated(client: KubeClient, refs: list[ObjectRef], timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    pending = list(refs)
    while pending and loop.time() < deadline:
        still: list[ObjectRef] = []
        for ref in pending:
            try:
                resource = await client.discovery.resource_for(ref.api_version, ref.kind)
                await client.get(resource, ref.name, ref.namespace or None)
                still.append(ref)
            except NotFound:
                pass
            except KubeError as err:
                log.warning("cannot check termination of %s: %s", ref, err)
                still.append(ref)
        pending = still
        if pending:
            await asyncio.sleep(2.0)
    return not pending
