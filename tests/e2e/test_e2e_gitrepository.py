"""GitRepository end to end: the real source-controller against the real API server and real
Git servers; artifacts fetched over its HTTP server and verified."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
from collections.abc import Callable
from typing import Any

import aiohttp
from fixtures.controllers import RunningSourceController, condition, eventually
from fixtures.git_servers import GitHTTPServer, GitRepo, GitSSHServer
from gotk_envtest import ControlPlane

Obj = dict[str, Any]
GROUP = "/apis/source.toolkit.fluxcd.io/v1"


def _gitrepo(name: str, url: str, **spec: Any) -> Obj:
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": name},
        "spec": {"url": url, "interval": "1m", **spec},
    }


async def _create(cluster: ControlPlane, namespace: str, obj: Obj) -> None:
    status, body = await cluster.request(
        "POST", f"{GROUP}/namespaces/{namespace}/gitrepositories", obj
    )
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
    status, body = await cluster.request(
        "GET", f"{GROUP}/namespaces/{namespace}/gitrepositories/{name}"
    )
    assert status == 200, body
    result: Obj = body
    return result


async def _ready(
    cluster: ControlPlane, namespace: str, name: str, revision_prefix: str = ""
) -> Obj:
    async def check() -> Obj | None:
        obj = await _get(cluster, namespace, name)
        ready = condition(obj, "Ready")
        artifact = (obj.get("status") or {}).get("artifact") or {}
        if ready.get("status") == "True" and artifact.get("revision", "").startswith(
            revision_prefix
        ):
            return obj
        return None

    result: Obj = await eventually(check)
    return result


async def _not_ready(cluster: ControlPlane, namespace: str, name: str) -> Obj:
    async def check() -> Obj | None:
        obj = await _get(cluster, namespace, name)
        return obj if condition(obj, "Ready").get("status") == "False" else None

    result: Obj = await eventually(check)
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


async def test_branch_is_packaged_served_and_verified(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
) -> None:
    repo = make_git_repo()
    sha = repo.commit({"deploy/app.yaml": "kind: ConfigMap\n", ".github/workflows/ci.yaml": "x"})
    await _create(
        cluster, namespace, _gitrepo("app", git_http_server.url(repo), ref={"branch": "master"})
    )

    obj = await _ready(cluster, namespace, "app")
    artifact = obj["status"]["artifact"]
    assert artifact["revision"] == f"master@sha1:{sha}"
    assert artifact["path"] == f"gitrepository/{namespace}/app/{sha}.tar.gz"
    assert artifact["url"] == f"http://{source_controller.storage_addr}/{artifact['path']}"
    assert condition(obj, "Ready")["reason"] == "Succeeded"
    assert condition(obj, "ArtifactInStorage")["status"] == "True"
    assert obj["status"]["observedGeneration"] == obj["metadata"]["generation"]
    assert "finalizers.fluxcd.io" in obj["metadata"]["finalizers"]

    body = await _download(artifact["url"])
    assert artifact["digest"] == "sha256:" + hashlib.sha256(body).hexdigest()
    assert artifact["size"] == len(body)
    files = _files(body)
    assert files["deploy/app.yaml"] == b"kind: ConfigMap\n"
    assert not any(name.startswith(".github") for name in files), "CI folders are excluded"


async def test_new_commit_produces_new_revision_and_event(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
) -> None:
    repo = make_git_repo()
    first = repo.commit({"a.yaml": "1"})
    await _create(cluster, namespace, _gitrepo("app", git_http_server.url(repo)))
    await _ready(cluster, namespace, "app", f"master@sha1:{first}")

    second = repo.commit({"a.yaml": "2"}, "second change")
    status, _ = await cluster.request(
        "PATCH",
        f"{GROUP}/namespaces/{namespace}/gitrepositories/app",
        {"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "now-1"}}},
        content_type="application/merge-patch+json",
    )
    assert status == 200
    obj = await _ready(cluster, namespace, "app", f"master@sha1:{second}")
    assert obj["status"]["lastHandledReconcileAt"] == "now-1"

    async def new_artifact_event() -> list[Obj]:
        _, events = await cluster.request("GET", f"/api/v1/namespaces/{namespace}/events")
        return [
            e
            for e in events["items"]
            if e["reason"] == "NewArtifact" and "second change" in e["message"]
        ]

    events = await eventually(new_artifact_event)
    assert events[0]["involvedObject"]["name"] == "app"


async def test_tag_and_semver_refs_resolve_to_tagged_commit(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
) -> None:
    repo = make_git_repo()
    v1 = repo.commit({"v": "1"})
    repo.tag("v1.0.0", message="release 1")
    v12 = repo.commit({"v": "1.2"})
    repo.tag("v1.2.0")
    repo.commit({"v": "2"})
    repo.tag("v2.0.0")
    url = git_http_server.url(repo)
    await _create(cluster, namespace, _gitrepo("tag", url, ref={"tag": "v1.0.0"}))
    await _create(cluster, namespace, _gitrepo("semver", url, ref={"semver": ">=1.0.0 <2.0.0"}))

    assert (await _ready(cluster, namespace, "tag"))["status"]["artifact"]["revision"] == (
        f"v1.0.0@sha1:{v1}"
    )
    assert (await _ready(cluster, namespace, "semver"))["status"]["artifact"]["revision"] == (
        f"v1.2.0@sha1:{v12}"
    )


async def test_ssh_with_known_hosts_and_identity(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    make_git_repo: Callable[..., GitRepo],
    git_ssh_server: GitSSHServer,
    ssh_secret_data: dict[str, bytes],
) -> None:
    repo = make_git_repo()
    sha = repo.commit({"x.yaml": "ssh"})
    await _secret(cluster, namespace, "ssh-auth", ssh_secret_data)
    await _create(
        cluster,
        namespace,
        _gitrepo("ssh", git_ssh_server.url(repo), secretRef={"name": "ssh-auth"}),
    )
    obj = await _ready(cluster, namespace, "ssh")
    assert obj["status"]["artifact"]["revision"] == f"master@sha1:{sha}"


async def test_basic_auth_secret_and_wrong_password(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    make_git_repo: Callable[..., GitRepo],
    git_http_auth_server: GitHTTPServer,
    git_credentials: dict[str, str],
) -> None:
    repo = make_git_repo()
    repo.commit({"x.yaml": "auth"})
    url = git_http_auth_server.url(repo)
    good = {
        "username": git_credentials["username"].encode(),
        "password": git_credentials["password"].encode(),
    }
    await _secret(cluster, namespace, "good", good)
    await _secret(
        cluster, namespace, "bad", {"username": good["username"], "password": b"wrong-pw-42"}
    )
    await _create(cluster, namespace, _gitrepo("good", url, secretRef={"name": "good"}))
    await _create(cluster, namespace, _gitrepo("bad", url, secretRef={"name": "bad"}))

    await _ready(cluster, namespace, "good")
    bad = await _not_ready(cluster, namespace, "bad")
    fetch_failed = condition(bad, "FetchFailed")
    assert fetch_failed["status"] == "True"
    ready = condition(bad, "Ready")
    assert ready["reason"] == fetch_failed["reason"]
    assert "wrong-pw-42" not in str(bad)
    assert git_credentials["password"] not in str(bad)


async def test_unknown_branch_sets_ready_false_git_operation_failed(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
) -> None:
    repo = make_git_repo()
    repo.commit()
    await _create(
        cluster, namespace, _gitrepo("nobranch", git_http_server.url(repo), ref={"branch": "nope"})
    )
    obj = await _not_ready(cluster, namespace, "nobranch")
    ready = condition(obj, "Ready")
    assert ready["reason"] == "GitOperationFailed"
    assert "nope" in ready["message"]
    assert condition(obj, "Reconciling")["status"] == "True"


async def test_missing_secret_names_the_field(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
) -> None:
    repo = make_git_repo()
    repo.commit()
    await _create(
        cluster,
        namespace,
        _gitrepo("nosecret", git_http_server.url(repo), secretRef={"name": "absent"}),
    )
    ready = condition(await _not_ready(cluster, namespace, "nosecret"), "Ready")
    assert ready["reason"] == "AuthenticationFailed"
    assert "spec.secretRef" in ready["message"]
    assert "absent" in ready["message"]


async def test_include_copies_other_repository_artifact(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
) -> None:
    shared, app = make_git_repo(), make_git_repo()
    shared.commit({"base/cm.yaml": "shared"})
    app.commit({"app.yaml": "app"})
    await _create(cluster, namespace, _gitrepo("shared", git_http_server.url(shared)))
    await _create(
        cluster,
        namespace,
        _gitrepo(
            "app",
            git_http_server.url(app),
            include=[
                {"repository": {"name": "shared"}, "fromPath": "base", "toPath": "vendor/base"}
            ],
        ),
    )
    obj = await _ready(cluster, namespace, "app")
    files = _files(await _download(obj["status"]["artifact"]["url"]))
    assert files["vendor/base/cm.yaml"] == b"shared"
    assert files["app.yaml"] == b"app"
    assert obj["status"]["includedArtifacts"][0]["revision"].startswith("master@sha1:")


async def test_include_of_missing_repository_is_reported(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
) -> None:
    app = make_git_repo()
    app.commit()
    await _create(
        cluster,
        namespace,
        _gitrepo("app", git_http_server.url(app), include=[{"repository": {"name": "ghost"}}]),
    )
    obj = await _not_ready(cluster, namespace, "app")
    assert condition(obj, "IncludeUnavailable")["status"] == "True"
    assert "ghost" in condition(obj, "Ready")["message"]


async def test_deleting_the_object_removes_its_storage(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
) -> None:
    repo = make_git_repo()
    repo.commit()
    await _create(cluster, namespace, _gitrepo("gone", git_http_server.url(repo)))
    await _ready(cluster, namespace, "gone")
    directory = source_controller.storage_path / "gitrepository" / namespace / "gone"
    assert any(directory.glob("*.tar.gz"))
    status, _ = await cluster.request(
        "DELETE", f"{GROUP}/namespaces/{namespace}/gitrepositories/gone"
    )
    assert status == 200

    async def deleted() -> bool:
        status, _ = await cluster.request(
            "GET", f"{GROUP}/namespaces/{namespace}/gitrepositories/gone"
        )
        return status == 404 and not directory.exists()

    await eventually(deleted)


async def test_unchanged_commit_is_a_cheap_no_op(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
) -> None:
    """A reconcile that finds the same remote commit does not clone or re-archive."""
    repo = make_git_repo()
    repo.commit({"a.yaml": "1"})
    await _create(cluster, namespace, _gitrepo("noop", git_http_server.url(repo)))
    before = (await _ready(cluster, namespace, "noop"))["status"]["artifact"]
    stored = source_controller.storage_path / before["path"]
    mtime = stored.stat().st_mtime_ns
    status, _ = await cluster.request(
        "PATCH",
        f"{GROUP}/namespaces/{namespace}/gitrepositories/noop",
        {"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "again"}}},
        content_type="application/merge-patch+json",
    )
    assert status == 200

    async def handled() -> Obj | None:
        obj = await _get(cluster, namespace, "noop")
        return obj if obj["status"].get("lastHandledReconcileAt") == "again" else None

    after = (await eventually(handled))["status"]["artifact"]
    assert after == before
    assert stored.stat().st_mtime_ns == mtime


async def test_old_artifacts_are_garbage_collected(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
) -> None:
    """Retention keeps the newest 2 artifacts once the older ones pass the TTL (1s here)."""
    repo = make_git_repo()
    shas = [repo.commit({"v": "0"})]
    await _create(cluster, namespace, _gitrepo("gc", git_http_server.url(repo)))
    await _ready(cluster, namespace, "gc", f"master@sha1:{shas[0]}")
    directory = source_controller.storage_path / "gitrepository" / namespace / "gc"
    for index in (1, 2, 3):
        shas.append(repo.commit({"v": str(index)}))
        await _request_reconcile(cluster, namespace, "gc", f"gc-{index}")
        await _ready(cluster, namespace, "gc", f"master@sha1:{shas[-1]}")

    attempts = iter(range(1000))

    async def collected() -> set[str] | None:
        await _request_reconcile(cluster, namespace, "gc", f"gc-collect-{next(attempts)}")
        stored = {p.name for p in directory.glob("*.tar.gz") if not p.is_symlink()}
        return stored if len(stored) == 2 else None

    stored = await eventually(collected, timeout=30, interval=1.0)
    assert stored == {f"{shas[-1]}.tar.gz", f"{shas[-2]}.tar.gz"}
    assert (directory / "latest.tar.gz").resolve().name == f"{shas[-1]}.tar.gz"


async def _request_reconcile(cluster: ControlPlane, namespace: str, name: str, token: str) -> None:
    status, _ = await cluster.request(
        "PATCH",
        f"{GROUP}/namespaces/{namespace}/gitrepositories/{name}",
        {"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": token}}},
        content_type="application/merge-patch+json",
    )
    assert status == 200
