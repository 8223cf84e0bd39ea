"""Kustomization end to end: the real kustomize-controller and source-controller against the
real API server, building from real Git repositories served over HTTP."""

from __future__ import annotations

import asyncio
import base64
import textwrap
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
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
OWNER = "kustomize.toolkit.fluxcd.io"


# --- helpers


@pytest.fixture(autouse=True)
async def _delete_kustomizations(cluster: ControlPlane, namespace: str) -> AsyncIterator[None]:
    """Delete the test's Kustomizations before its namespace goes: the minimal cluster has no
    namespace controller, so they would otherwise linger and be retried all session."""
    yield
    await cluster.request("DELETE", f"{KS}/namespaces/{namespace}/kustomizations")


def _yaml(text: str) -> str:
    return textwrap.dedent(text).lstrip()


def _configmap(
    name: str, namespace: str, data: dict[str, str], annotations: dict[str, str] | None = None
) -> str:
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata:", f"  name: {name}"]
    if namespace:
        lines.append(f"  namespace: {namespace}")
    if annotations:
        lines.append("  annotations:")
        lines += [f"    {k}: {v!r}" for k, v in annotations.items()]
    lines.append("data:")
    lines += [f"  {k}: {v!r}" for k, v in data.items()]
    return "\n".join(lines) + "\n"


async def _call(
    cluster: ControlPlane, method: str, path: str, body: Any = None, *, ok: tuple[int, ...] = ()
) -> Obj:
    content_type = "application/merge-patch+json" if method == "PATCH" else "application/json"
    status, payload = await cluster.request(method, path, body, content_type=content_type)
    assert status in (ok or (200, 201)), (status, payload)
    result: Obj = payload if isinstance(payload, dict) else {}
    return result


async def _git_source(cluster: ControlPlane, namespace: str, name: str, url: str) -> None:
    await _call(
        cluster,
        "POST",
        f"{SRC}/namespaces/{namespace}/gitrepositories",
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": name},
            "spec": {"url": url, "interval": "1h", "ref": {"branch": "master"}},
        },
    )


async def _kustomization(cluster: ControlPlane, namespace: str, name: str, **spec: Any) -> None:
    body = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name},
        "spec": {
            "interval": "1h",
            "prune": True,
            "sourceRef": {"kind": "GitRepository", "name": "repo"},
            **spec,
        },
    }
    await _call(cluster, "POST", f"{KS}/namespaces/{namespace}/kustomizations", body)


def _now() -> str:
    return datetime.now(UTC).isoformat()


async def _request_reconcile(cluster: ControlPlane, path: str) -> None:
    patch = {"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": _now()}}}
    await _call(cluster, "PATCH", path, patch)


async def _ks(cluster: ControlPlane, namespace: str, name: str) -> Obj:
    return await _call(cluster, "GET", f"{KS}/namespaces/{namespace}/kustomizations/{name}")


async def _until(
    cluster: ControlPlane,
    namespace: str,
    name: str,
    check: Callable[[Obj], bool],
    timeout: float = 60.0,
) -> Obj:
    async def probe() -> Obj | None:
        obj = await _ks(cluster, namespace, name)
        return obj if check(obj) else None

    result: Obj = await eventually(probe, timeout=timeout)
    return result


def _ready_at(revision_sha: str) -> Callable[[Obj], bool]:
    def check(obj: Obj) -> bool:
        ready = condition(obj, "Ready")
        status = obj.get("status") or {}
        return ready.get("status") == "True" and str(
            status.get("lastAppliedRevision", "")
        ).endswith(revision_sha)

    return check


def _failed(reason: str) -> Callable[[Obj], bool]:
    def check(obj: Obj) -> bool:
        ready = condition(obj, "Ready")
        return ready.get("status") == "False" and ready.get("reason") == reason

    return check


async def _get_cm(cluster: ControlPlane, namespace: str, name: str) -> tuple[int, Obj]:
    status, body = await cluster.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/{name}")
    return status, body if isinstance(body, dict) else {}


