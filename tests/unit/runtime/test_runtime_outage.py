"""Informers and controllers across API server outages and compacted history.

These tests run their own control plane, because they stop and restart its API server.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from fixtures.runtime import (
    WIDGETS,
    WidgetReconciler,
    configmap,
    eventually,
    install_widget_crd,
    running,
    widget,
    widget_manager,
)
from gotk_envtest import ControlPlane
from gotk_runtime import Informer, KubeClient, load_config
from gotk_runtime.kube import CONFIG_MAPS


@pytest.fixture(scope="module")
async def plane(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ControlPlane]:
    workdir: Path = tmp_path_factory.mktemp("runtime-outage")
    async with ControlPlane.started("minimal", workdir) as cp:
        await install_widget_crd(cp)
        yield cp


@pytest.fixture
async def client(plane: ControlPlane) -> AsyncIterator[KubeClient]:
    async with KubeClient(await load_config(plane.kubeconfig)) as kube:
        yield kube


async def fresh_namespace(kube: KubeClient, name: str) -> str:
    await kube.create(
        await kube.discovery.resource_for("v1", "Namespace"),
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
    )
    return name


async def compact_etcd(etcd_url: str) -> None:
    """Compact etcd's history up to now (what the API server does every 5 minutes)."""
    async with aiohttp.ClientSession() as http:
        key = base64.b64encode(b"/").decode()
        async with http.post(f"{etcd_url}/v3/kv/range", json={"key": key}) as response:
            revision = (await response.json())["header"]["revision"]
        body = {"revision": revision, "physical": True}
        async with http.post(f"{etcd_url}/v3/kv/compaction", json=body) as response:
            assert response.status == 200, await response.text()


async def restart_apiserver(plane: ControlPlane) -> None:
    await plane.stop_apiserver()
    await plane.start_apiserver()


async def test_changes_made_while_the_controller_was_cut_off_are_reconciled(
    plane: ControlPlane, client: KubeClient
) -> None:
    namespace = await fresh_namespace(client, "outage")
    await client.create(CONFIG_MAPS, configmap(namespace, "cm", a="1"))
    await client.create(CONFIG_MAPS, configmap(namespace, "cm2", b="2"))
    manager, reconciler = widget_manager(client, namespace)
    async with running(manager) as task:
        await client.create(WIDGETS, widget(namespace, "before", configMap="cm"))

        async def copied(name: str, data: dict[str, str]) -> bool:
            obj = await client.get(WIDGETS, name, namespace)
            return bool(obj.get("status", {}).get("data") == data)

        await eventually(lambda: copied("before", {"a": "1"}))
        await plane.stop_apiserver()
        await asyncio.sleep(2)  # the watches fail and the informers start backing off
        await plane.start_apiserver()
        # Changed before the informers are back: only a relist or resumed watch sees them.
        await client.patch(WIDGETS, "before", {"spec": {"configMap": "cm2"}}, namespace=namespace)
        await client.create(WIDGETS, widget(namespace, "during", configMap="cm"))

        await eventually(lambda: copied("before", {"b": "2"}), timeout=60)
        await eventually(lambda: copied("during", {"a": "1"}), timeout=60)
        assert not task.done()
    assert reconciler.calls.count(("during", 1)) == 1


