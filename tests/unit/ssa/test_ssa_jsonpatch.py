"""JSON patches between documents, JSON pointers, ignored paths removed, and the drift patch
between a live object and its dry-run (labels and annotations never removed)."""

from __future__ import annotations

from typing import Any

import pytest
from gotk_ssa import InvalidIgnoreRule, PatchOperation
from gotk_ssa.drift import drift_patch
from gotk_ssa.jsonpatch import compare, escape, parse_pointer, remove_paths


@pytest.mark.parametrize(
    ("old", "new", "ops"),
    [
        ({"a": 1}, {"a": 1}, []),
        ({"a": 1}, {"a": 2}, [PatchOperation("replace", "/a", 2)]),
        ({"a": 1}, {}, [PatchOperation("remove", "/a")]),
        ({}, {"a": {"b": 1}}, [PatchOperation("add", "/a", {"b": 1})]),
        ({"a": {"b": 1, "c": 2}}, {"a": {"b": 3, "c": 2}}, [PatchOperation("replace", "/a/b", 3)]),
        ({"l": [1, 2]}, {"l": [1, 3]}, [PatchOperation("replace", "/l/1", 3)]),
        ({"l": [1, 2]}, {"l": [1]}, [PatchOperation("replace", "/l", [1])]),
        ({"a": 1}, {"a": True}, [PatchOperation("replace", "/a", True)]),
        ({"a": "1"}, {"a": {"x": 1}}, [PatchOperation("replace", "/a", {"x": 1})]),
        (
            {"a/b": 1, "m~n": 1},
            {"a/b": 2, "m~n": 2},
            [
                PatchOperation("replace", "/a~1b", 2),
                PatchOperation("replace", "/m~0n", 2),
            ],
        ),
    ],
)
def test_compare_reports_each_change_at_its_deepest_path(
    old: Any, new: Any, ops: list[PatchOperation]
) -> None:
    assert compare(old, new) == ops


def test_operations_serialise_as_rfc_6902() -> None:
    assert PatchOperation("remove", "/a").as_json() == {"op": "remove", "path": "/a"}
    assert PatchOperation("add", "/a", None).as_json() == {"op": "add", "path": "/a", "value": None}


def test_pointers_escape_and_parse_both_ways() -> None:
    assert escape("app.kubernetes.io/name") == "app.kubernetes.io~1name"
    assert parse_pointer("/metadata/labels/app.kubernetes.io~1name") == [
        "metadata",
        "labels",
        "app.kubernetes.io/name",
    ]
    assert parse_pointer("") == []
    with pytest.raises(InvalidIgnoreRule, match="does not start with '/'"):
        parse_pointer("spec/replicas")


def test_remove_paths_copies_and_tolerates_missing_paths() -> None:
    doc: dict[str, Any] = {
        "spec": {"replicas": 3, "list": [{"a": 1}, {"a": 2}]},
        "data": {"k": "v"},
    }
    trimmed = remove_paths(doc, ["/spec/replicas", "/spec/list/1/a", "/nope/deeper", "/data/x"])
    assert trimmed == {"spec": {"list": [{"a": 1}, {}]}, "data": {"k": "v"}}
    assert doc["spec"]["replicas"] == 3, "the original is left alone"
    assert remove_paths(doc, ["/spec/list/0"]) == {
        "spec": {"replicas": 3, "list": [{"a": 2}]},
        "data": {"k": "v"},
    }
    assert remove_paths(doc, [""]) == {}


def test_drift_patch_adds_and_replaces_metadata_but_never_removes_it() -> None:
    live = {
        "metadata": {"labels": {"a": "1", "added-by-a-controller": "x"}, "uid": "u"},
        "data": {"k": "changed", "extra": "kept"},
        "status": {"ignored": True},
    }
    merged = {
        "metadata": {"labels": {"a": "2"}, "annotations": {"n": "v"}, "uid": "other"},
        "data": {"k": "desired", "extra": "kept"},
    }
    assert drift_patch(live, merged) == [
        PatchOperation("replace", "/metadata/labels/a", "2"),
        PatchOperation("add", "/metadata/annotations", {"n": "v"}),
        PatchOperation("replace", "/data/k", "desired"),
    ]
