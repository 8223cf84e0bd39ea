"""`gotk reconcile` and `gotk resume` against the real source-controller and a real Git server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fixtures.controllers import (
    RunningKustomizeController,
    RunningSourceController,
    condition,
    eventually,
)
from fixtures.git_servers import GitHTTPServer, GitRepo
from gotk_api.objects import Obj
from gotk_cli import run
from gotk_envtest import ControlPlane

PATH = "/apis/source.toolkit.fluxcd.io/v1/namespaces/{ns}/gitrepositories"


async def create(cluster: ControlPlane, namespace: str, name: str, url: str, **spec: Any) -> None:
    obj = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": name},
        # A long interval: only the CLI's request makes the controller fetch again.
        "spec": {"url": url, "interval": "1h", "timeout": "20s", **spec},
    }
    code, body = await cluster.request("POST", PATH.format(ns=namespace), obj)
    assert code == 201, body


async def fetched(cluster: ControlPlane, namespace: str, name: str, sha: str) -> Obj:
    async def check() -> Obj | None:
        _, obj = await cluster.request("GET", f"{PATH.format(ns=namespace)}/{name}")
        revision = ((obj.get("status") or {}).get("artifact") or {}).get("revision", "")
        return (
            obj
            if revision.endswith(sha) and condition(obj, "Ready").get("status") == "True"
            else None
        )

    result: Obj = await eventually(check, timeout=60)
    return result


async def test_reconcile_source_git_waits_and_prints_the_new_revision(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    git_http_server: GitHTTPServer,
    make_git_repo: Callable[..., GitRepo],
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = make_git_repo()
    first = repo.commit({"app.yaml": "v: 1\n"})
    await create(cluster, namespace, "app", git_http_server.url(repo), ref={"branch": "master"})
    await fetched(cluster, namespace, "app", first)
    second = repo.commit({"app.yaml": "v: 2\n"})

    argv = [
        "reconcile",
        "source",
        "git",
        "app",
        "-n",
        namespace,
        f"--kubeconfig={cluster.kubeconfig}",
    ]
    assert await run(argv) == 0

    assert capsys.readouterr().err.splitlines() == [
        f"► annotating GitRepository app in {namespace} namespace",
        "✔ GitRepository annotated",
        "◎ waiting for GitRepository reconciliation",
        f"✔ fetched revision master@sha1:{second}",
    ]
    _, obj = await cluster.request("GET", f"{PATH.format(ns=namespace)}/app")
    token = obj["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"]
    assert obj["status"]["lastHandledReconcileAt"] == token


async def test_reconcile_that_fails_prints_the_ready_message_and_exits_1(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    git_http_server: GitHTTPServer,
    make_git_repo: Callable[..., GitRepo],
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = make_git_repo()
    repo.commit({"app.yaml": "v: 1\n"})
    await create(
        cluster, namespace, "app", git_http_server.url(repo), ref={"branch": "no-such-branch"}
    )

    argv = [
        "reconcile",
        "source",
        "git",
        "app",
        "-n",
        namespace,
        f"--kubeconfig={cluster.kubeconfig}",
    ]
    assert await run(argv) == 1

    _, obj = await cluster.request("GET", f"{PATH.format(ns=namespace)}/app")
    message = condition(obj, "Ready")["message"]
    assert "no-such-branch" in message
    last = capsys.readouterr().err.splitlines()[-1]
    assert last == f"✗ GitRepository reconciliation failed: {' '.join(message.split())}"


async def test_resume_unsuspends_and_waits_for_the_reconcile(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    git_http_server: GitHTTPServer,
    make_git_repo: Callable[..., GitRepo],
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = make_git_repo()
    sha = repo.commit({"app.yaml": "v: 1\n"})
    await create(cluster, namespace, "app", git_http_server.url(repo), suspend=True)

    argv = ["resume", "source", "git", "app", "-n", namespace, f"--kubeconfig={cluster.kubeconfig}"]
    assert await run(argv) == 0

    _, obj = await cluster.request("GET", f"{PATH.format(ns=namespace)}/app")
    assert "suspend" not in obj["spec"]
    assert capsys.readouterr().err.splitlines() == [
        f"► resuming source git app in {namespace} namespace",
        "✔ source git resumed",
        "◎ waiting for GitRepository reconciliation",
        "✔ GitRepository app reconciliation completed",
        f"✔ fetched revision master@sha1:{sha}",
    ]


async def test_reconcile_times_out_when_no_controller_handles_the_request(
    cluster: ControlPlane, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The session's source-controller skips objects labelled gotk.test/leader, and the
    # leader-election test's own pair only takes the value "yes": nothing handles this one.
    code, body = await cluster.request(
        "POST",
        PATH.format(ns=namespace),
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": "idle", "labels": {"gotk.test/leader": "cli"}},
            "spec": {"url": "https://example.invalid/r.git", "interval": "1h"},
        },
    )
    assert code == 201, body
    argv = ["reconcile", "source", "git", "idle", "-n", namespace, "--timeout=1s"]
    assert await run([*argv, f"--kubeconfig={cluster.kubeconfig}"]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"✗ timed out after 1s waiting for GitRepository {namespace}/idle to be reconciled"
    )


async def test_reconcile_kustomization_with_source_reconciles_both_in_order(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    kustomize_controller: RunningKustomizeController,
    git_http_server: GitHTTPServer,
    make_git_repo: Callable[..., GitRepo],
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = make_git_repo()
    first = repo.commit({"cm.yaml": CONFIG_MAP.format(ns=namespace, v=1)})
    await create(cluster, namespace, "app", git_http_server.url(repo), ref={"branch": "master"})
    await fetched(cluster, namespace, "app", first)
    ks = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "apps"},
        "spec": {
            "interval": "1h",
            "prune": True,
            "path": "./",
            "sourceRef": {"kind": "GitRepository", "name": "app"},
        },
    }
    ks_path = f"/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/{namespace}/kustomizations"
    code, body = await cluster.request("POST", ks_path, ks)
    assert code == 201, body
    second = repo.commit({"cm.yaml": CONFIG_MAP.format(ns=namespace, v=2)})

    argv = ["reconcile", "ks", "apps", "--with-source", "-n", namespace]
    assert await run([*argv, f"--kubeconfig={cluster.kubeconfig}"]) == 0

    lines = capsys.readouterr().err.splitlines()
    assert lines[3] == f"✔ fetched revision master@sha1:{second}"
    assert lines[4] == f"► annotating Kustomization apps in {namespace} namespace"
    assert lines[-1] == f"✔ applied revision master@sha1:{second}"
    _, cm = await cluster.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/cm")
    assert cm["data"] == {"v": "2"}


CONFIG_MAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
  namespace: {ns}
data:
  v: "{v}"
"""
