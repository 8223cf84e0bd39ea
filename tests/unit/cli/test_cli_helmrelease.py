"""`gotk reconcile|suspend|resume helmrelease` and `--all`, against the real API server.

No helm-controller runs here: a stand-in answers every reconcile request the way a Flux
controller does (``status.lastHandledReconcileAt`` and a Ready condition of that pass), so
the test sees exactly which objects the command annotated, in which order, with what.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from fixtures.cli import HELM, SOURCE, Gotk, create, helm_release, ready
from gotk_api.objects import Obj
from gotk_envtest import ControlPlane

# The session's source-controller skips objects with this label: only the stand-in answers.
IGNORED = {"gotk.test/leader": "cli"}
PATHS = {
    "HelmRelease": f"{HELM}/namespaces/{{ns}}/helmreleases",
    "HelmChart": f"{SOURCE}/namespaces/{{ns}}/helmcharts",
    "HelmRepository": f"{SOURCE}/namespaces/{{ns}}/helmrepositories",
}


class StandIn:
    """Handles reconcile requests of the kinds in PATHS in one namespace, in arrival order."""

    def __init__(self, cluster: ControlPlane, namespace: str) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.handled: list[tuple[str, str, dict[str, str]]] = []

    async def run(self) -> None:
        while True:
            for kind, path in PATHS.items():
                _, listing = await self.cluster.request("GET", path.format(ns=self.namespace))
                for obj in listing.get("items", []):
                    await self._handle(kind, path, obj)
            await asyncio.sleep(0.1)

    async def _handle(self, kind: str, path: str, obj: Obj) -> None:
        annotations = obj["metadata"].get("annotations") or {}
        token = annotations.get("reconcile.fluxcd.io/requestedAt")
        if not token or (obj.get("status") or {}).get("lastHandledReconcileAt") == token:
            return
        condition = ready("True", "done")
        condition["observedGeneration"] = obj["metadata"]["generation"]
        status: Obj = {"lastHandledReconcileAt": token, "conditions": [condition]}
        if kind != "HelmRelease":
            status["artifact"] = {
                "path": "p",
                "url": "http://x/p",
                "revision": f"{kind}-rev",
                "digest": "sha256:" + "0" * 64,
                "lastUpdateTime": "2026-01-01T00:00:00Z",
            }
        name = obj["metadata"]["name"]
        code, body = await self.cluster.request(
            "PATCH",
            f"{path.format(ns=self.namespace)}/{name}/status",
            {"status": status},
            content_type="application/merge-patch+json",
        )
        assert code == 200, body
        self.handled.append((kind, name, dict(annotations)))


@pytest.fixture
async def stand_in(cluster: ControlPlane, namespace: str) -> AsyncIterator[StandIn]:
    controller = StandIn(cluster, namespace)
    task = asyncio.create_task(controller.run())
    yield controller
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _release(cluster: ControlPlane, namespace: str, name: str, **spec: object) -> None:
    await helm_release(cluster, namespace, name, None, suspend=False, **spec)
    await cluster.request(
        "PATCH",
        f"{PATHS['HelmRelease'].format(ns=namespace)}/{name}",
        {"metadata": {"labels": IGNORED}},
        content_type="application/merge-patch+json",
    )


async def test_reconcile_hr_force_and_reset_set_both_annotations_to_the_request_token(
    gotk: Gotk, cluster: ControlPlane, namespace: str, stand_in: StandIn
) -> None:
    await _release(cluster, namespace, "podinfo")
    result = await gotk("reconcile", "hr", "podinfo", "-n", namespace, "--force", "--reset")
    assert result.code == 0, result.err
    [(kind, name, annotations)] = stand_in.handled
    assert (kind, name) == ("HelmRelease", "podinfo")
    token = annotations["reconcile.fluxcd.io/requestedAt"]
    assert annotations["reconcile.fluxcd.io/forceAt"] == token
    assert annotations["reconcile.fluxcd.io/resetAt"] == token
    assert result.err.splitlines() == [
        f"► annotating HelmRelease podinfo in {namespace} namespace",
        "✔ HelmRelease annotated",
        "◎ waiting for HelmRelease reconciliation",
        "✔ applied revision ",
    ]


async def test_reconcile_hr_with_source_reconciles_repository_chart_then_release(
    gotk: Gotk, cluster: ControlPlane, namespace: str, stand_in: StandIn
) -> None:
    await create(
        cluster,
        PATHS["HelmRepository"].format(ns=namespace),
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "HelmRepository",
            "metadata": {"name": "podinfo", "labels": IGNORED},
            "spec": {"url": "https://charts.invalid", "interval": "1h"},
        },
    )
    await create(
        cluster,
        PATHS["HelmChart"].format(ns=namespace),
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "HelmChart",
            "metadata": {"name": f"{namespace}-podinfo", "labels": IGNORED},
            "spec": {
                "chart": "podinfo",
                "interval": "1h",
                "sourceRef": {"kind": "HelmRepository", "name": "podinfo"},
            },
        },
    )
    await _release(cluster, namespace, "podinfo")
    result = await gotk("reconcile", "hr", "podinfo", "-n", namespace, "--with-source")
    assert result.code == 0, result.err
    assert [(kind, name) for kind, name, _ in stand_in.handled] == [
        ("HelmRepository", "podinfo"),
        ("HelmChart", f"{namespace}-podinfo"),
        ("HelmRelease", "podinfo"),
    ]
    assert "✔ fetched revision HelmChart-rev" in result.err.splitlines()
    assert all("forceAt" not in str(a) for _, _, a in stand_in.handled)


async def test_suspend_and_resume_all_helmreleases_of_a_namespace(
    gotk: Gotk, cluster: ControlPlane, namespace: str, stand_in: StandIn
) -> None:
    for name in ("a", "b"):
        await _release(cluster, namespace, name)
    result = await gotk("suspend", "hr", "--all", "-n", namespace)
    assert result.code == 0, result.err
    assert result.err.splitlines() == [
        f"► suspending helmrelease a in {namespace} namespace",
        "✔ helmrelease suspended",
        f"► suspending helmrelease b in {namespace} namespace",
        "✔ helmrelease suspended",
    ]
    for name in ("a", "b"):
        _, obj = await cluster.request("GET", f"{PATHS['HelmRelease'].format(ns=namespace)}/{name}")
        assert obj["spec"]["suspend"] is True

    result = await gotk("resume", "hr", "--all", "--wait", "-n", namespace)
    assert result.code == 0, result.err
    lines = result.err.splitlines()
    assert "✔ HelmRelease a reconciliation completed" in lines
    assert "✔ HelmRelease b reconciliation completed" in lines
    for name in ("a", "b"):
        _, obj = await cluster.request("GET", f"{PATHS['HelmRelease'].format(ns=namespace)}/{name}")
        assert "suspend" not in obj["spec"]


async def test_suspend_of_a_missing_name_reports_it_and_exits_1(
    gotk: Gotk, cluster: ControlPlane, namespace: str
) -> None:
    await _release(cluster, namespace, "real")
    result = await gotk("suspend", "hr", "nope", "real", "-n", namespace)
    assert result.code == 1
    assert result.err.splitlines() == [
        f"► suspending helmrelease nope in {namespace} namespace",
        f"✗ HelmRelease {namespace}/nope not found",
        f"► suspending helmrelease real in {namespace} namespace",
        "✔ helmrelease suspended",
        "✗ suspending failed for 1 HelmRelease(s)",
    ]


async def test_reconcile_of_a_suspended_release_says_resume_it(
    gotk: Gotk, cluster: ControlPlane, namespace: str
) -> None:
    await helm_release(cluster, namespace, "off", None)
    result = await gotk("reconcile", "hr", "off", "-n", namespace)
    assert result.code == 1
    assert result.err == f"✗ HelmRelease {namespace}/off is suspended; resume it first\n"