async def _setup(
    cluster: ControlPlane,
    namespace: str,
    repo: GitRepo,
    server: GitHTTPServer,
) -> None:
    await _git_source(cluster, namespace, "repo", server.url(repo))


async def _new_commit(
    cluster: ControlPlane, namespace: str, repo: GitRepo, files: dict[str, str | None]
) -> str:
    sha = repo.commit(files)
    await _request_reconcile(cluster, f"{SRC}/namespaces/{namespace}/gitrepositories/repo")
    return sha


def _crd(group: str) -> str:
    return _yaml(
        f"""
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata:
          name: widgets.{group}
        spec:
          group: {group}
          scope: Namespaced
          names: {{plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}}
          versions:
          - name: v1
            served: true
            storage: true
            subresources: {{status: {{}}}}
            schema:
              openAPIV3Schema:
                type: object
                x-kubernetes-preserve-unknown-fields: true
        """
    )


# --- tests


async def test_plain_yaml_is_applied_updated_pruned_drift_reverted_and_deleted(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    kustomize_controller: RunningKustomizeController,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
) -> None:
    group = f"{namespace}.gotk.test"
    extra_ns = f"{namespace}-extra"
    repo = make_git_repo()
    sha1 = repo.commit(
        {
            "deploy/ns.yaml": f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {extra_ns}\n",
            "deploy/crd.yaml": _crd(group),
            "deploy/widget.yaml": (
                f"apiVersion: {group}/v1\nkind: Widget\n"
                f"metadata:\n  name: w1\n  namespace: {namespace}\nspec:\n  size: 3\n"
            ),
            "deploy/keep.yaml": _configmap("keep", namespace, {"a": "1"}),
            "deploy/gone.yaml": _configmap("gone", namespace, {"b": "2"}),
            "deploy/sticky.yaml": _configmap(
                "sticky", namespace, {"c": "3"}, {f"{OWNER}/prune": "disabled"}
            ),
            "deploy/secret.yaml": (
                f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n"
                f"  namespace: {namespace}\nstringData:\n  token: s3cr3t\n"
            ),
            "deploy/other-ns.yaml": _configmap("in-extra", extra_ns, {"d": "4"}),
            "README.md": "not a manifest\n",
        }
    )
    await _setup(cluster, namespace, repo, git_http_server)
    await _kustomization(cluster, namespace, "app", path="./deploy")

    obj = await _until(cluster, namespace, "app", _ready_at(sha1))
    ready = condition(obj, "Ready")
    assert ready["reason"] == "ReconciliationSucceeded"
    assert ready["message"] == f"Applied revision: master@sha1:{sha1}"
    status = obj["status"]
    assert status["lastAttemptedRevision"] == f"master@sha1:{sha1}"
    assert status["observedGeneration"] == obj["metadata"]["generation"]
    ids = {e["id"] for e in status["inventory"]["entries"]}
    assert {
        f"_{extra_ns}__Namespace",
        f"_widgets.{group}_apiextensions.k8s.io_CustomResourceDefinition",
        f"{namespace}_w1_{group}_Widget",
        f"{namespace}_keep__ConfigMap",
        f"{namespace}_gone__ConfigMap",
        f"{namespace}_sticky__ConfigMap",
        f"{namespace}_creds__Secret",
        f"{extra_ns}_in-extra__ConfigMap",
    } == ids
    code, keep = await _get_cm(cluster, namespace, "keep")
    assert code == 200
    assert keep["metadata"]["labels"] == {f"{OWNER}/name": "app", f"{OWNER}/namespace": namespace}
    widget = await _call(cluster, "GET", f"/apis/{group}/v1/namespaces/{namespace}/widgets/w1")
    assert widget["spec"] == {"size": 3}
    events = await _call(cluster, "GET", f"/api/v1/namespaces/{namespace}/events")
    messages = "\n".join(e["message"] for e in events["items"])
    assert f"ConfigMap/{namespace}/keep created" in messages
    assert f"Widget/{namespace}/w1 created" in messages
    assert "s3cr3t" not in messages

    # A new commit: one object changed, two removed (one of them opted out of pruning).
    sha2 = await _new_commit(
        cluster,
        namespace,
        repo,
        {
            "deploy/keep.yaml": _configmap("keep", namespace, {"a": "changed"}),
            "deploy/gone.yaml": None,
            "deploy/sticky.yaml": None,
        },
    )
    obj = await _until(cluster, namespace, "app", _ready_at(sha2))
    assert (await _get_cm(cluster, namespace, "keep"))[1]["data"] == {"a": "changed"}
    assert (await _get_cm(cluster, namespace, "gone"))[0] == 404
    assert (await _get_cm(cluster, namespace, "sticky"))[0] == 200
    ids = {e["id"] for e in obj["status"]["inventory"]["entries"]}
    assert f"{namespace}_gone__ConfigMap" not in ids
    events = await _call(cluster, "GET", f"/api/v1/namespaces/{namespace}/events")
    messages = "\n".join(e["message"] for e in events["items"])
    assert f"ConfigMap/{namespace}/gone deleted" in messages
    assert f"ConfigMap/{namespace}/keep configured" in messages

    # Drift: a hand edit is reverted by the next reconcile.
    await _call(
        cluster,
        "PATCH",
        f"/api/v1/namespaces/{namespace}/configmaps/keep",
        {"data": {"a": "by-hand"}},
    )
    await _request_reconcile(cluster, f"{KS}/namespaces/{namespace}/kustomizations/app")

    async def reverted() -> bool:
        return (await _get_cm(cluster, namespace, "keep"))[1].get("data") == {"a": "changed"}

    await eventually(reverted, timeout=30)

    # Deletion with prune: true removes what it applied (but not the opted-out object).
    await _call(cluster, "DELETE", f"{KS}/namespaces/{namespace}/kustomizations/app")

    async def gone() -> bool:
        status, _ = await cluster.request("GET", f"{KS}/namespaces/{namespace}/kustomizations/app")
        return status == 404

    await eventually(gone, timeout=30)
    assert (await _get_cm(cluster, namespace, "keep"))[0] == 404
    assert (await _get_cm(cluster, namespace, "sticky"))[0] == 200
    code, extra = await cluster.request("GET", f"/api/v1/namespaces/{extra_ns}")
    # No namespace controller in the minimal cluster: a deleted namespace stays Terminating.
    assert code == 404 or extra["metadata"].get("deletionTimestamp"), extra
    code, _ = await cluster.request(
        "GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.{group}"
    )
    assert code in (404, 200)


