"""Every HelmRelease field of the Flux 2.8 API checklist
(/work/shared/reference/flux-api-checklist.md, "HelmRelease") is in the generated CRD, with
the checklist's enums, defaults and required fields; fields Flux only added in 2.9 are not."""

from __future__ import annotations

from typing import Any

import pytest
from gotk_api import crds
from gotk_api.helm import HelmRelease
from gotk_api.registry import find_kind

CRD = crds.crd(HelmRelease)
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
    return holder is not None and leaf in holder.get("required", [])


_FLAGS = [
    "disableHooks",
    "disableWait",
    "disableWaitForJobs",
    "disableOpenAPIValidation",
    "disableSchemaValidation",
    "disableTakeOwnership",
]

CHECKLIST_FIELDS = [
    "spec.chart.spec.chart",
    "spec.chart.spec.version",
    "spec.chart.spec.sourceRef.kind",
    "spec.chart.spec.sourceRef.name",
    "spec.chart.spec.sourceRef.namespace",
    "spec.chart.spec.interval",
    "spec.chart.spec.reconcileStrategy",
    "spec.chart.spec.valuesFiles",
    "spec.chart.spec.ignoreMissingValuesFiles",
    "spec.chart.spec.verify.provider",
    "spec.chart.spec.verify.secretRef.name",
    "spec.chart.metadata.labels",
    "spec.chart.metadata.annotations",
    "spec.chartRef.kind",
    "spec.chartRef.name",
    "spec.chartRef.namespace",
    "spec.interval",
    "spec.timeout",
    "spec.releaseName",
    "spec.targetNamespace",
    "spec.storageNamespace",
    "spec.maxHistory",
    "spec.persistentClient",
    "spec.serviceAccountName",
    "spec.kubeConfig.secretRef.name",
    "spec.kubeConfig.configMapRef.name",
    "spec.dependsOn[].name",
    "spec.dependsOn[].namespace",
    "spec.dependsOn[].readyExpr",
    "spec.values",
    "spec.valuesFrom[].kind",
    "spec.valuesFrom[].name",
    "spec.valuesFrom[].valuesKey",
    "spec.valuesFrom[].targetPath",
    "spec.valuesFrom[].optional",
    "spec.postRenderers[].kustomize.patches[].patch",
    "spec.postRenderers[].kustomize.patches[].target.kind",
    "spec.postRenderers[].kustomize.images[].name",
    "spec.commonMetadata.labels",
    "spec.commonMetadata.annotations",
    "spec.driftDetection.mode",
    "spec.driftDetection.ignore[].paths",
    "spec.driftDetection.ignore[].target.kind",
    "spec.suspend",
    *(f"spec.install.{flag}" for flag in _FLAGS),
    "spec.install.timeout",
    "spec.install.crds",
    "spec.install.createNamespace",
    "spec.install.replace",
    "spec.install.skipCRDs",
    "spec.install.serverSideApply",
    "spec.install.strategy.name",
    "spec.install.strategy.retryInterval",
    "spec.install.remediation.retries",
    "spec.install.remediation.ignoreTestFailures",
    "spec.install.remediation.remediateLastFailure",
    *(f"spec.upgrade.{flag}" for flag in _FLAGS),
    "spec.upgrade.timeout",
    "spec.upgrade.force",
    "spec.upgrade.preserveValues",
    "spec.upgrade.cleanupOnFail",
    "spec.upgrade.crds",
    "spec.upgrade.serverSideApply",
    "spec.upgrade.strategy.name",
    "spec.upgrade.strategy.retryInterval",
    "spec.upgrade.remediation.retries",
    "spec.upgrade.remediation.ignoreTestFailures",
    "spec.upgrade.remediation.remediateLastFailure",
    "spec.upgrade.remediation.strategy",
    "spec.test.enable",
    "spec.test.timeout",
    "spec.test.ignoreFailures",
    "spec.test.filters[].name",
    "spec.test.filters[].exclude",
    "spec.rollback.timeout",
    "spec.rollback.disableWait",
    "spec.rollback.disableWaitForJobs",
    "spec.rollback.disableHooks",
    "spec.rollback.recreate",
    "spec.rollback.force",
    "spec.rollback.cleanupOnFail",
    "spec.rollback.serverSideApply",
    "spec.uninstall.timeout",
    "spec.uninstall.disableHooks",
    "spec.uninstall.keepHistory",
    "spec.uninstall.disableWait",
    "spec.uninstall.deletionPropagation",
    "spec.waitStrategy.name",
    "spec.healthCheckExprs[].current",
    "status.observedGeneration",
    "status.conditions[].reason",
    "status.lastHandledReconcileAt",
    "status.helmChart",
    "status.storageNamespace",
    "status.inventory.entries[].id",
    "status.inventory.entries[].v",
    "status.lastAttemptedReleaseAction",
    "status.lastAttemptedReleaseActionDuration",
    "status.failures",
    "status.installFailures",
    "status.upgradeFailures",
    "status.lastAttemptedRevision",
    "status.lastAttemptedRevisionDigest",
    "status.lastAttemptedValuesChecksum",
    "status.lastAttemptedConfigDigest",
    "status.lastAttemptedGeneration",
    "status.lastReleaseRevision",
    "status.observedPostRenderersDigest",
    "status.observedCommonMetadataDigest",
    "status.lastHandledForceAt",
    "status.lastHandledResetAt",
    *(
        f"status.history[].{name}"
        for name in (
            "apiVersion",
            "digest",
            "name",
            "namespace",
            "version",
            "status",
            "action",
            "chartName",
            "chartVersion",
            "appVersion",
            "configDigest",
            "firstDeployed",
            "lastDeployed",
            "deleted",
            "testHooks",
            "ociDigest",
        )
    ),
]

