"""Apply stages, apply order and the per-object annotations of kustomize-controller."""

from __future__ import annotations

from typing import Any

import pytest
from kustomize_controller.apply_plan import (
    SSAPolicy,
    apply_stages,
    is_apply_excluded,
    is_create_only,
    is_force_enabled,
    is_prunable,
    is_reconcile_disabled,
    set_common_metadata,
    set_owner_labels,
    skips_field_cleanup,
    sort_objects,
    ssa_policy,
)


def obj(
    api_version: str,
    kind: str,
    name: str = "x",
    namespace: str | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    if labels:
        metadata["labels"] = labels
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata}


def kinds(objects: list[dict[str, Any]]) -> list[str]:
    return [o["kind"] for o in objects]


def test_stages_put_definitions_then_classes_then_custom_then_the_rest() -> None:
    objects = [
        obj("apps/v1", "Deployment", namespace="a"),
        obj("networking.k8s.io/v1", "IngressClass"),
        obj("example.com/v1", "Widget", namespace="a"),
        obj("rbac.authorization.k8s.io/v1", "ClusterRole"),
        obj("v1", "Namespace"),
        obj("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
        obj("v1", "ConfigMap", namespace="a"),
    ]
    stages = apply_stages(objects, custom_stage_kinds={("example.com", "Widget")})
    assert kinds(stages.definitions) == ["CustomResourceDefinition", "Namespace", "ClusterRole"]
    assert kinds(stages.classes) == ["IngressClass"]
    assert kinds(stages.custom) == ["Widget"]
    assert kinds(stages.resources) == ["ConfigMap", "Deployment"]
    assert [(name, wait) for name, _, wait in stages.in_order()] == [
        ("definitions", True),
        ("classes", True),
        ("custom", False),
        ("resources", False),
    ]


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [
        ("example.com/v1", "Namespace"),
        ("v1beta1", "CustomResourceDefinition"),
        ("v1", "ClusterRole"),
    ],
)
def test_lookalike_kinds_from_other_groups_are_not_definitions(api_version: str, kind: str) -> None:
    assert apply_stages([obj(api_version, kind)]).definitions == []


def test_sort_follows_flux_reconcile_order_then_group_kind_namespace_name() -> None:
    objects = [
        obj("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
        obj("example.com/v1", "Widget", "b", "ns"),
        obj("example.com/v1", "Widget", "a", "ns"),
        obj("apps/v1", "Deployment", "d", "ns"),
        obj("v1", "Service", "s", "ns"),
        obj("v1", "Secret", "s", "ns"),
        obj("v1", "ServiceAccount", "sa", "ns"),
        obj("v1", "Namespace", "ns"),
    ]
    ordered = [(o["kind"], o["metadata"]["name"]) for o in sort_objects(objects)]
    assert ordered == [
        ("Namespace", "ns"),
        ("ServiceAccount", "sa"),
        ("Secret", "s"),
        ("Service", "s"),
        ("Deployment", "d"),
        ("Widget", "a"),
        ("Widget", "b"),
        ("ValidatingWebhookConfiguration", "x"),
    ]


SSA = "kustomize.toolkit.fluxcd.io/ssa"


@pytest.mark.parametrize(
    ("value", "policy"),
    [
        ("Override", SSAPolicy.OVERRIDE),
        ("merge", SSAPolicy.MERGE),
        ("IfNotPresent", SSAPolicy.IF_NOT_PRESENT),
        ("ignore", SSAPolicy.IGNORE),
        ("bogus", SSAPolicy.OVERRIDE),
    ],
)
def test_ssa_annotation_is_case_insensitive(value: str, policy: SSAPolicy) -> None:
    assert ssa_policy(obj("v1", "ConfigMap", annotations={SSA: value})) is policy


def test_predicates_read_labels_as_well_as_annotations() -> None:
    ignored = obj("v1", "ConfigMap", labels={SSA: "Ignore"})
    create_only = obj("v1", "ConfigMap", annotations={SSA: "IfNotPresent"})
    merged = obj("v1", "ConfigMap", annotations={SSA: "Merge"})
    disabled = obj("v1", "ConfigMap", labels={"kustomize.toolkit.fluxcd.io/reconcile": "Disabled"})
    forced = obj("v1", "ConfigMap", annotations={"kustomize.toolkit.fluxcd.io/force": "enabled"})
    assert is_apply_excluded(ignored)
    assert not is_apply_excluded(create_only)
    assert is_create_only(create_only)
    assert skips_field_cleanup(merged)
    assert is_reconcile_disabled(disabled)
    assert is_apply_excluded(disabled)
    assert is_force_enabled(forced)
    assert not is_force_enabled(merged)


OWNER = {
    "kustomize.toolkit.fluxcd.io/name": "apps",
    "kustomize.toolkit.fluxcd.io/namespace": "flux",
}


@pytest.mark.parametrize(
    ("labels", "annotations", "prunable"),
    [
        (OWNER, {}, True),
        ({}, {}, False),
        ({**OWNER, "kustomize.toolkit.fluxcd.io/name": "other"}, {}, False),
        (OWNER, {"kustomize.toolkit.fluxcd.io/prune": "disabled"}, False),
        (OWNER, {"kustomize.toolkit.fluxcd.io/reconcile": "disabled"}, False),
    ],
)
def test_prune_needs_owner_labels_and_no_opt_out(
    labels: dict[str, str], annotations: dict[str, str], prunable: bool
) -> None:
    live = obj("v1", "ConfigMap", labels=labels, annotations=annotations)
    assert is_prunable(live, "apps", "flux") is prunable


def test_common_metadata_and_owner_labels_override_existing_keys() -> None:
    objects = [obj("v1", "ConfigMap", labels={"team": "old", "keep": "1"})]
    set_common_metadata(objects, labels={"team": "new"}, annotations={"note": "x"})
    set_owner_labels(objects, "apps", "flux")
    metadata = objects[0]["metadata"]
    assert metadata["labels"] == {"team": "new", "keep": "1", **OWNER}
    assert metadata["annotations"] == {"note": "x"}
