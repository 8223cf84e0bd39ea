"""Kustomization end to end: the real kustomize-controller and source-controller against the
real API server, building from real Git repositories served over HTTP."""

from __future__ import annotations

import asyncio
import base64
import textwrap
from typing import Any

import yaml
from fixtures.controllers import condition, eventually
from fixtures.kustomize_env import KsEnv, crd_yaml, failed, ready_at

OWNER = "kustomize.toolkit.fluxcd.io"


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


# --- tests


async def test_plain_yaml_is_applied_updated_pruned_drift_reverted_and_deleted(
    env: KsEnv,
) -> None:
    namespace = env.namespace
    group = f"{namespace}.gotk.test"
    extra_ns = f"{namespace}-extra"
    repo, sha1 = await env.source(
        {
            "deploy/ns.yaml": f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {extra_ns}\n",
            "deploy/crd.yaml": crd_yaml(group, "Widget"),
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
    await env.kustomization("app", path="./deploy")

    obj = await env.until("app", ready_at(sha1))
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
    code, keep = await env.get_cm("keep")
    assert code == 200
    assert keep["metadata"]["labels"] == {f"{OWNER}/name": "app", f"{OWNER}/namespace": namespace}
    widget = await env.call("GET", f"/apis/{group}/v1/namespaces/{namespace}/widgets/w1")
    assert widget["spec"] == {"size": 3}
    messages = await env.event_messages()
    assert f"ConfigMap/{namespace}/keep created" in messages
    assert f"Widget/{namespace}/w1 created" in messages
    assert "s3cr3t" not in messages

    # A new commit: one object changed, two removed (one of them opted out of pruning).
    sha2 = await env.new_commit(
        repo,
        {
            "deploy/keep.yaml": _configmap("keep", namespace, {"a": "changed"}),
            "deploy/gone.yaml": None,
            "deploy/sticky.yaml": None,
        },
    )
    obj = await env.until("app", ready_at(sha2))
    assert (await env.get_cm("keep"))[1]["data"] == {"a": "changed"}
    assert (await env.get_cm("gone"))[0] == 404
    assert (await env.get_cm("sticky"))[0] == 200
    ids = {e["id"] for e in obj["status"]["inventory"]["entries"]}
    assert f"{namespace}_gone__ConfigMap" not in ids
    messages = await env.event_messages()
    assert f"ConfigMap/{namespace}/gone deleted" in messages
    assert f"ConfigMap/{namespace}/keep configured" in messages

    # Drift: a hand edit is reverted by the next reconcile.
    await env.call("PATCH", env.core_path("configmaps/keep"), {"data": {"a": "by-hand"}})
    await env.request_reconcile(env.ks_path("app"))

    async def reverted() -> bool:
        return (await env.get_cm("keep"))[1].get("data") == {"a": "changed"}

    await eventually(reverted, timeout=30)

    # Deletion with prune: true removes what it applied (but not the opted-out object).
    await env.call("DELETE", env.ks_path("app"))

    async def gone() -> bool:
        status, _ = await env.cluster.request("GET", env.ks_path("app"))
        return status == 404

    await eventually(gone, timeout=30)
    assert (await env.get_cm("keep"))[0] == 404
    assert (await env.get_cm("sticky"))[0] == 200
    code, extra = await env.cluster.request("GET", f"/api/v1/namespaces/{extra_ns}")
    # No namespace controller in the minimal cluster: a deleted namespace stays Terminating.
    assert code == 404 or extra["metadata"].get("deletionTimestamp"), extra
    code, _ = await env.cluster.request(
        "GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.{group}"
    )
    assert code in (404, 200)


async def test_build_and_apply_failures_keep_the_previous_inventory(env: KsEnv) -> None:
    repo, sha1 = await env.source({"app/one.yaml": _configmap("one", env.namespace, {"a": "1"})})
    await env.kustomization("app", path="./app", retryInterval="2s")
    obj = await env.until("app", ready_at(sha1))
    inventory = obj["status"]["inventory"]

    # Malformed YAML: BuildFailed naming the file; nothing pruned.
    sha2 = await env.new_commit(repo, {"app/one.yaml": None, "app/bad.yaml": "kind: [unclosed\n"})
    obj = await env.until("app", failed("BuildFailed"))
    message = condition(obj, "Ready")["message"]
    assert "bad.yaml" in message
    assert obj["status"]["inventory"] == inventory
    assert obj["status"]["lastAttemptedRevision"] == f"master@sha1:{sha2}"
    assert obj["status"]["lastAppliedRevision"] == f"master@sha1:{sha1}"
    assert (await env.get_cm("one"))[0] == 200

    # A kustomization.yaml reaching outside the artifact root.
    await env.new_commit(
        repo, {"app/bad.yaml": None, "app/kustomization.yaml": "resources:\n- ../../etc\n"}
    )
    obj = await env.until(
        "app",
        lambda o: (
            "outside" in condition(o, "Ready").get("message", "") and failed("BuildFailed")(o)
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
          namespace: {env.namespace}
        spec:
          ports:
          - port: 99999
        """
    )
    await env.new_commit(repo, {"app/kustomization.yaml": None, "app/svc.yaml": service})
    obj = await env.until("app", failed("ReconciliationFailed"))
    message = condition(obj, "Ready")["message"]
    assert f"Service/{env.namespace}/web dry-run failed" in message
    assert "spec.ports[0].port" in message
    assert obj["status"]["inventory"] == inventory
    assert (await env.get_cm("one"))[0] == 200
    reconciling = condition(obj, "Reconciling")
    assert reconciling.get("reason") == "ProgressingWithRetry"


async def test_post_build_substitution_with_target_namespace_and_name_prefix(env: KsEnv) -> None:
    _, sha = await env.source(
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
    await env.kustomization(
        "app",
        retryInterval="2s",
        targetNamespace=env.namespace,
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
    obj = await env.until("app", failed("BuildFailed"))
    assert "ConfigMap/vars" in condition(obj, "Ready")["message"]

    await env.call(
        "POST",
        env.core_path("configmaps"),
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "vars"},
            "data": {"region": "eu-west", "env": "overridden"},
        },
    )
    await env.secret("secret-vars", {"token": b"t0k3n"})
    await env.until("app", ready_at(sha))
    code, cm = await env.get_cm("p-settings")
    assert code == 200, cm
    assert cm["data"] == {
        "region": "eu-west",
        "token": "t0k3n",
        "env": "prod",
        "fallback": "dflt",
    }


async def test_depends_on_waits_for_the_dependency_then_applies(env: KsEnv) -> None:
    _, sha = await env.source(
        {
            "infra/cm.yaml": _configmap("infra", env.namespace, {"x": "1"}),
            "app/cm.yaml": _configmap("app", env.namespace, {"y": "2"}),
        }
    )
    await env.kustomization("app", path="./app", dependsOn=[{"name": "infra"}])
    obj = await env.until("app", failed("DependencyNotReady"))
    assert f"'{env.namespace}/infra'" in condition(obj, "Ready")["message"]
    assert (await env.get_cm("app"))[0] == 404

    await env.kustomization("infra", path="./infra")
    await env.until("infra", ready_at(sha))
    await env.until("app", ready_at(sha))
    assert (await env.get_cm("app"))[0] == 200


async def test_suspended_kustomization_is_not_reconciled_until_resumed(env: KsEnv) -> None:
    repo, sha1 = await env.source({"cm.yaml": _configmap("c", env.namespace, {"v": "1"})})
    await env.kustomization("app")
    await env.until("app", ready_at(sha1))

    await env.patch_spec("app", suspend=True)
    sha2 = await env.new_commit(repo, {"cm.yaml": _configmap("c", env.namespace, {"v": "2"})})

    async def source_at_sha2() -> bool:
        src = await env.call("GET", env.src_path("gitrepositories/repo"))
        return str((src.get("status") or {}).get("artifact", {}).get("revision", "")).endswith(sha2)

    await eventually(source_at_sha2)
    await env.request_reconcile(env.ks_path("app"))
    await asyncio.sleep(3.0)
    assert (await env.get_cm("c"))[1]["data"] == {"v": "1"}

    await env.patch_spec("app", suspend=False)
    await env.until("app", ready_at(sha2))
    assert (await env.get_cm("c"))[1]["data"] == {"v": "2"}


async def test_health_check_waits_for_custom_resource_ready_condition(env: KsEnv) -> None:
    # No controller runs for the custom resource: the test plays its part by writing its
    # status (a CR without conditions would count as Current at once).
    group = f"{env.namespace}.gotk.test"
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    await env.call("POST", crds, yaml.safe_load(crd_yaml(group, "Widget")))

    async def established() -> bool:
        crd = await env.call("GET", f"{crds}/widgets.{group}")
        return condition(crd, "Established").get("status") == "True"

    await eventually(established)
    widgets = f"/apis/{group}/v1/namespaces/{env.namespace}/widgets"
    manifest = (
        f"apiVersion: {group}/v1\nkind: Widget\n"
        f"metadata:\n  name: w\n  namespace: {env.namespace}\nspec:\n  size: 1\n"
    )
    widget = await env.call("POST", widgets, yaml.safe_load(manifest))

    async def set_ready(status: str) -> None:
        current = await env.call("GET", f"{widgets}/w")
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
        await env.call("PUT", f"{widgets}/w/status", current)

    await set_ready("False")
    _, sha = await env.source({"w.yaml": manifest})
    check = {"apiVersion": f"{group}/v1", "kind": "Widget", "name": "w", "namespace": env.namespace}
    await env.kustomization("app", timeout="40s", healthChecks=[check])
    obj = await env.until("app", lambda o: condition(o, "Healthy").get("status") == "Unknown")
    assert condition(obj, "Ready").get("status") != "True"
    assert condition(obj, "Healthy")["message"].startswith(
        f"Running health checks for revision master@sha1:{sha}"
    )

    await set_ready("True")
    obj = await env.until("app", ready_at(sha))
    healthy = condition(obj, "Healthy")
    assert healthy["status"] == "True"
    assert healthy["reason"] == "Succeeded"
    assert healthy["message"].startswith("Health check passed in")
    assert widget["metadata"]["uid"] == (await env.call("GET", f"{widgets}/w"))["metadata"]["uid"]


async def test_force_recreates_object_with_changed_immutable_field(env: KsEnv) -> None:
    def secret(value: str) -> str:
        return (
            f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: frozen\n"
            f"  namespace: {env.namespace}\nimmutable: true\nstringData:\n  v: {value}\n"
        )

    repo, sha1 = await env.source({"s.yaml": secret("one")})
    await env.kustomization("app", retryInterval="2s")
    await env.until("app", ready_at(sha1))
    before = await env.call("GET", env.core_path("secrets/frozen"))

    sha2 = await env.new_commit(repo, {"s.yaml": secret("two")})
    obj = await env.until("app", failed("ReconciliationFailed"))
    assert "immutable" in condition(obj, "Ready")["message"]

    await env.patch_spec("app", force=True)
    await env.until("app", ready_at(sha2))
    after = await env.call("GET", env.core_path("secrets/frozen"))
    assert after["metadata"]["uid"] != before["metadata"]["uid"]
    assert base64.b64decode(after["data"]["v"]) == b"two"


async def test_service_account_impersonation_needs_rbac(env: KsEnv) -> None:
    _, sha = await env.source({"cm.yaml": _configmap("tenant", env.namespace, {"v": "1"})})
    await env.call(
        "POST",
        env.core_path("serviceaccounts"),
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "deployer"}},
    )
    await env.kustomization("app", serviceAccountName="deployer", retryInterval="2s")
    obj = await env.until("app", failed("ReconciliationFailed"))
    message = condition(obj, "Ready")["message"]
    assert f"system:serviceaccount:{env.namespace}:deployer" in message
    assert (await env.get_cm("tenant"))[0] == 404

    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{env.namespace}"
    # The aggregated `admin` ClusterRole stays empty without a controller-manager.
    await env.call(
        "POST",
        f"{rbac}/roles",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "configmaps"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["*"]}],
        },
    )
    await env.call(
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
            "subjects": [
                {"kind": "ServiceAccount", "name": "deployer", "namespace": env.namespace}
            ],
        },
    )
    await env.until("app", ready_at(sha))
    assert (await env.get_cm("tenant"))[0] == 200


async def test_kubeconfig_secret_targets_the_cluster_it_names(env: KsEnv) -> None:
    def b64(path: Any) -> str:
        return base64.b64encode(path.read_bytes()).decode()

    cluster = env.cluster
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
    await env.secret("remote-kubeconfig", {"value": kubeconfig.encode()})
    _, sha = await env.source({"cm.yaml": _configmap("remote", env.namespace, {"v": "1"})})
    await env.kustomization("app", kubeConfig={"secretRef": {"name": "remote-kubeconfig"}})
    await env.until("app", ready_at(sha))
    assert (await env.get_cm("remote"))[0] == 200


async def test_a_refused_secret_is_reported_without_its_values(env: KsEnv) -> None:
    """The API server refuses `stringData.pin: 73519046` (a number) quoting the value; the
    Kustomization's Ready message and its events name the Secret and the field, masked."""
    namespace = env.namespace
    await env.source(
        {
            "deploy/secret.yaml": (
                f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n"
                f"  namespace: {namespace}\nstringData:\n  pin: 73519046\n"
            )
        }
    )
    await env.kustomization("app", path="./deploy")
    obj = await env.until("app", failed("ReconciliationFailed"))
    message = condition(obj, "Ready")["message"]
    assert f"Secret/{namespace}/creds dry-run failed" in message
    assert ".stringData.pin: expected string" in message
    assert "73519046" not in str(obj["status"])
    assert "73519046" not in await env.event_messages()
