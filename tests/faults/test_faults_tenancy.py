"""Multi-tenancy lock-down: a tenant reaching across namespaces, or impersonating a service
account without RBAC, gets a clear refusal and nothing is applied.

Promises:
- with --no-cross-namespace-refs, a Kustomization or HelmRelease whose source is in another
  namespace is Ready=False and Stalled with AccessDenied, and nothing of that source is
  applied (while the same source, referenced from its own namespace, applies — so the
  refusal is the flag's doing);
- a Kustomization impersonating a service account that has no RBAC is Ready=False with the
  API server's Forbidden, and nothing is applied.

Everything is real: the session's source-controller builds the source from a Git server,
and this test's own kustomize-controller and helm-controller (with the lock-down flag)
reconcile the labelled objects.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from fixtures.controllers import RunningKustomizeController, RunningSourceController, condition
from fixtures.faults import KUSTOMIZE, SOURCE, Api, gitrepository, in_process, kustomization
from fixtures.git_servers import GitHTTPServer, GitRepo
from gotk_envtest import ControlPlane

HELM = "/apis/helm.toolkit.fluxcd.io/v2"
CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  tenant: data\n"


async def _configmaps(api: Api, namespace: str) -> list[str]:
    listing = await api.call("GET", f"/api/v1/namespaces/{namespace}/configmaps")
    return sorted(
        i["metadata"]["name"]
        for i in listing["items"]
        if i["metadata"]["name"] != "kube-root-ca.crt"
    )


async def test_cross_namespace_refs_and_unprivileged_impersonation_apply_nothing(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    kustomize_controller: RunningKustomizeController,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
) -> None:
    api = Api(cluster, namespace)
    other = f"t-{uuid.uuid4().hex[:10]}"
    await api.call(
        "POST",
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": other}},
    )
    try:
        repo = make_git_repo()
        repo.commit({"deploy/cm.yaml": CM})
        # The session's source-controller builds it (no label).
        await api.create(
            SOURCE,
            "gitrepositories",
            gitrepository("repo", git_http_server.url(repo), labels=False),
        )
        await api.until_ready(api.path(SOURCE, "gitrepositories", "repo"))
        await api.call(
            "POST",
            f"/api/v1/namespaces/{namespace}/serviceaccounts",
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "nobody"}},
        )

        async with (
            in_process("kustomize_controller", cluster, "--no-cross-namespace-refs"),
            in_process("helm_controller", cluster, "--no-cross-namespace-refs"),
        ):
            cross = kustomization(
                "cross", "repo", path="./deploy", namePrefix="cross-", targetNamespace=other
            )
            cross["spec"]["sourceRef"]["namespace"] = namespace
            await api.create(KUSTOMIZE, "kustomizations", cross, namespace=other)
            await api.create(
                KUSTOMIZE,
                "kustomizations",
                kustomization(
                    "nobody",
                    "repo",
                    path="./deploy",
                    namePrefix="nobody-",
                    targetNamespace=namespace,
                    serviceAccountName="nobody",
                ),
            )
            release = {
                "apiVersion": "helm.toolkit.fluxcd.io/v2",
                "kind": "HelmRelease",
                "metadata": {"name": "cross", "labels": {"gotk.test/leader": "faults"}},
                "spec": {
                    "interval": "1h",
                    "chartRef": {"kind": "HelmChart", "name": "chart", "namespace": namespace},
                },
            }
            await api.create(HELM, "helmreleases", release, namespace=other)
            # The same source from its own namespace, through the session's controller.
            await api.create(
                KUSTOMIZE,
                "kustomizations",
                kustomization(
                    "control",
                    "repo",
                    labels=False,
                    path="./deploy",
                    namePrefix="control-",
                    targetNamespace=namespace,
                ),
            )

            for path in (
                api.path(KUSTOMIZE, "kustomizations", "cross", namespace=other),
                api.path(HELM, "helmreleases", "cross", namespace=other),
            ):
                obj = await api.until_ready(path, status="False")
                ready, stalled = condition(obj, "Ready"), condition(obj, "Stalled")
                assert ready["reason"] == "AccessDenied", ready
                assert "cross-namespace references have been blocked" in ready["message"]
                assert stalled.get("status") == "True", obj["status"]

            obj = await api.until_ready(
                api.path(KUSTOMIZE, "kustomizations", "nobody"), status="False"
            )
            message = condition(obj, "Ready")["message"]
            assert "forbidden" in message.lower(), message
            assert f"system:serviceaccount:{namespace}:nobody" in message

            await api.until_ready(api.path(KUSTOMIZE, "kustomizations", "control"))
            assert await _configmaps(api, namespace) == ["control-app"]
            assert await _configmaps(api, other) == []
            # Deleted while their controllers still run, so the finalizers are handled.
            await api.delete(api.path(KUSTOMIZE, "kustomizations", "cross", namespace=other))
            await api.delete(api.path(KUSTOMIZE, "kustomizations", "nobody"))
            await api.delete(api.path(HELM, "helmreleases", "cross", namespace=other))
        await api.delete(api.path(KUSTOMIZE, "kustomizations", "control"))
    finally:
        await cluster.request("DELETE", f"/api/v1/namespaces/{other}")
