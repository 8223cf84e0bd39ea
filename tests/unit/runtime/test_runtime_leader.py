"""Leader election between two managers on the real control plane (short lease settings)."""

from __future__ import annotations

import asyncio
import time

from fixtures.runtime import (
    configmap,
    eventually,
    widget,
    widget_manager,
)
from gotk_runtime import KubeClient, Manager, Resource
from gotk_runtime.kube import CONFIG_MAPS, LEASES

LEASE = "gotk-test-controller-leader-election"
FAST = {
    "enable_leader_election": True,
    "leader_election_lease_duration": 3.0,
    "leader_election_renew_deadline": 2.0,
    "leader_election_retry_period": 0.3,
}


async def holder(kube: KubeClient, namespace: str) -> str:
    lease = await kube.get(LEASES, LEASE, namespace)
    return str(lease["spec"].get("holderIdentity") or "")


async def test_only_the_leader_reconciles_and_a_standby_takes_over_an_abandoned_lease(
    kube: KubeClient, namespace: str, widget_crd: Resource
) -> None:
    await kube.create(CONFIG_MAPS, configmap(namespace, "cm", a="1"))
    first, first_reconciler = widget_manager(kube, namespace, **FAST)
    second, second_reconciler = widget_manager(kube, namespace, **FAST)
    first_task = asyncio.create_task(first.run())
    await eventually(lambda: _is_leader(first))
    second_task = asyncio.create_task(second.run())
    try:
        await kube.create(widget_crd, widget(namespace, "one", configMap="cm"))

        async def reconciled(name: str) -> bool:
            obj = await kube.get(widget_crd, name, namespace)
            return bool(obj.get("status", {}).get("data"))

        await eventually(lambda: reconciled("one"))
        assert await holder(kube, namespace) == _identity(first)
        assert first_reconciler.calls == [("one", 1)]
        assert second_reconciler.calls == []
        assert not second.ready  # a standby keeps its cache warm but runs no workers

        first_task.cancel()  # a crash: the lease is not released
        await asyncio.gather(first_task, return_exceptions=True)
        abandoned = time.monotonic()
        await eventually(lambda: _is_leader(second), timeout=10)
        takeover = time.monotonic() - abandoned
        assert takeover <= FAST["leader_election_lease_duration"] + 1.5
        assert await holder(kube, namespace) == _identity(second)

        await kube.create(widget_crd, widget(namespace, "two", configMap="cm"))
        await eventually(lambda: reconciled("two"))
        assert ("two", 1) in second_reconciler.calls
        assert ("two", 1) not in first_reconciler.calls
    finally:
        second.stop()
        await asyncio.wait_for(second_task, 30)
    # A graceful stop releases the lease so the next candidate need not wait.
    lease = await kube.get(LEASES, LEASE, namespace)
    assert lease["spec"]["holderIdentity"] == ""
    assert lease["spec"]["leaseDurationSeconds"] == 1


async def test_a_released_lease_is_taken_over_at_once(
    kube: KubeClient, namespace: str, widget_crd: Resource
) -> None:
    slow = {**FAST, "leader_election_lease_duration": 30.0, "leader_election_renew_deadline": 20.0}
    first, _ = widget_manager(kube, namespace, **slow)
    first_task = asyncio.create_task(first.run())
    await eventually(lambda: _is_leader(first))
    second, _ = widget_manager(kube, namespace, **slow)
    second_task = asyncio.create_task(second.run())
    try:
        await asyncio.sleep(0.5)
        first.stop()
        await asyncio.wait_for(first_task, 30)
        released = time.monotonic()
        await eventually(lambda: _is_leader(second), timeout=10)
        assert time.monotonic() - released < 5  # far less than the 30 s lease
    finally:
        second.stop()
        await asyncio.wait_for(second_task, 30)


async def _is_leader(manager: Manager) -> bool:
    return manager.leader is not None and manager.leader.is_leader and manager.ready


def _identity(manager: Manager) -> str:
    assert manager.leader is not None
    return manager.leader.identity
