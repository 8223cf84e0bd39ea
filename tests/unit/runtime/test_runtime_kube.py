"""gotk_runtime.kube against the real API server: verbs, patch types, errors, discovery."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from gotk_envtest import ControlPlane
from gotk_runtime import (
    AlreadyExists,
    Conflict,
    Invalid,
    KubeClient,
    KubeUnavailable,
    NoKindMatch,
    NotFound,
    Resource,
    load_config,
)
from gotk_runtime.kube import CONFIG_MAPS, ClusterConfig


def configmap(namespace: str, name: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }


async def test_create_get_list_delete_round_trip(kube: KubeClient, namespace: str) -> None:
    created = await kube.create(CONFIG_MAPS, configmap(namespace, "a", k="v"))
    assert created["metadata"]["uid"]
    assert (await kube.get(CONFIG_MAPS, "a", namespace))["data"] == {"k": "v"}
    listed = await kube.list(CONFIG_MAPS, namespace)
    assert [i["metadata"]["name"] for i in listed["items"]] == ["a"]
    assert listed["metadata"]["resourceVersion"]
    await kube.delete(CONFIG_MAPS, "a", namespace)
    with pytest.raises(NotFound):
        await kube.get(CONFIG_MAPS, "a", namespace)


async def test_list_filters_by_label_selector(kube: KubeClient, namespace: str) -> None:
    first = configmap(namespace, "one")
    first["metadata"]["labels"] = {"shard": "1"}
    await kube.create(CONFIG_MAPS, first)
    await kube.create(CONFIG_MAPS, configmap(namespace, "two"))
    listed = await kube.list(CONFIG_MAPS, namespace, label_selector="shard=1")
    assert [i["metadata"]["name"] for i in listed["items"]] == ["one"]


async def test_merge_and_json_patch(kube: KubeClient, namespace: str) -> None:
    await kube.create(CONFIG_MAPS, configmap(namespace, "p", a="1", b="2"))
    merged = await kube.patch(
        CONFIG_MAPS, "p", {"data": {"a": None, "c": "3"}}, namespace=namespace
    )
    assert merged["data"] == {"b": "2", "c": "3"}
    ops = [{"op": "replace", "path": "/data/b", "value": "20"}]
    patched = await kube.patch(CONFIG_MAPS, "p", ops, namespace=namespace, patch_type="json")
    assert patched["data"] == {"b": "20", "c": "3"}


async def test_server_side_apply_records_field_manager_and_force_takes_over(
    kube: KubeClient, namespace: str
) -> None:
    obj = configmap(namespace, "ssa", owner="first")
    applied = await kube.apply(CONFIG_MAPS, obj, field_manager="first")
    assert {m["manager"] for m in applied["metadata"]["managedFields"]} == {"first"}
    with pytest.raises(Conflict):
        await kube.apply(
            CONFIG_MAPS,
            configmap(namespace, "ssa", owner="second"),
            field_manager="second",
            force=False,
        )
    taken = await kube.apply(
        CONFIG_MAPS, configmap(namespace, "ssa", owner="second"), field_manager="second"
    )
    assert taken["data"] == {"owner": "second"}


async def test_status_subresource_patch_leaves_spec_alone(
    kube: KubeClient, namespace: str, widget_crd: Resource
) -> None:
    widget = {
        "apiVersion": "test.gotk.io/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": namespace},
        "spec": {"replicas": 1},
    }
    await kube.create(widget_crd, widget)
    patched = await kube.patch(
        widget_crd,
        "w",
        {"status": {"seen": True}, "spec": {"replicas": 5}},
        namespace=namespace,
        subresource="status",
    )
    assert patched["status"] == {"seen": True}
    assert patched["spec"] == {"replicas": 1}


async def test_api_errors_map_to_the_error_tree(
    kube: KubeClient, namespace: str, widget_crd: Resource
) -> None:
    await kube.create(CONFIG_MAPS, configmap(namespace, "dup"))
    with pytest.raises(AlreadyExists) as exists:
        await kube.create(CONFIG_MAPS, configmap(namespace, "dup"))
    assert exists.value.status == 409
    assert isinstance(exists.value, Conflict)

    current = await kube.get(CONFIG_MAPS, "dup", namespace)
    stale = {**current, "metadata": {**current["metadata"], "resourceVersion": "1"}}
    with pytest.raises(Conflict) as conflict:
        await kube.replace(CONFIG_MAPS, stale)
    assert not isinstance(conflict.value, AlreadyExists)

    bad = {
        "apiVersion": "test.gotk.io/v1",
        "kind": "Widget",
        "metadata": {"name": "bad", "namespace": namespace},
        "spec": {"replicas": -1},
    }
    with pytest.raises(Invalid) as invalid:
        await kube.create(widget_crd, bad)
    assert "spec.replicas" in invalid.value.message
    assert invalid.value.reason  # a Flux reason for conditions


async def test_discovery_resolves_core_builtin_and_custom_kinds(
    kube: KubeClient, widget_crd: Resource
) -> None:
    assert await kube.discovery.resource_for("v1", "ConfigMap") == CONFIG_MAPS
    lease = await kube.discovery.resource_for("coordination.k8s.io/v1", "Lease")
    assert (lease.plural, lease.namespaced) == ("leases", True)
    namespace = await kube.discovery.resource_for("v1", "Namespace")
    assert not namespace.namespaced
    assert await kube.discovery.resource_for("test.gotk.io/v1", "Widget") == widget_crd
    with pytest.raises(NoKindMatch):
        await kube.discovery.resource_for("v1", "Gadget")
    with pytest.raises(NoKindMatch):
        await kube.discovery.resource_for("nothing.gotk.io/v1", "Gadget")


async def test_watch_streams_changes_after_a_resource_version(
    kube: KubeClient, namespace: str
) -> None:
    listed = await kube.list(CONFIG_MAPS, namespace)
    stream = kube.watch(
        CONFIG_MAPS,
        namespace,
        resource_version=listed["metadata"]["resourceVersion"],
        timeout_seconds=5,
    )
    await kube.create(CONFIG_MAPS, configmap(namespace, "w1"))
    event = await anext(aiter(stream))
    await stream.aclose()  # type: ignore[attr-defined]
    assert (event.type, event.object["metadata"]["name"]) == ("ADDED", "w1")


async def test_unreachable_server_raises_kube_unavailable() -> None:
    config = ClusterConfig(host="https://127.0.0.1:1", ssl=None)
    async with KubeClient(config, timeout=2) as client:
        with pytest.raises(KubeUnavailable):
            await client.get(CONFIG_MAPS, "x", "default")


async def test_load_config_reads_kubeconfig_client_certificates(cluster: ControlPlane) -> None:
    config = await load_config(cluster.kubeconfig)
    assert config.host == cluster.server
    async with KubeClient(config) as client:
        assert await client.get(Resource("", "v1", "namespaces", "Namespace", False), "default")


def test_loading_config_skips_kubernetes_asyncio_models_until_asked_for(
    cluster: ControlPlane,
) -> None:
    code = (
        "import asyncio, sys, gotk_runtime\n"
        f"config = asyncio.run(gotk_runtime.load_config({str(cluster.kubeconfig)!r}))\n"
        f"assert config.host == {cluster.server!r}\n"
        "assert 'kubernetes_asyncio.config.kube_config' in sys.modules\n"
        "assert 'kubernetes_asyncio.client.models' not in sys.modules\n"
        "assert 'kubernetes_asyncio.client.api' not in sys.modules\n"
        "import kubernetes_asyncio.client as c\n"  # a later full user still gets everything
        "assert c.V1ConfigMap(data={'a': 'b'}).data == {'a': 'b'}\n"
        "assert c.ApiClient.__name__ == 'ApiClient'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
