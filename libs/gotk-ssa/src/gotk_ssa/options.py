"""How the engine applies and deletes, as the calling controller configures it (fluxcd/pkg
ssa `ApplyOptions`, `DeleteOptions`): its field manager, `spec.force`, and which labels or
annotations exclude, force or protect an object."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from gotk_ssa.field_managers import CleanupOptions


@dataclass(frozen=True, slots=True)
class ApplyOptions:
    field_manager: str
    """The manager that owns the applied fields (`kustomize-controller`, ...)."""
    force: bool = False
    """Recreate objects whose immutable fields changed (`spec.force`)."""
    force_selector: Mapping[str, str] = field(default_factory=dict)
    """Objects matching it are recreated on an immutable-field change whatever `force` says."""
    exclusion_selector: Mapping[str, str] = field(default_factory=dict)
    """Objects matching it, desired or live, are never applied (skipped)."""
    if_not_present_selector: Mapping[str, str] = field(default_factory=dict)
    """Objects matching it are created when missing and never updated."""
    cleanup: CleanupOptions = field(default_factory=CleanupOptions)
    """The field-manager take-over before applying an existing object."""
    custom_stage_kinds: Collection[tuple[str, str]] = ()
    """(group, kind) pairs applied in a stage of their own, before the rest."""
    wait_timeout: float = 60.0
    """How long a staged wait (CRDs, Namespaces, classes) or a forced recreate may take."""
    wait_interval: float = 2.0


@dataclass(frozen=True, slots=True)
class DeleteOptions:
    inclusions: Mapping[str, str] = field(default_factory=dict)
    """Labels a live object must carry (its owner's) to be deleted."""
    exclusions: Mapping[str, str] = field(default_factory=dict)
    """Labels or annotations that protect a live object from deletion."""
