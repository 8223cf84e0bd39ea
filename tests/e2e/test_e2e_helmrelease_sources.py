"""HelmRelease end to end, part two: chart references, namespaces, impersonation, CRDs,
dependencies, one-off requests and watched values objects."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime

from fixtures.controllers import condition, eventually
from fixtures.git_servers import GitHTTPServer, GitRepo
from fixtures.helm_controller import SRC, HrEnv, ready_with
from fixtures.oci_registry import Registry, unique_repo
from source_controller.oci import HELM_CHART_CONFIG, HELM_CHART_LAYER


async def test_chart_ref_to_an_oci_repository_installs_and_records_the_digest(
    hr_env: HrEnv, oci_registry: Registry
) -> None:
    archive = await hr_env.repo.add_chart("demo", "1.0.0")
    path = unique_repo("charts")
    await oci_registry.push(
        f"{path}/demo",
        "1.0.0",
        layers=[(HELM_CHART_LAYER, archive.read_bytes())],
        config_media_type=HELM_CHART_CONFIG,
    )
    oci = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "OCIRepository",
        "metadata": {"name": "demo"},
        "spec": {
            "url": oci_registry.url(f"{path}/demo"),
            "interval": "1h",
            "insecure": True,
            "ref": {"tag": "1.0.0"},
            "layerSelector": {"mediaType": HELM_CHART_LAYER, "operation": "copy"},
        },
    }
    await hr_env.call("POST", f"{SRC}/namespaces/{hr_env.namespace}/ocirepositories", oci)
    body = {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "app"},
        "spec": {"interval": "1h", "chartRef": {"kind": "OCIRepository", "name": "demo"}},
    }
    await hr_env.call("POST", hr_env.hr_path(), body)

    obj = await hr_env.until("app", ready_with("InstallSucceeded"))
    ns = hr_env.namespace
    source = await hr_env.call("GET", f"{SRC}/namespaces/{ns}/ocirepositories/demo")
    # Flux takes the manifest digest of the revision, not the stored tarball's digest.
    revision = source["status"]["artifact"]["revision"]
    digest = revision.partition("@")[2]
    assert digest.startswith("sha256:")
    version = f"1.0.0+{digest.split(':')[1][:12]}"
    status = obj["status"]
    assert status["lastAttemptedRevision"] == version
    assert status["lastAttemptedRevisionDigest"] == digest
    assert status["history"][0]["ociDigest"] == digest
    assert status["history"][0]["chartVersion"] == version
    assert condition(obj, "Ready")["message"] == (
        f"Helm install succeeded for release {ns}/app.v1 with chart demo@{version}"
    )
    assert "helmChart" not in status
    listed = await hr_env.helm_json("list", "-n", ns)
    assert [r["chart"] for r in listed] == [f"demo-{version}"]

    # The same chart version pushed again under the tag is a new version: an upgrade.
    again = await hr_env.repo.add_chart("demo", "1.0.0", values={"replicas": 5})
    await oci_registry.push(
        f"{path}/demo",
        "1.0.0",
        layers=[(HELM_CHART_LAYER, again.read_bytes())],
        config_media_type=HELM_CHART_CONFIG,
    )
    await hr_env.call(
        "PATCH",
        f"{SRC}/namespaces/{ns}/ocirepositories/demo",
        {"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "again"}}},
    )
    obj = await hr_env.until("app", ready_with("UpgradeSucceeded"))
    assert obj["status"]["history"][0]["chartVersion"] != version
    assert obj["status"]["history"][0]["chartVersion"].startswith("1.0.0+")
    _, cm = await hr_env.get_cm("app")
    assert cm["data"] == {"replicas": "5"}


async def test_switching_to_a_chart_ref_deletes_the_helmchart_it_managed(hr_env: HrEnv) -> None:
    await hr_env.repo.add_chart("demo", "1.0.0")
    await hr_env.helm_repository()
    ns = hr_env.namespace
    await hr_env.helm_release("app")
    await hr_env.until("app", ready_with("InstallSucceeded"))
    chart = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmChart",
        "metadata": {"name": "shared"},
        "spec": {
            "chart": "demo",
            "interval": "1h",
            "sourceRef": {"kind": "HelmRepository", "name": "charts"},
        },
    }
    await hr_env.call("POST", f"{SRC}/namespaces/{ns}/helmcharts", chart)

    await hr_env.patch_spec("app", chart=None, chartRef={"kind": "HelmChart", "name": "shared"})

    async def template_chart_gone() -> bool:
        status, _ = await hr_env.cluster.request(
            "GET", f"{SRC}/namespaces/{ns}/helmcharts/{ns}-app"
        )
        return status == 404

    await eventually(template_chart_gone, timeout=60)
    obj = await hr_env.until("app", ready_with("InstallSucceeded"))
    assert "helmChart" not in obj["status"]
    assert len(await hr_env.release_secrets("app")) == 1, "same chart and values: no upgrade"


async def test_target_namespace_is_created_and_holds_the_release(hr_env: HrEnv) -> None:
    await hr_env.repo.add_chart("demo", "1.0.0")
    await hr_env.helm_repository()
    target = f"{hr_env.namespace}-target"
    await hr_env.helm_release("app", targetNamespace=target, install={"createNamespace": True})
    try:
        obj = await hr_env.until("app", ready_with("InstallSucceeded"))
        assert obj["status"]["storageNamespace"] == target
        assert obj["status"]["history"][0]["name"] == f"{target}-app"
        assert (await hr_env.get_cm(f"{target}-app", target))[0] == 200
        listed = await hr_env.helm_json("list", "-n", target)
        assert [r["name"] for r in listed] == [f"{target}-app"]
    finally:
        await hr_env.cluster.request("DELETE", f"/api/v1/namespaces/{target}")


async def test_service_account_impersonation_applies_the_accounts_permissions(
    hr_env: HrEnv,
) -> None:
    await hr_env.repo.add_chart("demo", "1.0.0")
    await hr_env.helm_repository()
    ns = hr_env.namespace
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "deployer"}}
    await hr_env.call("POST", hr_env.core_path("serviceaccounts"), account)
    await hr_env.helm_release("app", serviceAccountName="deployer")

    # Helm storage is read as the account too: without rights, nothing happens, and the
    # API server's refusal names the user and what it may not do.
    obj = await hr_env.until(
        "app", lambda o: "forbidden" in condition(o, "Ready").get("message", "")
    )
    message = condition(obj, "Ready")["message"]
    assert f'User "system:serviceaccount:{ns}:deployer" cannot list resource "secrets"' in message
    assert await hr_env.release_secrets("app") == []

    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "deployer-admin"},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "cluster-admin",  # `admin` is aggregated: empty without a controller-manager
        },
        "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": ns}],
    }
    await hr_env.call(
        "POST", f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings", binding
    )
    await hr_env.request_reconcile("app")
    await hr_env.until("app", ready_with("InstallSucceeded"))
    secrets = await hr_env.release_secrets("app")
    assert [s["metadata"]["labels"]["status"] for s in secrets] == ["deployed"]


_CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.{group}
spec:
  group: {group}
  names: {{kind: Gadget, plural: gadgets, singular: gadget{extra}}}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}
"""


