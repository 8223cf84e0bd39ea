"""How a Kustomization drives the apply engine (gotk_ssa): its
`kustomize.toolkit.fluxcd.io/*` labels and annotations as the engine's selectors, the owner
labels, the field-manager take-over and the check that SOPS secrets are decrypted.

The values follow kustomize-controller's ApplyOptions, DeleteOptions and cleanup options.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from types import MappingProxyType
from typing import Any

from gotk_api.kustomize import Kustomization
from gotk_api.objects import describe
from gotk_ssa import (
    ApplyError,
    ApplyOptions,
    CleanupOptions,
    DeleteOptions,
    FieldManager,
    set_common_metadata,
)

from kustomize_controller.build import is_decryption_disabled, is_encrypted_secret

GROUP = "kustomize.toolkit.fluxcd.io"
RECONCILE_KEY = f"{GROUP}/reconcile"
SSA_KEY = f"{GROUP}/ssa"
PRUNE_KEY = f"{GROUP}/prune"
FORCE_KEY = f"{GROUP}/force"
OWNER_NAME_LABEL = f"{GROUP}/name"
OWNER_NAMESPACE_LABEL = f"{GROUP}/namespace"
DISABLED_VALUE = "disabled"
ENABLED_VALUE = "enabled"

LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"
LEGACY_ANNOTATIONS = (f"{GROUP}/checksum", "fluxcd.io/sync-checksum")
LEGACY_LABELS = ("fluxcd.io/sync-gc-mark",)


class SSAPolicy(Enum):
    """The `kustomize.toolkit.fluxcd.io/ssa` annotation's values (case-insensitive);
    anything else means the default, Override."""

    OVERRIDE = "Override"
    MERGE = "Merge"
    IF_NOT_PRESENT = "IfNotPresent"
    IGNORE = "Ignore"


EXCLUSION_SELECTOR: Mapping[str, str] = MappingProxyType(
    {RECONCILE_KEY: DISABLED_VALUE, SSA_KEY: SSAPolicy.IGNORE.value}
)
"""Neither applied nor pruned: `reconcile: disabled` or `ssa: Ignore`."""
IF_NOT_PRESENT_SELECTOR: Mapping[str, str] = MappingProxyType(
    {SSA_KEY: SSAPolicy.IF_NOT_PRESENT.value}
)
"""`ssa: IfNotPresent`: created when missing, never updated."""
FORCE_SELECTOR: Mapping[str, str] = MappingProxyType({FORCE_KEY: ENABLED_VALUE})
"""`force: enabled`: recreated when an immutable field changes."""
CLEANUP_EXCLUSIONS: Mapping[str, str] = MappingProxyType({SSA_KEY: SSAPolicy.MERGE.value})
"""`ssa: Merge`: other managers' fields are kept (no takeover from kubectl & co)."""
PRUNE_EXCLUSIONS: Mapping[str, str] = MappingProxyType(
    {PRUNE_KEY: DISABLED_VALUE, **EXCLUSION_SELECTOR}
)
"""`prune: disabled`, and whatever apply excludes, is never garbage collected."""


def apply_options(
    ks: Kustomization, field_manager: str, override_managers: Sequence[str] = ()
) -> ApplyOptions:
    return ApplyOptions(
        field_manager=field_manager,
        force=ks.spec.force,
        force_selector=FORCE_SELECTOR,
        exclusion_selector=EXCLUSION_SELECTOR,
        if_not_present_selector=IF_NOT_PRESENT_SELECTOR,
        cleanup=cleanup_options(field_manager, override_managers),
    )


def cleanup_options(owner: str, override_managers: Sequence[str] = ()) -> CleanupOptions:
    """kustomize-controller's take-over: kubectl (server- and client-side), kubectl's
    ``before-first-apply``, the controller's own pre-SSA updates, and every
    ``--override-manager`` (both operations); all matched by name prefix."""
    managers = [
        FieldManager("kubectl", "Apply"),
        FieldManager("kubectl", "Update"),
        FieldManager("before-first-apply", "Update"),
        FieldManager(owner, "Update"),
    ]
    for name in override_managers:
        managers += [FieldManager(name, "Apply"), FieldManager(name, "Update")]
    return CleanupOptions(
        annotations=(LAST_APPLIED_ANNOTATION, *LEGACY_ANNOTATIONS),
        labels=LEGACY_LABELS,
        managers=tuple(managers),
        exclusions=CLEANUP_EXCLUSIONS,
    )


def delete_options(ks: Kustomization) -> DeleteOptions:
    """Prune only what carries this Kustomization's owner labels and did not opt out."""
    return DeleteOptions(
        inclusions=owner_labels(ks.name, ks.namespace), exclusions=PRUNE_EXCLUSIONS
    )


def owner_labels(name: str, namespace: str) -> dict[str, str]:
    return {OWNER_NAME_LABEL: name, OWNER_NAMESPACE_LABEL: namespace}


def set_owner_labels(objects: Sequence[dict[str, Any]], name: str, namespace: str) -> None:
    """Stamp `kustomize.toolkit.fluxcd.io/{name,namespace}` on every object, in place."""
    set_common_metadata(objects, labels=owner_labels(name, namespace))


def refuse_encrypted_secrets(objects: Sequence[dict[str, Any]], ks: Kustomization) -> None:
    """Without `spec.decryption`, a SOPS-encrypted Secret (not opted out with `decrypt:
    disabled`) fails the apply before anything is applied, as in Flux."""
    if ks.spec.decryption is not None:
        return
    for obj in objects:
        if is_encrypted_secret(obj) and not is_decryption_disabled(obj):
            raise ApplyError(
                f"{describe(obj)} is SOPS encrypted, configuring decryption is required "
                "for this secret to be reconciled"
            )
