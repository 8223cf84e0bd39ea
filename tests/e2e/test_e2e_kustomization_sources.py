"""Kustomizations fed by other sources and by encrypted input: an OCIRepository artifact
from a real registry, and a Git repository holding a Secret encrypted by the real `sops`."""

from __future__ import annotations

import base64
from typing import Any

from fixtures.controllers import condition
from fixtures.kustomize_env import KsEnv
from fixtures.oci_registry import Registry, unique_repo
from fixtures.s3_server import S3Server
from fixtures.sops_keys import AgeKey, SopsEncrypt
from gotk_api.objects import Obj

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


async def _kustomization(env: KsEnv, name: str, kind: str, source: str, **spec: Any) -> None:
    """Objects without a namespace need `targetNamespace`, as in Flux."""
    ref = {"kind": kind, "name": source}
    await env.kustomization(name, sourceRef=ref, targetNamespace=env.namespace, **spec)


async def _ready_or_failed(env: KsEnv, name: str) -> Obj:
    def settled(obj: Obj) -> bool:
        status = condition(obj, "Ready").get("status")
        return status in ("True", "False") and bool(obj["status"].get("lastAttemptedRevision"))

    return await env.until(name, settled, timeout=90)


async def test_kustomization_applies_an_oci_artifact(env: KsEnv, oci_registry: Registry) -> None:
    repo = unique_repo("manifests")
    digest = await oci_registry.push(repo, "v1", {"cm.yaml": CONFIGMAP.format(source="oci")})
    await env.call(
        "POST",
        env.src_path("ocirepositories"),
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
    await _kustomization(env, "from-oci", "OCIRepository", "manifests")
    obj = await _ready_or_failed(env, "from-oci")
    assert condition(obj, "Ready")["status"] == "True", condition(obj, "Ready")
    assert obj["status"]["lastAppliedRevision"] == f"v1@{digest}"
    status, cm = await env.get_cm("from-oci")
    assert status == 200
    assert cm["data"] == {"source": "oci"}


async def _apply_encrypted_secret(
    env: KsEnv, sops_encrypt: SopsEncrypt, age_key: AgeKey, identity: str
) -> Obj:
    """Git holds SECRET encrypted to `age_key`; the Kustomization decrypts with `identity`."""
    encrypted = sops_encrypt(
        SECRET.encode(),
        ".yaml",
        age=[age_key.recipient],
        args=["--encrypted-regex", "^(data|stringData)$"],
    )
    assert b"s3cr3t-from-git" not in encrypted
    await env.source({"secret.yaml": encrypted.decode()})
    await env.secret("sops-age", {"identity.agekey": identity.encode()})
    decryption = {"provider": "sops", "secretRef": {"name": "sops-age"}}
    await _kustomization(env, "secrets", "GitRepository", "repo", decryption=decryption)
    return await _ready_or_failed(env, "secrets")


async def test_sops_encrypted_secret_is_decrypted_and_applied(
    env: KsEnv, sops_encrypt: SopsEncrypt, age_key: AgeKey
) -> None:
    obj = await _apply_encrypted_secret(env, sops_encrypt, age_key, age_key.identity)
    assert condition(obj, "Ready")["status"] == "True", condition(obj, "Ready")
    secret = await env.call("GET", env.core_path("secrets/db"))
    assert base64.b64decode(secret["data"]["password"]) == b"s3cr3t-from-git"
    assert "sops" not in secret


async def test_sops_secret_with_the_wrong_key_is_not_applied(
    env: KsEnv, sops_encrypt: SopsEncrypt, age_key: AgeKey, other_age_key: AgeKey
) -> None:
    obj = await _apply_encrypted_secret(env, sops_encrypt, age_key, other_age_key.identity)
    ready = condition(obj, "Ready")
    assert ready["status"] == "False"
    assert ready["reason"] == "BuildFailed"
    assert (
        "secret.yaml" in ready["message"]
        or "Secret/db" in ready["message"]
        or "db" in ready["message"]
    )
    status, _ = await env.cluster.request("GET", env.core_path("secrets/db"))
    assert status == 404


async def test_kustomization_applies_a_bucket_artifact(env: KsEnv, s3_server: S3Server) -> None:
    await s3_server.create_bucket(
        env.namespace, {"deploy/cm.yaml": CONFIGMAP.format(source="bucket")}
    )
    await env.secret("s3", s3_server.credentials())
    await env.call(
        "POST",
        env.src_path("buckets"),
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "Bucket",
            "metadata": {"name": "manifests"},
            "spec": {
                "bucketName": env.namespace,
                "endpoint": s3_server.endpoint,
                "insecure": True,
                "interval": "1h",
                "secretRef": {"name": "s3"},
            },
        },
    )
    await _kustomization(env, "from-bucket", "Bucket", "manifests", path="./deploy")
    obj = await _ready_or_failed(env, "from-bucket")
    assert condition(obj, "Ready")["status"] == "True", condition(obj, "Ready")
    assert obj["status"]["lastAppliedRevision"].startswith("sha256:")
    status, cm = await env.get_cm("from-bucket")
    assert status == 200
    assert cm["data"] == {"source": "bucket"}