async def test_watch_resumed_after_compaction_relists_without_losing_or_repeating_changes(
    plane: ControlPlane, client: KubeClient
) -> None:
    namespace = await fresh_namespace(client, "compacted")
    for name in ("keep", "change", "remove"):
        await client.create(CONFIG_MAPS, configmap(namespace, name, v="1"))
    informer = Informer(client, CONFIG_MAPS, namespace=namespace)
    seen: list[tuple[str, str]] = []
    informer.add_handler(lambda event, obj, old: seen.append((event, obj["metadata"]["name"])))
    task = asyncio.create_task(informer.run())
    await asyncio.wait_for(informer.wait_synced(), 30)
    assert sorted(seen) == [("ADDED", "change"), ("ADDED", "keep"), ("ADDED", "remove")]
    stale_version = informer.resource_version

    task.cancel()  # the watch is down ...
    await asyncio.gather(task, return_exceptions=True)
    seen.clear()
    await client.patch(CONFIG_MAPS, "change", {"data": {"v": "2"}}, namespace=namespace)
    await client.delete(CONFIG_MAPS, "remove", namespace)
    await client.create(CONFIG_MAPS, configmap(namespace, "new", v="1"))
    await compact_etcd(plane.etcd_url)  # ... and its resourceVersion is compacted away
    await restart_apiserver(plane)

    task = asyncio.create_task(informer.run())
    try:
        await eventually(lambda: _settled(informer, stale_version), timeout=30)
        await asyncio.sleep(0.5)
        assert sorted(seen) == [("ADDED", "new"), ("DELETED", "remove"), ("MODIFIED", "change")]
        assert sorted(informer.keys()) == [f"{namespace}/{n}" for n in ("change", "keep", "new")]
        assert (informer.get(f"{namespace}/change") or {})["data"] == {"v": "2"}

        seen.clear()  # and the watch after the relist delivers new changes
        await client.create(CONFIG_MAPS, configmap(namespace, "after", v="1"))
        await eventually(lambda: _contains(seen, ("ADDED", "after")))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_informer_cache_is_trimmed_and_filtered_by_label_selector(
    client: KubeClient,
) -> None:
    namespace = await fresh_namespace(client, "trimmed")
    labelled = {"apiVersion": "v1", "kind": "ConfigMap", **configmap(namespace, "mine", v="1")}
    labelled["metadata"]["labels"] = {"sharding.fluxcd.io/key": "shard1"}
    labelled["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": "{}",
        "keep": "me",
    }
    await client.apply(CONFIG_MAPS, labelled, field_manager="test")
    await client.create(CONFIG_MAPS, configmap(namespace, "other", v="1"))
    informer = Informer(
        client, CONFIG_MAPS, namespace=namespace, label_selector="sharding.fluxcd.io/key=shard1"
    )
    task = asyncio.create_task(informer.run())
    try:
        await asyncio.wait_for(informer.wait_synced(), 30)
        assert informer.keys() == [f"{namespace}/mine"]
        cached = informer.get(f"{namespace}/mine") or {}
        assert "managedFields" not in cached["metadata"]
        assert cached["metadata"]["annotations"] == {"keep": "me"}
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _settled(informer: Informer, stale_version: str) -> bool:
    return informer.resource_version not in ("", stale_version)


async def _contains(seen: list[tuple[str, str]], item: tuple[str, str]) -> bool:
    return item in seen


async def test_stop_is_bounded_when_the_api_server_is_gone_mid_reconcile(
    plane: ControlPlane, client: KubeClient
) -> None:
    """SIGTERM under load with a dead API server: intake stops, in-flight reconciles get the
    grace period, the lease release gives up quickly, and run() returns."""
    namespace = await fresh_namespace(client, "shutdown")
    await client.create(CONFIG_MAPS, configmap(namespace, "cm", a="1"))
    manager, reconciler = widget_manager(
        client,
        namespace,
        enable_leader_election=True,
        leader_election_lease_duration=60.0,
        leader_election_renew_deadline=50.0,
        leader_election_retry_period=0.3,
        graceful_shutdown_timeout=3.0,
    )
    task = asyncio.create_task(manager.run())
    try:
        for i in range(4):
            await client.create(WIDGETS, widget(namespace, f"slow{i}", configMap="cm", sleep=600))
        await eventually(lambda: _has_calls(reconciler, 2))
        await plane.stop_apiserver()
        started = asyncio.get_running_loop().time()
        manager.stop()
        await asyncio.wait_for(task, 30)
        elapsed = asyncio.get_running_loop().time() - started
        # 3 s of grace for the sleeping reconciles, at most 5 s to give up the lease.
        assert elapsed < 3.0 + 5.0 + 2.0
        assert len(reconciler.calls) == 2  # nothing new was taken after the stop
    finally:
        if not task.done():
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await plane.start_apiserver()


async def test_a_second_stop_cancels_in_flight_reconciles_at_once(
    plane: ControlPlane, client: KubeClient
) -> None:
    namespace = await fresh_namespace(client, "second-stop")
    await client.create(CONFIG_MAPS, configmap(namespace, "cm", a="1"))
    manager, reconciler = widget_manager(client, namespace, graceful_shutdown_timeout=600.0)
    task = asyncio.create_task(manager.run())
    try:
        await client.create(WIDGETS, widget(namespace, "slow", configMap="cm", sleep=600))
        await eventually(lambda: _has_calls(reconciler, 1))
        manager.stop()
        await asyncio.sleep(0.5)
        assert not task.done()  # the first stop waits for the reconcile in flight
        started = asyncio.get_running_loop().time()
        manager.stop()
        await asyncio.wait_for(task, 10)
        assert asyncio.get_running_loop().time() - started < 5.0
    finally:
        if not task.done():
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _has_calls(reconciler: WidgetReconciler, count: int) -> bool:
    return len(reconciler.calls) >= count