async def test_build_and_apply_failures_keep_the_previous_inventory(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    kustomize_controller: RunningKustomizeController,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
) -> None:
    repo = make_git_repo()
    sha1 = repo.commit({"app/one.yaml": _configmap("one", namespace, {"a": "1"})})
    await _setup(cluster, namespace, repo, git_http_server)
    await _kustomization(cluster, namespace, "app", path="./app", retryInterval="2s")
    obj = await _until(cluster, namespace, "app", _ready_at(sha1))
    inventory = obj["status"]["inventory"]

    # Malformed YAML: BuildFailed naming the file; nothing pruned.
    sha2 = await _new_commit(
        cluster, namespace, repo, {"app/one.yaml": None, "app/bad.yaml": "kind: [unclosed\n"}
    )
    obj = await _until(cluster, namespace, "app", _failed("BuildFailed"))
    message = condition(obj, "Ready")["message"]
    assert "bad.yaml" in message
    assert obj["status"]["inventory"] == inventory
    assert obj["status"]["lastAttemptedRevision"] == f"master@sha1:{sha2}"
    assert obj["status"]["lastAppliedRevision"] == f"master@sha1:{sha1}"
    assert (await _get_cm(cluster, namespace, "one"))[0] == 200

    # A kustomization.yaml reaching outside the artifact root.
    await _new_commit(
        cluster,
        namespace,
        repo,
        {"app/bad.yaml": None, "app/kustomization.yaml": "resources:\n- ../../etc\n"},
    )
    obj = await _until(
        cluster,
        namespace,
        "app",
        lambda o: (
            "outside" in condition(o, "Ready").get("message", "") and _failed("BuildFailed")(o)
        ),
    )
    assert obj["status"]["inventory"] == inventory

    # An object the API server rejects: the message names the object and the field.
    service = _yaml(
        f"""
        apiVersion: v1
        kind: Service
        metadata:
          name: web
          namespace: {namespace}
        spec:
          ports:
          - port: 99999
        """
    )
    await _new_commit(
        cluster, namespace, repo, {"app/kustomization.yaml": None, "app/svc.yaml": service}
    )
    obj = await _until(cluster, namespace, "app", _failed("ReconciliationFailed"))
    message = condition(obj, "Ready")["message"]
    assert f"Service/{namespace}/web dry-run failed" in message
    assert "spec.ports[0].port" in message
    assert obj["status"]["inventory"] == inventory
    assert (await _get_cm(cluster, namespace, "one"))[0] == 200
    reconciling = condition(obj, "Reconciling")
    assert reconciling.get("reason") == "ProgressingWithRetry"