async def test_chart_crds_are_created_on_install_and_replaced_on_upgrade_when_asked(
    hr_env: HrEnv,
) -> None:
    group = f"{hr_env.namespace}.gotk.test"
    crd_path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.{group}"
    await hr_env.repo.add_chart(
        "demo", "1.0.0", extra_files={"crds/gadget.yaml": _CRD.format(group=group, extra="")}
    )
    await hr_env.helm_repository()
    await hr_env.helm_release("app", upgrade={"crds": "CreateReplace"})
    try:
        obj = await hr_env.until("app", ready_with("InstallSucceeded"))
        crd = await hr_env.call("GET", crd_path)
        assert "shortNames" not in crd["spec"]["names"]
        ids = [e["id"] for e in obj["status"]["inventory"]["entries"]]
        assert f"_gadgets.{group}_apiextensions.k8s.io_CustomResourceDefinition" in ids
        assert f"{hr_env.namespace}_app__ConfigMap" in ids

        await hr_env.repo.add_chart(
            "demo",
            "1.1.0",
            extra_files={"crds/gadget.yaml": _CRD.format(group=group, extra=", shortNames: [gdg]")},
        )
        await hr_env.refresh_repository()
        await hr_env.until("app", ready_with("UpgradeSucceeded"))
        crd = await hr_env.call("GET", crd_path)
        assert crd["spec"]["names"]["shortNames"] == ["gdg"]
    finally:
        await hr_env.cluster.request("DELETE", crd_path)


