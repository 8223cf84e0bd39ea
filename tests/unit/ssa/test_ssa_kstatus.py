"""kstatus rules: Current / InProgress / Failed / Terminating / NotFound per kind."""

from __future__ import annotations

from typing import Any

import pytest
from gotk_ssa.kstatus import Status, compute_status


def make(api_version: str, kind: str, spec: Any = None, status: Any = None, **meta: Any) -> Any:
    obj: dict[str, Any] = {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": "x", "namespace": "ns", **meta},
    }
    if spec is not None:
        obj["spec"] = spec
    if status is not None:
        obj["status"] = status
    return obj


def cond(kind: str, status: str, reason: str = "", message: str = "") -> dict[str, str]:
    return {"type": kind, "status": status, "reason": reason, "message": message}


AVAILABLE = [cond("Available", "True"), cond("Progressing", "True", "NewReplicaSetAvailable")]
DEPLOY_OK = {
    "observedGeneration": 2,
    "replicas": 2,
    "updatedReplicas": 2,
    "readyReplicas": 2,
    "availableReplicas": 2,
    "conditions": AVAILABLE,
}

CASES = [
    (
        "deployment available",
        make("apps/v1", "Deployment", {"replicas": 2}, DEPLOY_OK, generation=2),
        Status.CURRENT,
        "Deployment is available. Replicas: 2",
    ),
    (
        "deployment old generation",
        make(
            "apps/v1",
            "Deployment",
            {"replicas": 2},
            {**DEPLOY_OK, "observedGeneration": 1},
            generation=2,
        ),
        Status.IN_PROGRESS,
        "Deployment generation is 2, but latest observed generation is 1",
    ),
    (
        "deployment scaling",
        make("apps/v1", "Deployment", {"replicas": 3}, DEPLOY_OK, generation=2),
        Status.IN_PROGRESS,
        "Replicas: 2/3",
    ),
    (
        "deployment not ready",
        make(
            "apps/v1",
            "Deployment",
            {"replicas": 2},
            {**DEPLOY_OK, "readyReplicas": 1},
            generation=2,
        ),
        Status.IN_PROGRESS,
        "Ready: 1/2",
    ),
    (
        "deployment unavailable",
        make(
            "apps/v1",
            "Deployment",
            {"replicas": 2},
            {**DEPLOY_OK, "conditions": [AVAILABLE[1]]},
            generation=2,
        ),
        Status.IN_PROGRESS,
        "Deployment not Available",
    ),
    (
        "deployment deadline",
        make(
            "apps/v1",
            "Deployment",
            {},
            {"conditions": [cond("Progressing", "False", "ProgressDeadlineExceeded")]},
        ),
        Status.FAILED,
        "Progress deadline exceeded",
    ),
    (
        "statefulset ready",
        make(
            "apps/v1",
            "StatefulSet",
            {"replicas": 1},
            {
                "replicas": 1,
                "readyReplicas": 1,
                "currentReplicas": 1,
                "updatedReplicas": 1,
                "currentRevision": "r1",
                "updateRevision": "r1",
            },
        ),
        Status.CURRENT,
        "All replicas scheduled as expected. Replicas: 1",
    ),
    (
        "statefulset rolling",
        make(
            "apps/v1",
            "StatefulSet",
            {"replicas": 1},
            {
                "replicas": 1,
                "readyReplicas": 1,
                "currentReplicas": 1,
                "currentRevision": "r1",
                "updateRevision": "r2",
            },
        ),
        Status.IN_PROGRESS,
        "Waiting for updated revision to match current",
    ),
    (
        "statefulset ondelete",
        make("apps/v1", "StatefulSet", {"updateStrategy": {"type": "OnDelete"}}, {}),
        Status.CURRENT,
        "StatefulSet is using the ondelete update strategy",
    ),
    (
        "daemonset ready",
        make(
            "apps/v1",
            "DaemonSet",
            {},
            {
                "observedGeneration": 1,
                "desiredNumberScheduled": 2,
                "currentNumberScheduled": 2,
                "updatedNumberScheduled": 2,
                "numberAvailable": 2,
                "numberReady": 2,
            },
            generation=1,
        ),
        Status.CURRENT,
        "All replicas scheduled as expected. Replicas: 2",
    ),
    (
        "daemonset unobserved",
        make("apps/v1", "DaemonSet", {}, {}, generation=1),
        Status.IN_PROGRESS,
        "DaemonSet status.observedGeneration not found",
    ),
    (
        "daemonset partial",
        make(
            "apps/v1",
            "DaemonSet",
            {},
            {
                "observedGeneration": 1,
                "desiredNumberScheduled": 2,
                "currentNumberScheduled": 2,
                "updatedNumberScheduled": 1,
            },
            generation=1,
        ),
        Status.IN_PROGRESS,
        "Updated: 1/2",
    ),
    (
        "job complete",
        make(
            "batch/v1",
            "Job",
            {"completions": 1},
            {"succeeded": 1, "conditions": [cond("Complete", "True")]},
        ),
        Status.CURRENT,
        "Job Completed. succeeded: 1/1",
    ),
    (
        "job failed",
        make("batch/v1", "Job", {}, {"failed": 1, "conditions": [cond("Failed", "True")]}),
        Status.FAILED,
        "Job Failed. failed: 1/1",
    ),
    ("job not started", make("batch/v1", "Job", {}, {}), Status.IN_PROGRESS, "Job not started"),
    (
        "pvc bound",
        make("v1", "PersistentVolumeClaim", {}, {"phase": "Bound"}),
        Status.CURRENT,
        "PVC is Bound",
    ),
    (
        "pvc pending",
        make("v1", "PersistentVolumeClaim", {}, {"phase": "Pending"}),
        Status.IN_PROGRESS,
        "PVC is not Bound. phase: Pending",
    ),
    (
        "service clusterip",
        make("v1", "Service", {"type": "ClusterIP"}),
        Status.CURRENT,
        "Service is ready",
    ),
    (
        "service lb without ip",
        make("v1", "Service", {"type": "LoadBalancer"}),
        Status.IN_PROGRESS,
        "ClusterIP not set. Service type: LoadBalancer",
    ),
    (
        "pod ready",
        make("v1", "Pod", {}, {"phase": "Running", "conditions": [cond("Ready", "True")]}),
        Status.CURRENT,
        "Pod is Ready",
    ),
    (
        "pod crashloop",
        make(
            "v1",
            "Pod",
            {},
            {
                "phase": "Running",
                "containerStatuses": [
                    {"name": "app", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
                ],
            },
        ),
        Status.FAILED,
        "Containers in CrashLoop state: app",
    ),
    (
        "pod pending",
        make("v1", "Pod", {}, {"phase": "Pending"}),
        Status.IN_PROGRESS,
        "Pod is in the Pending phase",
    ),
    (
        "crd established",
        make(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            {},
            {"conditions": [cond("NamesAccepted", "True"), cond("Established", "True")]},
        ),
        Status.CURRENT,
        "CRD is established",
    ),
    (
        "crd installing",
        make("apiextensions.k8s.io/v1", "CustomResourceDefinition", {}, {}),
        Status.IN_PROGRESS,
        "Install in progress",
    ),
    (
        "crd names conflict",
        make(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            {},
            {"conditions": [cond("NamesAccepted", "False", "NameConflict", "taken")]},
        ),
        Status.FAILED,
        "taken",
    ),
    (
        "namespace active",
        make("v1", "Namespace", {}, {"phase": "Active"}),
        Status.CURRENT,
        "Namespace is active",
    ),
    ("configmap", make("v1", "ConfigMap"), Status.CURRENT, "Resource is always ready"),
    (
        "custom ready",
        make("example.com/v1", "Widget", {}, {"conditions": [cond("Ready", "True")]}),
        Status.CURRENT,
        "Resource is Ready",
    ),
    (
        "custom not ready",
        make(
            "example.com/v1",
            "Widget",
            {},
            {"conditions": [cond("Ready", "False", "Waiting", "dependency")]},
        ),
        Status.IN_PROGRESS,
        "dependency",
    ),
    (
        "custom reconciling",
        make(
            "example.com/v1",
            "Widget",
            {},
            {"conditions": [cond("Reconciling", "True", "Progressing", "working")]},
        ),
        Status.IN_PROGRESS,
        "working",
    ),
    (
        "custom stalled",
        make(
            "example.com/v1",
            "Widget",
            {},
            {"conditions": [cond("Stalled", "True", "Broken", "bad spec")]},
        ),
        Status.FAILED,
        "bad spec",
    ),
    (
        "custom no conditions",
        make("example.com/v1", "Widget", {}, {}),
        Status.CURRENT,
        "Resource is current",
    ),
    (
        "terminating",
        make("v1", "ConfigMap", deletionTimestamp="2024-01-01T00:00:00Z"),
        Status.TERMINATING,
        "Resource scheduled for deletion",
    ),
]


@pytest.mark.parametrize(
    ("obj", "status", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_compute_status(obj: Any, status: Status, message: str) -> None:
    result = compute_status(obj)
    assert (result.status, result.message) == (status, message)


def test_missing_object_is_not_found() -> None:
    assert compute_status(None).status is Status.NOT_FOUND
