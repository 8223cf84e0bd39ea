"""The pre-apply clean-up's JSON patch: which managedFields entries are taken over, how their
field sets merge, which metadata is removed, and what is exempt."""

from __future__ import annotations

import pytest
from gotk_api.objects import Obj
from kustomize_controller.field_managers import (
    FieldManager,
    cleanup_patch,
    flux_cleanup,
    merge_fields,
    take_over_entries,
)
from kustomize_controller.options import parse_options

OWNER = "kustomize-controller"
FLUX = flux_cleanup(OWNER)
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _entry(manager: str, operation: str, fields: Obj, subresource: str = "") -> Obj:
    entry: Obj = {
        "manager": manager,
        "operation": operation,
        "apiVersion": "v1",
        "time": "2026-01-01T00:00:00Z",
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    }
    if subresource:
        entry["subresource"] = subresource
    return entry


def _cm(entries: list[Obj], annotations: dict[str, str] | None = None, **labels: str) -> Obj:
    metadata: Obj = {"name": "cm", "namespace": "apps", "managedFields": entries}
    if annotations:
        metadata["annotations"] = annotations
    if labels:
        metadata["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata}


DATA_A: Obj = {"f:data": {".": {}, "f:a": {}}}
DATA_X: Obj = {"f:data": {".": {}, "f:x": {}}}
OWN = _entry(OWNER, "Apply", DATA_A)


@pytest.mark.parametrize(
    ("manager", "operation", "taken"),
    [
        ("kubectl-client-side-apply", "Update", True),  # kubectl apply (client-side)
        ("kubectl-create", "Update", True),
        ("kubectl-edit", "Update", True),
        ("kubectl-patch", "Update", True),
        ("kubectl-label", "Update", True),
        ("kubectl", "Apply", True),  # kubectl apply --server-side
        ("kubectl", "Update", True),
        ("before-first-apply", "Update", True),  # kubectl's first SSA migration
        ("kustomize-controller", "Update", True),  # the controller before SSA
        ("kustomize-controller", "Apply", False),  # the owner itself
        ("before-first-apply", "Apply", False),
        ("helm", "Update", False),
        ("someone-else", "Apply", False),
        ("my-kubectl", "Update", False),  # prefix match, not substring
    ],
)
def test_flux_managers_are_taken_over_by_prefix_and_operation(
    manager: str, operation: str, taken: bool
) -> None:
    other = _entry(manager, operation, DATA_X)

    result = take_over_entries([OWN, other], FLUX.managers, OWNER)

    if not taken:
        assert result is None
        return
    assert result is not None
    assert [(e["manager"], e["operation"]) for e in result] == [(OWNER, "Apply")]
    assert result[0]["fieldsV1"] == {"f:data": {".": {}, "f:a": {}, "f:x": {}}}


def test_subresource_entries_are_never_taken_over() -> None:
    status = _entry("kubectl-edit", "Update", {"f:status": {}}, subresource="status")

    assert take_over_entries([OWN, status], FLUX.managers, OWNER) is None


def test_without_an_owner_entry_the_first_match_is_renamed_and_later_ones_merged_into_it() -> None:
    kept = _entry("someone-else", "Update", {"f:metadata": {"f:labels": {"f:team": {}}}})
    first = _entry("kubectl-client-side-apply", "Update", DATA_A)
    second = _entry("kubectl-edit", "Update", DATA_X)

    result = take_over_entries([first, kept, second], FLUX.managers, OWNER)

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
    a = _entry("someone-else", "Update", {"f:metadata": {"f:labels": {"f:team": {}}}})
    b = _entry("kubectl-create", "Update", DATA_X)
    c = _entry("helm", "Apply", {"f:metadata": {"f:annotations": {"f:note": {}}}})

    result = take_over_entries([OWN, a, b, c], FLUX.managers, OWNER)

    assert result is not None
    assert [e["manager"] for e in result] == ["someone-else", "helm", OWNER]
    assert result[:2] == [a, c]


def test_override_managers_are_taken_over_for_both_operations() -> None:
    cleanup = flux_cleanup(OWNER, ["node-fetch"])
    for operation in ("Apply", "Update"):
        entry = _entry("node-fetch", operation, DATA_X)
        assert take_over_entries([OWN, entry], cleanup.managers, OWNER) is not None
    assert FieldManager("node-fetch", "Apply") not in FLUX.managers


def test_exact_match_managers_ignore_longer_names() -> None:
    exact = [FieldManager("kubectl", "Update", exact=True)]
    longer = _entry("kubectl-edit", "Update", DATA_X)

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


def test_patch_removes_kubectl_and_legacy_flux_metadata_and_replaces_managed_fields() -> None:
    live = _cm(
        [OWN, _entry("kubectl-client-side-apply", "Update", DATA_X)],
        {LAST_APPLIED: "{}", "fluxcd.io/sync-checksum": "abc", "keep/me": "1"},
        **{"fluxcd.io/sync-gc-mark": "x", "app": "web"},
    )

    ops = cleanup_patch(_cm([]), live, FLUX, OWNER)

    assert ops[:3] == [
        {
            "op": "remove",
            "path": "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration",
        },
        {"op": "remove", "path": "/metadata/annotations/fluxcd.io~1sync-checksum"},
        {"op": "remove", "path": "/metadata/labels/fluxcd.io~1sync-gc-mark"},
    ]
    assert ops[3]["op"] == "replace"
    assert ops[3]["path"] == "/metadata/managedFields"
    assert [e["manager"] for e in ops[3]["value"]] == [OWNER]


def test_only_the_annotation_is_removed_when_no_manager_matches() -> None:
    live = _cm([OWN], {LAST_APPLIED: "{}"})

    assert cleanup_patch(_cm([]), live, FLUX, OWNER) == [
        {
            "op": "remove",
            "path": "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration",
        }
    ]


def test_nothing_to_clean_gives_an_empty_patch() -> None:
    live = _cm([OWN, _entry("someone-else", "Update", DATA_X)], {"keep/me": "1"})

    assert cleanup_patch(_cm([]), live, FLUX, OWNER) == []


@pytest.mark.parametrize("where", ["desired", "existing-label", "existing-annotation"])
def test_ssa_merge_objects_are_exempt(where: str) -> None:
    merge = {"kustomize.toolkit.fluxcd.io/ssa": "merge"}
    live = _cm([OWN, _entry("kubectl-client-side-apply", "Update", DATA_X)], {LAST_APPLIED: "{}"})
    desired = _cm([])
    if where == "desired":
        desired["metadata"]["annotations"] = merge
    elif where == "existing-label":
        live["metadata"]["labels"] = merge
    else:
        live["metadata"]["annotations"] |= merge

    assert cleanup_patch(desired, live, FLUX, OWNER) == []


def test_override_manager_flag_is_repeatable_and_kept_whole() -> None:
    _, options = parse_options(["--override-manager=node-fetch", "--override-manager", "a,b"])

    assert options.override_managers == ("node-fetch", "a,b")
    assert parse_options([])[1].override_managers == ()