async def test_depends_on_waits_until_the_dependency_is_ready(hr_env: HrEnv) -> None:
    await hr_env.repo.add_chart("demo", "1.0.0")
    await hr_env.helm_repository()
    ns = hr_env.namespace
    await hr_env.helm_release("web", dependsOn=[{"name": "db"}])
    obj = await hr_env.until("web", ready_with("DependencyNotReady", "False"))
    assert condition(obj, "Ready")["message"] == f"dependency '{ns}/db' not found"
    assert await hr_env.release_secrets("web") == []

    await hr_env.helm_release("db")
    await hr_env.until("db", ready_with("InstallSucceeded"))
    await hr_env.until("web", ready_with("InstallSucceeded"))

    await hr_env.helm_release(
        "cache", dependsOn=[{"name": "missing-but-ok", "readyExpr": "dep.metadata.name == 'x'"}]
    )
    await hr_env.until("cache", ready_with("DependencyNotReady", "False"))
    await hr_env.patch_spec(
        "cache", dependsOn=[{"name": "db", "readyExpr": "dep.metadata.name == 'db'"}]
    )
    await hr_env.until("cache", ready_with("InstallSucceeded"))


async def test_force_at_upgrades_a_release_that_is_in_sync(hr_env: HrEnv) -> None:
    await hr_env.repo.add_chart("demo", "1.0.0")
    await hr_env.helm_repository()
    await hr_env.helm_release("app")
    await hr_env.until("app", ready_with("InstallSucceeded"))

    forced = await hr_env.request_reconcile("app", forceAt="")
    obj = await hr_env.until("app", ready_with("UpgradeSucceeded"))
    assert obj["status"]["lastHandledForceAt"] == forced
    assert len(await hr_env.release_secrets("app")) == 2

    await hr_env.request_reconcile("app")
    obj = await hr_env.until("app", lambda o: o["status"].get("lastHandledReconcileAt") != forced)
    assert len(await hr_env.release_secrets("app")) == 2, "a handled forceAt is not repeated"


async def test_a_watched_values_configmap_change_upgrades_the_release(hr_env: HrEnv) -> None:
    await hr_env.repo.add_chart("demo", "1.0.0")
    await hr_env.helm_repository()
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "values", "labels": {"reconcile.fluxcd.io/watch": "Enabled"}},
        "data": {"values.yaml": "replicas: 1\n"},
    }
    await hr_env.call("POST", hr_env.core_path("configmaps"), body)
    await hr_env.helm_release("app", valuesFrom=[{"kind": "ConfigMap", "name": "values"}])
    await hr_env.until("app", ready_with("InstallSucceeded"))

    await hr_env.call(
        "PATCH", hr_env.core_path("configmaps/values"), {"data": {"values.yaml": "replicas: 6\n"}}
    )
    await hr_env.until("app", ready_with("UpgradeSucceeded"))
    _, cm = await hr_env.get_cm("app")
    assert cm["data"] == {"replicas": "6"}


