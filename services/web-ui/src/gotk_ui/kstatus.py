"""A compact kstatus for the objects in an inventory: Current, InProgress, Failed,
Terminating or NotFound, with a one-line message.

The UI only shows health, it does not wait on it, so this keeps the rules a person reads at
a glance: deletion, an unobserved generation, Stalled/Reconciling/Ready conditions, and
replica counts of the built-in workloads. (kustomize-controller's full kstatus moves to
gotk_ssa; once that library lands, this module should defer to it.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from gotk_api.objects import Obj

__all__ = ["KStatus", "LiveStatus", "live_status"]

KStatus = Literal["Current", "InProgress", "Failed", "Terminating", "NotFound", "Unknown"]


@dataclass(frozen=True, slots=True)
class LiveStatus:
    status: KStatus
    message: str = ""


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _condition(obj: Obj, type_: str) -> Obj | None:
    for condition in (obj.get("status") or {}).get("conditions") or ():
        if isinstance(condition, dict) and condition.get("type") == type_:
            return condition
    return None


def _replicas(obj: Obj, ready_field: str) -> LiveStatus:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    wanted = _int(spec.get("replicas"), 1)
    ready = _int(status.get(ready_field))
    updated = _int(status.get("updatedReplicas"), ready)
    if ready < wanted or updated < wanted:
        return LiveStatus("InProgress", f"{ready}/{wanted} replicas ready")
    return LiveStatus("Current", f"{ready}/{wanted} replicas ready")


def _workload(obj: Obj) -> LiveStatus | None:
    kind, status = obj.get("kind"), obj.get("status") or {}
    if kind == "Deployment":
        progressing = _condition(obj, "Progressing")
        if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
            return LiveStatus("Failed", str(progressing.get("message") or "progress deadline"))
        return _replicas(obj, "availableReplicas")
    if kind in ("StatefulSet", "ReplicaSet"):
        return _replicas(obj, "readyReplicas")
    if kind == "DaemonSet":
        wanted = _int(status.get("desiredNumberScheduled"))
        ready = _int(status.get("numberAvailable"))
        state: KStatus = "Current" if ready >= wanted else "InProgress"
        return LiveStatus(state, f"{ready}/{wanted} pods available")
    if kind == "Job":
        failed = _condition(obj, "Failed")
        if failed and failed.get("status") == "True":
            return LiveStatus("Failed", str(failed.get("message") or "job failed"))
        complete = _condition(obj, "Complete")
        if complete and complete.get("status") == "True":
            return LiveStatus("Current", "job completed")
        return LiveStatus("InProgress", "job running")
    if kind == "Pod":
        phase = status.get("phase")
        if phase in ("Succeeded", "Running"):
            pod_ready = _condition(obj, "Ready")
            if phase == "Running" and not (pod_ready and pod_ready.get("status") == "True"):
                return LiveStatus("InProgress", "pod running, not ready")
            return LiveStatus("Current", f"pod {str(phase).lower()}")
        if phase == "Failed":
            return LiveStatus("Failed", str(status.get("message") or "pod failed"))
        return LiveStatus("InProgress", f"pod {str(phase or 'pending').lower()}")
    if kind == "PersistentVolumeClaim":
        phase = status.get("phase")
        return LiveStatus("Current" if phase == "Bound" else "InProgress", f"claim {phase}")
    return None


def live_status(obj: Obj | None) -> LiveStatus:
    """The status of a live object (None: it does not exist)."""
    if obj is None:
        return LiveStatus("NotFound", "not found in the cluster")
    metadata, status = obj.get("metadata") or {}, obj.get("status") or {}
    if metadata.get("deletionTimestamp"):
        return LiveStatus("Terminating", "scheduled for deletion")
    generation, observed = metadata.get("generation"), status.get("observedGeneration")
    if isinstance(generation, int) and isinstance(observed, int) and observed < generation:
        return LiveStatus("InProgress", f"generation {generation} not yet observed")
    stalled = _condition(obj, "Stalled")
    if stalled and stalled.get("status") == "True":
        return LiveStatus("Failed", str(stalled.get("message") or stalled.get("reason") or ""))
    reconciling = _condition(obj, "Reconciling")
    if reconciling and reconciling.get("status") == "True":
        return LiveStatus("InProgress", str(reconciling.get("message") or ""))
    workload = _workload(obj)
    if workload is not None:
        return workload
    ready = _condition(obj, "Ready")
    if ready is not None:
        message = str(ready.get("message") or ready.get("reason") or "")
        if ready.get("status") == "True":
            return LiveStatus("Current", message)
        return LiveStatus("Failed" if ready.get("status") == "False" else "InProgress", message)
    return LiveStatus("Current", "exists")
