"""What to apply, in which stage and how: Flux's ordering and per-object annotations.

Pure functions over object dicts, following fluxcd/pkg ssa (`sort.go`, `utils/is.go`,
`ApplyAllStaged`) and kustomize-controller's apply options.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

GROUP = "kustomize.toolkit.fluxcd.io"
RECONCILE_KEY = f"{GROUP}/reconcile"
SSA_KEY = f"{GROUP}/ssa"
PRUNE_KEY = f"{GROUP}/prune"
FORCE_KEY = f"{GROUP}/force"
OWNER_NAME_LABEL = f"{GROUP}/name"
OWNER_NAMESPACE_LABEL = f"{GROUP}/namespace"

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


class SSAPolicy(Enum):
    """The `kustomize.toolkit.fluxcd.io/ssa` annotation's values."""

    OVERRIDE = "Override"
    MERGE = "Merge"
    IF_NOT_PRESENT = "IfNotPresent"
    IGNORE = "Ignore"


def _api_version(obj: Mapping[str, Any]) -> str:
    return str(obj.get("apiVersion", ""))


def _group(obj: Mapping[str, Any]) -> str:
    return _api_version(obj).rpartition("/")[0]


def _metadata(obj: Mapping[str, Any], field_name: str) -> Mapping[str, str]:
    return (obj.get("metadata") or {}).get(field_name) or {}


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


def any_in_metadata(obj: Mapping[str, Any], selector: Mapping[str, str]) -> bool:
    """A label or annotation matches one of `selector`'s pairs (value case-insensitive)."""
    labels, annotations = _metadata(obj, "labels"), _metadata(obj, "annotations")
    for key, wanted in selector.items():
        for source in (labels, annotations):
            value = source.get(key)
            if value and str(value).casefold() == wanted.casefold():
                return True
    return False


def ssa_policy(obj: Mapping[str, Any]) -> SSAPolicy:
    """How the object is applied; anything unrecognised means the default, Override."""
    for policy in (SSAPolicy.IGNORE, SSAPolicy.IF_NOT_PRESENT, SSAPolicy.MERGE):
        if any_in_metadata(obj, {SSA_KEY: policy.value}):
            return policy
    return SSAPolicy.OVERRIDE


def is_reconcile_disabled(obj: Mapping[str, Any]) -> bool:
    """`reconcile: disabled`: neither applied nor pruned."""
    return any_in_metadata(obj, {RECONCILE_KEY: "disabled"})


def is_apply_excluded(obj: Mapping[str, Any]) -> bool:
    """Skipped by apply: `reconcile: disabled` or `ssa: Ignore`."""
    return is_reconcile_disabled(obj) or ssa_policy(obj) is SSAPolicy.IGNORE


def is_create_only(obj: Mapping[str, Any]) -> bool:
    """`ssa: IfNotPresent`: created when missing, never updated."""
    return ssa_policy(obj) is SSAPolicy.IF_NOT_PRESENT


def is_force_enabled(obj: Mapping[str, Any]) -> bool:
    """`force: enabled`: recreate the object when an immutable field changes."""
    return any_in_metadata(obj, {FORCE_KEY: "enabled"})


def skips_field_cleanup(obj: Mapping[str, Any]) -> bool:
    """`ssa: Merge`: other managers' fields are kept (no takeover from kubectl & co)."""
    return ssa_policy(obj) is SSAPolicy.MERGE


def is_prunable(obj: Mapping[str, Any], owner_name: str, owner_namespace: str) -> bool:
    """May garbage collection delete this live object?

    Only objects carrying this Kustomization's owner labels, and not opted out with
    `prune: disabled` or `reconcile: disabled`.
    """
    labels = _metadata(obj, "labels")
    owned = (
        labels.get(OWNER_NAME_LABEL) == owner_name
        and labels.get(OWNER_NAMESPACE_LABEL) == owner_namespace
    )
    excluded = any_in_metadata(obj, {PRUNE_KEY: "disabled"}) or is_reconcile_disabled(obj)
    return owned and not excluded


def set_owner_labels(objects: Sequence[dict[str, Any]], name: str, namespace: str) -> None:
    """Stamp `kustomize.toolkit.fluxcd.io/{name,namespace}` on every object, in place."""
    set_common_metadata(objects, labels={OWNER_NAME_LABEL: name, OWNER_NAMESPACE_LABEL: namespace})


def set_common_metadata(
    objects: Sequence[dict[str, Any]],
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> None:
    """`spec.commonMetadata`: add labels/annotations to every object, overriding same keys.

    Flux does this after the build (not in the kustomization file), so selectors and
    templates are left alone; in place.
    """
    for obj in objects:
        metadata = obj.setdefault("metadata", {})
        for field_name, values in (("labels", labels), ("annotations", annotations)):
            if values:
                merged = dict(metadata.get(field_name) or {})
                merged.update(values)
                metadata[field_name] = merged
