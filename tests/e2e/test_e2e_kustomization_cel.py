"""CEL in Kustomizations end to end: `dependsOn[].readyExpr` gating a dependent,
`healthCheckExprs` deciding the health of a custom resource, and invalid expressions
stalling — the real controllers against the real API server."""

from __future__ import annotations

import pytest
import yaml
from fixtures.controllers import condition, eventually
from fixtures.kustomize_env import KsEnv, crd_yaml, failed, ready_at
from gotk_api.objects import Obj

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def _configmap(name: str, namespace: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {namespace}\n"


async def test_ready_expr_replaces_the_built_in_dependency_check(
    env: KsEnv,
) -> None:
    _, sha = await env.source({"app/cm.yaml": _configmap("app", env.namespace)})
    # The dependency is suspended, so it never becomes Ready: only the expression can let
    # the dependent through.
    await env.kustomization("infra", labels={"stage": "hold"}, path="./app", suspend=True)
    ready_expr = "dep.metadata.labels.stage == 'go' && self.metadata.name == 'app'"
    depends_on = [{"name": "infra", "readyExpr": ready_expr}]
    await env.kustomization("app", path="./app", dependsOn=depends_on)

    obj = await env.until("app", failed("DependencyNotReady"))
    assert condition(obj, "Ready")["message"] == (
        f"dependency '{env.namespace}/infra' is not ready according to readyExpr eval"
    )
    assert (await env.get_cm("app"))[0] == 404

    infra = env.ks_path("infra")
    await env.call("PATCH", infra, {"metadata": {"labels": {"stage": "go"}}})
    await env.until("app", ready_at(sha))
    assert (await env.get_cm("app"))[0] == 200
    assert condition(await env.call("GET", infra), "Ready") == {}


async def test_health_check_exprs_drive_a_custom_resource_through_in_progress_failed_current(
    env: KsEnv,
) -> None:
    # No controller runs for Gadgets: the test writes their status. Without the expressions
    # a Gadget (no conditions) would count as Current at once.
    namespace = env.namespace
    group = f"{namespace}.cel.gotk.test"
    await env.call("POST", CRDS, yaml.safe_load(crd_yaml(group, "Gadget")))

    async def established() -> bool:
        crd = await env.call("GET", f"{CRDS}/gadgets.{group}")
        return condition(crd, "Established").get("status") == "True"

    await eventually(established)
    gadgets = f"/apis/{group}/v1/namespaces/{namespace}/gadgets"
    manifest = f"apiVersion: {group}/v1\nkind: Gadget\nmetadata:\n  name: g\nspec:\n  size: 1\n"
    await env.call("POST", gadgets, yaml.safe_load(manifest))

    async def set_phase(phase: str) -> None:
        await env.call("PATCH", f"{gadgets}/g/status", {"status": {"phase": phase}})

    await set_phase("Provisioning")
    _, sha = await env.source({"g.yaml": manifest})
    exprs = [
        {
            "apiVersion": f"{group}/v1",
            "kind": "Gadget",
            "inProgress": "status.phase == 'Provisioning'",
            "failed": "status.phase == 'Broken'",
            "current": "status.phase == 'Running'",
        }
    ]
    await env.kustomization(
        "app",
        targetNamespace=namespace,
        wait=True,
        timeout="40s",
        retryInterval="2s",
        healthCheckExprs=exprs,
    )
    obj = await env.until("app", lambda o: condition(o, "Healthy").get("status") == "Unknown")
    assert condition(obj, "Ready").get("status") != "True"

    await set_phase("Broken")
    obj = await env.until("app", failed("HealthCheckFailed"))
    healthy = condition(obj, "Healthy")
    assert healthy["status"] == "False"
    assert f"Gadget/{namespace}/g status: 'Failed'" in healthy["message"]

    await set_phase("Running")
    obj = await env.until("app", ready_at(sha))
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
    env: KsEnv,
    spec: Obj,
    field: str,
) -> None:
    await env.source({"cm.yaml": _configmap("never", env.namespace)})
    await env.kustomization("app", **spec)

    obj = await env.until("app", failed("InvalidCELExpression"))
    stalled = condition(obj, "Stalled")
    assert stalled["status"] == "True"
    assert stalled["reason"] == "InvalidCELExpression"
    assert stalled["message"].startswith(f"{field}: invalid CEL expression")
    assert field in condition(obj, "Ready")["message"]
    assert (await env.get_cm("never"))[0] == 404
