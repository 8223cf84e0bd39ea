"""The generated Kustomization CRD on a real kube-apiserver: Flux's documented manifests are
accepted, invalid ones are refused with 422 naming the field, and the server's defaults agree
with the model's."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from gotk_api.kustomize import Kustomization
from gotk_envtest import ControlPlane

DOCS = Path(__file__).resolve().parents[2] / "fixtures" / "flux-docs" / "kustomize"
DOC_FILES = sorted(DOCS.glob("*.yaml"))


def _load(path: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = yaml.safe_load(path.read_text())
    return manifest


def _collection(namespace: str) -> str:
    return f"/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/{namespace}/kustomizations"


def _into(manifest: dict[str, Any], namespace: str) -> dict[str, Any]:
    body = copy.deepcopy(manifest)
    body.pop("status", None)
    body["metadata"]["namespace"] = namespace
    # The session's kustomize-controller leaves labelled objects alone (no status races).
    body["metadata"].setdefault("labels", {})["gotk.test/leader"] = "api"
    return body


def _minimal(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "app", "labels": {"gotk.test/leader": "api"}},
        "spec": {
            "interval": "10m",
            "prune": True,
            "sourceRef": {"kind": "GitRepository", "name": "repo"},
            **spec,
        },
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
    # The server fills CRD defaults in; the model fills in the same ones.
    assert Kustomization.model_validate(stored).spec == Kustomization.model_validate(manifest).spec


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: p.stem)
async def test_api_server_accepts_the_model_serialization(
    cluster: ControlPlane, namespace: str, path: Path
) -> None:
    obj = Kustomization.model_validate(_into(_load(path), namespace))
    status, stored = await cluster.request("POST", _collection(namespace), obj.to_manifest())
    assert status == 201, stored
    assert Kustomization.model_validate(stored).spec == obj.spec


def _suspended(manifest: dict[str, Any]) -> dict[str, Any]:
    """Keep a kustomize-controller running in the same test session from writing to it."""
    manifest = {**manifest, "spec": {**manifest["spec"], "suspend": True}}
    return manifest


async def test_status_subresource_stores_documented_status(
    cluster: ControlPlane, namespace: str
) -> None:
    manifest = _load(DOCS / "status-history.yaml")
    status, created = await cluster.request(
        "POST", _collection(namespace), _suspended(_into(manifest, namespace))
    )
    assert status == 201, created
    name = created["metadata"]["name"]
    created["status"] = manifest["status"]
    status, updated = await cluster.request(
        "PUT", f"{_collection(namespace)}/{name}/status", created
    )
    assert status == 200, updated
    stored = Kustomization.model_validate(updated)
    assert stored.status == Kustomization.model_validate(manifest).status


async def test_status_subresource_rejects_malformed_inventory(
    cluster: ControlPlane, namespace: str
) -> None:
    status, created = await cluster.request("POST", _collection(namespace), _suspended(_minimal()))
    assert status == 201, created
    created["status"] = {"inventory": {"entries": [{"id": "default_app__Service"}]}}
    status, body = await cluster.request("PUT", f"{_collection(namespace)}/app/status", created)
    assert status == 422, body
    assert "status.inventory.entries[0].v" in _rejected_fields(body)


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"deletionPolicy": "Sometimes"}, "spec.deletionPolicy"),
        ({"prune": "yes"}, "spec.prune"),
        ({"interval": "10 minutes"}, "spec.interval"),
        ({"timeout": "1d"}, "spec.timeout"),
        ({"retryInterval": 30}, "spec.retryInterval"),
        ({"sourceRef": {"kind": "HelmRepository", "name": "x"}}, "spec.sourceRef.kind"),
        ({"sourceRef": {"kind": "GitRepository"}}, "spec.sourceRef.name"),
        ({"decryption": {"provider": "vault"}}, "spec.decryption.provider"),
        ({"targetNamespace": ""}, "spec.targetNamespace"),
        ({"namePrefix": "p" * 201}, "spec.namePrefix"),
        (
            {"postBuild": {"substituteFrom": [{"kind": "Pod", "name": "x"}]}},
            "spec.postBuild.substituteFrom[0].kind",
        ),
        (
            {"healthCheckExprs": [{"apiVersion": "v1", "kind": "Pod"}]},
            "spec.healthCheckExprs[0].current",
        ),
        ({"kubeConfig": {}}, "spec.kubeConfig"),
        (
            {"kubeConfig": {"secretRef": {"name": "a"}, "configMapRef": {"name": "b"}}},
            "spec.kubeConfig",
        ),
    ],
)
async def test_api_server_rejects_invalid_spec_naming_the_field(
    cluster: ControlPlane, namespace: str, spec: dict[str, Any], field: str
) -> None:
    status, body = await cluster.request("POST", _collection(namespace), _minimal(**spec))
    assert status == 422, body
    assert field in _rejected_fields(body), body


@pytest.mark.parametrize("missing", ["prune", "interval", "sourceRef"])
async def test_api_server_requires_prune_interval_and_source_ref(
    cluster: ControlPlane, namespace: str, missing: str
) -> None:
    manifest = _minimal()
    del manifest["spec"][missing]
    status, body = await cluster.request("POST", _collection(namespace), manifest)
    assert status == 422, body
    assert f"spec.{missing}" in _rejected_fields(body), body