FLUX_2_9_ONLY = [
    "spec.postRenderStrategy",
    "spec.chartNameChangeStrategy",
    "spec.valuesFrom[].literal",
]


@pytest.mark.parametrize("path", CHECKLIST_FIELDS)
def test_checklist_field_is_in_the_crd(path: str) -> None:
    assert _node(path) is not None, path


@pytest.mark.parametrize("path", FLUX_2_9_ONLY)
def test_fields_added_after_flux_2_8_are_absent(path: str) -> None:
    assert _node(path) is None, path


@pytest.mark.parametrize(
    ("path", "values"),
    [
        ("spec.chart.spec.sourceRef.kind", ["HelmRepository", "GitRepository", "Bucket"]),
        ("spec.chart.spec.reconcileStrategy", ["ChartVersion", "Revision"]),
        ("spec.chart.spec.verify.provider", ["cosign", "notation"]),
        ("spec.chartRef.kind", ["OCIRepository", "HelmChart", "ExternalArtifact"]),
        ("spec.driftDetection.mode", ["enabled", "warn", "disabled"]),
        ("spec.install.crds", ["Skip", "Create", "CreateReplace"]),
        ("spec.upgrade.crds", ["Skip", "Create", "CreateReplace"]),
        ("spec.install.strategy.name", ["RemediateOnFailure", "RetryOnFailure"]),
        ("spec.upgrade.strategy.name", ["RemediateOnFailure", "RetryOnFailure"]),
        ("spec.upgrade.remediation.strategy", ["rollback", "uninstall"]),
        ("spec.upgrade.serverSideApply", ["enabled", "disabled", "auto"]),
        ("spec.rollback.serverSideApply", ["enabled", "disabled", "auto"]),
        ("spec.uninstall.deletionPropagation", ["background", "foreground", "orphan"]),
        ("spec.waitStrategy.name", ["poller", "legacy"]),
        ("spec.valuesFrom[].kind", ["Secret", "ConfigMap"]),
        ("status.lastAttemptedReleaseAction", ["install", "upgrade"]),
    ],
)
def test_enums_match_the_checklist(path: str, values: list[str]) -> None:
    node = _node(path)
    assert node is not None
    assert sorted(node["enum"]) == sorted(values)


