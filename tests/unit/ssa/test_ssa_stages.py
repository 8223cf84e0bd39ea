"""Apply stages and apply order, as Flux's ssa.ReconcileOrder and ApplyAllStaged."""

from __future__ import annotations

from typing import Any

import pytest
from gotk_ssa.stages import apply_stages, sort_objects


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
