"""`gotk tree`, `gotk trace` and `gotk events` against the real API server, with inventories,
labels and Events written by hand the way the controllers write them."""

from __future__ import annotations

import asyncio

from fixtures.cli import (
    SOURCE,
    Gotk,
    artifact,
    assert_snapshot,
    create,
    helm_release,
    kustomization,
    ready,
)
from gotk_envtest import ControlPlane


def inventory(*ids: str) -> dict[str, object]:
    return {"entries": [{"id": entry, "v": "v1"} for entry in ids]}


async def test_tree_expands_nested_kustomizations_and_helmreleases(
    gotk: Gotk, cluster: ControlPlane, populated: str
) -> None:
    ns = populated
    await kustomization(
        cluster,
        ns,
        "root",
        {
            "inventory": inventory(
                f"_{ns}-apps__Namespace",
                f"{ns}_infra_kustomize.toolkit.fluxcd.io_Kustomization",
                f"{ns}_podinfo_helm.toolkit.fluxcd.io_HelmRelease",
                f"{ns}_app_source.toolkit.fluxcd.io_GitRepository",
            )
        },
    )
    await kustomization(
        cluster,
        ns,
        "infra",
        {"inventory": inventory(f"{ns}_cm_{''}_ConfigMap", f"{ns}_web_apps_Deployment")},
    )
    await cluster.request(
        "PATCH",
        f"/apis/helm.toolkit.fluxcd.io/v2/namespaces/{ns}/helmreleases/podinfo/status",
        {"status": {"inventory": inventory(f"{ns}_podinfo_apps_Deployment")}},
        content_type="application/merge-patch+json",
    )
    result = await gotk("tree", "ks", "root", "-n", ns)
    assert result.code == 0, result.err
    assert_snapshot("tree_ks", result.out, ns=ns)
    compact = await gotk("tree", "ks", "root", "-n", ns, "--compact")
    assert_snapshot("tree_ks_compact", compact.out, ns=ns)


async def test_trace_follows_the_kustomize_labels_to_the_source(
    gotk: Gotk, cluster: ControlPlane, populated: str
) -> None:
    ns = populated
    await create(
        cluster,
        f"/api/v1/namespaces/{ns}/configmaps",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "cm",
                "labels": {
                    "kustomize.toolkit.fluxcd.io/name": "apps",
                    "kustomize.toolkit.fluxcd.io/namespace": ns,
                },
            },
        },
    )
    result = await gotk("trace", "configmap/cm", "-n", ns)
    assert result.code == 0, result.err
    assert_snapshot("trace_ks", result.out, ns=ns)


async def test_trace_of_a_helm_managed_object_goes_through_the_chart(
    gotk: Gotk, cluster: ControlPlane, namespace: str
) -> None:
    ns = namespace
    await helm_release(
        cluster,
        ns,
        "podinfo",
        {"lastAttemptedRevision": "6.5.4", "conditions": [ready("True", "Helm install succeeded")]},
    )
    await create(
        cluster,
        f"{SOURCE}/namespaces/{ns}/helmcharts",
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "HelmChart",
            "metadata": {"name": f"{ns}-podinfo"},
            "spec": {
                "chart": "podinfo",
                "version": "*",
                "interval": "1h",
                "suspend": True,
                "sourceRef": {"kind": "HelmRepository", "name": "podinfo"},
            },
        },
        {"artifact": artifact("6.5.4"), "conditions": [ready("True", "pulled 'podinfo' chart")]},
    )
    await create(
        cluster,
        f"{SOURCE}/namespaces/{ns}/helmrepositories",
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "HelmRepository",
            "metadata": {"name": "podinfo"},
            "spec": {"url": "https://charts.invalid", "interval": "1h", "suspend": True},
        },
    )
    await create(
        cluster,
        f"/api/v1/namespaces/{ns}/services",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "web",
                "labels": {
                    "helm.toolkit.fluxcd.io/name": "podinfo",
                    "helm.toolkit.fluxcd.io/namespace": ns,
                },
            },
            "spec": {"ports": [{"port": 80}]},
        },
    )
    result = await gotk("trace", "web", "--kind=Service", "--api-version=v1", "-n", ns)
    assert result.code == 0, result.err
    assert_snapshot("trace_hr", result.out, ns=ns)


async def test_trace_of_an_unmanaged_object_says_so(
    gotk: Gotk, cluster: ControlPlane, namespace: str
) -> None:
    await create(
        cluster,
        f"/api/v1/namespaces/{namespace}/configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "mine"}},
    )
    result = await gotk("trace", "cm/mine", "-n", namespace)
    assert result.code == 1
    assert result.err.startswith("✗ ConfigMap mine is not managed by Flux")


async def _event(cluster: ControlPlane, ns: str, name: str, kind: str, reason: str) -> None:
    await create(
        cluster,
        f"/api/v1/namespaces/{ns}/events",
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{name}.{reason.lower()}"},
            "involvedObject": {"kind": kind, "name": name, "namespace": ns},
            "reason": reason,
            "message": f"{reason} for {name}",
            "type": "Normal" if reason != "Failed" else "Warning",
            "lastTimestamp": "2026-01-01T00:00:00Z",
            "firstTimestamp": "2026-01-01T00:00:00Z",
            "source": {"component": "kustomize-controller"},
        },
    )


async def test_events_for_one_object_and_watch(
    gotk: Gotk, cluster: ControlPlane, namespace: str
) -> None:
    await _event(cluster, namespace, "apps", "Kustomization", "ReconciliationSucceeded")
    await _event(cluster, namespace, "other", "GitRepository", "NewArtifact")
    result = await gotk("events", "--for", "Kustomization/apps", "-n", namespace)
    assert result.code == 0, result.err
    header, *rows = result.out.splitlines()
    assert header.split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert [row.split()[1:4] for row in rows] == [
        ["Normal", "ReconciliationSucceeded", "Kustomization/apps"]
    ]

    async def later() -> None:
        await asyncio.sleep(1.5)
        await _event(cluster, namespace, "apps", "Kustomization", "Failed")

    task = asyncio.create_task(later())
    watched = await gotk(
        "events", "--for", "Kustomization/apps", "-n", namespace, "-w", "--timeout=4s"
    )
    await task
    assert [line.split()[1:3] for line in watched.out.splitlines()][-1] == ["Warning", "Failed"]


async def test_events_with_a_bad_for_is_one_line(gotk: Gotk, namespace: str) -> None:
    result = await gotk("events", "--for", "apps", "-n", namespace)
    assert result.err == "✗ invalid --for 'apps': expected <kind>/<name>\n"
