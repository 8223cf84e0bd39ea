"""Every spec and status field of the five source kinds in the Flux API checklist
(/work/shared/reference/flux-api-checklist.md, section 1) exists on the models, and the
enums and defaults it states are the CRDs'. The table below transcribes that checklist."""

from __future__ import annotations

import types
import typing
from typing import Any

import pytest
from gotk_api import Bucket, GitRepository, HelmChart, HelmRepository, OCIRepository
from gotk_api.crds import openapi_schema
from gotk_api.registry import KindModel
from pydantic import BaseModel

SHARED_STATUS = ["observedGeneration", "conditions", "lastHandledReconcileAt"]

CHECKLIST: dict[KindModel, list[str]] = {
    GitRepository: [
        "spec.url",
        "spec.secretRef.name",
        "spec.provider",
        "spec.serviceAccountName",
        "spec.interval",
        "spec.timeout",
        "spec.ref.branch",
        "spec.ref.tag",
        "spec.ref.semver",
        "spec.ref.name",
        "spec.ref.commit",
        "spec.verify.mode",
        "spec.verify.secretRef.name",
        "spec.proxySecretRef.name",
        "spec.ignore",
        "spec.recurseSubmodules",
        "spec.include[].repository.name",
        "spec.include[].fromPath",
        "spec.include[].toPath",
        "spec.sparseCheckout",
        "spec.suspend",
        "status.artifact.revision",
        "status.includedArtifacts[].digest",
        "status.observedIgnore",
        "status.observedRecurseSubmodules",
        "status.observedInclude[].toPath",
        "status.observedSparseCheckout",
        "status.sourceVerificationMode",
    ],
    OCIRepository: [
        "spec.url",
        "spec.ref.digest",
        "spec.ref.semver",
        "spec.ref.semverFilter",
        "spec.ref.tag",
        "spec.layerSelector.mediaType",
        "spec.layerSelector.operation",
        "spec.provider",
        "spec.secretRef.name",
        "spec.verify.provider",
        "spec.verify.secretRef.name",
        "spec.verify.matchOIDCIdentity[].issuer",
        "spec.verify.matchOIDCIdentity[].subject",
        "spec.serviceAccountName",
        "spec.certSecretRef.name",
        "spec.proxySecretRef.name",
        "spec.interval",
        "spec.timeout",
        "spec.ignore",
        "spec.insecure",
        "spec.suspend",
        "status.url",
        "status.artifact.digest",
        "status.observedIgnore",
        "status.observedLayerSelector.operation",
    ],
    HelmRepository: [
        "spec.url",
        "spec.secretRef.name",
        "spec.certSecretRef.name",
        "spec.passCredentials",
        "spec.interval",
        "spec.timeout",
        "spec.insecure",
        "spec.accessFrom.namespaceSelectors[].matchLabels",
        "spec.type",
        "spec.provider",
        "spec.suspend",
        "status.url",
        "status.artifact.url",
    ],
    HelmChart: [
        "spec.chart",
        "spec.version",
        "spec.sourceRef.apiVersion",
        "spec.sourceRef.kind",
        "spec.sourceRef.name",
        "spec.interval",
        "spec.reconcileStrategy",
        "spec.valuesFiles",
        "spec.ignoreMissingValuesFiles",
        "spec.verify.provider",
        "spec.verify.matchOIDCIdentity[].subject",
        "spec.suspend",
        "status.observedSourceArtifactRevision",
        "status.observedChartName",
        "status.observedValuesFiles",
        "status.url",
        "status.artifact.path",
    ],
    Bucket: [
        "spec.provider",
        "spec.bucketName",
        "spec.endpoint",
        "spec.sts.provider",
        "spec.sts.endpoint",
        "spec.sts.secretRef.name",
        "spec.sts.certSecretRef.name",
        "spec.insecure",
        "spec.region",
        "spec.prefix",
        "spec.secretRef.name",
        "spec.serviceAccountName",
        "spec.certSecretRef.name",
        "spec.proxySecretRef.name",
        "spec.interval",
        "spec.timeout",
        "spec.ignore",
        "spec.suspend",
        "status.url",
        "status.artifact.lastUpdateTime",
        "status.observedIgnore",
    ],
}

