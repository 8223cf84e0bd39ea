"""GitRepository end to end: the real source-controller against the real API server and real
Git servers; artifacts fetched over its HTTP server and verified."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from fixtures.controllers import RunningSourceController, condition, eventually
from fixtures.git_servers import GitHTTPServer, GitRepo, GitSSHServer, TLSFiles
from fixtures.http_proxy import ConnectProxy
from gotk_api.objects import Obj
from gotk_envtest import ControlPlane

GROUP = "/apis/source.toolkit.fluxcd.io/v1"


@dataclass
class GitEnv:
    """One test's namespace, the running source-controller and the plain HTTP git server."""

    cluster: ControlPlane
    namespace: str
    controller: RunningSourceController
    server: GitHTTPServer
    make_repo: Callable[..., GitRepo]

    @property
    def path(self) -> str:
        return f"{GROUP}/namespaces/{self.namespace}/gitrepositories"

    def storage_dir(self, name: str) -> Path:
        return self.controller.storage_path / "gitrepository" / self.namespace / name

    def repo(self, files: dict[str, str] | None = None) -> tuple[GitRepo, str]:
        """A fresh repository with one commit; returns it and the commit sha."""
        repo = self.make_repo()
        return repo, repo.commit(files)

    async def create(self, name: str, url: str, **spec: Any) -> None:
        obj = {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": name},
            "spec": {"url": url, "interval": "1m", **spec},
        }
        status, body = await self.cluster.request("POST", self.path, obj)
        assert status == 201, body

    async def secret(self, name: str, data: dict[str, bytes]) -> None:
        encoded = {k: base64.b64encode(v).decode() for k, v in data.items()}
        status, body = await self.cluster.request(
            "POST",
            f"/api/v1/namespaces/{self.namespace}/secrets",
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "data": encoded},
        )
        assert status == 201, body

    async def get(self, name: str) -> Obj:
        status, body = await self.cluster.request("GET", f"{self.path}/{name}")
        assert status == 200, body
        result: Obj = body
        return result

    async def request_reconcile(self, name: str, token: str) -> None:
        status, _ = await self.cluster.request(
            "PATCH",
            f"{self.path}/{name}",
            {"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": token}}},
            content_type="application/merge-patch+json",
        )
        assert status == 200

    async def ready(self, name: str, revision_prefix: str = "") -> Obj:
        async def check() -> Obj | None:
            obj = await self.get(name)
            artifact = (obj.get("status") or {}).get("artifact") or {}
            ready = condition(obj, "Ready").get("status") == "True"
            return (
                obj if ready and artifact.get("revision", "").startswith(revision_prefix) else None
            )

        result: Obj = await eventually(check)
        return result

    async def not_ready(self, name: str) -> Obj:
        async def check() -> Obj | None:
            obj = await self.get(name)
            return obj if condition(obj, "Ready").get("status") == "False" else None

        result: Obj = await eventually(check)
        return result


@pytest.fixture
def env(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
) -> GitEnv:
    return GitEnv(cluster, namespace, source_controller, git_http_server, make_git_repo)


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


async def test_branch_is_packaged_served_and_verified(env: GitEnv) -> None:
    repo, sha = env.repo({"deploy/app.yaml": "kind: ConfigMap\n", ".github/workflows/ci.yaml": "x"})
    await env.create("app", env.server.url(repo), ref={"branch": "master"})

    obj = await env.ready("app")
    artifact = obj["status"]["artifact"]
    assert artifact["revision"] == f"master@sha1:{sha}"
    assert artifact["path"] == f"gitrepository/{env.namespace}/app/{sha}.tar.gz"
    assert artifact["url"] == f"http://{env.controller.storage_addr}/{artifact['path']}"
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


async def test_new_commit_produces_new_revision_and_event(env: GitEnv) -> None:
    repo, first = env.repo({"a.yaml": "1"})
    await env.create("app", env.server.url(repo))
    await env.ready("app", f"master@sha1:{first}")

    second = repo.commit({"a.yaml": "2"}, "second change")
    await env.request_reconcile("app", "now-1")
    obj = await env.ready("app", f"master@sha1:{second}")
    assert obj["status"]["lastHandledReconcileAt"] == "now-1"

    async def new_artifact_event() -> list[Obj]:
        _, events = await env.cluster.request("GET", f"/api/v1/namespaces/{env.namespace}/events")
        return [
            e
            for e in events["items"]
            if e["reason"] == "NewArtifact" and "second change" in e["message"]
        ]

    events = await eventually(new_artifact_event)
    assert events[0]["involvedObject"]["name"] == "app"


