"""Bucket end to end: the real source-controller against the real API server and a real
MinIO; artifacts fetched over its HTTP server and verified. One test uses the hostile
stand-in of fixtures.s3_server, for keys MinIO refuses to store."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import tarfile
from typing import Any

import aiohttp
from fixtures.controllers import RunningSourceController, condition, eventually
from fixtures.s3_server import HostileS3, S3Server
from gotk_api.objects import Obj
from gotk_envtest import ControlPlane, free_port

GROUP = "/apis/source.toolkit.fluxcd.io/v1"
# Flux's own bucket tests assert these revisions for the same objects.
FLUX_ONE_OBJECT = "sha256:b4c2a60ce44b67f5b659a95ce4e4cc9e2a86baf13afb72bd397c5384cbc0e479"
FLUX_SPEC_IGNORE = "sha256:117f586dc64cfc559329e21d286edcbb94cb6b1581517eaddc0ab5292b470cd5"


def _bucket(name: str, bucket_name: str, endpoint: str, **spec: Any) -> Obj:
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "Bucket",
        "metadata": {"name": name},
        "spec": {
            "bucketName": bucket_name,
            "endpoint": endpoint,
            "insecure": True,
            "interval": "1m",
            "timeout": "10s",
            **spec,
        },
    }


async def _create(cluster: ControlPlane, namespace: str, obj: Obj) -> None:
    status, body = await cluster.request("POST", f"{GROUP}/namespaces/{namespace}/buckets", obj)
    assert status == 201, body


async def _secret(cluster: ControlPlane, namespace: str, name: str, data: dict[str, bytes]) -> None:
    encoded = {k: base64.b64encode(v).decode() for k, v in data.items()}
    status, body = await cluster.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/secrets",
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "data": encoded},
    )
    assert status == 201, body


async def _get(cluster: ControlPlane, namespace: str, name: str) -> Obj:
    status, body = await cluster.request("GET", f"{GROUP}/namespaces/{namespace}/buckets/{name}")
    assert status == 200, body
    result: Obj = body
    return result


async def _ready(cluster: ControlPlane, namespace: str, name: str, revision: str = "") -> Obj:
    async def check() -> Obj | None:
        obj = await _get(cluster, namespace, name)
        artifact = (obj.get("status") or {}).get("artifact") or {}
        ready = condition(obj, "Ready").get("status") == "True"
        return obj if ready and artifact.get("revision", "").startswith(revision) else None

    result: Obj = await eventually(check, timeout=30)
    return result


async def _not_ready(cluster: ControlPlane, namespace: str, name: str) -> Obj:
    async def check() -> Obj | None:
        obj = await _get(cluster, namespace, name)
        return obj if condition(obj, "Ready").get("status") == "False" else None

    result: Obj = await eventually(check, timeout=30)
    return result


async def _request_reconcile(cluster: ControlPlane, namespace: str, name: str, token: str) -> Obj:
    status, _ = await cluster.request(
        "PATCH",
        f"{GROUP}/namespaces/{namespace}/buckets/{name}",
        {"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": token}}},
        content_type="application/merge-patch+json",
    )
    assert status == 200

    async def handled() -> Obj | None:
        obj = await _get(cluster, namespace, name)
        return obj if obj["status"].get("lastHandledReconcileAt") == token else None

    result: Obj = await eventually(handled, timeout=30)
    return result


async def _download(url: str) -> bytes:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        return await response.read()


def _files(archive: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        return {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }


def _revision(index: dict[str, str]) -> str:
    text = "".join(f"{key} {index[key]}\n" for key in sorted(index))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


async def test_bucket_objects_are_packaged_with_flux_revision(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    s3_server: S3Server,
) -> None:
    await s3_server.create_bucket(namespace, {"test.txt": "test"})
    await s3_server.create_bucket(
        f"{namespace}-ign",
        {
            ".sourceignore": "ignored/file.txt",
            "ignored/file.txt": "ignored/file.txt",
            "included/file.txt": "included/file.txt",
        },
    )
    await _secret(cluster, namespace, "creds", s3_server.credentials())
    creds = {"secretRef": {"name": "creds"}}
    await _create(cluster, namespace, _bucket("one", namespace, s3_server.endpoint, **creds))
    await _create(
        cluster,
        namespace,
        _bucket("ign", f"{namespace}-ign", s3_server.endpoint, ignore="!ignored/file.txt", **creds),
    )

    obj = await _ready(cluster, namespace, "one")
    artifact = obj["status"]["artifact"]
    assert artifact["revision"] == FLUX_ONE_OBJECT
    hex_digest = FLUX_ONE_OBJECT.removeprefix("sha256:")
    assert artifact["path"] == f"bucket/{namespace}/one/{hex_digest}.tar.gz"
    assert artifact["url"] == f"http://{source_controller.storage_addr}/{artifact['path']}"
    assert obj["status"]["url"].endswith(f"/bucket/{namespace}/one/latest.tar.gz")
    assert condition(obj, "ArtifactInStorage")["status"] == "True"
    assert obj["status"]["observedGeneration"] == obj["metadata"]["generation"]
    body = await _download(artifact["url"])
    assert artifact["digest"] == "sha256:" + hashlib.sha256(body).hexdigest()
    assert artifact["size"] == len(body)
    assert _files(body) == {"test.txt": b"test"}
    assert await _download(obj["status"]["url"]) == body

    ign = await _ready(cluster, namespace, "ign")
    assert ign["status"]["artifact"]["revision"] == FLUX_SPEC_IGNORE
    assert ign["status"]["observedIgnore"] == "!ignored/file.txt"
    files = _files(await _download(ign["status"]["artifact"]["url"]))
    # As in Flux, the .sourceignore object is not indexed but is in the artifact.
    assert set(files) == {".sourceignore", "ignored/file.txt", "included/file.txt"}


async def test_prefix_filters_objects_server_side(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    s3_server: S3Server,
) -> None:
    await s3_server.create_bucket(namespace, {"other/b.yaml": "b"})
    etag = await s3_server.put(namespace, "app/a.yaml", "a")
    await _secret(cluster, namespace, "creds", s3_server.credentials())
    await _create(
        cluster,
        namespace,
        _bucket("pre", namespace, s3_server.endpoint, prefix="app/", secretRef={"name": "creds"}),
    )
    obj = await _ready(cluster, namespace, "pre")
    assert obj["status"]["artifact"]["revision"] == _revision({"app/a.yaml": etag})
    assert set(_files(await _download(obj["status"]["artifact"]["url"]))) == {"app/a.yaml"}


async def test_changed_object_gives_new_revision_unchanged_gives_none(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    s3_server: S3Server,
) -> None:
    await s3_server.create_bucket(namespace, {"a.yaml": "1", "b.yaml": "b"})
    await _secret(cluster, namespace, "creds", s3_server.credentials())
    await _create(
        cluster,
        namespace,
        _bucket("app", namespace, s3_server.endpoint, secretRef={"name": "creds"}),
    )
    first = (await _ready(cluster, namespace, "app"))["status"]["artifact"]
    stored = source_controller.storage_path / first["path"]
    mtime = stored.stat().st_mtime_ns

    after = (await _request_reconcile(cluster, namespace, "app", "unchanged"))["status"]
    assert after["artifact"] == first
    assert stored.stat().st_mtime_ns == mtime

    etag_a = await s3_server.put(namespace, "a.yaml", "2")
    etag_c = await s3_server.put(namespace, "c/new.yaml", "c")
    etag_b = await s3_server.put(namespace, "b.yaml", "b")
    expected = _revision({"a.yaml": etag_a, "b.yaml": etag_b, "c/new.yaml": etag_c})
    await _request_reconcile(cluster, namespace, "app", "changed")
    obj = await _ready(cluster, namespace, "app", expected)
    assert obj["status"]["artifact"]["revision"] == expected
    files = _files(await _download(obj["status"]["artifact"]["url"]))
    assert files == {"a.yaml": b"2", "b.yaml": b"b", "c/new.yaml": b"c"}

    async def new_artifact_events() -> list[Obj]:
        _, events = await cluster.request("GET", f"/api/v1/namespaces/{namespace}/events")
        return [e for e in events["items"] if e["reason"] == "NewArtifact"]

    events = await eventually(lambda: _at_least(new_artifact_events, 2), timeout=20)
    assert all(e["involvedObject"]["kind"] == "Bucket" for e in events)
    assert any(f"from '{namespace}' bucket" in e["message"] for e in events)


async def _at_least(source: Any, count: int) -> list[Obj] | None:
    items: list[Obj] = await source()
    return items if len(items) >= count else None


async def test_fetch_failures_set_ready_false_with_flux_reasons(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    s3_server: S3Server,
) -> None:
    await s3_server.create_bucket(namespace, {"a.yaml": "a"})
    wrong = {"accesskey": s3_server.access_key.encode(), "secretkey": b"wrong-secret-4242"}
    await _secret(cluster, namespace, "wrong", wrong)
    await _secret(cluster, namespace, "creds", s3_server.credentials())
    endpoint = s3_server.endpoint
    await _create(
        cluster, namespace, _bucket("wrong", namespace, endpoint, secretRef={"name": "wrong"})
    )
    await _create(
        cluster,
        namespace,
        _bucket("nobucket", f"{namespace}-absent", endpoint, secretRef={"name": "creds"}),
    )
    await _create(
        cluster, namespace, _bucket("down", namespace, f"127.0.0.1:{free_port()}", timeout="5s")
    )
    await _create(
        cluster, namespace, _bucket("nosecret", namespace, endpoint, secretRef={"name": "absent"})
    )

    wrong_obj, nobucket, down, nosecret = await asyncio.gather(
        _not_ready(cluster, namespace, "wrong"),
        _not_ready(cluster, namespace, "nobucket"),
        _not_ready(cluster, namespace, "down"),
        _not_ready(cluster, namespace, "nosecret"),
    )
    for obj in (wrong_obj, nobucket, down):
        assert condition(obj, "FetchFailed")["reason"] == "BucketOperationFailed", obj["status"]
        assert condition(obj, "Ready")["reason"] == "BucketOperationFailed"
        assert condition(obj, "Reconciling")["status"] == "True"
    assert "access denied" in condition(wrong_obj, "Ready")["message"]
    assert "wrong-secret-4242" not in str(wrong_obj)
    assert s3_server.secret_key not in str(wrong_obj)
    assert f"bucket '{namespace}-absent' not found" in condition(nobucket, "Ready")["message"]
    assert "cannot connect to endpoint" in condition(down, "Ready")["message"]
    ready = condition(nosecret, "Ready")
    assert ready["reason"] == "AuthenticationFailed"
    assert "spec.secretRef" in ready["message"]
    assert "absent" in ready["message"]


async def test_unsupported_provider_stalls(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
) -> None:
    await _create(
        cluster, namespace, _bucket("gcs", "data", "storage.googleapis.com", provider="gcp")
    )
    obj = await _not_ready(cluster, namespace, "gcs")
    stalled = condition(obj, "Stalled")
    assert stalled["status"] == "True"
    assert stalled["reason"] == "InvalidProviderConfiguration"
    assert "not supported" in stalled["message"]


async def test_object_key_escaping_the_root_is_refused_and_nothing_stored(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    hostile_s3_server: HostileS3,
) -> None:
    await _create(
        cluster, namespace, _bucket("evil", hostile_s3_server.bucket, hostile_s3_server.endpoint)
    )
    obj = await _not_ready(cluster, namespace, "evil")
    ready = condition(obj, "Ready")
    assert ready["reason"] == "BucketOperationFailed"
    assert "'../evil.yaml'" in ready["message"]
    assert "artifact" not in obj["status"]
    assert not (source_controller.storage_path / "bucket" / namespace / "evil").exists()
    assert hostile_s3_server.downloads == []


async def test_https_endpoint_with_ca_from_cert_secret(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    s3_tls_server: S3Server,
) -> None:
    assert s3_tls_server.tls is not None
    await s3_tls_server.create_bucket(namespace, {"test.txt": "test"})
    await _secret(cluster, namespace, "creds", s3_tls_server.credentials())
    await _secret(cluster, namespace, "tls", {"ca.crt": s3_tls_server.tls.ca_pem})
    endpoint = s3_tls_server.endpoint
    spec = {"insecure": False, "secretRef": {"name": "creds"}}
    await _create(
        cluster,
        namespace,
        _bucket("tls", namespace, endpoint, certSecretRef={"name": "tls"}, **spec),
    )
    await _create(cluster, namespace, _bucket("untrusted", namespace, endpoint, **spec))
    obj = await _ready(cluster, namespace, "tls")
    assert obj["status"]["artifact"]["revision"] == FLUX_ONE_OBJECT
    untrusted = condition(await _not_ready(cluster, namespace, "untrusted"), "Ready")
    assert "TLS" in untrusted["message"]
