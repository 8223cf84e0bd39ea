"""The pre-apply clean-up's JSON patch: which managedFields entries are taken over, how their
field sets merge, which metadata is removed, and what is exempt."""

from __future__ import annotations

import pytest
from fixtures.managed_fields import (
    DATA_A,
    DATA_X,
    LAST_APPLIED,
    managed_configmap,
    managed_entry,
)
from gotk_api.objects import Obj
from gotk_ssa.field_managers import (
    CleanupOptions,
    FieldManager,
    cleanup_patch,
    merge_fields,
    take_over_entries,
)

OWNER = "a-controller"
MERGE = {"example.com/ssa": "merge"}
TAKEOVER = CleanupOptions(
    annotations=(LAST_APPLIED, "example.com/checksum"),
    labels=("example.com/gc-mark",),
    managers=(
        FieldManager("kubectl", "Apply"),
        FieldManager("kubectl", "Update"),
        FieldManager("before-first-apply", "Update"),
        FieldManager(OWNER, "Update"),
    ),
    exclusions=MERGE,
)
OWN = managed_entry(OWNER, "Apply", DATA_A)


def test_subresource_entries_are_never_taken_over() -> None:
    status = managed_entry("kubectl-edit", "Update", {"f:status": {}}, subresource="status")

    assert take_over_entries([OWN, status], TAKEOVER.managers, OWNER) is None


def test_without_an_owner_entry_the_first_match_is_renamed_and_later_ones_merged_into_it() -> None:
    kept = managed_entry("someone-else", "Update", {"f:metadata": {"f:labels": {"f:team": {}}}})
    first = managed_entry("kubectl-client-side-apply", "Update", DATA_A)
    second = managed_entry("kubectl-edit", "Update", DATA_X)

    result = take_over_entries([first, kept, second], TAKEOVER.managers, OWNER)

    assert result == [
        kept,
        {
            **first,
            "manager": OWNER,
            "operation": "Apply",
            "fieldsV1": {"f:data": {".": {}, "f:a": {}, "f:x": {}}},
        },
    ]


def test_the_owner_entry_moves_last_and_other_managers_keep_their_place() -> None:
    a = managed_entry("someone-else", "Update", {"f:metadata": {"f:labels": {"f:team": {}}}})
    b = managed_entry("kubectl-create", "Update", DATA_X)
    c = managed_entry("helm", "Apply", {"f:metadata": {"f:annotations": {"f:note": {}}}})

    result = take_over_entries([OWN, a, b, c], TAKEOVER.managers, OWNER)

    assert result is not None
    assert [e["manager"] for e in result] == ["someone-else", "helm", OWNER]
    assert result[:2] == [a, c]


def test_exact_match_managers_ignore_longer_names() -> None:
    exact = [FieldManager("kubectl", "Update", exact=True)]
    longer = managed_entry("kubectl-edit", "Update", DATA_X)

    assert take_over_entries([OWN, longer], exact, OWNER) is None


@pytest.mark.parametrize(
    ("a", "b", "union"),
    [
        ({"f:data": {"f:a": {}}}, {"f:data": {"f:b": {}}}, {"f:data": {"f:a": {}, "f:b": {}}}),
        # A leaf on one side and an inner node on the other: the node stays a member.
        ({"f:spec": {}}, {"f:spec": {"f:x": {}}}, {"f:spec": {".": {}, "f:x": {}}}),
        (
            {"f:spec": {".": {}, "f:x": {}}},
            {"f:spec": {"f:y": {}}},
            {"f:spec": {".": {}, "f:x": {}, "f:y": {}}},
        ),
        (
            {"f:spec": {"f:ports": {'k:{"port":80}': {".": {}, "f:port": {}}}}},
            {"f:spec": {"f:ports": {'k:{"port":81}': {".": {}}}}},
            {
                "f:spec": {
                    "f:ports": {
                        'k:{"port":80}': {".": {}, "f:port": {}},
                        'k:{"port":81}': {".": {}},
                    }
                }
            },
        ),
        (None, {"f:a": {}}, {"f:a": {}}),
        ({"f:a": {}}, None, {"f:a": {}}),
    ],
)
def test_field_sets_merge_as_a_union(a: Obj | None, b: Obj | None, union: Obj) -> None:
    assert merge_fields(a, b) == union


def test_patch_removes_the_named_metadata_escaped_and_replaces_managed_fields() -> None:
    live = managed_configmap(
        [OWN, managed_entry("kubectl-client-side-apply", "Update", DATA_X)],
        {LAST_APPLIED: "{}", "example.com/checksum": "abc", "keep/me": "1"},
        **{"example.com/gc-mark": "x", "app": "web"},
    )

    ops = cleanup_patch(managed_configmap([]), live, TAKEOVER, OWNER)

    assert ops[:3] == [
        {
            "op": "remove",
            "path": "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration",
        },
        {"op": "remove", "path": "/metadata/annotations/example.com~1checksum"},
        {"op": "remove", "path": "/metadata/labels/example.com~1gc-mark"},
    ]
    assert ops[3]["op"] == "replace"
    assert ops[3]["path"] == "/metadata/managedFields"
    assert [e["manager"] for e in ops[3]["value"]] == [OWNER]


def test_only_the_annotation_is_removed_when_no_manager_matches() -> None:
    live = managed_configmap([OWN], {LAST_APPLIED: "{}"})

    assert cleanup_patch(managed_configmap([]), live, TAKEOVER, OWNER) == [
        {
            "op": "remove",
            "path": "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration",
        }
    ]


def test_nothing_to_clean_gives_an_empty_patch() -> None:
    live = managed_configmap(
        [OWN, managed_entry("someone-else", "Update", DATA_X)], {"keep/me": "1"}
    )

    assert cleanup_patch(managed_configmap([]), live, TAKEOVER, OWNER) == []


@pytest.mark.parametrize("where", ["desired", "existing-label", "existing-annotation"])
def test_objects_matching_the_exclusions_are_exempt(where: str) -> None:
    live = managed_configmap(
        [OWN, managed_entry("kubectl-client-side-apply", "Update", DATA_X)], {LAST_APPLIED: "{}"}
    )
    desired = managed_configmap([])
    if where == "desired":
        desired["metadata"]["annotations"] = dict(MERGE)
    elif where == "existing-label":
        live["metadata"]["labels"] = dict(MERGE)
    else:
        live["metadata"]["annotations"] |= MERGE

    assert cleanup_patch(desired, live, TAKEOVER, OWNER) == []