FIELD_CASES = [
    pytest.param(model, path, id=f"{model.KIND}.{path}")
    for model, paths in CHECKLIST.items()
    for path in [*paths, *(f"status.{name}" for name in SHARED_STATUS)]
]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside Optional/list/Annotated wrappers, if any."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _model_in(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
        return None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _resolve(model: type[BaseModel], path: str) -> None:
    current: type[BaseModel] | None = model
    for step in path.replace("[]", "").split("."):
        assert current is not None, f"{path}: {step} is below a scalar"
        by_alias = {info.alias or name: info for name, info in current.model_fields.items()}
        assert step in by_alias, f"{current.__name__} has no field {step!r} ({path})"
        current = _model_in(by_alias[step].annotation)


@pytest.mark.parametrize(("model", "path"), FIELD_CASES)
def test_checklist_field_exists_on_model(model: KindModel, path: str) -> None:
    _resolve(model, path)


def _schema_at(model: KindModel, path: str) -> dict[str, Any]:
    node = openapi_schema(model)
    for step in path.split("."):
        if step.endswith("[]"):
            node = node["properties"][step[:-2]]["items"]
        else:
            node = node["properties"][step]
    return node


ENUMS = [
    (GitRepository, "spec.provider", ["generic", "azure", "github"]),
    (GitRepository, "spec.verify.mode", ["head", "HEAD", "Tag", "TagAndHEAD"]),
    (OCIRepository, "spec.layerSelector.operation", ["extract", "copy"]),
    (OCIRepository, "spec.provider", ["generic", "aws", "azure", "gcp"]),
    (OCIRepository, "spec.verify.provider", ["cosign", "notation"]),
    (HelmRepository, "spec.type", ["default", "oci"]),
    (HelmRepository, "spec.provider", ["generic", "aws", "azure", "gcp"]),
    (HelmChart, "spec.sourceRef.kind", ["HelmRepository", "GitRepository", "Bucket"]),
    (HelmChart, "spec.reconcileStrategy", ["ChartVersion", "Revision"]),
    (HelmChart, "spec.verify.provider", ["cosign", "notation"]),
    (Bucket, "spec.provider", ["generic", "aws", "gcp", "azure"]),
    (Bucket, "spec.sts.provider", ["aws", "ldap"]),
]


@pytest.mark.parametrize(("model", "path", "values"), ENUMS, ids=lambda v: str(v))
def test_checklist_enum_is_the_crd_enum(model: KindModel, path: str, values: list[str]) -> None:
    assert _schema_at(model, path)["enum"] == values


CRD_DEFAULTS = [
    (GitRepository, "spec.timeout", "60s"),
    (GitRepository, "spec.verify.mode", "HEAD"),
    (OCIRepository, "spec.timeout", "60s"),
    (OCIRepository, "spec.provider", "generic"),
    (OCIRepository, "spec.verify.provider", "cosign"),
    (HelmRepository, "spec.provider", "generic"),
    (HelmChart, "spec.version", "*"),
    (HelmChart, "spec.reconcileStrategy", "ChartVersion"),
    (Bucket, "spec.provider", "generic"),
    (Bucket, "spec.timeout", "60s"),
    (GitRepository, "status", {"observedGeneration": -1}),
]


@pytest.mark.parametrize(("model", "path", "value"), CRD_DEFAULTS, ids=lambda v: str(v))
def test_checklist_default_is_a_crd_default(model: KindModel, path: str, value: object) -> None:
    assert _schema_at(model, path)["default"] == value


NO_CRD_DEFAULT = [
    (GitRepository, "spec.ref"),
    (GitRepository, "spec.provider"),
    (OCIRepository, "spec.ref"),
    (OCIRepository, "spec.layerSelector.operation"),
    (HelmRepository, "spec.interval"),
    (HelmRepository, "spec.timeout"),
    (GitRepository, "status.observedGeneration"),
]


@pytest.mark.parametrize(("model", "path"), NO_CRD_DEFAULT, ids=lambda v: str(v))
def test_controller_side_defaults_are_not_crd_defaults(model: KindModel, path: str) -> None:
    assert "default" not in _schema_at(model, path)


@pytest.mark.parametrize(
    ("model", "required"),
    [
        (GitRepository, ["interval", "url"]),
        (OCIRepository, ["interval", "url"]),
        (HelmRepository, ["url"]),
        (HelmChart, ["chart", "interval", "sourceRef"]),
        (Bucket, ["bucketName", "endpoint", "interval"]),
    ],
    ids=lambda v: str(v),
)
def test_required_spec_fields_match_the_checklist(model: KindModel, required: list[str]) -> None:
    assert _schema_at(model, "spec")["required"] == required
