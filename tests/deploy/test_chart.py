"""charts/gotk with the real `helm` (v4): lint, the schema refusing typos, what each value
renders, and an install onto a control plane of its own that creates every object, with
RBAC that gives each ServiceAccount what its service needs and nothing more (asked of the
API server's authorizer with SubjectAccessReviews)."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from fixtures.chart import CHART, RELEASE, InstalledChart, helm, render_chart
from gotk_api.objects import Obj
from gotk_runtime.tools import find_tool

SOURCE_GROUP = "source.toolkit.fluxcd.io"


def _by_kind(docs: list[Obj], kind: str) -> dict[str, Obj]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def _container(deployment: Obj) -> Obj:
    container: Obj = deployment["spec"]["template"]["spec"]["containers"][0]
    return container


def test_chart_lints_clean_in_strict_mode() -> None:
    out = helm("lint", "--strict", str(CHART))
    assert "0 chart(s) failed" in out
    assert "[WARNING]" not in out
    assert "[ERROR]" not in out


@pytest.mark.parametrize(
    ("setting", "complaint"),
    [
        ("sourceControler.replicas=2", "additional properties 'sourceControler' not allowed"),
        ("helmController.replica=2", "additional properties 'replica' not allowed"),
        ("helmController.gracefulShutdownTimeout=ten", "does not match pattern"),
        ("kustomizeController.concurrent=0", "minimum"),
        ("logLevel=verbose", "value must be one of"),
        ("shards={Shard_1}", "does not match pattern"),
    ],
)
def test_schema_refuses_a_typo_at_install(setting: str, complaint: str) -> None:
    done = subprocess.run(
        [str(find_tool("helm")), "template", RELEASE, str(CHART), "--set", setting],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert complaint in done.stderr


def test_default_render_runs_every_controller_least_privileged_and_hardened() -> None:
    docs = render_chart()
    deployments = _by_kind(docs, "Deployment")
    assert set(deployments) == {"source-controller", "kustomize-controller", "helm-controller"}
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        container = _container(deployment)
        assert pod["serviceAccountName"] == name
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert "readinessProbe" in container
        assert container["resources"]["requests"]
        assert container["image"] == f"ghcr.io/gotk/{name}:0.1.0"
        assert "--enable-leader-election=true" in container["args"]
    bindings = _by_kind(docs, "ClusterRoleBinding")
    assert all(b["roleRef"]["name"] != "cluster-admin" for b in bindings.values())
    assert set(_by_kind(docs, "PodDisruptionBudget")) == set(deployments)
    assert set(_by_kind(docs, "Service")) == {"source-controller"}
    assert not _by_kind(docs, "ServiceMonitor")


def test_helm_controller_gets_fluxs_flags_and_ten_minutes_to_stop() -> None:
    deployment = _by_kind(
        render_chart("helmController.defaultServiceAccount=deployer"), "Deployment"
    )["helm-controller"]
    args = _container(deployment)["args"]
    for flag in (
        "--requeue-dependency=30s",
        "--no-cross-namespace-refs=false",
        "--graceful-shutdown-timeout=600s",
        "--default-service-account=deployer",
    ):
        assert flag in args
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 600


def test_values_reach_the_deployments() -> None:
    values: dict[str, Any] = {
        "watchAllNamespaces": False,
        "tolerations": [{"key": "dedicated", "operator": "Exists"}],
        "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": []}},
        "image": {"registry": "registry.example/gotk", "tag": "1.2.3"},
        "kustomizeController": {
            "replicas": 3,
            "image": {"repository": "mirror.example/ks", "tag": "dev"},
            "extraArgs": ["--concurrent=9"],
            "tolerations": [{"key": "own", "operator": "Exists"}],
        },
    }
    deployments = _by_kind(render_chart(values=values), "Deployment")
    source, kustomize = deployments["source-controller"], deployments["kustomize-controller"]
    assert _container(source)["image"] == "registry.example/gotk/source-controller:1.2.3"
    assert _container(kustomize)["image"] == "mirror.example/ks:dev"
    assert "--watch-all-namespaces=false" in _container(source)["args"]
    assert _container(kustomize)["args"][-1] == "--concurrent=9"
    assert kustomize["spec"]["replicas"] == 3
    assert source["spec"]["template"]["spec"]["tolerations"] == values["tolerations"]
    assert kustomize["spec"]["template"]["spec"]["tolerations"] == [
        {"key": "own", "operator": "Exists"}
    ]
    assert source["spec"]["template"]["spec"]["affinity"] == values["affinity"]


def test_shards_get_a_deployment_a_selector_and_an_artifact_service_each() -> None:
    docs = render_chart("shards={shard1,shard2}")
    deployments = _by_kind(docs, "Deployment")
    assert len(deployments) == 9
    assert (
        "--watch-label-selector=!sharding.fluxcd.io/key"
        in _container(deployments["source-controller"])["args"]
    )
    shard2 = _container(deployments["kustomize-controller-shard2"])["args"]
    assert "--watch-label-selector=sharding.fluxcd.io/key in (shard2)" in shard2
    source_shard1 = _container(deployments["source-controller-shard1"])["args"]
    adv = "--storage-adv-addr=source-controller-shard1.flux-system.svc.cluster.local."
    assert adv in source_shard1
    services = _by_kind(docs, "Service")
    assert services["source-controller-shard1"]["spec"]["selector"] == {
        "app": "source-controller-shard1"
    }


def test_web_ui_is_read_only_and_takes_its_token_from_a_secret() -> None:
    docs = render_chart("webUI.enabled=true", "webUI.authToken.existingSecret=ui-token")
    deployment = _by_kind(docs, "Deployment")["web-ui"]
    container = _container(deployment)
    env = {e["name"]: e for e in container["env"]}
    assert env["RUNTIME_NAMESPACE"]["valueFrom"] == {
        "fieldRef": {"fieldPath": "metadata.namespace"}
    }
    assert env["GOTK_UI_AUTH_TOKEN"]["valueFrom"] == {
        "secretKeyRef": {"name": "ui-token", "key": "token"}
    }
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert _by_kind(docs, "Service")["web-ui"]["spec"]["ports"][0]["port"] == 9080
    role = _by_kind(docs, "ClusterRole")["gotk-flux-system-web-ui"]
    for rule in role["rules"]:
        assert set(rule["verbs"]) <= {"get", "list", "watch"}
        assert "secrets" not in rule["resources"]
    assert {"leases", "deployments"} <= {
        r for rule in _by_kind(docs, "Role")["web-ui"]["rules"] for r in rule["resources"]
    }


def test_cluster_admin_only_when_asked_and_service_monitor_optional() -> None:
    docs = render_chart("kustomizeController.rbac.clusterAdmin=true", "serviceMonitor.enabled=true")
    admins = [
        b["subjects"][0]["name"]
        for b in _by_kind(docs, "ClusterRoleBinding").values()
        if b["roleRef"]["name"] == "cluster-admin"
    ]
    assert admins == ["kustomize-controller"]
    monitor = _by_kind(docs, "ServiceMonitor")["gotk-controllers"]
    assert monitor["spec"]["endpoints"][0]["port"] == "http-prom"
    assert {"source-controller-metrics", "helm-controller-metrics"} <= set(
        _by_kind(docs, "Service")
    )


# --- installed


async def test_install_creates_every_object(installed_chart: InstalledChart) -> None:
    plane = installed_chart.plane
    kinds = {doc["kind"] for doc in installed_chart.manifests}
    assert kinds >= {
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
    }
    paths = {
        "ServiceAccount": "/api/v1/namespaces/{ns}/serviceaccounts/{name}",
        "Service": "/api/v1/namespaces/{ns}/services/{name}",
        "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments/{name}",
        "PodDisruptionBudget": "/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets/{name}",
        "Role": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles/{name}",
        "RoleBinding": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings/{name}",
        "ClusterRole": "/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}",
        "ClusterRoleBinding": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{name}",
    }
    for doc in installed_chart.manifests:
        path = paths[doc["kind"]].format(ns=installed_chart.namespace, name=doc["metadata"]["name"])
        status, _ = await plane.request("GET", path)
        assert status == 200, f"{doc['kind']}/{doc['metadata']['name']}: {status}"
    status, _ = await plane.request("GET", f"/api/v1/namespaces/{installed_chart.namespace}")
    assert status == 200
    for crd in sorted(p.name for p in (CHART / "crds").glob("*.yaml")):
        name = crd.split("_", 1)[1].removesuffix(".yaml") + "." + crd.split("_", 1)[0]
        status, _ = await plane.request(
            "GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}"
        )
        assert status == 200, name


@pytest.mark.parametrize(
    ("account", "verb", "group", "resource", "allowed"),
    [
        ("source-controller", "patch", SOURCE_GROUP, "gitrepositories/status", True),
        ("source-controller", "get", "", "secrets", True),
        ("source-controller", "create", "apps", "deployments", False),
        ("source-controller", "create", "", "secrets", False),
        ("source-controller", "update", "coordination.k8s.io", "leases", True),
        ("kustomize-controller", "impersonate", "", "serviceaccounts", True),
        ("kustomize-controller", "list", SOURCE_GROUP, "gitrepositories", True),
        ("kustomize-controller", "update", SOURCE_GROUP, "gitrepositories", False),
        ("kustomize-controller", "create", "", "configmaps", True),  # the test's applyRules
        ("kustomize-controller", "create", "apps", "deployments", False),
        ("kustomize-controller", "escalate", "rbac.authorization.k8s.io", "clusterroles", False),
        ("helm-controller", "create", SOURCE_GROUP, "helmcharts", True),
        ("helm-controller", "patch", "helm.toolkit.fluxcd.io", "helmreleases/status", True),
        ("helm-controller", "create", "", "secrets", False),
        ("web-ui", "list", SOURCE_GROUP, "gitrepositories", True),
        ("web-ui", "watch", "", "events", True),
        ("web-ui", "get", "apps", "statefulsets", True),
        ("web-ui", "get", "", "secrets", False),
        ("web-ui", "list", "", "secrets", False),
        ("web-ui", "patch", "kustomize.toolkit.fluxcd.io", "kustomizations", False),
        ("web-ui", "create", "coordination.k8s.io", "leases", False),
    ],
)
async def test_service_accounts_get_least_privilege(
    installed_chart: InstalledChart,
    account: str,
    verb: str,
    group: str,
    resource: str,
    allowed: bool,
) -> None:
    namespace = installed_chart.namespace
    plural, _, subresource = resource.partition("/")
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": f"system:serviceaccount:{namespace}:{account}",
            "groups": ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"],
            "resourceAttributes": {
                "namespace": namespace,
                "verb": verb,
                "group": group,
                "resource": plural,
                "subresource": subresource,
            },
        },
    }
    status, body = await installed_chart.plane.request(
        "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review
    )
    assert status == 201, body
    assert body["status"].get("allowed", False) is allowed, body["status"]
