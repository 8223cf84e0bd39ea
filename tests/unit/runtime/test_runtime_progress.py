"""Progress patches are coalesced: a fast reconcile reporting many steps writes its status
once or twice, a slow one still shows its latest step within a second, and the final status
always wins."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from fixtures.runtime import eventually, running, runtime_options, widget
from gotk_api.objects import Obj
from gotk_runtime import (
    Conditions,
    KubeClient,
    Manager,
    Reconciler,
    Resource,
    Result,
    TooManyRequests,
)
from gotk_runtime.status import StatusPatcher, patch_progress


class Stepper(Reconciler):
    """Marks Reconciling with each of `spec.steps` messages, `spec.pause` seconds apart."""

    api_version: ClassVar[str] = "test.gotk.io/v1"
    kind: ClassVar[str] = "Widget"

    async def reconcile(self, obj: Obj) -> Result:
        spec = obj["spec"]
        for step in spec["steps"]:
            Conditions(obj).mark_reconciling(step)
            await patch_progress(obj)
            await asyncio.sleep(spec.get("pause", 0))
        return Result(message="done")


async def _status_writes(
    kube: KubeClient, widgets: Resource, namespace: str, name: str
) -> tuple[list[Obj], Obj]:
    """Every version of the object's status from creation until Ready, via a watch."""
    seen: list[Obj] = []

    async def listed_once() -> Obj | None:
        try:
            result: Obj = await kube.list(widgets, namespace)
        except TooManyRequests:  # the CRD's watch cache is still initializing
            return None
        return result

    listed: Obj = await eventually(listed_once)
    async for event in kube.watch(
        widgets,
        namespace,
        resource_version=listed["metadata"]["resourceVersion"],
        timeout_seconds=30,
    ):
        obj = event.object
        if obj["metadata"]["name"] != name:
            continue
        seen.append(obj)
        if (Conditions(obj).get("Ready") or {}).get("status") == "True":
            return seen, obj
    raise AssertionError("the widget never became Ready")


async def test_a_quick_reconcile_of_many_steps_writes_its_status_once(
    kube: KubeClient, namespace: str, widget_crd: Resource
) -> None:
    manager = Manager(runtime_options(namespace), kube)
    manager.add_reconciler(Stepper())
    async with running(manager):
        watch = asyncio.create_task(_status_writes(kube, widget_crd, namespace, "quick"))
        await asyncio.sleep(0.5)
        await kube.create(widget_crd, widget(namespace, "quick", steps=[f"s{i}" for i in range(8)]))
        seen, final = await asyncio.wait_for(watch, 30)
    status_versions = [o for o in seen if o.get("status")]
    # A reconcile shorter than FIRST_PROGRESS_DELAY writes its status once, at the end.
    assert len(status_versions) == 1
    assert Conditions(final).get("Reconciling") is None
    assert (Conditions(final).get("Ready") or {})["message"] == "done"


async def test_a_slow_step_is_visible_within_the_interval(
    kube: KubeClient, namespace: str, widget_crd: Resource
) -> None:
    manager = Manager(runtime_options(namespace), kube)
    manager.add_reconciler(Stepper())
    async with running(manager):
        await kube.create(
            widget_crd, widget(namespace, "slow", steps=["fetching", "waiting"], pause=2.5)
        )

        async def shows(message: str) -> bool:
            obj = await kube.get(widget_crd, "slow", namespace)
            return (Conditions(obj).get("Reconciling") or {}).get("message") == message

        await eventually(lambda: shows("waiting"), timeout=5)
        await eventually(lambda: _ready(kube, widget_crd, namespace, "slow"), timeout=10)


async def _ready(kube: KubeClient, widgets: Resource, namespace: str, name: str) -> bool:
    obj = await kube.get(widgets, name, namespace)
    return (Conditions(obj).get("Ready") or {}).get("status") == "True"


class _SlowFirstPatch:
    """A stand-in for KubeClient.patch that holds the first request open and records the
    order in which requests start and finish. A fake, because the race it exposes — a
    progress patch still on the wire when the final one is sent on another connection, the
    server applying them in either order — cannot be forced on a real API server."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.release = asyncio.Event()
        self.calls = 0

    async def patch(self, resource: object, name: str, body: Obj, **_: object) -> Obj:
        self.calls += 1
        call = self.calls
        self.log.append(f"start {call}")
        if call == 1:
            await self.release.wait()
        self.log.append(f"end {call}")
        return {}


async def test_the_final_patch_waits_for_a_progress_patch_already_on_the_wire() -> None:
    client = _SlowFirstPatch()
    obj: Obj = {"metadata": {"name": "w", "namespace": "ns"}, "status": {}}
    resource = Resource("test.gotk.io", "v1", "widgets", "Widget", True)
    patcher = StatusPatcher(client, resource, obj)  # type: ignore[arg-type]
    Conditions(obj).mark_reconciling("working")
    await patcher.progress()
    await eventually(lambda: _started(client))  # the deferred progress patch is sending
    Conditions(obj).delete("Reconciling")
    Conditions(obj).mark_true("Ready", "Succeeded", "done")
    final = asyncio.create_task(patcher.patch())
    await asyncio.sleep(0.2)
    assert client.log == ["start 1"], "the final patch must not start before the first ends"
    client.release.set()
    assert await final
    assert client.log == ["start 1", "end 1", "start 2", "end 2"]


async def _started(client: _SlowFirstPatch) -> bool:
    return client.log == ["start 1"]
