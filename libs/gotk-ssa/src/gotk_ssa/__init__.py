"""gotk_ssa: the apply engine shared by the controllers (Flux keeps it as ``pkg/ssa``).

A controller describes how it applies in ``ApplyOptions`` (its field manager, and the
labels/annotations that exclude, force or protect an object, under its own API group),
applies with ``ResourceApplier.apply_all_staged`` and gets a change set; it records the
result as an inventory (``inventory_from_objects``), prunes what left it
(``stale_refs`` → ``delete_objects`` with ``DeleteOptions``), and waits for health
(``wait_for_set``, kstatus, optionally decided by CEL ``compile_health_checks``), after
``check_dependencies`` found its ``spec.dependsOn`` ready.
``diff`` dry-runs one object without changing anything; with the JSON pointers of the
``IgnoreRule``s whose ``ObjectSelector`` selects it (``ignored_paths``) left out, its
``Diff.patch`` is the drift to report or correct.
"""

from gotk_ssa.apply import ResourceApplier
from gotk_ssa.cel import compile_expr
from gotk_ssa.changeset import Action, ChangeSetEntry
from gotk_ssa.dependencies import DependencyNotReady, check_dependencies
from gotk_ssa.drift import Diff, diff
from gotk_ssa.errors import (
    ApplyError,
    CELEvaluationError,
    InvalidCELExpression,
    InvalidIgnoreRule,
    InventoryError,
    PruneError,
    WaitError,
)
from gotk_ssa.field_managers import CleanupOptions, FieldManager
from gotk_ssa.health_exprs import compile_health_checks
from gotk_ssa.ignore import IgnoreRule, ObjectSelector, ignored_paths
from gotk_ssa.inventory import ObjectRef, add_refs, inventory_from_objects, list_refs, stale_refs
from gotk_ssa.jsonpatch import PatchOperation
from gotk_ssa.kstatus import Status, StatusResult, compute_status
from gotk_ssa.metadata import set_common_metadata
from gotk_ssa.options import ApplyOptions, DeleteOptions
from gotk_ssa.prune import PruneResult, delete_objects
from gotk_ssa.wait import wait_for_set

__all__ = [
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
]
