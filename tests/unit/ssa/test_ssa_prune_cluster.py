"""Garbage collection against the real API server: what is deleted, what is skipped (not
owned, opted out), what counts as already gone, and failures kept as survivors."""

from __future__ import annotations

import pytest
from fixtures.rbac import client_allowed
from gotk_api.objects import Obj
from gotk_runtime import KubeClient, NotFound
from gotk_runtime.kube import CONFIG_MAPS
from gotk_ssa import Action, DeleteOptions, ObjectRef, PruneError, delete_objects

OWNER = {"example.com/name": "app", "example.com/namespace": "flux"}
OPTIONS = DeleteOptions(inclusions=OWNER, exclusions={"example.com/prune": "disabled"})


def configmap(namespace: str, name: str, labels: dict[str, str], **annotations: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "annotations": annotations,
        },
    }


def ref(namespace: str, name: str, kind: str = "ConfigMap", api_version: str = "v1") -> ObjectRef:
    group, _, version = api_version.rpartition("/")
    return ObjectRef(namespace, name, group, kind, version)


@pytest.mark.parametrize(
    ("live", "action", "remains"),
    [
        pytest.param(OWNER, Action.DELETED, False, id="owned"),
        pytest.param({**OWNER, "example.com/name": "other"}, Action.SKIPPED, True, id="not-owned"),
        pytest.param({}, Action.SKIPPED, True, id="unlabelled"),
        pytest.param(None, Action.DELETED, False, id="already-gone"),
    ],
)
async def test_only_owned_objects_are_deleted(
    kube: KubeClient, namespace: str, live: dict[str, str] | None, action: Action, remains: bool
) -> None:
    if live is not None:
        await kube.create(CONFIG_MAPS, configmap(namespace, "c", live))

    result = await delete_objects(kube, [ref(namespace, "c")], OPTIONS)

    assert [(str(e.ref), e.action) for e in result.changes] == [
        (f"ConfigMap/{namespace}/c", action)
    ]
    assert (result.survivors, result.errors) == ([], [])
    result.raise_for_errors()
    if remains:
        await kube.get(CONFIG_MAPS, "c", namespace)
    else:
        with pytest.raises(NotFound):
            await kube.get(CONFIG_MAPS, "c", namespace)


async def test_opted_out_objects_are_skipped(kube: KubeClient, namespace: str) -> None:
    opted_out = configmap(namespace, "keep", OWNER, **{"example.com/prune": "Disabled"})
    await kube.create(CONFIG_MAPS, opted_out)

    result = await delete_objects(kube, [ref(namespace, "keep")], OPTIONS)

    assert [e.action for e in result.changes] == [Action.SKIPPED]
    await kube.get(CONFIG_MAPS, "keep", namespace)


async def test_a_kind_no_longer_served_counts_as_deleted(kube: KubeClient, namespace: str) -> None:
    gone = ref(namespace, "w", "Gone", "gone.example.com/v1")
    result = await delete_objects(kube, [gone], OPTIONS)
    assert [e.action for e in result.changes] == [Action.DELETED]


async def test_objects_are_deleted_in_reverse_apply_order(kube: KubeClient, namespace: str) -> None:
    for name in ("a", "b"):
        await kube.create(CONFIG_MAPS, configmap(namespace, name, OWNER))
    result = await delete_objects(kube, [ref(namespace, "a"), ref(namespace, "b")], OPTIONS)
    assert [e.ref.name for e in result.changes] == ["b", "a"]


async def test_a_refused_delete_keeps_the_object_as_a_survivor_and_the_rest_goes_on(
    kube: KubeClient, namespace: str
) -> None:
    await kube.create(CONFIG_MAPS, configmap(namespace, "held", OWNER))
    refs = [ref(namespace, "held"), ref(namespace, "gone")]
    async with client_allowed(kube, namespace, ["get"]) as client:
        result = await delete_objects(client, refs, OPTIONS)

    assert result.survivors == [refs[0]]
    assert [(e.ref.name, e.action) for e in result.changes] == [("gone", Action.DELETED)]
    (error,) = result.errors
    assert error.startswith(f"ConfigMap/{namespace}/held delete failed: ")
    with pytest.raises(PruneError) as info:
        result.raise_for_errors()
    assert str(info.value) == f"delete failed, errors: {error}"
    assert info.value.reason == "PruneFailed"
    await kube.get(CONFIG_MAPS, "held", namespace)
