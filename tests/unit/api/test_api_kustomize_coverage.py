"""Every Kustomization field of the Flux 2.8 API checklist
(/work/shared/reference/flux-api-checklist.md, "Kustomization") is in the generated CRD, with
the checklist's enums, defaults and required fields; fields Flux only added in 2.9 are not."""

from __future__ import annotations

from typing import Any

import pytest
from gotk_api import crds
from gotk_api.kustomize import Kustomization
from gotk_api.registry import find_kind

CRD = crds.crd(Kustomization)
SCHEMA: dict[str, Any] = CRD["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def _node(path: str) -> dict[str, Any] | None:
    """The schema node at `spec.a.b[].c` (`[]` steps into array items), or None."""
    node: dict[str, Any] | None = SCHEMA
    for step in path.split("."):
        assert node is not None
        node = node.get("properties", {}).get(step.removesuffix("[]"))
        if node is None:
            return None
        if step.endswith("[]"):
            if node.get("type") != "array":
                return None
            node = node["items"]
    return node


def _required(path: str) -> bool:
    parent, _, leaf = path.rpartition(".")
    holder = _node(parent) if parent else SCHEMA
    return holder is not None and leaf.removesuffix("[]") in holder.get("required", [])


CHECKLIST_FIELDS = [
    "spec.sourceRef.apiVersion",
    "spec.sourceRef.kind",
    "spec.sourceRef.name",
    "spec.sourceRef.namespace",
    "spec.path",
    "spec.interval",
    "spec.retryInterval",
    "spec.timeout",
    "spec.prune",
    "spec.deletionPolicy",
    "spec.wait",
    "spec.healthChecks[].apiVersion",
    "spec.healthChecks[].kind",
    "spec.healthChecks[].name",
    "spec.healthChecks[].namespace",
    "spec.healthCheckExprs[].apiVersion",
    "spec.healthCheckExprs[].kind",
    "spec.healthCheckExprs[].current",
    "spec.healthCheckExprs[].inProgress",
    "spec.healthCheckExprs[].failed",
    "spec.dependsOn[].name",
    "spec.dependsOn[].namespace",
    "spec.dependsOn[].readyExpr",
    "spec.force",
    "spec.targetNamespace",
    "spec.namePrefix",
    "spec.nameSuffix",
    "spec.commonMetadata.labels",
    "spec.commonMetadata.annotations",
    "spec.patches[].patch",
    "spec.patches[].target.group",
    "spec.patches[].target.version",
    "spec.patches[].target.kind",
    "spec.patches[].target.name",
    "spec.patches[].target.namespace",
    "spec.patches[].target.labelSelector",
    "spec.patches[].target.annotationSelector",
    "spec.images[].name",
    "spec.images[].newName",
    "spec.images[].newTag",
    "spec.images[].digest",
    "spec.components",
    "spec.ignoreMissingComponents",
    "spec.serviceAccountName",
    "spec.kubeConfig.secretRef.name",
    "spec.kubeConfig.secretRef.key",
    "spec.kubeConfig.configMapRef.name",
    "spec.decryption.provider",
    "spec.decryption.secretRef.name",
    "spec.decryption.serviceAccountName",
    "spec.postBuild.substitute",
    "spec.postBuild.substituteFrom[].kind",
    "spec.postBuild.substituteFrom[].name",
    "spec.postBuild.substituteFrom[].optional",
    "spec.suspend",
    "status.observedGeneration",
    "status.conditions[].type",
    "status.lastHandledReconcileAt",
    "status.lastAppliedRevision",
    "status.lastAppliedOriginRevision",
    "status.lastAttemptedRevision",
    "status.inventory.entries[].id",
    "status.inventory.entries[].v",
    "status.history[].digest",
    "status.history[].firstReconciled",
    "status.history[].lastReconciled",
    "status.history[].lastReconciledDuration",
    "status.history[].lastReconciledStatus",
    "status.history[].totalReconciliations",
    "status.history[].metadata",
]

FLUX_2_9_ONLY = ["spec.postBuild.substituteStrategy", "spec.ignore", "spec.buildMetadata"]


@pytest.mark.parametrize("path", CHECKLIST_FIELDS)
def test_checklist_field_is_in_the_crd(path: str) -> None:
    assert _node(path) is not None, path


@pytest.mark.parametrize("path", FLUX_2_9_ONLY)
def test_fields_added_after_flux_2_8_are_absent(path: str) -> None:
    assert _node(path) is None, path


@pytest.mark.parametrize(
    ("path", "values"),
    [
        ("spec.sourceRef.kind", ["OCIRepository", "GitRepository", "Bucket", "ExternalArtifact"]),
        ("spec.deletionPolicy", ["MirrorPrune", "Delete", "WaitForTermination", "Orphan"]),
        ("spec.decryption.provider", ["sops"]),
        ("spec.postBuild.substituteFrom[].kind", ["Secret", "ConfigMap"]),
    ],
)
def test_enums_match_the_checklist(path: str, values: list[str]) -> None:
    node = _node(path)
    assert node is not None
    assert sorted(node["enum"]) == sorted(values)


@pytest.mark.parametrize(
    "path",
    [
        "spec.interval",
        "spec.prune",
        "spec.sourceRef",
        "spec.sourceRef.kind",
        "spec.sourceRef.name",
        "spec.decryption.provider",
        "spec.patches[].patch",
        "spec.images[].name",
        "spec.healthCheckExprs[].current",
        "status.inventory.entries",
        "status.inventory.entries[].v",
        "status.history[].digest",
    ],
)
def test_required_fields_match_flux(path: str) -> None:
    assert _required(path), path


def test_only_force_and_substitute_optional_have_crd_defaults() -> None:
    defaults: list[str] = []

    def walk(node: dict[str, Any], at: str) -> None:
        if "default" in node:
            defaults.append(at)
        for name, child in node.get("properties", {}).items():
            walk(child, f"{at}.{name}" if at else name)
        if "items" in node:
            walk(node["items"], f"{at}[]")

    walk(SCHEMA, "")
    assert sorted(defaults) == [
        "spec.force",
        "spec.postBuild.substituteFrom[].optional",
        "status",
    ]
    assert SCHEMA["properties"]["status"]["default"] == {"observedGeneration": -1}


@pytest.mark.parametrize("path", ["spec.interval", "spec.retryInterval", "spec.timeout"])
def test_durations_use_flux_interval_pattern(path: str) -> None:
    node = _node(path)
    assert node is not None
    assert node["pattern"] == r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"


def test_kube_config_requires_exactly_one_reference_by_cel() -> None:
    node = _node("spec.kubeConfig")
    assert node is not None
    rules = [rule["rule"] for rule in node["x-kubernetes-validations"]]
    assert rules == [
        "has(self.configMapRef) || has(self.secretRef)",
        "!has(self.configMapRef) || !has(self.secretRef)",
    ]


def test_names_and_printer_columns_match_flux() -> None:
    names = CRD["spec"]["names"]
    assert (names["kind"], names["plural"], names["shortNames"]) == (
        "Kustomization",
        "kustomizations",
        ["ks"],
    )
    columns = CRD["spec"]["versions"][0]["additionalPrinterColumns"]
    assert [(c["name"], c["jsonPath"]) for c in columns] == [
        ("Age", ".metadata.creationTimestamp"),
        ("Ready", '.status.conditions[?(@.type=="Ready")].status'),
        ("Status", '.status.conditions[?(@.type=="Ready")].message'),
    ]
    assert CRD["metadata"]["name"] == "kustomizations.kustomize.toolkit.fluxcd.io"


def test_kustomization_is_registered() -> None:
    assert find_kind("ks") is Kustomization
    assert find_kind("Kustomization", "kustomize.toolkit.fluxcd.io") is Kustomization