async def test_tag_and_semver_refs_resolve_to_tagged_commit(env: GitEnv) -> None:
    repo, v1 = env.repo({"v": "1"})
    repo.tag("v1.0.0", message="release 1")
    v12 = repo.commit({"v": "1.2"})
    repo.tag("v1.2.0")
    repo.commit({"v": "2"})
    repo.tag("v2.0.0")
    url = env.server.url(repo)
    await env.create("tag", url, ref={"tag": "v1.0.0"})
    await env.create("semver", url, ref={"semver": ">=1.0.0 <2.0.0"})

    tag = await env.ready("tag")
    assert tag["status"]["artifact"]["revision"] == f"v1.0.0@sha1:{v1}"
    semver = await env.ready("semver")
    assert semver["status"]["artifact"]["revision"] == f"v1.2.0@sha1:{v12}"


async def test_ssh_with_known_hosts_and_identity(
    env: GitEnv, git_ssh_server: GitSSHServer, ssh_secret_data: dict[str, bytes]
) -> None:
    repo, sha = env.repo({"x.yaml": "ssh"})
    await env.secret("ssh-auth", ssh_secret_data)
    await env.create("ssh", git_ssh_server.url(repo), secretRef={"name": "ssh-auth"})
    obj = await env.ready("ssh")
    assert obj["status"]["artifact"]["revision"] == f"master@sha1:{sha}"


async def test_basic_auth_secret_and_wrong_password(
    env: GitEnv, git_http_auth_server: GitHTTPServer, git_credentials: dict[str, str]
) -> None:
    repo, _ = env.repo({"x.yaml": "auth"})
    url = git_http_auth_server.url(repo)
    good = {
        "username": git_credentials["username"].encode(),
        "password": git_credentials["password"].encode(),
    }
    await env.secret("good", good)
    await env.secret("bad", {"username": good["username"], "password": b"wrong-pw-42"})
    await env.create("good", url, secretRef={"name": "good"})
    await env.create("bad", url, secretRef={"name": "bad"})

    await env.ready("good")
    bad = await env.not_ready("bad")
    fetch_failed = condition(bad, "FetchFailed")
    assert fetch_failed["status"] == "True"
    assert condition(bad, "Ready")["reason"] == fetch_failed["reason"]
    assert "wrong-pw-42" not in str(bad)
    assert git_credentials["password"] not in str(bad)


async def test_unknown_branch_sets_ready_false_git_operation_failed(env: GitEnv) -> None:
    repo, _ = env.repo()
    await env.create("nobranch", env.server.url(repo), ref={"branch": "nope"})
    obj = await env.not_ready("nobranch")
    ready = condition(obj, "Ready")
    assert ready["reason"] == "GitOperationFailed"
    assert "nope" in ready["message"]
    assert condition(obj, "Reconciling")["status"] == "True"


async def test_url_without_host_stalls_with_url_invalid(env: GitEnv) -> None:
    """Retrying cannot fix a URL: Stalled=True, observedGeneration caught up, no backoff."""
    await env.create("nohost", "https:///repo.git")
    obj = await env.not_ready("nohost")
    ready = condition(obj, "Ready")
    assert ready["reason"] == "URLInvalid"
    assert "no host" in ready["message"]
    assert condition(obj, "Stalled")["status"] == "True"
    assert condition(obj, "Stalled")["reason"] == "URLInvalid"
    assert condition(obj, "Reconciling") == {}
    assert obj["status"]["observedGeneration"] == obj["metadata"]["generation"]


async def test_commit_that_looks_like_an_option_stalls_and_runs_nothing(
    env: GitEnv, tmp_path: Path
) -> None:
    repo, _ = env.repo()
    marker = tmp_path / "pwned"
    await env.create(
        "inject", env.server.url(repo), ref={"commit": f"--upload-pack=touch {marker}"}
    )
    obj = await env.not_ready("inject")
    assert "spec.ref.commit" in condition(obj, "Ready")["message"]
    assert condition(obj, "Stalled")["status"] == "True"
    assert not marker.exists()


async def test_missing_secret_names_the_field(env: GitEnv) -> None:
    repo, _ = env.repo()
    await env.create("nosecret", env.server.url(repo), secretRef={"name": "absent"})
    ready = condition(await env.not_ready("nosecret"), "Ready")
    assert ready["reason"] == "AuthenticationFailed"
    assert "spec.secretRef" in ready["message"]
    assert "absent" in ready["message"]


