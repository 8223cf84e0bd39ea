"""Whole reconciles on the real control plane, driven by a small example controller.

The example kind is ``Widget`` (a CRD the fixture installs): its reconciler copies the data
of the ConfigMap named by ``spec.configMap`` into ``status.data``.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal

import aiohttp
from fixtures.runtime import (
    WidgetReconciler,
    configmap,
    eventually,
    ready,
    running,
    widget,
    widget_manager,
)
from gotk_api.objects import Obj
from gotk_runtime import Conditions, KubeClient, Manager, NotFound, Resource
from gotk_runtime.kube import CONFIG_MAPS, EVENTS


async def events_for(kube: KubeClient, namespace: str, name: str) -> list[Obj]:
    listed = await kube.list(EVENTS, namespace, field_selector=f"involvedObject.name={name}")
    items: list[Obj] = listed["items"]
    return items


async def test_reconciles_on_create_and_update_with_status_conditions_and_events(
    kube: KubeClient, namespace: str, widget_crd: Resource
) -> None:
    await kube.create(CONFIG_MAPS, configmap(namespace, "cm1", a="1"))
    await kube.create(CONFIG_MAPS, configmap(namespace, "cm2", b="2", c="3"))
    manager, reconciler = widget_manager(kube, namespace)
    async with running(manager):
        await kube.create(widget_crd, widget(namespace, "w", configMap="cm1"))

        async def copied(data: dict[str, str], generation: int) -> Obj | None:
            obj = await kube.get(widget_crd, "w", namespace)
            status = obj.get("status", {})
            done = status.get("data") == data and status.get("observedGeneration") == generation
            return obj if done and ready(obj).get("status") == "True" else None

        obj = await eventually(lambda: copied({"a": "1"}, 1))
        assert "finalizers.fluxcd.io" in obj["metadata"]["finalizers"]
        assert ready(obj)["reason"] == "Succeeded"
        assert ready(obj)["message"].startswith("copied 1 keys")
        assert Conditions(obj).get("Reconciling") is None

        obj["spec"]["configMap"] = "cm2"
        await kube.replace(widget_crd, obj)
        await eventually(lambda: copied({"b": "2", "c": "3"}, 2))

        await kube.patch(CONFIG_MAPS, "cm2", {"data": {"d": "4"}}, namespace=namespace)
        await eventually(lambda: copied({"b": "2", "c": "3", "d": "4"}, 2))

        events = await eventually(lambda: events_for(kube, namespace, "w"))
        normal = [e for e in events if e["type"] == "Normal"]
        assert normal
        assert normal[0]["reportingComponent"] == "gotk-test-controller"
        assert normal[0]["involvedObject"]["kind"] == "Widget"
        assert "test.gotk.io/revision" in normal[0]["metadata"]["annotations"]

        assert manager.metrics_server is not None
        assert manager.health_server is not None
        async with aiohttp.ClientSession() as http:
            metrics_url = f"http://127.0.0.1:{manager.metrics_server.port}/metrics"
            async with http.get(metrics_url) as response:
                text = await response.text()
            readyz_url = f"http://127.0.0.1:{manager.health_server.port}/readyz"
            async with http.get(readyz_url) as response:
                assert response.status == 200
        assert 'gotk_reconcile_duration_seconds_count{kind="Widget",name="w"' in text
        assert 'gotk_reconcile_condition{kind="Widget",name="w"' in text
    # Status changes alone (our own patches) never trigger another reconcile.
    assert reconciler.calls.count(("w", 1)) <= 2


async def test_requested_at_annotation_reconciles_and_is_recorded(
    kube: KubeClient, namespace: str, widget_crd: Resource
) -> None:
    await kube.create(CONFIG_MAPS, configmap(namespace, "cm", a="1"))
    manager, reconciler = widget_manager(kube, namespace)
    async with running(manager):
        await kube.create(widget_crd, widget(namespace, "w", configMap="cm"))

        async def reconciled() -> bool:
            obj = await kube.get(widget_crd, "w", namespace)
            return ready(obj).get("status") == "True"

        await eventually(reconciled)
        before = len(reconciler.calls)
        stamp = "2026-11-29T20:00:00.123456789Z"
        annotations = {"reconcile.fluxcd.io/requestedAt": stamp}
        patch = {"metadata": {"annotations": annotations}}
        await kube.patch(widget_crd, "w", patch, namespace=namespace)

        async def handled() -> bool:
            obj = await kube.get(widget_crd, "w", namespace)
            return bool(obj["status"].get("lastHandledReconcileAt") == stamp)

        await eventually(handled)
        assert len(reconciler.calls) == before + 1


async def test_suspended_object_is_left_alone_until_resumed(
    kube: KubeClient, namespace: str, widget_crd: Resource
) -> None:
    await kube.create(CONFIG_MAPS, configmap(namespace, "cm", a="1"))
    manager, reconciler = widget_manager(kube, namespace)
    async with running(manager):
        await kube.create(widget_crd, widget(namespace, "w", configMap="cm", suspend=True))
        await eventually(lambda: _synced(manager))
        await _settle()
        obj = await kube.get(widget_crd, "w", namespace)
        assert reconciler.calls == []
        assert "status" not in obj or not obj["status"].get("data")

        await kube.patch(widget_crd, "w", {"spec": {"suspend": False}}, namespace=namespace)

        async def copied() -> bool:
            return bool((await kube.get(widget_crd, "w", namespace)).get("status", {}).get("data"))

        await eventually(copied)
        assert reconciler.calls == [("w", 2)]


async def test_deletion_runs_finalize_then_removes_the_finalizer(
    kube: KubeClient, namespace: str, widget_crd: Resource
) -> None:
    await kube.create(CONFIG_MAPS, configmap(namespace, "cm", a="1"))
    manager, reconciler = widget_manager(kube, namespace)
    async with running(manager):
        await kube.create(widget_crd, widget(namespace, "w", configMap="cm"))

        async def has_finalizer() -> bool:
            obj = await kube.get(widget_crd, "w", namespace)
            return "finalizers.fluxcd.io" in (obj["metadata"].get("finalizers") or ())

        await eventually(has_finalizer)
        await kube.delete(widget_crd, "w", namespace)

        async def gone() -> bool:
            try:
                await kube.get(widget_crd, "w", namespace)
            except NotFound:
                return True
            return False

        await eventually(gone)
        assert reconciler.finalized == ["w"]


async def test_stalling_error_sets_stalled_and_is_not_retried(
    kube: KubeClient, namespace: str, widget_crd: Resource
) -> None:
    manager, reconciler = widget_manager(kube, namespace)
    async with running(manager):
        await kube.create(widget_crd, widget(namespace, "w", configMap="cm", stall=True))

        async def stalled() -> Obj | None:
            obj = await kube.get(widget_crd, "w", namespace)
            return obj if Conditions(obj).is_true("Stalled") else None

        obj = await eventually(stalled)
        assert (ready(obj)["status"], ready(obj)["reason"]) == ("False", "Invalid")
        assert obj["status"]["observedGeneration"] == 1
        assert Conditions(obj).get("Reconciling") is None
        await _settle(1.0)
        assert reconciler.calls == [("w", 1)]
        warnings = [e for e in await events_for(kube, namespace, "w") if e["type"] == "Warning"]
        assert [e["reason"] for e in warnings] == ["Invalid"]


async def test_generic_errors_retry_with_growing_backoff_then_recover(
    kube: KubeClient, namespace: str, widget_crd: Resource
) -> None:
    await kube.create(CONFIG_MAPS, configmap(namespace, "cm", a="1"))
    manager, reconciler = widget_manager(kube, namespace)
    async with running(manager):
        await kube.create(widget_crd, widget(namespace, "w", configMap="cm", failTimes=3))

        async def recovered() -> Obj | None:
            obj = await kube.get(widget_crd, "w", namespace)
            return obj if ready(obj).get("status") == "True" else None

        obj = await eventually(recovered)
        assert Conditions(obj).get("Reconciling") is None
        attempts = reconciler.attempts["w"]
        gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
        assert len(attempts) == 4
        # min-retry-delay is 0.2 s in tests: 0.2, 0.4, 0.8 (plus reconcile time)
        assert gaps[0] >= 0.18
        assert gaps[1] >= 0.38
        assert gaps[2] >= 0.78
        events = await events_for(kube, namespace, "w")
        failures = [e for e in events if e["reason"] == "SimulatedFailure"]
        assert len(failures) == 1  # aggregated, not one event per retry
        assert failures[0]["count"] == 3
        assert any(e["type"] == "Normal" for e in events)  # the recovery


async def test_waiting_error_requeues_until_the_dependency_exists(
    kube: KubeClient, namespace: str, widget_crd: Resource
) -> None:
    manager, _ = widget_manager(kube, namespace)
    async with running(manager):
        await kube.create(widget_crd, widget(namespace, "w", configMap="later"))

        async def waiting() -> Obj | None:
            obj = await kube.get(widget_crd, "w", namespace)
            return obj if ready(obj).get("reason") == "DependencyNotReady" else None

        obj = await eventually(waiting)
        assert ready(obj)["status"] == "False"
        assert Conditions(obj).is_true("Reconciling")
        await kube.create(CONFIG_MAPS, configmap(namespace, "later", x="y"))

        async def copied() -> bool:
            obj = await kube.get(widget_crd, "w", namespace)
            return bool(obj.get("status", {}).get("data") == {"x": "y"})

        await eventually(copied)


async def test_sigterm_stops_taking_work_but_finishes_in_flight_reconciles(
    kube: KubeClient, namespace: str, widget_crd: Resource
) -> None:
    await kube.create(CONFIG_MAPS, configmap(namespace, "cm", a="1"))
    manager, reconciler = widget_manager(kube, namespace, concurrent=1)
    task = asyncio.create_task(manager.run(handle_signals=True))
    try:
        await eventually(lambda: _synced(manager))
        await kube.create(widget_crd, widget(namespace, "slow", configMap="cm", sleep=1.5))
        await kube.create(widget_crd, widget(namespace, "queued", configMap="cm"))
        await eventually(lambda: _started(reconciler, "slow"))
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(task, 30)
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    slow = await kube.get(widget_crd, "slow", namespace)
    assert slow["status"]["data"] == {"a": "1"}  # the in-flight reconcile completed
    assert ready(slow)["status"] == "True"
    assert [name for name, _ in reconciler.calls] == ["slow"]  # nothing new was started


async def _started(reconciler: WidgetReconciler, name: str) -> bool:
    return any(call[0] == name for call in reconciler.calls)


async def _synced(manager: Manager) -> bool:
    return manager.ready


async def _settle(seconds: float = 0.5) -> None:
    await asyncio.sleep(seconds)
