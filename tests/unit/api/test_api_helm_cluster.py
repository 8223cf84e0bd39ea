"""The generated HelmRelease CRD on a real kube-apiserver: Flux's documented manifests are
accepted, free-form values are preserved, invalid ones are refused with 422 naming the field,
and the server's defaults agree with the model's."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from gotk_api.helm import HelmRelease
from gotk_envtest import ControlPlane

DOCS = Path(__file__).resolve().parents[2] / "fixtures" / "flux-docs" / "helm"
DOC_FILES = sorted(DOCS.glob("*.yaml"))


def _load(path: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = yaml.safe_load(path.read_text())
    return manifest


def _collection(namespace: str) -> str:
    return f"/apis/helm.toolkit.fluxcd.io/v2/namespaces/{namespace}/helmreleases"


def _into(manifest: dict[str, Any], namespace: str) -> dict[str, Any]:
    body = copy.deepcopy(manifest)
    body.pop("status", None)
    body["metadata"]["namespace"] = namespace
    # The session's helm-controller leaves labelled objects alone (no status races).
    body["metadata"].setdefault("labels", {})["gotk.test/leader"] = "api"
    return body


def _minimal(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "app", "labels": {"gotk.test/leader": "api"}},
        "spec": {"interval": "10m", "chartRef": {"kind": "OCIRepository", "name": "c"}, **spec},
    }


def _rejected_fields(body: Any) -> list[str]:
    causes = body.get("details", {}).get("causes", [])
    return [cause.get("field", "") for cause in causes]


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: p.stem)
async def test_api_server_accepts_documented_example_with_defaults_the_model_agrees_with(
    cluster: ControlPlane, namespace: str, path: Path
) -> None:
    manifest = _into(_load(path), namespace)
    status, stored = await cluster.request("POST", _collection(namespace), manifest)
    assert status == 201, stored
    assert stored["status"] == {"observedGeneration": -1}
    assert HelmRelease.model_validate(stored).spec == HelmRelease.model_validate(manifest).spec


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: p.stem)
async def test_api_server_accepts_the_model_serialization(
    cluster: ControlPlane, namespace: str, path: Path
) -> None:
    obj = HelmRelease.model_validate(_into(_load(path), namespace))
    status, stored = await cluster.request("POST", _collection(namespace), obj.to_manifest())
    assert status == 201, stored
    assert HelmRelease.model_validate(stored).spec == obj.spec


async def test_server_applies_chart_template_and_uninstall_defaults(
    cluster: ControlPlane, namespace: str
) -> None:
    manifest = _minimal(
        chartRef=None,
        chart={
            "spec": {
                "chart": "podinfo",
                "sourceRef": {"kind": "HelmRepository", "name": "podinfo"},
                "verify": {},
            }
        },
        uninstall={},
    )
    del manifest["spec"]["chartRef"]
    status, stored = await cluster.request("POST", _collection(namespace), manifest)
    assert status == 201, stored
    chart_spec = stored["spec"]["chart"]["spec"]
    assert chart_spec["version"] == "*"
    assert chart_spec["reconcileStrategy"] == "ChartVersion"
    assert chart_spec["verify"] == {"provider": "cosign"}
    assert stored["spec"]["uninstall"] == {"deletionPropagation": "background"}


async def test_values_of_any_shape_are_preserved(cluster: ControlPlane, namespace: str) -> None:
    values = {
        "replicaCount": 2,
        "image": {"repository": "ghcr.io/x/y", "tag": "1.0", "pullPolicy": None},
        "ingress": {"hosts": [{"host": "a.example", "paths": ["/", "/api"]}], "enabled": True},
        "ratio": 0.5,
        "unknownKeyWith.dots": {"nested": {"deeper": []}},
    }
    status, stored = await cluster.request("POST", _collection(namespace), _minimal(values=values))
    assert status == 201, stored
    assert stored["spec"]["values"] == values
    assert HelmRelease.model_validate(stored).get_values() == values


@pytest.mark.parametrize("path", ["status-history.yaml", "status-inventory.yaml"])
async def test_status_subresource_stores_documented_status(
    cluster: ControlPlane, namespace: str, path: str
) -> None:
    manifest = _load(DOCS / path)
    body = _into(manifest, namespace)
    # Suspended, so the session's running helm-controller never writes a status of its own.
    body["spec"]["suspend"] = True
    status, created = await cluster.request("POST", _collection(namespace), body)
    assert status == 201, created
    created["status"] = manifest["status"]
    name = created["metadata"]["name"]
    status, updated = await cluster.request(
        "PUT", f"{_collection(namespace)}/{name}/status", created
    )
    assert status == 200, updated
    assert HelmRelease.model_validate(updated).status == HelmRelease.model_validate(manifest).status


@pytest.mark.parametrize(
    ("status_patch", "field"),
    [
        ({"lastAttemptedReleaseAction": "rollback"}, "status.lastAttemptedReleaseAction"),
        ({"failures": "many"}, "status.failures"),
        ({"history": [{"name": "x"}]}, "status.history[0].digest"),
        ({"storageNamespace": ""}, "status.storageNamespace"),
    ],
)
async def test_status_subresource_rejects_invalid_status_naming_the_field(
    cluster: ControlPlane, namespace: str, status_patch: dict[str, Any], field: str
) -> None:
    # Suspended, so the session's running helm-controller never writes a status of its own.
    status, created = await cluster.request("POST", _collection(namespace), _minimal(suspend=True))
    assert status == 201, created
    created["status"] = status_patch
    status, body = await cluster.request("PUT", f"{_collection(namespace)}/app/status", created)
    assert status == 422, body
    assert field in _rejected_fields(body), body


_CHART = {"spec": {"chart": "c", "sourceRef": {"kind": "HelmRepository", "name": "r"}}}


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"chartRef": None}, "spec"),
        ({"chart": _CHART}, "spec"),
        ({"chartRef": {"kind": "GitRepository", "name": "x"}}, "spec.chartRef.kind"),
        (
            {"chartRef": None, "chart": {"spec": {"chart": "c", "sourceRef": {"kind": "OCI"}}}},
            "spec.chart.spec.sourceRef.kind",
        ),
        ({"interval": "1d"}, "spec.interval"),
        ({"install": {"crds": "Sometimes"}}, "spec.install.crds"),
        (
            {"install": {"strategy": {"name": "RemediateOnFailure", "retryInterval": "1m"}}},
            "spec.install.strategy",
        ),
        (
            {"upgrade": {"strategy": {"name": "RemediateOnFailure", "retryInterval": "1m"}}},
            "spec.upgrade.strategy",
        ),
        ({"upgrade": {"remediation": {"strategy": "retry"}}}, "spec.upgrade.remediation.strategy"),
        ({"upgrade": {"serverSideApply": True}}, "spec.upgrade.serverSideApply"),
        ({"install": {"serverSideApply": "auto"}}, "spec.install.serverSideApply"),
        ({"driftDetection": {"mode": "on"}}, "spec.driftDetection.mode"),
        ({"driftDetection": {"ignore": [{"target": {}}]}}, "spec.driftDetection.ignore[0].paths"),
        ({"uninstall": {"deletionPropagation": "never"}}, "spec.uninstall.deletionPropagation"),
        ({"releaseName": "r" * 54}, "spec.releaseName"),
        (
            {"valuesFrom": [{"kind": "Secret", "name": "s", "valuesKey": "a b"}]},
            "spec.valuesFrom[0].valuesKey",
        ),
        ({"valuesFrom": [{"kind": "Pod", "name": "s"}]}, "spec.valuesFrom[0].kind"),
        ({"maxHistory": "five"}, "spec.maxHistory"),
        ({"test": {"filters": [{"name": ""}]}}, "spec.test.filters[0].name"),
        ({"waitStrategy": {"name": "forever"}}, "spec.waitStrategy.name"),
        ({"kubeConfig": {}}, "spec.kubeConfig"),
    ],
)
async def test_api_server_rejects_invalid_spec_naming_the_field(
    cluster: ControlPlane, namespace: str, spec: dict[str, Any], field: str
) -> None:
    manifest = _minimal(**{key: value for key, value in spec.items() if value is not None})
    if spec.get("chartRef", "keep") is None:
        del manifest["spec"]["chartRef"]
    status, body = await cluster.request("POST", _collection(namespace), manifest)
    assert status == 422, body
    assert field in _rejected_fields(body), body


async def test_api_server_requires_interval(cluster: ControlPlane, namespace: str) -> None:
    manifest = _minimal()
    del manifest["spec"]["interval"]
    status, body = await cluster.request("POST", _collection(namespace), manifest)
    assert status == 422, body
    assert "spec.interval" in _rejected_fields(body), body