async def test_post_build_substitution_with_target_namespace_and_name_prefix(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    kustomize_controller: RunningKustomizeController,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
) -> None:
    repo = make_git_repo()
    sha = repo.commit(
        {
            "cm.yaml": _configmap(
                "settings",
                "",
                {
                    "region": "${region}",
                    "token": "${token}",
                    "env": "${env}",
                    "fallback": "${missing:=dflt}",
                },
            )
        }
    )
    await _setup(cluster, namespace, repo, git_http_server)
    await _kustomization(
        cluster,
        namespace,
        "app",
        retryInterval="2s",
        targetNamespace=namespace,
        namePrefix="p-",
        postBuild={
            "substitute": {"env": "prod"},
            "substituteFrom": [
                {"kind": "ConfigMap", "name": "vars"},
                {"kind": "Secret", "name": "secret-vars"},
                {"kind": "ConfigMap", "name": "absent", "optional": True},
            ],
        },
    )
    obj = await _until(cluster, namespace, "app", _failed("BuildFailed"))
    assert "ConfigMap/vars" in condition(obj, "Ready")["message"]

    await _call(
        cluster,
        "POST",
        f"/api/v1/namespaces/{namespace}/configmaps",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "vars"},
            "data": {"region": "eu-west", "env": "overridden"},
        },
    )
    await _call(
        cluster,
        "POST",
        f"/api/v1/namespaces/{namespace}/secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "secret-vars"},
            "data": {"token": base64.b64encode(b"t0k3n").decode()},
        },
    )
    await _until(cluster, namespace, "app", _ready_at(sha))
    code, cm = await _get_cm(cluster, namespace, "p-settings")
    assert code == 200, cm
    assert cm["data"] == {
        "region": "eu-west",
        "token": "t0k3n",
        "env": "prod",
        "fallback": "dflt",
    }


async def test_depends_on_waits_for_the_dependency_then_applies(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    kustomize_controller: RunningKustomizeController,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
) -> None:
    repo = make_git_repo()
    sha = repo.commit(
        {
            "infra/cm.yaml": _configmap("infra", namespace, {"x": "1"}),
            "app/cm.yaml": _configmap("app", namespace, {"y": "2"}),
        }
    )
    await _setup(cluster, namespace, repo, git_http_server)
    await _kustomization(cluster, namespace, "app", path="./app", dependsOn=[{"name": "infra"}])
    obj = await _until(cluster, namespace, "app", _failed("DependencyNotReady"))
    assert f"'{namespace}/infra'" in condition(obj, "Ready")["message"]
    assert (await _get_cm(cluster, namespace, "app"))[0] == 404

    await _kustomization(cluster, namespace, "infra", path="./infra")
    await _until(cluster, namespace, "infra", _ready_at(sha))
    await _until(cluster, namespace, "app", _ready_at(sha))
    assert (await _get_cm(cluster, namespace, "app"))[0] == 200


