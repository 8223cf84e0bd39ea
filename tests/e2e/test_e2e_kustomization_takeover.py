"""Field-manager take-over on apply, end to end: objects first written by `kubectl apply`
(client-side), `kubectl create` or `kubectl edit` lose the fields that are not in Git, while
fields of other managers and of `ssa: Merge` objects survive. The real kustomize-controller
and source-controller against the real API server, with a Git repository served over HTTP;
kubectl's writes are made as kubectl makes them (its field-manager names)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fixtures.controllers import (
    RunningKustomizeController,
    RunningSourceController,
    condition,
    eventually,
)
from fixtures.git_servers import GitHTTPServer, GitRepo
from gotk_envtest import ControlPlane

Obj = dict[str, Any]
KS = "/apis/kustomize.toolkit.fluxcd.io/v1"
SRC = "/apis/source.toolkit.fluxcd.io/v1"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
MERGE = {"kustomize.toolkit.fluxcd.io/ssa": "Merge"}


@pytest.fixture(autouse=True)
async def _delete_kustomizations(cluster: ControlPlane, namespace: str) -> AsyncIterator[None]:
    """The minimal cluster has no namespace controller: delete Kustomizations explicitly."""
    yield
    await cluster.request("DELETE", f"{KS}/namespaces/{namespace}/kustomizations")


async def _call(
    cluster: ControlPlane, method: str, path: str, body: Any = None, *, ok: tuple[int, ...] = ()
) -> Obj:
    content_type = "application/merge-patch+json" if method == "PATCH" else "application/json"
    status, payload = await cluster.request(method, path, body, content_type=content_type)
    assert status in (ok or (200, 201)), (status, payload)
    result: Obj = payload if isinstance(payload, dict) else {}
    return result


def _configmap(
    name: str, namespace: str, data: dict[str, str], annotations: dict[str, str] | None = None
) -> Obj:
    metadata: Obj = {"name": name, "namespace": namespace}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}


def _manifest(obj: Obj) -> str:
    return json.dumps(obj) + "\n"  # JSON is YAML


async def _kubectl_write(
    cluster: ControlPlane, manager: str, obj: Obj, *, last_applied: bool = False
) -> None:
    """Create `obj` as a kubectl command does: POST under kubectl's field-manager name,
    carrying the last-applied annotation when it is a client-side `kubectl apply`."""
    body = json.loads(json.dumps(obj))
    if last_applied:
        annotations = body["metadata"].setdefault("annotations", {})
        annotations[LAST_APPLIED] = json.dumps(obj, separators=(",", ":"))
    namespace = obj["metadata"]["namespace"]
    await _call(
        cluster, "POST", f"/api/v1/namespaces/{namespace}/configmaps?fieldManager={manager}", body
    )


async def _patch_as(
    cluster: ControlPlane, manager: str, namespace: str, name: str, patch: Obj
) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps/{name}?fieldManager={manager}"
    await _call(cluster, "PATCH", path, patch)


async def _cm(cluster: ControlPlane, namespace: str, name: str) -> Obj:
    return await _call(cluster, "GET", f"/api/v1/namespaces/{namespace}/configmaps/{name}")


def _managers(obj: Obj) -> set[tuple[str, str]]:
    return {(e["manager"], e["operation"]) for e in obj["metadata"].get("managedFields") or []}


async def _ready_at(cluster: ControlPlane, namespace: str, sha: str) -> None:
    async def probe() -> bool:
        obj = await _call(cluster, "GET", f"{KS}/namespaces/{namespace}/kustomizations/app")
        applied = str((obj.get("status") or {}).get("lastAppliedRevision", ""))
        return condition(obj, "Ready").get("status") == "True" and applied.endswith(sha)

    await eventually(probe, timeout=60)


async def _new_commit(
    cluster: ControlPlane, namespace: str, repo: GitRepo, files: dict[str, str | None]
) -> str:
    sha = repo.commit(files)
    patch = {
        "metadata": {
            "annotations": {"reconcile.fluxcd.io/requestedAt": datetime.now(UTC).isoformat()}
        }
    }
    await _call(cluster, "PATCH", f"{SRC}/namespaces/{namespace}/gitrepositories/repo", patch)
    return sha


async def _start(
    cluster: ControlPlane, namespace: str, repo: GitRepo, server: GitHTTPServer
) -> None:
    source = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": "repo"},
        "spec": {"url": server.url(repo), "interval": "1h", "ref": {"branch": "master"}},
    }
    await _call(cluster, "POST", f"{SRC}/namespaces/{namespace}/gitrepositories", source)
    kustomization = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "app"},
        "spec": {
            "interval": "1h",
            "prune": True,
            "path": "./deploy",
            "sourceRef": {"kind": "GitRepository", "name": "repo"},
        },
    }
    await _call(cluster, "POST", f"{KS}/namespaces/{namespace}/kustomizations", kustomization)


async def test_kubectl_fields_missing_from_git_are_removed_while_other_managers_keep_theirs(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    kustomize_controller: RunningKustomizeController,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
) -> None:
    with_extra = {"a": "1", "extra": "x"}
    await _kubectl_write(
        cluster,
        "kubectl-client-side-apply",
        _configmap("applied", namespace, with_extra),
        last_applied=True,
    )
    await _kubectl_write(cluster, "kubectl-create", _configmap("created", namespace, with_extra))
    await _kubectl_write(
        cluster,
        "kubectl-client-side-apply",
        _configmap("merged", namespace, with_extra),
        last_applied=True,
    )
    repo = make_git_repo()
    shared = _configmap("shared", namespace, {"a": "1"})
    sha1 = repo.commit(
        {
            "deploy/applied.yaml": _manifest(_configmap("applied", namespace, {"a": "1"})),
            "deploy/created.yaml": _manifest(_configmap("created", namespace, {"a": "1"})),
            "deploy/merged.yaml": _manifest(_configmap("merged", namespace, {"a": "1"}, MERGE)),
            "deploy/shared.yaml": _manifest(shared),
        }
    )
    await _start(cluster, namespace, repo, git_http_server)
    await _ready_at(cluster, namespace, sha1)

    # Taken over: the key left in place by kubectl is gone, and so is kubectl's annotation.
    for name in ("applied", "created"):
        cm = await _cm(cluster, namespace, name)
        assert cm["data"] == {"a": "1"}, name
        assert LAST_APPLIED not in (cm["metadata"].get("annotations") or {}), name
        managers = _managers(cm)
        assert ("kustomize-controller", "Apply") in managers, name
        assert not any(m.startswith("kubectl") for m, _ in managers), (name, managers)
    # `ssa: Merge`: kubectl keeps its key and annotation.
    merged = await _cm(cluster, namespace, "merged")
    assert merged["data"] == with_extra
    assert LAST_APPLIED in merged["metadata"]["annotations"]
    assert ("kubectl-client-side-apply", "Update") in _managers(merged)

    # After the first apply: a `kubectl edit` is undone, another manager's edit is kept.
    await _patch_as(cluster, "kubectl-edit", namespace, "applied", {"data": {"edited": "z"}})
    await _patch_as(
        cluster,
        "someone-else",
        namespace,
        "shared",
        {"metadata": {"labels": {"team": "x"}}, "data": {"other": "y"}},
    )
    shared["data"] = {"a": "2"}
    sha2 = await _new_commit(cluster, namespace, repo, {"deploy/shared.yaml": _manifest(shared)})
    await _ready_at(cluster, namespace, sha2)

    applied = await _cm(cluster, namespace, "applied")
    assert applied["data"] == {"a": "1"}
    assert not any(m.startswith("kubectl") for m, _ in _managers(applied))
    kept = await _cm(cluster, namespace, "shared")
    assert kept["data"] == {"a": "2", "other": "y"}
    assert kept["metadata"]["labels"]["team"] == "x"
    assert ("someone-else", "Update") in _managers(kept)

    # Once taken over, later reconciles leave the object alone.
    version = applied["metadata"]["resourceVersion"]
    shared["data"] = {"a": "3"}
    sha3 = await _new_commit(cluster, namespace, repo, {"deploy/shared.yaml": _manifest(shared)})
    await _ready_at(cluster, namespace, sha3)
    assert (await _cm(cluster, namespace, "applied"))["metadata"]["resourceVersion"] == version
