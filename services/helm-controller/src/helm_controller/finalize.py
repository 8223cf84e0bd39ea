"""Uninstalling: when the HelmRelease is deleted, and when its release target or chart name
changes.

On deletion the release last recorded in `status.history` is uninstalled as `spec.uninstall`
says (a failed uninstall is retried until it succeeds), then the HelmChart made from
`spec.chart` is deleted. A suspended HelmRelease is never finalized by the runtime, so its
release stays installed. When the impersonated service account is gone the uninstall is
skipped with a Warning event and the finalizer still goes, as in Flux.
"""

from __future__ import annotations

import logging

from gotk_api.conditions import UNINSTALL_FAILED_REASON, UNINSTALL_SUCCEEDED_REASON
from gotk_api.errors import GotkError
from gotk_api.helm import HelmRelease
from gotk_api.helm_history import latest
from gotk_api.objects import Obj
from gotk_runtime import EventRecorder, KubeClient, KubeError, NotFound, Resource

from helm_controller import actions
from helm_controller.chart_template import delete_helm_chart
from helm_controller.helm_cli import HelmCLI
from helm_controller.history import write_history
from helm_controller.kubeconfig import release_kubeconfig, service_account_name

log = logging.getLogger(__name__)

__all__ = ["UninstallFailed", "finalize_release", "uninstall_previous_target"]

SERVICE_ACCOUNTS = Resource("", "v1", "serviceaccounts", "ServiceAccount", True)


class UninstallFailed(GotkError):
    reason = UNINSTALL_FAILED_REASON


async def finalize_release(
    client: KubeClient,
    helm: HelmCLI,
    events: EventRecorder,
    obj: Obj,
    hr: HelmRelease,
    base_kubeconfig: Obj,
    *,
    default_service_account: str,
) -> None:
    current = latest(hr.status.history or [])
    if current is not None:
        account = service_account_name(hr, default_service_account)
        if account and hr.spec.kube_config is None and not await _exists(client, hr, account):
            await events.warning(
                obj,
                UNINSTALL_FAILED_REASON,
                f"skipping Helm uninstall of release {current.full_release_name()}: "
                f"ServiceAccount '{hr.namespace}/{account}' not found",
            )
        else:
            kubeconfig = await release_kubeconfig(
                client, hr, base_kubeconfig, default_service_account=default_service_account
            )
            await _uninstall(helm, events, obj, hr, kubeconfig, current.name, current.namespace)
    namespace, name = hr.status.get_helm_chart()
    if name:
        await delete_helm_chart(client, namespace, name)


async def uninstall_previous_target(
    helm: HelmCLI,
    events: EventRecorder,
    obj: Obj,
    hr: HelmRelease,
    kubeconfig: Obj,
    name: str,
    namespace: str,
    chart_name: str,
) -> None:
    """A changed release name, namespace or chart name: uninstall the old release and
    forget its history, so the new one is installed from scratch (Flux 2.8)."""
    current = latest(hr.status.history or [])
    if current is None or (current.name, current.namespace, current.chart_name) == (
        name,
        namespace,
        chart_name,
    ):
        return
    await _uninstall(helm, events, obj, hr, kubeconfig, current.name, current.namespace)
    write_history(obj, [])


async def _uninstall(
    helm: HelmCLI,
    events: EventRecorder,
    obj: Obj,
    hr: HelmRelease,
    kubeconfig: Obj,
    name: str,
    namespace: str,
) -> None:
    current = latest(hr.status.history or [])
    release = current.full_release_name() if current else f"{namespace}/{name}"
    chart = current.versioned_chart_name() if current else "unknown"
    outcome = await helm.run(
        actions.uninstall_args(hr, name, namespace),
        kubeconfig=kubeconfig,
        timeout=hr.get_uninstall().get_timeout(hr.get_timeout()),
    )
    revision = current.chart_version if current else None
    if not outcome.ok:
        message = f"Helm uninstall failed for release {release} with chart {chart}: {outcome.error}"
        await events.warning(obj, UNINSTALL_FAILED_REASON, message, revision=revision)
        raise UninstallFailed(message)
    message = f"Helm uninstall succeeded for release {release} with chart {chart}"
    await events.normal(obj, UNINSTALL_SUCCEEDED_REASON, message, revision=revision)


async def _exists(client: KubeClient, hr: HelmRelease, account: str) -> bool:
    try:
        await client.get(SERVICE_ACCOUNTS, account, hr.namespace)
    except NotFound:
        return False
    except KubeError:
        return True  # let helm report the problem
    return True
