"""HelmRepository and HelmChart end to end: the real source-controller against the real API
server, a real chart repository (charts packaged by the real helm) and real Git servers;
artifacts fetched over the controller's HTTP server and verified."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from collections.abc import Callable

import aiohttp
import yaml
from fixtures.controllers import RunningSourceController, condition, eventually
from fixtures.git_servers import GitHTTPServer, GitRepo
from fixtures.helm_repo import HelmChartRepository, HelmRepoFactory
from fixtures.oci_registry import Registry, unique_repo
from gotk_api.objects import Obj
from gotk_envtest import ControlPlane
from source_controller.oci import HELM_CHART_CONFIG, HELM_CHART_LAYER

GROUP = "/apis/source.toolkit.fluxcd.io/v1"
PLURALS = {
    "HelmRepository": "helmrepositories",
    "HelmChart": "helmcharts",
    "GitRepository": "gitrepositories",
}


async def _create(cluster: ControlPlane, namespace: str, kind: str, name: str, spec: Obj) -> None:
    obj = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": spec,
    }
    plural = PLURALS.get(kind, kind.lower() + "s")
    status, body = await cluster.request("POST", f"{GROUP}/namespaces/{namespace}/{plural}", obj)
    assert status == 201, body


async def _patch_spec(
    cluster: ControlPlane, namespace: str, kind: str, name: str, spec: Obj
) -> None:
    status, body = await cluster.request(
        "PATCH",
        f"{GROUP}/namespaces/{namespace}/{PLURALS[kind]}/{name}",
        {"spec": spec},
        content_type="application/merge-patch+json",
    )
    assert status == 200, body


async def _get(cluster: ControlPlane, namespace: str, kind: str, name: str) -> Obj:
    status, body = await cluster.request(
        "GET", f"{GROUP}/namespaces/{namespace}/{PLURALS.get(kind, kind.lower() + 's')}/{name}"
    )
    assert status == 200, body
    result: Obj = body
    return result


async def _wait(
    cluster: ControlPlane,
    namespace: str,
    kind: str,
    name: str,
    *,
    ready: str = "True",
    revision: str | None = None,
    reason: str | None = None,
) -> Obj:
    async def check() -> Obj | None:
        obj = await _get(cluster, namespace, kind, name)
        cond = condition(obj, "Ready")
        if cond.get("status") != ready or (reason and cond.get("reason") != reason):
            return None
        got = ((obj.get("status") or {}).get("artifact") or {}).get("revision")
        if revision is not None and got != revision:
            return None
        return obj

    result: Obj = await eventually(check, timeout=60)
    return result


async def _secret(cluster: ControlPlane, namespace: str, name: str, data: dict[str, bytes]) -> None:
    encoded = {k: base64.b64encode(v).decode() for k, v in data.items()}
    status, body = await cluster.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/secrets",
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "data": encoded},
    )
    assert status == 201, body


async def _download(url: str) -> bytes:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200, url
        return await response.read()


def _tar_files(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }


def _verify(artifact: Obj, body: bytes) -> None:
    assert artifact["digest"] == "sha256:" + hashlib.sha256(body).hexdigest()
    assert artifact["size"] == len(body)


async def test_helm_repository_index_is_stored_compact_and_served(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    helm_repo: HelmChartRepository,
) -> None:
    await helm_repo.add_chart("podinfo", "6.0.3")
    await helm_repo.add_chart("podinfo", "6.1.0")
    served = (helm_repo.served / "index.yaml").read_bytes()
    await _create(cluster, namespace, "HelmRepository", "charts", {"url": helm_repo.url})

    obj = await _wait(cluster, namespace, "HelmRepository", "charts")
    artifact = obj["status"]["artifact"]
    hex_digest = hashlib.sha256(served).hexdigest()
    assert artifact["revision"] == f"sha256:{hex_digest}"
    assert artifact["path"] == f"helmrepository/{namespace}/charts/index-{hex_digest}.yaml"
    assert obj["status"]["url"] == (
        f"http://{source_controller.storage_addr}/helmrepository/{namespace}/charts/index.yaml"
    )
    assert condition(obj, "Ready")["message"] == f"stored artifact: revision 'sha256:{hex_digest}'"
    assert condition(obj, "ArtifactInStorage")["status"] == "True"

    body = await _download(artifact["url"])
    _verify(artifact, body)
    index = json.loads(body)
    assert [v["version"] for v in index["entries"]["podinfo"]] == ["6.1.0", "6.0.3"]
    assert yaml.safe_load(await _download(obj["status"]["url"])) == index, "JSON is YAML"


async def test_helm_chart_from_repository_is_pulled_then_packaged_with_values_files(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    helm_repo: HelmChartRepository,
) -> None:
    await helm_repo.add_chart("podinfo", "6.0.3")
    served = await helm_repo.add_chart(
        "podinfo", "6.1.0", extra_files={"values-prod.yaml": "replicas: 5\n"}
    )
    await helm_repo.add_chart("podinfo", "7.0.0-rc.1")
    await _create(cluster, namespace, "HelmRepository", "charts", {"url": helm_repo.url})
    await _create(
        cluster,
        namespace,
        "HelmChart",
        "podinfo",
        {
            "chart": "podinfo",
            "version": ">=6.0.0",
            "interval": "1m",
            "sourceRef": {"kind": "HelmRepository", "name": "charts"},
        },
    )

    obj = await _wait(cluster, namespace, "HelmChart", "podinfo", revision="6.1.0")
    ready = condition(obj, "Ready")
    assert ready["reason"] == "ChartPullSucceeded"
    assert ready["message"] == "pulled 'podinfo' chart with version '6.1.0'"
    status = obj["status"]
    assert status["artifact"]["path"] == f"helmchart/{namespace}/podinfo/podinfo-6.1.0.tgz"
    assert status["observedChartName"] == "podinfo"
    repo = await _get(cluster, namespace, "HelmRepository", "charts")
    assert status["observedSourceArtifactRevision"] == repo["status"]["artifact"]["revision"]
    assert status["url"].endswith(f"/helmchart/{namespace}/podinfo/latest.tar.gz")
    body = await _download(status["artifact"]["url"])
    _verify(status["artifact"], body)
    assert body == served.read_bytes(), "a pulled chart is stored byte for byte"

    await _patch_spec(
        cluster, namespace, "HelmChart", "podinfo", {"valuesFiles": ["values-prod.yaml"]}
    )
    obj = await _wait(cluster, namespace, "HelmChart", "podinfo", revision="6.1.0+2")
    assert condition(obj, "Ready")["reason"] == "ChartPackageSucceeded"
    files = _tar_files(await _download(obj["status"]["artifact"]["url"]))
    assert files["podinfo/values.yaml"] == b"replicas: 5\n"
    assert b"version: 6.1.0+2" in files["podinfo/Chart.yaml"]


async def test_helm_chart_from_git_with_dependency_and_revision_strategy(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
) -> None:
    repo = make_git_repo()
    chart_yaml = yaml.safe_dump(
        {
            "apiVersion": "v2",
            "name": "app",
            "version": "1.0.0",
            "dependencies": [
                {"name": "common", "version": "0.1.0", "repository": "file://../common"}
            ],
        }
    )
    files = {
        "charts/common/Chart.yaml": "apiVersion: v2\nname: common\nversion: 0.1.0\n",
        "charts/app/Chart.yaml": chart_yaml,
        "charts/app/values.yaml": "replicas: 1\n",
        "charts/app/templates/cm.yaml": "kind: ConfigMap\n",
        "env/prod.yaml": "replicas: 3\n",
    }
    sha = repo.commit(files)
    await _create(
        cluster,
        namespace,
        "GitRepository",
        "app",
        {"url": git_http_server.url(repo), "interval": "1m"},
    )
    await _create(
        cluster,
        namespace,
        "HelmChart",
        "app",
        {
            "chart": "charts/app",
            "interval": "1m",
            "reconcileStrategy": "Revision",
            "valuesFiles": ["charts/app/values.yaml", "env/prod.yaml"],
            "sourceRef": {"kind": "GitRepository", "name": "app"},
        },
    )

    obj = await _wait(cluster, namespace, "HelmChart", "app", revision=f"1.0.0+{sha[:12]}.1")
    assert condition(obj, "Ready")["reason"] == "ChartPackageSucceeded"
    assert obj["status"]["observedSourceArtifactRevision"] == f"master@sha1:{sha}"
    files_out = _tar_files(await _download(obj["status"]["artifact"]["url"]))
    assert "app/charts/common/Chart.yaml" in files_out, "the local dependency is vendored"
    assert files_out["app/values.yaml"] == b"replicas: 3\n"


async def test_basic_auth_repository_needs_its_secret(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    helm_repo_factory: HelmRepoFactory,
) -> None:
    private = await helm_repo_factory(auth=("helm-user", "s3cret-pw"))
    await private.add_chart("app", "1.0.0")
    await _create(cluster, namespace, "HelmRepository", "anon", {"url": private.url})
    await _secret(cluster, namespace, "creds", {"username": b"helm-user", "password": b"s3cret-pw"})
    await _create(
        cluster,
        namespace,
        "HelmRepository",
        "private",
        {"url": private.url, "secretRef": {"name": "creds"}},
    )
    await _create(
        cluster,
        namespace,
        "HelmChart",
        "app",
        {
            "chart": "app",
            "interval": "1m",
            "sourceRef": {"kind": "HelmRepository", "name": "private"},
        },
    )

    denied = await _wait(cluster, namespace, "HelmRepository", "anon", ready="False")
    assert condition(denied, "Ready")["reason"] == "AuthenticationFailed"
    assert "401" in condition(denied, "FetchFailed")["message"]
    await _wait(cluster, namespace, "HelmRepository", "private")
    obj = await _wait(cluster, namespace, "HelmChart", "app", revision="1.0.0")
    assert "s3cret-pw" not in json.dumps(obj)


async def test_bad_repositories_report_flux_reasons(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    helm_repo_factory: HelmRepoFactory,
) -> None:
    malformed = await helm_repo_factory()
    malformed.write("index.yaml", b"apiVersion: v1\nentries:\n  app:\n  - name: [oops\n")
    huge = await helm_repo_factory()
    with (huge.served / "index.yaml").open("wb") as fh:
        fh.write(b"apiVersion: v1\n")
        for _ in range(51):  # one MiB of comment lines at a time: just above the 50 MiB cap
            fh.write((b"#" * 1023 + b"\n") * 1024)
    await _create(cluster, namespace, "HelmRepository", "malformed", {"url": malformed.url})
    await _create(cluster, namespace, "HelmRepository", "huge", {"url": huge.url})
    await _create(
        cluster, namespace, "HelmRepository", "down", {"url": "http://127.0.0.1:9/charts"}
    )

    obj = await _wait(cluster, namespace, "HelmRepository", "malformed", ready="False")
    assert condition(obj, "Ready")["reason"] == "IndexationFailed"
    assert "invalid YAML" in condition(obj, "Ready")["message"]
    obj = await _wait(cluster, namespace, "HelmRepository", "huge", ready="False")
    assert condition(obj, "Ready")["reason"] == "IndexationFailed"
    assert f"above the limit of {50 << 20} bytes" in condition(obj, "Ready")["message"]
    obj = await _wait(cluster, namespace, "HelmRepository", "down", ready="False")
    assert condition(obj, "FetchFailed")["status"] == "True"
    assert "cannot connect" in condition(obj, "Ready")["message"]


async def test_bad_charts_report_flux_reasons(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    helm_repo: HelmChartRepository,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
) -> None:
    await helm_repo.add_chart("app", "1.0.0")
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w:gz") as tar:
        for name, data in (("evil/Chart.yaml", b"name: evil\nversion: 1.0.0\n"), ("../x", b"x")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    helm_repo.write("evil-1.0.0.tgz", evil.getvalue())
    index = yaml.safe_load((helm_repo.served / "index.yaml").read_text())
    index["entries"]["evil"] = [{"name": "evil", "version": "1.0.0", "urls": ["evil-1.0.0.tgz"]}]
    helm_repo.write("index.yaml", yaml.safe_dump(index).encode())
    repo = make_git_repo()
    repo.commit({"charts/app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\n"})
    await _create(cluster, namespace, "HelmRepository", "charts", {"url": helm_repo.url})
    await _create(
        cluster,
        namespace,
        "GitRepository",
        "git",
        {"url": git_http_server.url(repo), "interval": "1m"},
    )
    helm_source = {"kind": "HelmRepository", "name": "charts"}
    git_source = {"kind": "GitRepository", "name": "git"}
    cases = {
        "no-version": (
            {"chart": "app", "version": ">=2.0.0", "sourceRef": helm_source},
            "InvalidChartReference",
            "no 'app' chart with version matching '>=2.0.0'",
        ),
        "evil": (
            {"chart": "evil", "sourceRef": helm_source},
            "ChartPullError",
            "illegal entry path '../x'",
        ),
        "missing-in-git": (
            {"chart": "charts/nope", "sourceRef": git_source},
            "InvalidChartReference",
            "no chart found at path 'charts/nope'",
        ),
        "escape": (
            {"chart": "../../etc", "sourceRef": git_source},
            "IllegalPath",
            "escapes the source root",
        ),
        "no-values": (
            {"chart": "charts/app", "valuesFiles": ["nope.yaml"], "sourceRef": git_source},
            "ValuesFilesError",
            "no values file found at path 'nope.yaml'",
        ),
    }
    for name, (spec, _, _) in cases.items():
        await _create(cluster, namespace, "HelmChart", name, {"interval": "1m", **spec})
    for name, (_, reason, message) in cases.items():
        obj = await _wait(cluster, namespace, "HelmChart", name, ready="False", reason=reason)
        assert message in condition(obj, "Ready")["message"], name
        stalled = condition(obj, "Stalled").get("status") == "True"
        assert stalled == (reason != "ChartPullError"), name


async def test_helm_chart_from_oci_repository(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    helm_repo: HelmChartRepository,
    oci_registry: Registry,
) -> None:
    path = unique_repo("charts")
    tgz = {}
    for version in ("1.0.0", "1.2.0", "2.0.0-rc.1"):
        tgz[version] = (await helm_repo.add_chart("app", version)).read_bytes()
        await oci_registry.push(
            f"{path}/app",
            version,
            layers=[(HELM_CHART_LAYER, tgz[version])],
            config_media_type=HELM_CHART_CONFIG,
        )
    spec = {"url": oci_registry.url(path), "type": "oci", "insecure": True}
    await _create(cluster, namespace, "HelmRepository", "oci", spec)
    await _create(
        cluster,
        namespace,
        "HelmChart",
        "app",
        {"chart": "app", "interval": "1m", "sourceRef": {"kind": "HelmRepository", "name": "oci"}},
    )

    repo = await _wait(cluster, namespace, "HelmRepository", "oci")
    assert "artifact" not in repo["status"]
    assert condition(repo, "Ready")["message"] == "Helm repository is ready"
    obj = await _wait(cluster, namespace, "HelmChart", "app", revision="1.2.0")
    assert condition(obj, "Ready")["message"] == "pulled 'app' chart with version '1.2.0'"
    assert await _download(obj["status"]["artifact"]["url"]) == tgz["1.2.0"]