async def test_suspended_kustomization_is_not_reconciled_until_resumed(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    kustomize_controller: RunningKustomizeController,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
) -> None:
    repo = make_git_repo()
    sha1 = repo.commit({"cm.yaml": _configmap("c", namespace, {"v": "1"})})
    await _setup(cluster, namespace, repo, git_http_server)
    await _kustomization(cluster, namespace, "app")
    await _until(cluster, namespace, "app", _ready_at(sha1))

    path = f"{KS}/namespaces/{namespace}/kustomizations/app"
    await _call(cluster, "PATCH", path, {"spec": {"suspend": True}})
    sha2 = await _new_commit(
        cluster, namespace, repo, {"cm.yaml": _configmap("c", namespace, {"v": "2"})}
    )

    async def source_at_sha2() -> bool:
        src = await _call(cluster, "GET", f"{SRC}/namespaces/{namespace}/gitrepositories/repo")
        return str((src.get("status") or {}).get("artifact", {}).get("revision", "")).endswith(sha2)

    await eventually(source_at_sha2)
    await _request_reconcile(cluster, path)
    await asyncio.sleep(3.0)
    assert (await _get_cm(cluster, namespace, "c"))[1]["data"] == {"v": "1"}

    await _call(cluster, "PATCH", path, {"spec": {"suspend": False}})
    await _until(cluster, namespace, "app", _ready_at(sha2))
    assert (await _get_cm(cluster, namespace, "c"))[1]["data"] == {"v": "2"}


async def test_health_check_waits_for_custom_resource_ready_condition(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    kustomize_controller: RunningKustomizeController,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
) -> None:
    # No controller runs for the custom resource: the test plays its part by writing its
    # status (a CR without conditions would count as Current at once).
    group = f"{namespace}.gotk.test"
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    await _call(cluster, "POST", crds, yaml.safe_load(_crd(group)))

    async def established() -> bool:
        crd = await _call(cluster, "GET", f"{crds}/widgets.{group}")
        return condition(crd, "Established").get("status") == "True"

    await eventually(established)
    widgets = f"/apis/{group}/v1/namespaces/{namespace}/widgets"
    manifest = (
        f"apiVersion: {group}/v1\nkind: Widget\n"
        f"metadata:\n  name: w\n  namespace: {namespace}\nspec:\n  size: 1\n"
    )
    widget = await _call(cluster, "POST", widgets, yaml.safe_load(manifest))

    async def set_ready(status: str) -> None:
        current = await _call(cluster, "GET", f"{widgets}/w")
        current["status"] = {
            "conditions": [
                {
                    "type": "Ready",
                    "status": status,
                    "reason": "Test",
                    "message": f"ready is {status}",
                    "lastTransitionTime": "2024-01-01T00:00:00Z",
                }
            ]
        }
        await _call(cluster, "PUT", f"{widgets}/w/status", current)

    await set_ready("False")
    repo = make_git_repo()
    sha = repo.commit({"w.yaml": manifest})
    await _setup(cluster, namespace, repo, git_http_server)
    check = {"apiVersion": f"{group}/v1", "kind": "Widget", "name": "w", "namespace": namespace}
    await _kustomization(cluster, namespace, "app", timeout="40s", healthChecks=[check])
    obj = await _until(
        cluster, namespace, "app", lambda o: condition(o, "Healthy").get("status") == "Unknown"
    )
    assert condition(obj, "Ready").get("status") != "True"
    assert condition(obj, "Healthy")["message"].startswith(
        f"Running health checks for revision master@sha1:{sha}"
    )

    await set_ready("True")
    obj = await _until(cluster, namespace, "app", _ready_at(sha))
    healthy = condition(obj, "Healthy")
    assert healthy["status"] == "True"
    assert healthy["reason"] == "Succeeded"
    assert healthy["message"].startswith("Health check passed in")
    assert (
        widget["metadata"]["uid"]
        == (await _call(cluster, "GET", f"{widgets}/w"))["metadata"]["uid"]
    )


