"""Kustomizations fed by other sources and by encrypted input: an OCIRepository artifact
from a real registry, and a Git repository holding a Secret encrypted by the real `sops`."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from fixtures.controllers import (
    RunningKustomizeController,
    RunningSourceController,
    condition,
    eventually,
)
from fixtures.git_servers import GitHTTPServer, GitRepo
from fixtures.oci_registry import Registry, unique_repo
from fixtures.s3_server import S3Server
from fixtures.sops_keys import AgeKey, SopsEncrypt
from gotk_envtest import ControlPlane

Obj = dict[str, Any]
KS = "/apis/kustomize.toolkit.fluxcd.io/v1"
SRC = "/apis/source.toolkit.fluxcd.io/v1"

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: from-{source}
data:
  source: {source}
"""

SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: db
type: Opaque
stringData:
  password: s3cr3t-from-git
"""


@pytest.fixture(autouse=True)
async def _delete_kustomizations(cluster: ControlPlane, namespace: str) -> AsyncIterator[None]:
    yield
    await cluster.request("DELETE", f"{KS}/namespaces/{namespace}/kustomizations")


async def _post(cluster: ControlPlane, path: str, body: Obj) -> None:
    status, response = await cluster.request("POST", path, body)
    assert status == 201, response


def _kustomization(
    name: str, namespace: str, source_kind: str, source_name: str, **spec: Any
) -> Obj:
    """Objects without a namespace need `targetNamespace`, as in Flux."""
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name},
        "spec": {
            "interval": "1h",
            "prune": True,
            "sourceRef": {"kind": source_kind, "name": source_name},
            "targetNamespace": namespace,
            **spec,
        },
    }


async def _ready_or_failed(cluster: ControlPlane, namespace: str, name: str) -> Obj:
    async def settled() -> Obj | None:
        _, obj = await cluster.request("GET", f"{KS}/namespaces/{namespace}/kustomizations/{name}")
        status = condition(obj, "Ready").get("status")
        return (
            obj
            if status in ("True", "False") and obj["status"].get("lastAttemptedRevision")
            else None
        )

    result: Obj = await eventually(settled, timeout=90)
    return result


async def test_kustomization_applies_an_oci_artifact(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    kustomize_controller: RunningKustomizeController,
    oci_registry: Registry,
) -> None:
    repo = unique_repo("manifests")
    digest = await oci_registry.push(repo, "v1", {"cm.yaml": CONFIGMAP.format(source="oci")})
    await _post(
        cluster,
        f"{SRC}/namespaces/{namespace}/ocirepositories",
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "OCIRepository",
            "metadata": {"name": "manifests"},
            "spec": {
                "url": oci_registry.url(repo),
                "insecure": True,
                "interval": "1h",
                "ref": {"tag": "v1"},
            },
        },
    )
    await _post(
        cluster,
        f"{KS}/namespaces/{namespace}/kustomizations",
        _kustomization("from-oci", namespace, "OCIRepository", "manifests"),
    )
    obj = await _ready_or_failed(cluster, namespace, "from-oci")
    assert condition(obj, "Ready")["status"] == "True", condition(obj, "Ready")
    assert obj["status"]["lastAppliedRevision"] == f"v1@{digest}"
    status, cm = await cluster.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/from-oci")
    assert status == 200
    assert cm["data"] == {"source": "oci"}


async def _git_with_encrypted_secret(
    cluster: ControlPlane,
    namespace: str,
    repo: GitRepo,
    server: GitHTTPServer,
    sops_encrypt: SopsEncrypt,
    age_key: AgeKey,
) -> None:
    encrypted = sops_encrypt(
        SECRET.encode(),
        ".yaml",
        age=[age_key.recipient],
        args=["--encrypted-regex", "^(data|stringData)$"],
    )
    assert b"s3cr3t-from-git" not in encrypted
    repo.commit({"secret.yaml": encrypted.decode()})
    await _post(
        cluster,
        f"{SRC}/namespaces/{namespace}/gitrepositories",
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": "repo"},
            "spec": {"url": server.url(repo), "interval": "1h"},
        },
    )


async def _decryption_secret(cluster: ControlPlane, namespace: str, identity: str) -> None:
    await _post(
        cluster,
        f"/api/v1/namespaces/{namespace}/secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "sops-age"},
            "data": {"identity.agekey": base64.b64encode(identity.encode()).decode()},
        },
    )


async def test_sops_encrypted_secret_is_decrypted_and_applied(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    kustomize_controller: RunningKustomizeController,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
    sops_encrypt: SopsEncrypt,
    age_key: AgeKey,
) -> None:
    await _git_with_encrypted_secret(
        cluster, namespace, make_git_repo(), git_http_server, sops_encrypt, age_key
    )
    await _decryption_secret(cluster, namespace, age_key.identity)
    decryption = {"provider": "sops", "secretRef": {"name": "sops-age"}}
    await _post(
        cluster,
        f"{KS}/namespaces/{namespace}/kustomizations",
        _kustomization("secrets", namespace, "GitRepository", "repo", decryption=decryption),
    )
    obj = await _ready_or_failed(cluster, namespace, "secrets")
    assert condition(obj, "Ready")["status"] == "True", condition(obj, "Ready")
    status, secret = await cluster.request("GET", f"/api/v1/namespaces/{namespace}/secrets/db")
    assert status == 200
    assert base64.b64decode(secret["data"]["password"]) == b"s3cr3t-from-git"
    assert "sops" not in secret


async def test_sops_secret_with_the_wrong_key_is_not_applied(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    kustomize_controller: RunningKustomizeController,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
    sops_encrypt: SopsEncrypt,
    age_key: AgeKey,
    other_age_key: AgeKey,
) -> None:
    await _git_with_encrypted_secret(
        cluster, namespace, make_git_repo(), git_http_server, sops_encrypt, age_key
    )
    await _decryption_secret(cluster, namespace, other_age_key.identity)
    decryption = {"provider": "sops", "secretRef": {"name": "sops-age"}}
    await _post(
        cluster,
        f"{KS}/namespaces/{namespace}/kustomizations",
        _kustomization("secrets", namespace, "GitRepository", "repo", decryption=decryption),
    )
    obj = await _ready_or_failed(cluster, namespace, "secrets")
    ready = condition(obj, "Ready")
    assert ready["status"] == "False"
    assert ready["reason"] == "BuildFailed"
    assert (
        "secret.yaml" in ready["message"]
        or "Secret/db" in ready["message"]
        or "db" in ready["message"]
    )
    status, _ = await cluster.request("GET", f"/api/v1/namespaces/{namespace}/secrets/db")
    assert status == 404


async def test_kustomization_applies_a_bucket_artifact(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    kustomize_controller: RunningKustomizeController,
    s3_server: S3Server,
) -> None:
    await s3_server.create_bucket(namespace, {"deploy/cm.yaml": CONFIGMAP.format(source="bucket")})
    credentials = {k: base64.b64encode(v).decode() for k, v in s3_server.credentials().items()}
    await _post(
        cluster,
        f"/api/v1/namespaces/{namespace}/secrets",
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s3"}, "data": credentials},
    )
    await _post(
        cluster,
        f"{SRC}/namespaces/{namespace}/buckets",
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "Bucket",
            "metadata": {"name": "manifests"},
            "spec": {
                "bucketName": namespace,
                "endpoint": s3_server.endpoint,
                "insecure": True,
                "interval": "1h",
                "secretRef": {"name": "s3"},
            },
        },
    )
    await _post(
        cluster,
        f"{KS}/namespaces/{namespace}/kustomizations",
        _kustomization("from-bucket", namespace, "Bucket", "manifests", path="./deploy"),
    )
    obj = await _ready_or_failed(cluster, namespace, "from-bucket")
    assert condition(obj, "Ready")["status"] == "True", condition(obj, "Ready")
    assert obj["status"]["lastAppliedRevision"].startswith("sha256:")
    status, cm = await cluster.request(
        "GET", f"/api/v1/namespaces/{namespace}/configmaps/from-bucket"
    )
    assert status == 200
    assert cm["data"] == {"source": "bucket"}
