"""CEL in Kustomizations end to end: `dependsOn[].readyExpr` gating a dependent,
`healthCheckExprs` deciding the health of a custom resource, and invalid expressions
stalling — the real controllers against the real API server."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Callable
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
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


@pytest.fixture(autouse=True)
async def _delete_kustomizations(cluster: ControlPlane, namespace: str) -> AsyncIterator[None]:
    """The minimal cluster has no namespace controller: delete the test's Kustomizations
    so they are not retried all session."""
    yield
    await cluster.request("DELETE", f"{KS}/namespaces/{namespace}/kustomizations")


async def _call(cluster: ControlPlane, method: str, path: str, body: Any = None) -> Obj:
    content_type = "application/merge-patch+json" if method == "PATCH" else "application/json"
    status, payload = await cluster.request(method, path, body, content_type=content_type)
    assert status in (200, 201), (status, payload)
    result: Obj = payload if isinstance(payload, dict) else {}
    return result


async def _source(cluster: ControlPlane, namespace: str, url: str) -> None:
    body = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": "repo"},
        "spec": {"url": url, "interval": "1h", "ref": {"branch": "master"}},
    }
    await _call(cluster, "POST", f"{SRC}/namespaces/{namespace}/gitrepositories", body)


async def _kustomization(
    cluster: ControlPlane,
    namespace: str,
    name: str,
    labels: dict[str, str] | None = None,
    **spec: Any,
) -> None:
    body = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {
            "interval": "1h",
            "prune": True,
            "sourceRef": {"kind": "GitRepository", "name": "repo"},
            **spec,
        },
    }
    await _call(cluster, "POST", f"{KS}/namespaces/{namespace}/kustomizations", body)


async def _until(
    cluster: ControlPlane, namespace: str, name: str, check: Callable[[Obj], bool]
) -> Obj:
    path = f"{KS}/namespaces/{namespace}/kustomizations/{name}"

    async def probe() -> Obj | None:
        obj = await _call(cluster, "GET", path)
        return obj if check(obj) else None

    result: Obj = await eventually(probe, timeout=60.0)
    return result


def _ready_at(sha: str) -> Callable[[Obj], bool]:
    def check(obj: Obj) -> bool:
        applied = str((obj.get("status") or {}).get("lastAppliedRevision", ""))
        return condition(obj, "Ready").get("status") == "True" and applied.endswith(sha)

    return check


def _ready_reason(reason: str) -> Callable[[Obj], bool]:
    def check(obj: Obj) -> bool:
        ready = condition(obj, "Ready")
        return ready.get("status") == "False" and ready.get("reason") == reason

    return check


def _configmap(name: str, namespace: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {namespace}\n"


async def test_ready_expr_replaces_the_built_in_dependency_check(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    kustomize_controller: RunningKustomizeController,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
) -> None:
    repo = make_git_repo()
    sha = repo.commit({"app/cm.yaml": _configmap("app", namespace)})
    await _source(cluster, namespace, git_http_server.url(repo))
    # The dependency is suspended, so it never becomes Ready: only the expression can let
    # the dependent through.
    await _kustomization(cluster, namespace, "infra", {"stage": "hold"}, path="./app", suspend=True)
    ready_expr = "dep.metadata.labels.stage == 'go' && self.metadata.name == 'app'"
    depends_on = [{"name": "infra", "readyExpr": ready_expr}]
    await _kustomization(cluster, namespace, "app", path="./app", dependsOn=depends_on)

    obj = await _until(cluster, namespace, "app", _ready_reason("DependencyNotReady"))
    assert condition(obj, "Ready")["message"] == (
        f"dependency '{namespace}/infra' is not ready according to readyExpr eval"
    )
    status, _ = await cluster.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/app")
    assert status == 404

    infra = f"{KS}/namespaces/{namespace}/kustomizations/infra"
    await _call(cluster, "PATCH", infra, {"metadata": {"labels": {"stage": "go"}}})
    await _until(cluster, namespace, "app", _ready_at(sha))
    status, _ = await cluster.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/app")
    assert status == 200
    assert condition(await _call(cluster, "GET", infra), "Ready") == {}


def _gadget_crd(group: str) -> Obj:
    crd: Obj = yaml.safe_load(
        textwrap.dedent(
            f"""
            apiVersion: apiextensions.k8s.io/v1
            kind: CustomResourceDefinition
            metadata:
              name: gadgets.{group}
            spec:
              group: {group}
              scope: Namespaced
              names: {{plural: gadgets, singular: gadget, kind: Gadget, listKind: GadgetList}}
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
    )
    return crd


