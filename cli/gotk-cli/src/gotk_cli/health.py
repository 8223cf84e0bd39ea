"""`gotk check`, `gotk version` and `gotk stats`: is gotk installed and healthy, how much runs."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

from gotk_api.objects import Obj
from gotk_api.registry import KINDS
from gotk_runtime import NotFound, Resource
from gotk_runtime.kube import LEASES

from gotk_cli.cluster import Cluster
from gotk_cli.columns import ready_status
from gotk_cli.errors import CliError, CrdNotInstalled
from gotk_cli.kinds import ALL_KINDS
from gotk_cli.log import Log
from gotk_cli.table import Table

__all__ = ["SERVICES", "check", "server_version", "stats"]

SERVICES = ("source-controller", "kustomize-controller", "helm-controller")
DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment", namespaced=True)
CRDS = Resource(
    "apiextensions.k8s.io",
    "v1",
    "customresourcedefinitions",
    "CustomResourceDefinition",
    namespaced=False,
)
_LEASE_SLACK = 60.0


async def server_version(cluster: Cluster) -> str:
    info = await cluster.client.request("GET", "/version")
    return str(info.get("gitVersion", ""))


def _lease_fresh(lease: Obj, now: datetime) -> bool:
    spec = lease.get("spec") or {}
    renewed = spec.get("renewTime")
    if not spec.get("holderIdentity") or not renewed:
        return False
    stamp = datetime.fromisoformat(str(renewed).replace("Z", "+00:00"))
    return (now - stamp).total_seconds() <= float(
        spec.get("leaseDurationSeconds", 35)
    ) + _LEASE_SLACK


async def _get(
    cluster: Cluster, resource: Resource, name: str, namespace: str | None
) -> Obj | None:
    try:
        return await cluster.client.get(resource, name, namespace)
    except NotFound:
        return None


async def check(cluster: Cluster, namespace: str, log: Log) -> None:
    """Flux's `check`: the API server, every CRD and its served versions, each service."""
    failures = 0
    log.action("checking prerequisites")
    log.success(f"Kubernetes {await server_version(cluster)}")
    log.action("checking controllers")
    now = datetime.now(UTC)
    for service in SERVICES:
        deployment = await _get(cluster, DEPLOYMENTS, service, namespace)
        lease = await _get(cluster, LEASES, f"{service}-leader-election", namespace)
        if deployment is not None:
            status = deployment.get("status") or {}
            wanted = (deployment.get("spec") or {}).get("replicas", 1)
            if status.get("readyReplicas", 0) >= wanted:
                log.success(f"{service}: deployment ready")
            else:
                log.failure(
                    f"{service}: deployment not ready ({status.get('readyReplicas', 0)}/{wanted})"
                )
                failures += 1
        elif lease is not None:
            if _lease_fresh(lease, now):
                holder = lease["spec"]["holderIdentity"]
                log.success(f"{service}: leader {holder} renewed its lease")
            else:
                log.failure(f"{service}: its lease is stale (no running leader)")
                failures += 1
        else:
            log.warning(f"{service}: no deployment or lease in {namespace} namespace")
    log.action("checking crds")
    for model in KINDS:
        crd = await _get(cluster, CRDS, model.crd_name(), None)
        if crd is None:
            log.failure(f"{model.crd_name()} is not installed")
            failures += 1
            continue
        served = [v["name"] for v in crd["spec"]["versions"] if v.get("served")]
        if model.VERSION not in served:
            log.failure(f"{model.crd_name()} does not serve {model.VERSION} ({', '.join(served)})")
            failures += 1
        else:
            log.success(f"{model.crd_name()}/{model.VERSION}")
    if failures:
        raise CliError("check failed")
    log.success("all checks passed")


@dataclass
class _Counts:
    running: int = 0
    failing: int = 0
    suspended: int = 0
    storage: int = 0


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover


async def stats(cluster: Cluster, namespace: str | None, out: TextIO) -> None:
    """`flux stats`: per kind, how many reconcile, fail and are suspended; artifact storage."""
    rows: builtins.list[builtins.list[str]] = []
    for kind in ALL_KINDS:
        try:
            objects = await cluster.list(kind, namespace)
        except CrdNotInstalled:
            continue
        counts = _Counts()
        for obj in objects:
            status, _ = ready_status(obj)
            if (obj.get("spec") or {}).get("suspend"):
                counts.suspended += 1
            elif status == "False" and (obj.get("status") or {}).get("conditions"):
                counts.failing += 1
            else:
                counts.running += 1
            counts.storage += int(
                ((obj.get("status") or {}).get("artifact") or {}).get("size") or 0
            )
        storage = _size(counts.storage) if kind.is_source else "-"
        rows.append(
            [kind.kind, str(counts.running), str(counts.failing), str(counts.suspended), storage]
        )
    table = Table(("RECONCILERS", "RUNNING", "FAILING", "SUSPENDED", "STORAGE"))
    print(table.render(rows), file=out)