async def test_post_renderers_common_metadata_and_origin_labels_reach_the_objects(
    hr_env: HrEnv,
) -> None:
    await hr_env.repo.add_chart("demo", "1.0.0")
    await hr_env.helm_repository()
    ns = hr_env.namespace
    patch = {
        "patch": "- op: add\n  path: /data/extra\n  value: patched\n",
        "target": {"kind": "ConfigMap", "name": "app"},
    }
    await hr_env.helm_release(
        "app",
        postRenderers=[{"kustomize": {"patches": [patch]}}],
        commonMetadata={"labels": {"team": "a"}, "annotations": {"owner": "ops"}},
    )
    obj = await hr_env.until("app", ready_with("InstallSucceeded"))
    assert obj["status"]["observedPostRenderersDigest"].startswith("sha256:")
    assert obj["status"]["observedCommonMetadataDigest"].startswith("sha256:")
    _, cm = await hr_env.get_cm("app")
    assert cm["data"] == {"replicas": "1", "extra": "patched"}
    assert cm["metadata"]["labels"]["team"] == "a"
    assert cm["metadata"]["labels"]["helm.toolkit.fluxcd.io/name"] == "app"
    assert cm["metadata"]["labels"]["helm.toolkit.fluxcd.io/namespace"] == ns
    assert cm["metadata"]["annotations"]["owner"] == "ops"

    await hr_env.patch_spec("app", commonMetadata={"labels": {"team": "b"}})
    await hr_env.until("app", ready_with("UpgradeSucceeded"))
    _, cm = await hr_env.get_cm("app")
    assert cm["metadata"]["labels"]["team"] == "b"


async def test_a_chart_from_a_git_repository_is_upgraded_on_a_new_commit(
    hr_env: HrEnv, make_git_repo: Callable[..., GitRepo], git_http_server: GitHTTPServer
) -> None:
    repo = make_git_repo()
    template = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"
        "data:\n  greeting: {{ .Values.greeting | quote }}\n"
    )
    files = {
        "charts/hello/Chart.yaml": "apiVersion: v2\nname: hello\nversion: 0.1.0\n",
        "charts/hello/values.yaml": "greeting: hello\n",
        "charts/hello/templates/cm.yaml": template,
    }
    first = repo.commit(files)
    ns = hr_env.namespace
    git = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": "app"},
        "spec": {"url": git_http_server.url(repo), "interval": "1h", "ref": {"branch": "master"}},
    }
    await hr_env.call("POST", f"{SRC}/namespaces/{ns}/gitrepositories", git)
    body = {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "hello"},
        "spec": {
            "interval": "1h",
            "chart": {
                "spec": {
                    "chart": "./charts/hello",
                    "reconcileStrategy": "Revision",
                    "sourceRef": {"kind": "GitRepository", "name": "app"},
                }
            },
        },
    }
    await hr_env.call("POST", hr_env.hr_path(), body)
    obj = await hr_env.until("hello", ready_with("InstallSucceeded"))
    assert obj["status"]["lastAttemptedRevision"] == f"0.1.0+{first[:12]}"
    assert (await hr_env.get_cm("hello"))[1]["data"] == {"greeting": "hello"}

    second = repo.commit({"charts/hello/values.yaml": "greeting: hello again\n"})
    await hr_env.call(
        "PATCH",
        f"{SRC}/namespaces/{ns}/gitrepositories/app",
        {"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": second}}},
    )
    obj = await hr_env.until("hello", ready_with("UpgradeSucceeded"))
    assert obj["status"]["lastAttemptedRevision"] == f"0.1.0+{second[:12]}"
    assert (await hr_env.get_cm("hello"))[1]["data"] == {"greeting": "hello again"}


