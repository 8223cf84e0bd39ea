"""Apply order and stages: Flux's reconcile order and ``ApplyAllStaged`` split.

Pure functions over object dicts, following fluxcd/pkg ssa (`utils/sort.go`, `utils/is.go`,
`ApplyAllStaged`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# ssa.ReconcileOrder: kinds applied first (in this order) and last; others sit between.
FIRST_KINDS = (
    "CustomResourceDefinition",
    "Namespace",
    "ClusterRole",
    "ClusterClass",
    "RuntimeClass",
    "PriorityClass",
    "StorageClass",
    "VolumeSnapshotClass",
    "IngressClass",
    "GatewayClass",
    "ClusterRoleBinding",
    "ResourceQuota",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ConfigMap",
    "Secret",
    "Service",
    "LimitRange",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
)
LAST_KINDS = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
_KIND_INDEX = {kind: i - len(FIRST_KINDS) for i, kind in enumerate(FIRST_KINDS)} | {
    kind: 1 + i for i, kind in enumerate(LAST_KINDS)
}


def _api_version(obj: Mapping[str, Any]) -> str:
    return str(obj.get("apiVersion", ""))


def _group(obj: Mapping[str, Any]) -> str:
    return _api_version(obj).rpartition("/")[0]


def sort_key(obj: Mapping[str, Any]) -> tuple[int, str, str, str, str]:
    """Flux's apply order: kind rank, then group, kind, namespace and name."""
    metadata = obj.get("metadata") or {}
    kind = str(obj.get("kind", ""))
    return (
        _KIND_INDEX.get(kind, 0),
        _group(obj),
        kind,
        metadata.get("namespace") or "",
        metadata.get("name") or "",
    )


def sort_objects(objects: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(objects, key=sort_key)


def is_crd(obj: Mapping[str, Any]) -> bool:
    return str(obj.get("kind", "")).lower() == "customresourcedefinition" and _api_version(
        obj
    ).startswith("apiextensions.k8s.io/")


def is_namespace(obj: Mapping[str, Any]) -> bool:
    return str(obj.get("kind", "")).lower() == "namespace" and _api_version(obj) == "v1"


def is_cluster_role(obj: Mapping[str, Any]) -> bool:
    return str(obj.get("kind", "")).lower() == "clusterrole" and _api_version(obj).startswith(
        "rbac.authorization.k8s.io/"
    )


def is_cluster_definition(obj: Mapping[str, Any]) -> bool:
    """CRDs, Namespaces and ClusterRoles: applied first, then waited for."""
    return is_crd(obj) or is_namespace(obj) or is_cluster_role(obj)


def is_class_definition(obj: Mapping[str, Any]) -> bool:
    """StorageClass, IngressClass, GatewayClass, ...: the second stage, also waited for."""
    return str(obj.get("kind", "")).endswith("Class")


@dataclass
class ApplyStages:
    """Flux's `ApplyAllStaged` split; the first two stages are waited on before the next."""

    definitions: list[dict[str, Any]] = field(default_factory=list)
    classes: list[dict[str, Any]] = field(default_factory=list)
    custom: list[dict[str, Any]] = field(default_factory=list)
    resources: list[dict[str, Any]] = field(default_factory=list)

    def in_order(self) -> list[tuple[str, list[dict[str, Any]], bool]]:
        """(stage name, objects, wait-for-ready) for each non-empty stage, in apply order."""
        stages = [
            ("definitions", self.definitions, True),
            ("classes", self.classes, True),
            ("custom", self.custom, False),
            ("resources", self.resources, False),
        ]
        return [stage for stage in stages if stage[1]]


def apply_stages(
    objects: Iterable[dict[str, Any]], custom_stage_kinds: Collection[tuple[str, str]] = ()
) -> ApplyStages:
    """Split objects into stages; `custom_stage_kinds` holds (group, kind) pairs
    (`--custom-apply-stage-kinds`). Each stage is sorted in apply order."""
    stages = ApplyStages()
    for obj in sort_objects(objects):
        if is_cluster_definition(obj):
            stages.definitions.append(obj)
        elif is_class_definition(obj):
            stages.classes.append(obj)
        elif (_group(obj), str(obj.get("kind", ""))) in custom_stage_kinds:
            stages.custom.append(obj)
        else:
            stages.resources.append(obj)
    return stages