async def test_health_check_exprs_drive_a_custom_resource_through_in_progress_failed_current(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    kustomize_controller: RunningKustomizeController,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
) -> None:
    # No controller runs for Gadgets: the test writes their status. Without the expressions
    # a Gadget (no conditions) would count as Current at once.
    group = f"{namespace}.cel.gotk.test"
    await _call(cluster, "POST", CRDS, _gadget_crd(group))

    async def established() -> bool:
        crd = await _call(cluster, "GET", f"{CRDS}/gadgets.{group}")
        return condition(crd, "Established").get("status") == "True"

    await eventually(established)
    gadgets = f"/apis/{group}/v1/namespaces/{namespace}/gadgets"
    manifest = f"apiVersion: {group}/v1\nkind: Gadget\nmetadata:\n  name: g\nspec:\n  size: 1\n"
    await _call(cluster, "POST", gadgets, yaml.safe_load(manifest))

    async def set_phase(phase: str) -> None:
        await _call(cluster, "PATCH", f"{gadgets}/g/status", {"status": {"phase": phase}})

    await set_phase("Provisioning")
    repo = make_git_repo()
    sha = repo.commit({"g.yaml": manifest})
    await _source(cluster, namespace, git_http_server.url(repo))
    exprs = [
        {
            "apiVersion": f"{group}/v1",
            "kind": "Gadget",
            "inProgress": "status.phase == 'Provisioning'",
            "failed": "status.phase == 'Broken'",
            "current": "status.phase == 'Running'",
        }
    ]
    await _kustomization(
        cluster,
        namespace,
        "app",
        targetNamespace=namespace,
        wait=True,
        timeout="40s",
        retryInterval="2s",
        healthCheckExprs=exprs,
    )
    obj = await _until(
        cluster, namespace, "app", lambda o: condition(o, "Healthy").get("status") == "Unknown"
    )
    assert condition(obj, "Ready").get("status") != "True"

    await set_phase("Broken")
    obj = await _until(cluster, namespace, "app", _ready_reason("HealthCheckFailed"))
    healthy = condition(obj, "Healthy")
    assert healthy["status"] == "False"
    assert f"Gadget/{namespace}/g status: 'Failed'" in healthy["message"]

    await set_phase("Running")
    obj = await _until(cluster, namespace, "app", _ready_at(sha))
    assert condition(obj, "Healthy")["status"] == "True"


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (
            {"dependsOn": [{"name": "other", "readyExpr": "dep.status.("}]},
            "spec.dependsOn[0].readyExpr",
        ),
        (
            {
                "healthCheckExprs": [
                    {"apiVersion": "v1", "kind": "ConfigMap", "current": "true"},
                    {"apiVersion": "v1", "kind": "Secret", "current": "data ==== 1"},
                ]
            },
            "spec.healthCheckExprs[1].current",
        ),
    ],
)
async def test_invalid_expression_stalls_with_invalid_cel_expression(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    kustomize_controller: RunningKustomizeController,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
    spec: Obj,
    field: str,
) -> None:
    repo = make_git_repo()
    repo.commit({"cm.yaml": _configmap("never", namespace)})
    await _source(cluster, namespace, git_http_server.url(repo))
    await _kustomization(cluster, namespace, "app", **spec)

    obj = await _until(cluster, namespace, "app", _ready_reason("InvalidCELExpression"))
    stalled = condition(obj, "Stalled")
    assert stalled["status"] == "True"
    assert stalled["reason"] == "InvalidCELExpression"
    assert stalled["message"].startswith(f"{field}: invalid CEL expression")
    assert field in condition(obj, "Ready")["message"]
    status, _ = await cluster.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/never")
    assert status == 404
