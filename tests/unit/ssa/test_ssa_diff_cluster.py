"""The dry-run diff against the real API server: created, configured (with the live and
merged objects), unchanged and skipped objects, a refused dry-run, and nothing written."""

from __future__ import annotations

import pytest
from fixtures.runtime import widget
from gotk_api.objects import Obj
from gotk_runtime import KubeClient, NotFound, Resource
from gotk_runtime.kube import CONFIG_MAPS
from gotk_ssa import Action, ApplyError, ApplyOptions, diff

OPTIONS = ApplyOptions(field_manager="ssa-tests", exclusion_selector={"example.com/ssa": "ignore"})


def configmap(namespace: str, name: str, **data: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }


async def test_a_missing_object_would_be_created_and_is_not(
    kube: KubeClient, namespace: str
) -> None:
    result = await diff(kube, configmap(namespace, "c", k="1"), OPTIONS)
    assert result.entry.action is Action.CREATED
    assert result.live is None
    assert result.merged is not None
    assert result.merged["data"] == {"k": "1"}
    with pytest.raises(NotFound):
        await kube.get(CONFIG_MAPS, "c", namespace)


async def test_a_drifted_object_would_be_configured_and_is_not(
    kube: KubeClient, namespace: str
) -> None:
    await kube.apply(CONFIG_MAPS, configmap(namespace, "c", k="1"), field_manager="ssa-tests")
    result = await diff(kube, configmap(namespace, "c", k="2"), OPTIONS)
    assert result.entry.action is Action.CONFIGURED
    assert result.live is not None
    assert result.merged is not None
    assert (result.live["data"], result.merged["data"]) == ({"k": "1"}, {"k": "2"})
    assert (await kube.get(CONFIG_MAPS, "c", namespace))["data"] == {"k": "1"}


async def test_an_applied_object_is_unchanged(kube: KubeClient, namespace: str) -> None:
    desired = configmap(namespace, "c", k="1")
    await kube.apply(CONFIG_MAPS, desired, field_manager="ssa-tests")
    result = await diff(kube, desired, OPTIONS)
    assert (result.entry.action, result.live, result.merged) == (Action.UNCHANGED, None, None)


async def test_an_excluded_object_is_skipped(kube: KubeClient, namespace: str) -> None:
    desired = configmap(namespace, "c", k="1")
    desired["metadata"]["labels"] = {"example.com/ssa": "Ignore"}
    result = await diff(kube, desired, OPTIONS)
    assert result.entry.action is Action.SKIPPED
    assert str(result.entry.ref) == f"ConfigMap/{namespace}/c"


async def test_a_refused_dry_run_fails_naming_the_object(
    kube: KubeClient, namespace: str, widget_crd: Resource
) -> None:
    with pytest.raises(ApplyError) as info:
        await diff(kube, widget(namespace, "w", replicas=-1), OPTIONS)
    assert info.value.message.startswith(f"Widget/{namespace}/w dry-run failed (Invalid): ")


async def test_a_drifted_object_carries_the_json_patch_back_to_the_desired_state(
    kube: KubeClient, namespace: str
) -> None:
    await kube.apply(CONFIG_MAPS, configmap(namespace, "c", k="1", j="1"), field_manager="owner")
    await kube.apply(CONFIG_MAPS, configmap(namespace, "c", k="9"), field_manager="someone")
    result = await diff(kube, configmap(namespace, "c", k="1", j="1"), OPTIONS)
    assert result.entry.action is Action.CONFIGURED
    assert [op.as_json() for op in result.patch] == [
        {"op": "replace", "path": "/data/k", "value": "1"}
    ]


async def test_ignored_paths_are_left_out_and_the_root_path_skips_the_object(
    kube: KubeClient, namespace: str
) -> None:
    desired = configmap(namespace, "c", k="1", j="1")
    await kube.apply(CONFIG_MAPS, desired, field_manager="owner")
    await kube.apply(CONFIG_MAPS, configmap(namespace, "c", k="9"), field_manager="someone")
    ignored = await diff(kube, desired, OPTIONS, ignore_paths=["/data/k"])
    assert ignored.entry.action is Action.UNCHANGED
    skipped = await diff(kube, desired, OPTIONS, ignore_paths=[""])
    assert skipped.entry.action is Action.SKIPPED
    await kube.apply(CONFIG_MAPS, configmap(namespace, "c", j="8"), field_manager="other")
    partly = await diff(kube, desired, OPTIONS, ignore_paths=["/data/k"])
    assert [op.path for op in partly.patch] == ["/data/j"]
