"""kstatus: the status of a live object as Current, InProgress, Failed, Terminating or NotFound.

A re-implementation of the rules in Flux's fork of cli-utils (`pkg/kstatus/status`), which
Flux's staged apply and health checks poll: generic rules first (deletion, observed
generation, `Reconciling`/`Stalled` conditions), then per-kind rules for the built-in
workloads, then a `Ready` condition, and otherwise Current. Pure functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

Object = Mapping[str, Any]


class Status(Enum):
    CURRENT = "Current"
    IN_PROGRESS = "InProgress"
    FAILED = "Failed"
    TERMINATING = "Terminating"
    NOT_FOUND = "NotFound"
    UNKNOWN = "Unknown"


@dataclass(frozen=True)
class StatusResult:
    status: Status
    message: str
    reason: str = ""


def _current(message: str) -> StatusResult:
    return StatusResult(Status.CURRENT, message)


def _in_progress(reason: str, message: str) -> StatusResult:
    return StatusResult(Status.IN_PROGRESS, message, reason)


def _failed(reason: str, message: str) -> StatusResult:
    return StatusResult(Status.FAILED, message, reason)


def _field(obj: Object, path: str, default: Any = None) -> Any:
    node: Any = obj
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def _int(obj: Object, path: str, default: int) -> int:
    value = _field(obj, path)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _conditions(obj: Object) -> list[Mapping[str, Any]]:
    conditions = _field(obj, "status.conditions", [])
    return [c for c in conditions if isinstance(c, Mapping)] if isinstance(conditions, list) else []


def _generic(obj: Object) -> StatusResult | None:
    if _field(obj, "metadata.deletionTimestamp"):
        return StatusResult(Status.TERMINATING, "Resource scheduled for deletion")
    generation = _field(obj, "metadata.generation")
    observed = _field(obj, "status.observedGeneration")
    if isinstance(generation, int) and isinstance(observed, int) and observed != generation:
        return _in_progress(
            "LatestGenerationNotObserved",
            f"{obj.get('kind', '')} generation is {generation}, "
            f"but latest observed generation is {observed}",
        )
    for condition in _conditions(obj):
        if condition.get("type") == "Reconciling" and condition.get("status") == "True":
            return _in_progress(condition.get("reason", ""), condition.get("message", ""))
        if condition.get("type") == "Stalled" and condition.get("status") == "True":
            return _failed(condition.get("reason", ""), condition.get("message", ""))
    return None


def _always_ready(_obj: Object) -> StatusResult:
    return _current("Resource is always ready")


def _deployment(obj: Object) -> StatusResult:
    progressing = _int(obj, "spec.progressDeadlineSeconds", 2**31 - 1) == 2**31 - 1
    available = False
    for condition in _conditions(obj):
        if condition.get("type") == "Progressing":
            if condition.get("reason") == "ProgressDeadlineExceeded":
                return _failed("ProgressDeadlineExceeded", "Progress deadline exceeded")
            if (
                condition.get("status") == "True"
                and condition.get("reason") == "NewReplicaSetAvailable"
            ):
                progressing = True
        elif condition.get("type") == "Available" and condition.get("status") == "True":
            available = True
    spec = _int(obj, "spec.replicas", 1)
    replicas = _int(obj, "status.replicas", 0)
    updated = _int(obj, "status.updatedReplicas", 0)
    ready = _int(obj, "status.readyReplicas", 0)
    avail = _int(obj, "status.availableReplicas", 0)
    if spec > replicas:
        return _in_progress("LessReplicas", f"Replicas: {replicas}/{spec}")
    if spec > updated:
        return _in_progress("LessUpdated", f"Updated: {updated}/{spec}")
    if replicas > spec:
        return _in_progress("ExtraPods", f"Pending termination: {replicas - spec}")
    if updated > avail:
        return _in_progress("LessAvailable", f"Available: {avail}/{updated}")
    if spec > ready:
        return _in_progress("LessReady", f"Ready: {ready}/{spec}")
    if not progressing:
        return _in_progress("ReplicaSetNotAvailable", "ReplicaSet not Available")
    if not available:
        return _in_progress("DeploymentNotAvailable", "Deployment not Available")
    return _current(f"Deployment is available. Replicas: {replicas}")


def _statefulset(obj: Object) -> StatusResult:
    if _field(obj, "spec.updateStrategy.type") == "OnDelete":
        return _current("StatefulSet is using the ondelete update strategy")
    spec = _int(obj, "spec.replicas", 1)
    ready = _int(obj, "status.readyReplicas", 0)
    current = _int(obj, "status.currentReplicas", 0)
    updated = _int(obj, "status.updatedReplicas", 0)
    replicas = _int(obj, "status.replicas", 0)
    partition = _int(obj, "spec.updateStrategy.rollingUpdate.partition", -1)
    if spec > replicas:
        return _in_progress("LessReplicas", f"Replicas: {replicas}/{spec}")
    if spec > ready:
        return _in_progress("LessReady", f"Ready: {ready}/{spec}")
    if replicas > spec:
        return _in_progress("ExtraPods", f"Pending termination: {replicas - spec}")
    if partition != -1:
        if updated < spec - partition:
            return _in_progress("PartitionRollout", f"updated: {updated}/{spec - partition}")
        return _current(f"Partition rollout complete. updated: {updated}")
    if spec > current:
        return _in_progress("LessCurrent", f"current: {current}/{spec}")
    if _field(obj, "status.currentRevision", "") != _field(obj, "status.updateRevision", ""):
        return _in_progress("RevisionMismatch", "Waiting for updated revision to match current")
    return _current(f"All replicas scheduled as expected. Replicas: {replicas}")


def _daemonset(obj: Object) -> StatusResult:
    kind = obj.get("kind", "")
    if _field(obj, "metadata.generation") is None:
        return _in_progress("NoGeneration", f"{kind} metadata.generation not found")
    if _field(obj, "status.observedGeneration") is None:
        return _in_progress("NoObservedGeneration", f"{kind} status.observedGeneration not found")
    desired = _int(obj, "status.desiredNumberScheduled", -1)
    checks = (
        ("LessCurrent", "Current", _int(obj, "status.currentNumberScheduled", 0)),
        ("LessUpdated", "Updated", _int(obj, "status.updatedNumberScheduled", 0)),
        ("LessAvailable", "Available", _int(obj, "status.numberAvailable", 0)),
        ("LessReady", "Ready", _int(obj, "status.numberReady", 0)),
    )
    if desired == -1:
        return _in_progress("NoDesiredNumber", "Missing .status.desiredNumberScheduled")
    for reason, label, count in checks:
        if desired > count:
            return _in_progress(reason, f"{label}: {count}/{desired}")
    return _current(f"All replicas scheduled as expected. Replicas: {desired}")


def _replicaset(obj: Object) -> StatusResult:
    for condition in _conditions(obj):
        if condition.get("type") == "ReplicaFailure" and condition.get("status") == "True":
            return _in_progress("ReplicaFailure", "Replica Failure condition. Check Pods")
    spec = _int(obj, "spec.replicas", 1)
    replicas = _int(obj, "status.replicas", 0)
    for reason, label, count in (
        ("LessLabelled", "Labelled", _int(obj, "status.fullyLabeledReplicas", 0)),
        ("LessAvailable", "Available", _int(obj, "status.availableReplicas", 0)),
        ("LessReady", "Ready", _int(obj, "status.readyReplicas", 0)),
    ):
        if spec > count:
            return _in_progress(reason, f"{label}: {count}/{spec}")
    if replicas > spec:
        return _in_progress("ExtraPods", f"Pending termination: {replicas - spec}")
    return _current(f"ReplicaSet is available. Replicas: {replicas}")


def _pvc(obj: Object) -> StatusResult:
    phase = _field(obj, "status.phase", "unknown")
    if phase != "Bound":
        return _in_progress("NotBound", f"PVC is not Bound. phase: {phase}")
    return _current("PVC is Bound")


def _has_condition(obj: Object, kind: str, status: str) -> Mapping[str, Any] | None:
    return next(
        (c for c in _conditions(obj) if c.get("type") == kind and c.get("status") == status), None
    )


def _pod(obj: Object) -> StatusResult:
    phase = _field(obj, "status.phase", "")
    if phase == "Succeeded":
        return _current("Pod has completed successfully")
    if phase == "Failed":
        return _current("Pod has completed, but not successfully")
    if phase == "Running":
        if _has_condition(obj, "Ready", "True"):
            return _current("Pod is Ready")
        looping = [
            str(cs.get("name"))
            for cs in _field(obj, "status.containerStatuses", []) or []
            if isinstance(cs, Mapping) and _field(cs, "state.waiting.reason") == "CrashLoopBackOff"
        ]
        if looping:
            return _failed(
                "ContainerCrashLooping", f"Containers in CrashLoop state: {','.join(looping)}"
            )
        return _in_progress("PodRunningNotReady", "Pod is running but is not Ready")
    if phase == "Pending":
        scheduled = _has_condition(obj, "PodScheduled", "False")
        if scheduled is not None and scheduled.get("reason") == "Unschedulable":
            # kstatus allows a 15 s scheduling window; a pure function cannot see the
            # clock, so the caller's poll loop (timeout) plays that part.
            return _failed("PodUnschedulable", "Pod could not be scheduled")
        return _in_progress("PodPending", "Pod is in the Pending phase")
    return _in_progress("PodNotObserved", "Pod phase not available")


def _pdb(_obj: Object) -> StatusResult:
    return _current("AllowedDisruptions has been computed.")


def _job(obj: Object) -> StatusResult:
    parallelism = _int(obj, "spec.parallelism", 1)
    completions = _int(obj, "spec.completions", parallelism)
    succeeded = _int(obj, "status.succeeded", 0)
    active = _int(obj, "status.active", 0)
    failed = _int(obj, "status.failed", 0)
    for condition in _conditions(obj):
        if condition.get("status") != "True":
            continue
        if condition.get("type") == "Complete":
            return _current(f"Job Completed. succeeded: {succeeded}/{completions}")
        if condition.get("type") == "Failed":
            return _failed("JobFailed", f"Job Failed. failed: {failed}/{completions}")
    if not _field(obj, "status.startTime"):
        return _in_progress("JobNotStarted", "Job not started")
    # kstatus counts a started Job as Current; Flux waits on Jobs through this rule too.
    return _current(f"Job in progress. success:{succeeded}, active: {active}, failed: {failed}")


def _service(obj: Object) -> StatusResult:
    if _field(obj, "spec.type", "ClusterIP") == "LoadBalancer" and not _field(
        obj, "spec.clusterIP"
    ):
        return _in_progress("NoIPAssigned", "ClusterIP not set. Service type: LoadBalancer")
    return _current("Service is ready")


def _crd(obj: Object) -> StatusResult:
    for condition in _conditions(obj):
        reason, message = condition.get("reason", ""), condition.get("message", "")
        if condition.get("type") == "NamesAccepted" and condition.get("status") == "False":
            return _failed(reason, message)
        if condition.get("type") == "Established":
            if condition.get("status") == "False" and reason != "Installing":
                return _failed(reason, message)
            if condition.get("status") == "True":
                return _current("CRD is established")
    return _in_progress("Installing", "Install in progress")


def _namespace(obj: Object) -> StatusResult:
    # Not a kstatus rule (it reports Current for any Namespace); an Active phase is what
    # the apply stage waits for before creating namespaced objects.
    phase = _field(obj, "status.phase")
    if phase in (None, "Active"):
        return _current("Namespace is active")
    return _in_progress("NamespaceNotActive", f"Namespace phase: {phase}")


_RULES: dict[str, Callable[[Object], StatusResult]] = {
    "Service": _service,
    "Pod": _pod,
    "Secret": _always_ready,
    "ConfigMap": _always_ready,
    "PersistentVolumeClaim": _pvc,
    "Namespace": _namespace,
    "apps/StatefulSet": _statefulset,
    "apps/DaemonSet": _daemonset,
    "extensions/DaemonSet": _daemonset,
    "apps/Deployment": _deployment,
    "extensions/Deployment": _deployment,
    "apps/ReplicaSet": _replicaset,
    "extensions/ReplicaSet": _replicaset,
    "policy/PodDisruptionBudget": _pdb,
    "batch/CronJob": _always_ready,
    "batch/Job": _job,
    "apiextensions.k8s.io/CustomResourceDefinition": _crd,
}


def _ready_condition(obj: Object) -> StatusResult | None:
    for condition in _conditions(obj):
        if condition.get("type") != "Ready":
            continue
        status = condition.get("status")
        if status == "True":
            return _current("Resource is Ready")
        if status in ("False", "Unknown"):
            return _in_progress(condition.get("reason", ""), condition.get("message", ""))
    return None


def compute_status(obj: Object | None) -> StatusResult:
    """The kstatus status of a live object; `None` (not in the cluster) is NotFound."""
    if obj is None:
        return StatusResult(Status.NOT_FOUND, "Resource not found")
    generic = _generic(obj)
    if generic is not None:
        return generic
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    kind = str(obj.get("kind", ""))
    rule = _RULES.get(f"{group}/{kind}" if group else kind)
    if rule is not None:
        return rule(obj)
    return _ready_condition(obj) or _current("Resource is current")