async def test_include_copies_other_repository_artifact(env: GitEnv) -> None:
    shared, _ = env.repo({"base/cm.yaml": "shared"})
    app, _ = env.repo({"app.yaml": "app"})
    await env.create("shared", env.server.url(shared))
    include = [{"repository": {"name": "shared"}, "fromPath": "base", "toPath": "vendor/base"}]
    await env.create("app", env.server.url(app), include=include)
    obj = await env.ready("app")
    files = _files(await _download(obj["status"]["artifact"]["url"]))
    assert files["vendor/base/cm.yaml"] == b"shared"
    assert files["app.yaml"] == b"app"
    assert obj["status"]["includedArtifacts"][0]["revision"].startswith("master@sha1:")


async def test_include_of_missing_repository_is_reported(env: GitEnv) -> None:
    app, _ = env.repo()
    await env.create("app", env.server.url(app), include=[{"repository": {"name": "ghost"}}])
    obj = await env.not_ready("app")
    assert condition(obj, "IncludeUnavailable")["status"] == "True"
    assert "ghost" in condition(obj, "Ready")["message"]


async def test_deleting_the_object_removes_its_storage(env: GitEnv) -> None:
    repo, _ = env.repo()
    await env.create("gone", env.server.url(repo))
    await env.ready("gone")
    directory = env.storage_dir("gone")
    assert any(directory.glob("*.tar.gz"))
    status, _ = await env.cluster.request("DELETE", f"{env.path}/gone")
    assert status == 200

    async def deleted() -> bool:
        status, _ = await env.cluster.request("GET", f"{env.path}/gone")
        return status == 404 and not directory.exists()

    await eventually(deleted)


async def test_unchanged_commit_is_a_cheap_no_op(env: GitEnv) -> None:
    """A reconcile that finds the same remote commit does not clone or re-archive."""
    repo, _ = env.repo({"a.yaml": "1"})
    await env.create("noop", env.server.url(repo))
    before = (await env.ready("noop"))["status"]["artifact"]
    stored = env.controller.storage_path / before["path"]
    mtime = stored.stat().st_mtime_ns
    await env.request_reconcile("noop", "again")

    async def handled() -> Obj | None:
        obj = await env.get("noop")
        return obj if obj["status"].get("lastHandledReconcileAt") == "again" else None

    after = (await eventually(handled))["status"]["artifact"]
    assert after == before
    assert stored.stat().st_mtime_ns == mtime


async def test_old_artifacts_are_garbage_collected(env: GitEnv) -> None:
    """Retention keeps the newest 2 artifacts once the older ones pass the TTL (1s here)."""
    repo, first = env.repo({"v": "0"})
    shas = [first]
    await env.create("gc", env.server.url(repo))
    await env.ready("gc", f"master@sha1:{first}")
    for index in (1, 2, 3):
        shas.append(repo.commit({"v": str(index)}))
        await env.request_reconcile("gc", f"gc-{index}")
        await env.ready("gc", f"master@sha1:{shas[-1]}")

    directory = env.storage_dir("gc")
    attempts = iter(range(1000))

    async def collected() -> set[str] | None:
        await env.request_reconcile("gc", f"gc-collect-{next(attempts)}")
        stored = {p.name for p in directory.glob("*.tar.gz") if not p.is_symlink()}
        return stored if len(stored) == 2 else None

    stored = await eventually(collected, timeout=30, interval=1.0)
    assert stored == {f"{shas[-1]}.tar.gz", f"{shas[-2]}.tar.gz"}
    assert (directory / "latest.tar.gz").resolve().name == f"{shas[-1]}.tar.gz"


async def test_proxy_secret_routes_the_clone_through_the_proxy(
    env: GitEnv, git_https_server: GitHTTPServer, git_tls: TLSFiles, connect_proxy: ConnectProxy
) -> None:
    repo, sha = env.repo({"via.yaml": "proxy"})
    await env.secret("ca", {"ca.crt": git_tls.ca_pem})
    await env.secret("proxy", {"address": connect_proxy.address.encode()})
    await env.secret("dead-proxy", {"address": b"http://127.0.0.1:9"})
    url = git_https_server.url(repo)
    await env.create("proxied", url, secretRef={"name": "ca"}, proxySecretRef={"name": "proxy"})
    await env.create(
        "dead", url, secretRef={"name": "ca"}, proxySecretRef={"name": "dead-proxy"}, timeout="10s"
    )

    obj = await env.ready("proxied")
    assert obj["status"]["artifact"]["revision"] == f"master@sha1:{sha}"
    assert f"127.0.0.1:{git_https_server.port}" in connect_proxy.targets
    dead = condition(await env.not_ready("dead"), "Ready")
    assert dead["reason"] == "GitOperationFailed"