async def test_force_recreates_object_with_changed_immutable_field(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    kustomize_controller: RunningKustomizeController,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
) -> None:
    def secret(value: str) -> str:
        return (
            f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: frozen\n  namespace: {namespace}\n"
            f"immutable: true\nstringData:\n  v: {value}\n"
        )

    repo = make_git_repo()
    sha1 = repo.commit({"s.yaml": secret("one")})
    await _setup(cluster, namespace, repo, git_http_server)
    await _kustomization(cluster, namespace, "app", retryInterval="2s")
    await _until(cluster, namespace, "app", _ready_at(sha1))
    before = await _call(cluster, "GET", f"/api/v1/namespaces/{namespace}/secrets/frozen")

    sha2 = await _new_commit(cluster, namespace, repo, {"s.yaml": secret("two")})
    obj = await _until(cluster, namespace, "app", _failed("ReconciliationFailed"))
    assert "immutable" in condition(obj, "Ready")["message"]

    path = f"{KS}/namespaces/{namespace}/kustomizations/app"
    await _call(cluster, "PATCH", path, {"spec": {"force": True}})
    await _until(cluster, namespace, "app", _ready_at(sha2))
    after = await _call(cluster, "GET", f"/api/v1/namespaces/{namespace}/secrets/frozen")
    assert after["metadata"]["uid"] != before["metadata"]["uid"]
    assert base64.b64decode(after["data"]["v"]) == b"two"


async def test_service_account_impersonation_needs_rbac(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    kustomize_controller: RunningKustomizeController,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
) -> None:
    repo = make_git_repo()
    sha = repo.commit({"cm.yaml": _configmap("tenant", namespace, {"v": "1"})})
    await _setup(cluster, namespace, repo, git_http_server)
    await _call(
        cluster,
        "POST",
        f"/api/v1/namespaces/{namespace}/serviceaccounts",
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "deployer"}},
    )
    await _kustomization(
        cluster, namespace, "app", serviceAccountName="deployer", retryInterval="2s"
    )
    obj = await _until(cluster, namespace, "app", _failed("ReconciliationFailed"))
    message = condition(obj, "Ready")["message"]
    assert f"system:serviceaccount:{namespace}:deployer" in message
    assert (await _get_cm(cluster, namespace, "tenant"))[0] == 404

    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}"
    # The aggregated `admin` ClusterRole stays empty without a controller-manager.
    await _call(
        cluster,
        "POST",
        f"{rbac}/roles",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "configmaps"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["*"]}],
        },
    )
    await _call(
        cluster,
        "POST",
        f"{rbac}/rolebindings",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "deployer"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "configmaps",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": namespace}],
        },
    )
    await _until(cluster, namespace, "app", _ready_at(sha))
    assert (await _get_cm(cluster, namespace, "tenant"))[0] == 200


async def test_kubeconfig_secret_targets_the_cluster_it_names(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    kustomize_controller: RunningKustomizeController,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
) -> None:
    def b64(path: Any) -> str:
        return base64.b64encode(path.read_bytes()).decode()

    kubeconfig = _yaml(
        f"""
        apiVersion: v1
        kind: Config
        clusters:
        - name: remote
          cluster:
            server: {cluster.server}
            certificate-authority-data: {b64(cluster.ca_file)}
        users:
        - name: remote
          user:
            client-certificate-data: {b64(cluster.cert_file)}
            client-key-data: {b64(cluster.key_file)}
        contexts:
        - name: remote
          context: {{cluster: remote, user: remote}}
        current-context: remote
        """
    )
    await _call(
        cluster,
        "POST",
        f"/api/v1/namespaces/{namespace}/secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "remote-kubeconfig"},
            "data": {"value": base64.b64encode(kubeconfig.encode()).decode()},
        },
    )
    repo = make_git_repo()
    sha = repo.commit({"cm.yaml": _configmap("remote", namespace, {"v": "1"})})
    await _setup(cluster, namespace, repo, git_http_server)
    await _kustomization(
        cluster, namespace, "app", kubeConfig={"secretRef": {"name": "remote-kubeconfig"}}
    )
    await _until(cluster, namespace, "app", _ready_at(sha))
    assert (await _get_cm(cluster, namespace, "remote"))[0] == 200
