"""The public names of gotk_ssa are pinned: the controllers and the CLI build on them, so
changing them is a deliberate act."""

from __future__ import annotations

import gotk_ssa
from gotk_runtime import GotkError

PUBLIC_API = {
    "Action",
    "ApplyError",
    "ApplyOptions",
    "CELEvaluationError",
    "ChangeSetEntry",
    "CleanupOptions",
    "DeleteOptions",
    "DependencyNotReady",
    "Diff",
    "FieldManager",
    "IgnoreRule",
    "InvalidCELExpression",
    "InvalidIgnoreRule",
    "InventoryError",
    "ObjectRef",
    "ObjectSelector",
    "PatchOperation",
    "PruneError",
    "PruneResult",
    "ResourceApplier",
    "Status",
    "StatusResult",
    "WaitError",
    "add_refs",
    "check_dependencies",
    "compile_expr",
    "compile_health_checks",
    "compute_status",
    "delete_objects",
    "diff",
    "ignored_paths",
    "inventory_from_objects",
    "list_refs",
    "set_common_metadata",
    "stale_refs",
    "wait_for_set",
}


def test_public_api_is_pinned() -> None:
    assert set(gotk_ssa.__all__) == PUBLIC_API
    assert all(hasattr(gotk_ssa, name) for name in PUBLIC_API)


def test_every_error_is_a_gotk_error_with_a_flux_reason() -> None:
    errors = {
        name: value
        for name in gotk_ssa.__all__
        if isinstance(value := getattr(gotk_ssa, name), type) and issubclass(value, Exception)
    }
    assert all(issubclass(error, GotkError) for error in errors.values())
    reasons = {name: getattr(error, "reason", None) for name, error in errors.items()}
    assert reasons == {
        "ApplyError": "ReconciliationFailed",
        "CELEvaluationError": "Failed",
        "DependencyNotReady": "DependencyNotReady",
        "InvalidCELExpression": "InvalidCELExpression",
        "InvalidIgnoreRule": "ReconciliationFailed",
        "InventoryError": "Failed",
        "PruneError": "PruneFailed",
        "WaitError": "Failed",
    }
    assert gotk_ssa.InvalidCELExpression.stalling
    assert gotk_ssa.InvalidIgnoreRule.stalling


def test_actions_read_as_flux_writes_them_in_events() -> None:
    ref = gotk_ssa.ObjectRef("apps", "web", "apps", "Deployment", "v1")
    assert str(gotk_ssa.ChangeSetEntry(ref, gotk_ssa.Action.CONFIGURED)) == (
        "Deployment/apps/web configured"
    )
    assert [a for a in gotk_ssa.Action if a.changed] == [
        gotk_ssa.Action.CREATED,
        gotk_ssa.Action.CONFIGURED,
    ]
