"""OCIRepository end to end: the real source-controller against the real API server and the
real `registry` binary (plus FakeRegistry only for a manifest that lies about its digest)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import os
import tarfile
from typing import Any

import aiohttp
from fixtures.controllers import RunningSourceController, condition, eventually
from fixtures.git_servers import HangingServer
from fixtures.oci_registry import (
    FLUX_CONFIG,
    FLUX_LAYER,
    OCI_MANIFEST,
    FakeRegistry,
    Registry,
    tarball,
    unique_repo,
)
from gotk_api.objects import Obj
from gotk_envtest import ControlPlane

GROUP = "/apis/source.toolkit.fluxcd.io/v1"
HELM_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"


def _ocirepo(name: str, url: str, **spec: Any) -> Obj:
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "OCIRepository",
        "metadata": {"name": name},
        "spec": {"url": url, "interval": "1m", "insecure": True, **spec},
    }


async def _create(cluster: ControlPlane, namespace: str, obj: Obj) -> None:
    status, body = await cluster.request(
        "POST", f"{GROUP}/namespaces/{namespace}/ocirepositories", obj
    )
    assert status == 201, body


async def _post(cluster: ControlPlane, namespace: str, plural: str, obj: Obj) -> None:
    status, body = await cluster.request("POST", f"/api/v1/namespaces/{namespace}/{plural}", obj)
    assert status == 201, body


async def _dockerconfig(
    cluster: ControlPlane, namespace: str, name: str, host: str, user: str, password: str
) -> None:
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    config = json.dumps({"auths": {host: {"auth": auth}}}).encode()
    await _post(
        cluster,
        namespace,
        "secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": name},
            "data": {".dockerconfigjson": base64.b64encode(config).decode()},
        },
    )


async def _get(cluster: ControlPlane, namespace: str, name: str) -> Obj:
    status, body = await cluster.request(
        "GET", f"{GROUP}/namespaces/{namespace}/ocirepositories/{name}"
    )
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


async def _failed(cluster: ControlPlane, namespace: str, name: str) -> Obj:
    async def check() -> Obj | None:
        obj = await _get(cluster, namespace, name)
        return obj if condition(obj, "Ready").get("status") == "False" else None

    result: Obj = await eventually(check, timeout=30)
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


async def test_tag_is_pulled_extracted_repackaged_and_served(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    oci_registry: Registry,
) -> None:
    repo = unique_repo()
    annotations = {
        "org.opencontainers.image.revision": "main@sha1:abc",
        "org.opencontainers.image.source": "https://example.com/app",
    }
    digest = await oci_registry.push(
        repo,
        "latest",
        {"deploy/app.yaml": "kind: ConfigMap\n", "deploy/skip.env": "SECRET=1\n"},
        annotations=annotations,
    )
    await _create(cluster, namespace, _ocirepo("app", oci_registry.url(repo), ignore="*.env\n"))

    obj = await _ready(cluster, namespace, "app")
    artifact, status = obj["status"]["artifact"], obj["status"]
    hex_digest = digest.partition(":")[2]
    assert artifact["revision"] == f"latest@{digest}"
    assert artifact["path"] == f"ocirepository/{namespace}/app/{hex_digest}.tar.gz"
    assert artifact["metadata"] == annotations
    assert status["url"].endswith(f"ocirepository/{namespace}/app/latest.tar.gz")
    assert status["observedIgnore"] == "*.env\n"
    assert "observedLayerSelector" not in status
    assert condition(obj, "Ready")["message"] == f"stored artifact for digest 'latest@{digest}'"
    assert condition(obj, "ArtifactInStorage")["status"] == "True"

    body = await _download(artifact["url"])
    assert artifact["digest"] == "sha256:" + hashlib.sha256(body).hexdigest()
    assert _files(body) == {"deploy/app.yaml": b"kind: ConfigMap\n"}, "spec.ignore applies"

    # A requested reconcile with nothing changed keeps the very same artifact, unrewritten.
    stored = source_controller.storage_path / artifact["path"]
    before = stored.stat()
    status_code, _ = await cluster.request(
        "PATCH",
        f"{GROUP}/namespaces/{namespace}/ocirepositories/app",
        {"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "again"}}},
        content_type="application/merge-patch+json",
    )
    assert status_code == 200

    async def handled() -> Obj | None:
        current = await _get(cluster, namespace, "app")
        return current if current["status"].get("lastHandledReconcileAt") == "again" else None

    again = await eventually(handled, timeout=30)
    assert again["status"]["artifact"] == artifact
    after = stored.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)

    # A new push to the tag is a new revision.
    newer = await oci_registry.push(repo, "latest", {"deploy/app.yaml": "kind: Secret\n"})
    await cluster.request(
        "PATCH",
        f"{GROUP}/namespaces/{namespace}/ocirepositories/app",
        {"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "newer"}}},
        content_type="application/merge-patch+json",
    )
    obj = await _ready(cluster, namespace, "app", f"latest@{newer}")
    assert _files(await _download(obj["status"]["artifact"]["url"])) == {
        "deploy/app.yaml": b"kind: Secret\n"
    }
    assert "metadata" not in obj["status"]["artifact"]


async def test_semver_digest_and_copy_operation(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    oci_registry: Registry,
) -> None:
    repo = unique_repo()
    first = await oci_registry.push(repo, "1.0.0", {"v": "1.0.0"})
    middle = await oci_registry.push(repo, "1.2.0", {"v": "1.2.0"})
    await oci_registry.push(repo, "2.0.0-rc.1", {"v": "2.0.0-rc.1"})
    chart = tarball({"chart/Chart.yaml": "name: chart\n"})
    chart_digest = await oci_registry.push(
        repo, "chart", layers=[(FLUX_LAYER, tarball({"x": "y"})), (HELM_LAYER, chart)]
    )
    url = oci_registry.url(repo)
    selector = {"mediaType": HELM_LAYER, "operation": "copy"}
    await asyncio.gather(
        _create(cluster, namespace, _ocirepo("semver", url, ref={"semver": ">=1.0.0 <2.0.0"})),
        _create(
            cluster,
            namespace,
            # Digest wins over semver and tag.
            _ocirepo("pinned", url, ref={"digest": first, "semver": "*", "tag": "1.2.0"}),
        ),
        _create(
            cluster, namespace, _ocirepo("copy", url, ref={"tag": "chart"}, layerSelector=selector)
        ),
    )
    semver, pinned, copied = await asyncio.gather(
        _ready(cluster, namespace, "semver"),
        _ready(cluster, namespace, "pinned"),
        _ready(cluster, namespace, "copy"),
    )
    assert semver["status"]["artifact"]["revision"] == f"1.2.0@{middle}"
    assert pinned["status"]["artifact"]["revision"] == first
    assert _files(await _download(pinned["status"]["artifact"]["url"])) == {"v": b"1.0.0"}

    artifact = copied["status"]["artifact"]
    assert artifact["revision"] == f"chart@{chart_digest}"
    assert artifact["path"].endswith(f"/{chart_digest.partition(':')[2]}.tar.gz")
    assert await _download(artifact["url"]) == chart, "copy stores the layer byte for byte"
    assert copied["status"]["observedLayerSelector"] == selector


async def test_credentials_from_secret_and_service_account(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    oci_auth_registry: Registry,
    oci_credentials: tuple[str, str],
) -> None:
    repo = unique_repo()
    digest = await oci_auth_registry.push(repo, "v1")
    host, url = oci_auth_registry.host, oci_auth_registry.url(repo)
    await _dockerconfig(cluster, namespace, "good", host, *oci_credentials)
    await _dockerconfig(cluster, namespace, "bad", host, oci_credentials[0], "wrong-password")
    await _post(
        cluster,
        namespace,
        "serviceaccounts",
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "puller"},
            "imagePullSecrets": [{"name": "good"}],
        },
    )
    ref = {"tag": "v1"}
    await asyncio.gather(
        _create(cluster, namespace, _ocirepo("secret", url, ref=ref, secretRef={"name": "good"})),
        _create(cluster, namespace, _ocirepo("sa", url, ref=ref, serviceAccountName="puller")),
        _create(cluster, namespace, _ocirepo("wrong", url, ref=ref, secretRef={"name": "bad"})),
        _create(cluster, namespace, _ocirepo("anonymous", url, ref=ref)),
    )
    for name in ("secret", "sa"):
        obj = await _ready(cluster, namespace, name)
        assert obj["status"]["artifact"]["revision"] == f"v1@{digest}"
    for name, text in (("wrong", "rejected the credentials"), ("anonymous", "no credentials")):
        obj = await _failed(cluster, namespace, name)
        ready = condition(obj, "Ready")
        assert ready["reason"] == "AuthenticationFailed"
        assert text in ready["message"]
        assert host in ready["message"]
        assert "wrong-password" not in json.dumps(obj)
        assert condition(obj, "FetchFailed")["reason"] == "AuthenticationFailed"


async def test_tls_registry_with_cert_secret_and_insecure_flag(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    oci_tls_registry: Registry,
    oci_registry: Registry,
) -> None:
    tls = oci_tls_registry.tls
    assert tls is not None
    repo = unique_repo()
    digest = await oci_tls_registry.push(repo, "v1")
    plain_repo = unique_repo()
    await oci_registry.push(plain_repo, "v1")
    data = {"ca.crt": tls.ca_pem, "tls.crt": tls.client_cert_pem, "tls.key": tls.client_key_pem}
    await _post(
        cluster,
        namespace,
        "secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "tls"},
            "data": {k: base64.b64encode(v).decode() for k, v in data.items()},
        },
    )
    ref = {"tag": "v1"}
    await asyncio.gather(
        _create(
            cluster,
            namespace,
            _ocirepo(
                "mtls",
                oci_tls_registry.url(repo),
                ref=ref,
                insecure=False,
                certSecretRef={"name": "tls"},
            ),
        ),
        _create(
            cluster,
            namespace,
            _ocirepo("https", oci_registry.url(plain_repo), ref=ref, insecure=False),
        ),
    )
    obj = await _ready(cluster, namespace, "mtls")
    assert obj["status"]["artifact"]["revision"] == f"v1@{digest}"
    failed = await _failed(cluster, namespace, "https")
    assert condition(failed, "Ready")["reason"] == "OCIArtifactPullFailed"
    assert oci_registry.host in condition(failed, "Ready")["message"]


async def test_bad_input_sets_ready_false_with_flux_reason_and_stores_nothing(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    oci_registry: Registry,
    fake_registry: FakeRegistry,
    hanging_server: HangingServer,
) -> None:
    repo = unique_repo()
    await oci_registry.push(repo, "v1")
    url = oci_registry.url(repo)
    dead_proxy = {"address": b"http://127.0.0.1:1"}
    await _post(
        cluster,
        namespace,
        "secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "proxy"},
            "data": {k: base64.b64encode(v).decode() for k, v in dead_proxy.items()},
        },
    )
    config = fake_registry.add_blob(b"{}")
    layer = tarball({"a": "b"})
    lying = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": FLUX_CONFIG, "digest": config, "size": 2},
        "layers": [
            {"mediaType": FLUX_LAYER, "digest": fake_registry.add_blob(layer), "size": len(layer)}
        ],
    }
    fake_registry.add_manifest(["v1"], lying, lie=True)
    cases = {
        "unknown-host": (
            _ocirepo("unknown-host", "oci://registry.gotk.invalid/app"),
            "OCIArtifactPullFailed",
            "registry.gotk.invalid",
            False,
        ),
        "missing-tag": (
            _ocirepo("missing-tag", url, ref={"tag": "v9"}),
            "OCIArtifactPullFailed",
            "tag 'v9' not found",
            False,
        ),
        "lying": (
            _ocirepo("lying", fake_registry.url("app"), ref={"tag": "v1"}),
            "OCIArtifactPullFailed",
            "refusing it",
            False,
        ),
        "no-layer": (
            _ocirepo("no-layer", url, ref={"tag": "v1"}, layerSelector={"mediaType": "x/none"}),
            "OCIArtifactLayerOperationFailed",
            "spec.layerSelector.mediaType",
            False,
        ),
        "bad-semver": (
            _ocirepo("bad-semver", url, ref={"semver": ">>1.x.y"}),
            "ReadOperationFailed",
            "spec.ref.semver",
            True,
        ),
        "dead-proxy": (
            _ocirepo("dead-proxy", url, proxySecretRef={"name": "proxy"}),
            "OCIArtifactPullFailed",
            "cannot connect",
            False,
        ),
        "timeout": (
            _ocirepo("timeout", f"oci://127.0.0.1:{hanging_server.port}/app", timeout="2s"),
            "OCIArtifactPullFailed",
            "2s",
            False,
        ),
        "tag-in-url": (
            _ocirepo("tag-in-url", url + ":v1"),
            "URLInvalid",
            "must not contain a tag",
            True,
        ),
        "cosign": (
            _ocirepo("cosign", url, verify={"provider": "cosign"}),
            "VerificationError",
            "spec.verify",
            True,
        ),
        "aws": (
            _ocirepo("aws", url, provider="aws"),
            "InvalidProviderConfiguration",
            "spec.provider 'aws'",
            True,
        ),
    }
    await asyncio.gather(*(_create(cluster, namespace, obj) for obj, *_ in cases.values()))
    results = await asyncio.gather(*(_failed(cluster, namespace, name) for name in cases))
    for (name, (_, reason, text, stalled)), obj in zip(cases.items(), results, strict=True):
        ready = condition(obj, "Ready")
        assert (ready["reason"], text in ready["message"]) == (reason, True), (name, ready)
        assert (condition(obj, "Stalled").get("status") == "True") is stalled, name
        assert "artifact" not in obj["status"], name
        stored = source_controller.storage_path / "ocirepository" / namespace / name
        assert not stored.exists() or os.listdir(stored) == [], name


async def test_layer_that_is_not_a_tarball_fails_extraction(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    oci_registry: Registry,
) -> None:
    repo = unique_repo()
    await oci_registry.push(repo, "v1", layers=[(FLUX_LAYER, b"not a tarball")])
    await _create(cluster, namespace, _ocirepo("junk", oci_registry.url(repo), ref={"tag": "v1"}))
    obj = await _failed(cluster, namespace, "junk")
    assert condition(obj, "Ready")["reason"] == "OCIArtifactLayerOperationFailed"
    assert "operation to 'copy'" in condition(obj, "Ready")["message"]
