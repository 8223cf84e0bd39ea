"""Inventory ids, parsing and the stale-object diff, in Flux's format and order."""

from __future__ import annotations

from typing import Any

import pytest
from gotk_api.kustomize_types import ResourceInventory, ResourceRef
from gotk_runtime import GotkError
from gotk_ssa import InventoryError
from gotk_ssa.inventory import (
    ObjectRef,
    add_refs,
    inventory_from_objects,
    list_refs,
    stale_refs,
)


def obj(api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata}


@pytest.mark.parametrize(
    ("manifest", "entry_id", "version"),
    [
        (obj("v1", "Service", "app", "default"), "default_app__Service", "v1"),
        (obj("v1", "Namespace", "apps"), "_apps__Namespace", "v1"),
        (obj("apps/v1", "Deployment", "web", "apps"), "apps_web_apps_Deployment", "v1"),
        (
            obj("rbac.authorization.k8s.io/v1", "ClusterRole", "system:viewer"),
            "_system__viewer_rbac.authorization.k8s.io_ClusterRole",
            "v1",
        ),
        (
            obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "a.example.com"),
            "_a.example.com_apiextensions.k8s.io_CustomResourceDefinition",
            "v1",
        ),
        (obj("v1", "ConfigMap", "a:b", "ns"), "ns_a:b__ConfigMap", "v1"),
    ],
)
def test_entry_ids_follow_flux_format(
    manifest: dict[str, Any], entry_id: str, version: str
) -> None:
    inventory = inventory_from_objects([manifest])
    assert inventory.entries == [ResourceRef(id=entry_id, v=version)]


@pytest.mark.parametrize(
    "entry_id",
    [
        "default_app__Service",
        "_system__viewer_rbac.authorization.k8s.io_ClusterRole",
        "apps_my_app_apps_Deployment",
    ],
)
def test_parse_round_trips_ids(entry_id: str) -> None:
    assert ObjectRef.parse(entry_id).id == entry_id


def test_parse_keeps_underscores_in_names() -> None:
    ref = ObjectRef.parse("apps_my_app_apps_Deployment", "v1")
    assert (ref.namespace, ref.name, ref.group, ref.kind) == (
        "apps",
        "my_app",
        "apps",
        "Deployment",
    )
    assert ref.as_object()["apiVersion"] == "apps/v1"


@pytest.mark.parametrize("entry_id", ["nounderscore", "a_b"])
def test_unparseable_ids_are_errors(entry_id: str) -> None:
    with pytest.raises(InventoryError) as info:
        ObjectRef.parse(entry_id)
    assert isinstance(info.value, GotkError)
    assert isinstance(info.value, ValueError)
    assert str(info.value) == f"unable to parse stored object metadata: {entry_id}"


def test_duplicates_are_listed_once() -> None:
    cm = obj("v1", "ConfigMap", "a", "ns")
    assert len(inventory_from_objects([cm, cm]).entries) == 1


def inv(*ids: str) -> ResourceInventory:
    return ResourceInventory(entries=[ResourceRef(id=i, v="v1") for i in ids])


def test_stale_objects_are_those_that_left_the_source_sorted_in_apply_order() -> None:
    old = inv("ns_z__ConfigMap", "ns_web_apps_Deployment", "_ns__Namespace", "ns_keep__Secret")
    new = inv("ns_keep__Secret")
    stale = [ref.id for ref in stale_refs(old, new)]
    assert stale == ["_ns__Namespace", "ns_z__ConfigMap", "ns_web_apps_Deployment"]


def test_a_version_change_alone_is_not_stale() -> None:
    old = ResourceInventory(entries=[ResourceRef(id="ns_a_example.com_Widget", v="v1beta1")])
    new = ResourceInventory(entries=[ResourceRef(id="ns_a_example.com_Widget", v="v1")])
    assert stale_refs(old, new) == []


def test_empty_or_missing_inventories_have_nothing_stale() -> None:
    assert stale_refs(None, inv("ns_a__ConfigMap")) == []
    assert [r.id for r in stale_refs(inv("ns_a__ConfigMap"), None)] == ["ns_a__ConfigMap"]
    assert list_refs(None) == []


def test_added_refs_are_appended_once_and_listed_ones_are_left_out() -> None:
    new = inv("ns_keep__Secret")
    survivors = [ObjectRef.parse("ns_keep__Secret", "v1"), ObjectRef.parse("ns_z__ConfigMap", "v1")]
    tracked = add_refs(new, survivors)
    assert [(e.id, e.v) for e in tracked.entries] == [
        ("ns_keep__Secret", "v1"),
        ("ns_z__ConfigMap", "v1"),
    ]
    assert new.entries == [ResourceRef(id="ns_keep__Secret", v="v1")]
