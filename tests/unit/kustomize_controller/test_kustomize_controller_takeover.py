"""kustomize-controller's field-manager take-over (Flux's cleanup options): which managers'
entries it takes over, which legacy metadata it removes, and `ssa: Merge` objects exempt."""

from __future__ import annotations

import pytest
from fixtures.managed_fields import (
    DATA_A,
    DATA_X,
    LAST_APPLIED,
    managed_configmap,
    managed_entry,
)
from gotk_ssa import FieldManager
from gotk_ssa.field_managers import cleanup_patch, take_over_entries
from kustomize_controller.apply_options import cleanup_options

OWNER = "kustomize-controller"
FLUX = cleanup_options(OWNER)
OWN = managed_entry(OWNER, "Apply", DATA_A)


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
    other = managed_entry(manager, operation, DATA_X)

    result = take_over_entries([OWN, other], FLUX.managers, OWNER)

    if not taken:
        assert result is None
        return
    assert result is not None
    assert [(e["manager"], e["operation"]) for e in result] == [(OWNER, "Apply")]
    assert result[0]["fieldsV1"] == {"f:data": {".": {}, "f:a": {}, "f:x": {}}}


def test_override_managers_are_taken_over_for_both_operations() -> None:
    cleanup = cleanup_options(OWNER, ["node-fetch"])
    for operation in ("Apply", "Update"):
        entry = managed_entry("node-fetch", operation, DATA_X)
        assert take_over_entries([OWN, entry], cleanup.managers, OWNER) is not None
    assert FieldManager("node-fetch", "Apply") not in FLUX.managers


def test_patch_removes_kubectl_and_legacy_flux_metadata_and_replaces_managed_fields() -> None:
    live = managed_configmap(
        [OWN, managed_entry("kubectl-client-side-apply", "Update", DATA_X)],
        {LAST_APPLIED: "{}", "fluxcd.io/sync-checksum": "abc", "keep/me": "1"},
        **{"fluxcd.io/sync-gc-mark": "x", "app": "web"},
    )

    ops = cleanup_patch(managed_configmap([]), live, FLUX, OWNER)

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


@pytest.mark.parametrize("where", ["desired", "existing-label", "existing-annotation"])
def test_ssa_merge_objects_are_exempt(where: str) -> None:
    merge = {"kustomize.toolkit.fluxcd.io/ssa": "merge"}
    live = managed_configmap(
        [OWN, managed_entry("kubectl-client-side-apply", "Update", DATA_X)], {LAST_APPLIED: "{}"}
    )
    desired = managed_configmap([])
    if where == "desired":
        desired["metadata"]["annotations"] = merge
    elif where == "existing-label":
        live["metadata"]["labels"] = merge
    else:
        live["metadata"]["annotations"] |= merge

    assert cleanup_patch(desired, live, FLUX, OWNER) == []