def test_install_server_side_apply_is_a_bool_not_a_mode() -> None:
    node = _node("spec.install.serverSideApply")
    assert node == {"type": "boolean"}


def test_crd_defaults_are_exactly_flux_ones() -> None:
    defaults: dict[str, Any] = {}

    def walk(node: dict[str, Any], at: str) -> None:
        if "default" in node:
            defaults[at] = node["default"]
        for name, child in node.get("properties", {}).items():
            walk(child, f"{at}.{name}" if at else name)
        if "items" in node:
            walk(node["items"], f"{at}[]")

    walk(SCHEMA, "")
    assert defaults == {
        "spec.chart.spec.version": "*",
        "spec.chart.spec.reconcileStrategy": "ChartVersion",
        "spec.chart.spec.verify.provider": "cosign",
        "spec.uninstall.deletionPropagation": "background",
        "status": {"observedGeneration": -1},
    }


@pytest.mark.parametrize(
    "path",
    [
        "spec.interval",
        "spec.chart.spec",
        "spec.chart.spec.chart",
        "spec.chart.spec.sourceRef",
        "spec.chart.spec.verify.provider",
        "spec.chartRef.kind",
        "spec.chartRef.name",
        "spec.install.strategy.name",
        "spec.waitStrategy.name",
        "spec.test.filters[].name",
        "spec.driftDetection.ignore[].paths",
        "status.history[].digest",
        "status.history[].firstDeployed",
        "status.history[].configDigest",
    ],
)
def test_required_fields_match_flux(path: str) -> None:
    assert _required(path), path


def test_values_are_preserved_as_free_form_json() -> None:
    assert _node("spec.values") == {"x-kubernetes-preserve-unknown-fields": True}


def test_cel_rules_are_flux_ones() -> None:
    spec = _node("spec")
    assert spec is not None
    assert spec["x-kubernetes-validations"] == [
        {
            "message": "either chart or chartRef must be set",
            "rule": "(has(self.chart) && !has(self.chartRef)) || "
            "(!has(self.chart) && has(self.chartRef))",
        }
    ]
    for action in ("install", "upgrade"):
        strategy = _node(f"spec.{action}.strategy")
        assert strategy is not None
        assert len(strategy["x-kubernetes-validations"]) == 1


def test_lengths_and_patterns_match_flux() -> None:
    limits = {
        "spec.releaseName": (1, 53),
        "spec.targetNamespace": (1, 63),
        "spec.storageNamespace": (1, 63),
        "spec.serviceAccountName": (1, 253),
        "spec.chart.spec.chart": (1, 2048),
        "spec.chartRef.name": (1, 253),
        "status.storageNamespace": (1, 63),
    }
    for path, (low, high) in limits.items():
        node = _node(path)
        assert node is not None
        assert (node.get("minLength"), node.get("maxLength")) == (low, high), path
    values_key = _node("spec.valuesFrom[].valuesKey")
    assert values_key is not None
    assert values_key["pattern"] == r"^[\-._a-zA-Z0-9]+$"


def test_names_and_printer_columns_match_flux() -> None:
    names = CRD["spec"]["names"]
    assert (names["kind"], names["plural"], names["shortNames"]) == (
        "HelmRelease",
        "helmreleases",
        ["hr"],
    )
    columns = CRD["spec"]["versions"][0]["additionalPrinterColumns"]
    assert [c["name"] for c in columns] == ["Age", "Ready", "Status"]
    assert CRD["metadata"]["name"] == "helmreleases.helm.toolkit.fluxcd.io"


def test_helm_release_is_registered() -> None:
    assert find_kind("hr") is HelmRelease
    assert find_kind("HelmRelease", "helm.toolkit.fluxcd.io") is HelmRelease
