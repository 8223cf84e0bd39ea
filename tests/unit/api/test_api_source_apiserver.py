"""The generated CRDs, installed in a real kube-apiserver, accept Flux's documented source
manifests, apply Flux's defaults, and reject bad input with a 422 naming the field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from gotk_api import find_api_version
from gotk_api.registry import KindModel
from gotk_envtest import ControlPlane

DOCS = Path(__file__).resolve().parents[2] / "fixtures" / "flux-docs" / "source"


def _documents() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(DOCS.glob("*.yaml")):
        docs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


def _collection(model: KindModel, namespace: str) -> str:
    return f"/apis/{model.GROUP}/{model.VERSION}/namespaces/{namespace}/{model.plural()}"


async def _create(
    cluster: ControlPlane, namespace: str, doc: dict[str, Any]
) -> tuple[int, Any, KindModel]:
    model = find_api_version(doc["apiVersion"], doc["kind"])
    body = copy.deepcopy(doc)
    body["metadata"]["namespace"] = namespace
    status, reply = await cluster.request("POST", _collection(model, namespace), body)
    return status, reply, model


@pytest.mark.parametrize("doc", _documents(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
async def test_documented_manifest_is_accepted_and_parses_back(
    cluster: ControlPlane, namespace: str, doc: dict[str, Any]
) -> None:
    status, reply, model = await _create(cluster, namespace, doc)
    assert status == 201, reply
    for key, value in doc["spec"].items():
        assert reply["spec"][key] == value, key
    obj = model.model_validate(reply)
    assert obj.metadata.generation == 1
    assert obj.metadata.uid


def _manifest(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    # Labelled so the session's running source-controller leaves these objects alone: the
    # tests read back exactly what the API server stored.
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": kind,
        "metadata": {"name": name, "labels": {"gotk.test/leader": "api"}},
        "spec": spec,
    }


DEFAULTS = [
    (
        _manifest("GitRepository", "g", {"url": "https://x/r", "interval": "1m"}),
        {"timeout": "60s"},
        ["ref", "provider"],
    ),
    (
        _manifest(
            "GitRepository",
            "gv",
            {"url": "https://x/r", "interval": "1m", "verify": {"secretRef": {"name": "k"}}},
        ),
        {"verify": {"mode": "HEAD", "secretRef": {"name": "k"}}},
        [],
    ),
    (
        _manifest(
            "OCIRepository",
            "o",
            {"url": "oci://x/r", "interval": "1m", "layerSelector": {"mediaType": "m"}},
        ),
        {"timeout": "60s", "provider": "generic", "layerSelector": {"mediaType": "m"}},
        ["ref"],
    ),
    (
        _manifest(
            "OCIRepository",
            "ov",
            {"url": "oci://x/r", "interval": "1m", "verify": {"secretRef": {"name": "k"}}},
        ),
        {"verify": {"provider": "cosign", "secretRef": {"name": "k"}}},
        [],
    ),
    (
        _manifest("HelmRepository", "h", {"url": "https://charts.example.com"}),
        {"provider": "generic"},
        ["interval", "timeout", "type"],
    ),
    (
        _manifest(
            "HelmChart",
            "c",
            {"chart": "p", "interval": "1m", "sourceRef": {"kind": "HelmRepository", "name": "h"}},
        ),
        {"version": "*", "reconcileStrategy": "ChartVersion"},
        [],
    ),
    (
        _manifest("Bucket", "b", {"bucketName": "b", "endpoint": "e", "interval": "1m"}),
        {"provider": "generic", "timeout": "60s"},
        [],
    ),
]


@pytest.mark.parametrize(("doc", "defaulted", "absent"), DEFAULTS, ids=lambda v: str(v)[:50])
async def test_api_server_applies_fluxs_crd_defaults_only(
    cluster: ControlPlane,
    namespace: str,
    doc: dict[str, Any],
    defaulted: dict[str, Any],
    absent: list[str],
) -> None:
    status, reply, model = await _create(cluster, namespace, doc)
    assert status == 201, reply
    for key, value in defaulted.items():
        assert reply["spec"][key] == value, key
    for key in absent:
        assert key not in reply["spec"], key
    status, stored = await cluster.request(
        "GET", f"{_collection(model, namespace)}/{doc['metadata']['name']}"
    )
    assert status == 200, stored
    assert stored["status"] == {"observedGeneration": -1}
    obj = model.model_validate(stored)
    assert obj.to_manifest()["spec"] == stored["spec"]


def _git(**spec: Any) -> dict[str, Any]:
    return _manifest("GitRepository", "bad", {"url": "https://x/r", "interval": "1m", **spec})


def _bucket(**spec: Any) -> dict[str, Any]:
    base = {"bucketName": "b", "endpoint": "e", "interval": "1m"}
    return _manifest("Bucket", "bad", {**base, **spec})


REJECTED = [
    pytest.param(_git(interval=5), "spec.interval", id="wrong-type"),
    pytest.param(_git(interval="5 minutes"), "spec.interval", id="bad-interval"),
    pytest.param(_git(timeout="1h"), "spec.timeout", id="timeout-in-hours"),
    pytest.param(_git(url="ftp://x/r"), "spec.url", id="bad-url-scheme"),
    pytest.param(_git(provider="gitlab"), "spec.provider", id="unknown-enum"),
    pytest.param(
        _manifest("GitRepository", "bad", {"interval": "1m"}), "spec.url", id="missing-required"
    ),
    pytest.param(_git(verify={"mode": "HEAD"}), "spec.verify.secretRef", id="missing-nested"),
    pytest.param(_git(verify={"mode": "all", "secretRef": {"name": "k"}}), "spec.verify.mode"),
    pytest.param(
        _git(serviceAccountName="sa"),
        "serviceAccountName can only be set when provider is 'azure'",
        id="cel-git-service-account",
    ),
    pytest.param(
        _manifest("OCIRepository", "bad", {"url": "oci://x", "interval": "1m", "insecure": "yes"}),
        "spec.insecure",
        id="oci-wrong-type",
    ),
    pytest.param(
        _manifest(
            "OCIRepository",
            "bad",
            {"url": "oci://x", "interval": "1m", "layerSelector": {"operation": "move"}},
        ),
        "spec.layerSelector.operation",
        id="oci-unknown-operation",
    ),
    pytest.param(
        _manifest("HelmRepository", "bad", {"url": "https://x", "type": "git"}),
        "spec.type",
        id="helmrepo-unknown-type",
    ),
    pytest.param(
        _manifest(
            "HelmChart",
            "bad",
            {"chart": "c", "interval": "1m", "sourceRef": {"kind": "OCIRepository", "name": "o"}},
        ),
        "spec.sourceRef.kind",
        id="helmchart-unknown-source-kind",
    ),
    pytest.param(
        _manifest(
            "HelmChart",
            "bad",
            {
                "chart": "c",
                "interval": "1m",
                "sourceRef": {"kind": "GitRepository", "name": "g"},
                "verify": {"provider": "cosign"},
            },
        ),
        "spec.verify is only supported when spec.sourceRef.kind is 'HelmRepository'",
        id="cel-helmchart-verify",
    ),
    pytest.param(
        _bucket(provider="gcp", sts={"provider": "aws", "endpoint": "https://s"}),
        "STS configuration is only supported for the 'aws' and 'generic' Bucket providers",
        id="cel-bucket-sts-provider",
    ),
    pytest.param(
        _bucket(sts={"provider": "aws", "endpoint": "https://s"}),
        "'ldap' is the only supported STS provider for the 'generic' Bucket provider",
        id="cel-bucket-generic-sts",
    ),
    pytest.param(
        _bucket(serviceAccountName="sa"),
        "ServiceAccountName is not supported for the 'generic' Bucket provider",
        id="cel-bucket-generic-sa",
    ),
    pytest.param(
        _bucket(provider="aws", serviceAccountName="sa", secretRef={"name": "s"}),
        "cannot set both .spec.secretRef and .spec.serviceAccountName",
        id="cel-bucket-secret-and-sa",
    ),
]


@pytest.mark.parametrize(("doc", "expected"), REJECTED)
async def test_api_server_rejects_bad_manifest_naming_the_field(
    cluster: ControlPlane, namespace: str, doc: dict[str, Any], expected: str
) -> None:
    status, reply, _ = await _create(cluster, namespace, doc)
    assert status == 422, reply
    assert reply["reason"] == "Invalid"
    assert expected in reply["message"], reply["message"]