async def test_a_new_release_name_uninstalls_the_old_release_and_installs_the_new_one(
    hr_env: HrEnv,
) -> None:
    await hr_env.repo.add_chart("demo", "1.0.0")
    await hr_env.helm_repository()
    await hr_env.helm_release("app")
    await hr_env.until("app", ready_with("InstallSucceeded"))

    await hr_env.patch_spec("app", releaseName="renamed")
    obj = await hr_env.until("app", ready_with("InstallSucceeded"))
    assert [s["name"] for s in obj["status"]["history"]] == ["renamed"]
    assert await hr_env.release_secrets("app") == []
    assert (await hr_env.get_cm("app"))[0] == 404
    assert (await hr_env.get_cm("renamed"))[0] == 200


async def test_a_new_chart_name_replaces_the_release(hr_env: HrEnv) -> None:
    await hr_env.repo.add_chart("demo", "1.0.0")
    await hr_env.repo.add_chart("other", "2.0.0")
    await hr_env.helm_repository()
    await hr_env.helm_release("app")
    await hr_env.until("app", ready_with("InstallSucceeded"))

    chart = {"chart": "other", "sourceRef": {"kind": "HelmRepository", "name": "charts"}}
    await hr_env.patch_spec("app", chart={"spec": chart})
    obj = await hr_env.until(
        "app",
        lambda o: (
            ready_with("InstallSucceeded")(o) and o["status"]["history"][0]["chartName"] == "other"
        ),
    )
    assert [(s["chartName"], s["version"]) for s in obj["status"]["history"]] == [("other", 1)]
    history = await hr_env.helm_json("history", "app", "-n", hr_env.namespace)
    assert [(h["revision"], h["chart"]) for h in history] == [(1, "other-2.0.0")]


async def test_chart_ref_to_an_external_artifact_installs_its_chart(hr_env: HrEnv) -> None:
    archive = await hr_env.repo.add_chart("demo", "1.0.0", values={"replicas": 3})
    ns = hr_env.namespace
    digest = "sha256:" + hashlib.sha256(archive.read_bytes()).hexdigest()
    external = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "ExternalArtifact",
        "metadata": {"name": "generated"},
        "spec": {"sourceRef": {"apiVersion": "example.com/v1", "kind": "Generator", "name": "g"}},
    }
    path = f"{SRC}/namespaces/{ns}/externalartifacts"
    await hr_env.call("POST", path, external)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    artifact = {
        "path": "generator/demo-1.0.0.tgz",
        "url": f"{hr_env.repo.url}/demo-1.0.0.tgz",
        "revision": "1.0.0",
        "digest": digest,
        "lastUpdateTime": now,
    }
    status = {
        "status": {
            "artifact": artifact,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "Succeeded",
                    "message": "generated",
                    "lastTransitionTime": now,
                }
            ],
        }
    }
    await hr_env.call("PATCH", f"{path}/generated/status", status)
    body = {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "app"},
        "spec": {"interval": "1h", "chartRef": {"kind": "ExternalArtifact", "name": "generated"}},
    }
    await hr_env.call("POST", hr_env.hr_path(), body)

    obj = await hr_env.until("app", ready_with("InstallSucceeded"))
    assert obj["status"]["lastAttemptedRevision"] == "1.0.0"
    assert "lastAttemptedRevisionDigest" not in obj["status"]
    _, cm = await hr_env.get_cm("app")
    assert cm["data"] == {"replicas": "3"}

    # A new artifact published by its producer reaches the release through the watch.
    newer = await hr_env.repo.add_chart("demo", "1.1.0", values={"replicas": 4})
    artifact["url"] = f"{hr_env.repo.url}/demo-1.1.0.tgz"
    artifact["revision"] = "1.1.0"
    artifact["digest"] = "sha256:" + hashlib.sha256(newer.read_bytes()).hexdigest()
    await hr_env.call("PATCH", f"{path}/generated/status", status)
    obj = await hr_env.until("app", ready_with("UpgradeSucceeded"))
    assert obj["status"]["history"][0]["chartVersion"] == "1.1.0"
