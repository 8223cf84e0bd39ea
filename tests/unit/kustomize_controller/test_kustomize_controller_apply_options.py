"""kustomize-controller's per-object annotations and owner labels, as gotk_ssa selectors and
options: what is excluded, created only, forced, exempt from take-over, or protected from
pruning."""

from __future__ import annotations

from typing import Any

import pytest
from gotk_api.kustomize import Kustomization
from gotk_ssa import ApplyError, set_common_metadata
from gotk_ssa.drift import is_skipped
from gotk_ssa.field_managers import cleanup_patch
from gotk_ssa.metadata import any_in_metadata
from gotk_ssa.prune import is_prunable
from kustomize_controller.apply_options import (
    CLEANUP_EXCLUSIONS,
    EXCLUSION_SELECTOR,
    FORCE_SELECTOR,
    IF_NOT_PRESENT_SELECTOR,
    LAST_APPLIED_ANNOTATION,
    SSAPolicy,
    apply_options,
    delete_options,
    refuse_encrypted_secrets,
    set_owner_labels,
)
from kustomize_controller.options import parse_options

SSA = "kustomize.toolkit.fluxcd.io/ssa"


def obj(
    api_version: str,
    kind: str,
    name: str = "x",
    namespace: str | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    if labels:
        metadata["labels"] = labels
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata}


def _ks(name: str = "apps", namespace: str = "flux", **spec: Any) -> Kustomization:
    return Kustomization.model_validate(
        {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "interval": "5m",
                "prune": True,
                "sourceRef": {"kind": "GitRepository", "name": "repo"},
                **spec,
            },
        }
    )


def _policy(o: dict[str, Any]) -> SSAPolicy:
    """The `ssa` policy the engine applies to `o`, read back from the selectors it matches."""
    for policy, selector in (
        (SSAPolicy.IGNORE, EXCLUSION_SELECTOR),
        (SSAPolicy.IF_NOT_PRESENT, IF_NOT_PRESENT_SELECTOR),
        (SSAPolicy.MERGE, CLEANUP_EXCLUSIONS),
    ):
        if any_in_metadata(o, selector):
            return policy
    return SSAPolicy.OVERRIDE


@pytest.mark.parametrize(
    ("value", "policy"),
    [
        ("Override", SSAPolicy.OVERRIDE),
        ("merge", SSAPolicy.MERGE),
        ("IfNotPresent", SSAPolicy.IF_NOT_PRESENT),
        ("ignore", SSAPolicy.IGNORE),
        ("bogus", SSAPolicy.OVERRIDE),
    ],
)
def test_ssa_annotation_is_case_insensitive(value: str, policy: SSAPolicy) -> None:
    assert _policy(obj("v1", "ConfigMap", annotations={SSA: value})) is policy


def test_predicates_read_labels_as_well_as_annotations() -> None:
    options = apply_options(_ks(), "kustomize-controller")
    ignored = obj("v1", "ConfigMap", labels={SSA: "Ignore"})
    create_only = obj("v1", "ConfigMap", annotations={SSA: "IfNotPresent"})
    merged = obj("v1", "ConfigMap", annotations={SSA: "Merge"})
    disabled = obj("v1", "ConfigMap", labels={"kustomize.toolkit.fluxcd.io/reconcile": "Disabled"})
    forced = obj("v1", "ConfigMap", annotations={"kustomize.toolkit.fluxcd.io/force": "enabled"})
    live = obj("v1", "ConfigMap")
    assert is_skipped(ignored, None, options)
    assert is_skipped(live, ignored, options)
    assert not is_skipped(create_only, None, options)
    assert is_skipped(create_only, live, options)
    assert not is_skipped(merged, live, options)
    kubectl_applied = obj("v1", "ConfigMap", annotations={LAST_APPLIED_ANNOTATION: "{}"})
    assert cleanup_patch(live, kubectl_applied, options.cleanup, "kustomize-controller") != []
    assert cleanup_patch(merged, kubectl_applied, options.cleanup, "kustomize-controller") == []
    assert is_skipped(disabled, None, options)
    assert any_in_metadata(forced, options.force_selector)
    assert not any_in_metadata(merged, FORCE_SELECTOR)


def test_spec_force_and_the_field_manager_reach_the_engine() -> None:
    options = apply_options(_ks(force=True), "kustomize-controller", ["node-fetch"])
    assert options.force
    assert options.field_manager == "kustomize-controller"
    assert [(m.name, m.operation) for m in options.cleanup.managers][-2:] == [
        ("node-fetch", "Apply"),
        ("node-fetch", "Update"),
    ]
    assert not apply_options(_ks(), "kustomize-controller").force


OWNER = {
    "kustomize.toolkit.fluxcd.io/name": "apps",
    "kustomize.toolkit.fluxcd.io/namespace": "flux",
}


@pytest.mark.parametrize(
    ("labels", "annotations", "prunable"),
    [
        (OWNER, {}, True),
        ({}, {}, False),
        ({**OWNER, "kustomize.toolkit.fluxcd.io/name": "other"}, {}, False),
        (OWNER, {"kustomize.toolkit.fluxcd.io/prune": "disabled"}, False),
        (OWNER, {"kustomize.toolkit.fluxcd.io/reconcile": "disabled"}, False),
        (OWNER, {SSA: "ignore"}, False),
    ],
)
def test_prune_needs_owner_labels_and_no_opt_out(
    labels: dict[str, str], annotations: dict[str, str], prunable: bool
) -> None:
    live = obj("v1", "ConfigMap", labels=labels, annotations=annotations)
    assert is_prunable(live, delete_options(_ks("apps", "flux"))) is prunable


def test_common_metadata_and_owner_labels_override_existing_keys() -> None:
    objects = [obj("v1", "ConfigMap", labels={"team": "old", "keep": "1"})]
    set_common_metadata(objects, labels={"team": "new"}, annotations={"note": "x"})
    set_owner_labels(objects, "apps", "flux")
    metadata = objects[0]["metadata"]
    assert metadata["labels"] == {"team": "new", "keep": "1", **OWNER}
    assert metadata["annotations"] == {"note": "x"}


def test_sops_secrets_need_decryption_unless_opted_out() -> None:
    secret = {**obj("v1", "Secret", "s", "apps"), "sops": {"mac": "x"}}
    opted_out = obj(
        "v1", "Secret", "o", "apps", annotations={"kustomize.toolkit.fluxcd.io/decrypt": "Disabled"}
    )
    opted_out["sops"] = {"mac": "x"}
    refuse_encrypted_secrets([opted_out], _ks())
    refuse_encrypted_secrets([secret], _ks(decryption={"provider": "sops"}))
    with pytest.raises(ApplyError, match="Secret/apps/s is SOPS encrypted") as info:
        refuse_encrypted_secrets([secret], _ks())
    assert info.value.reason == "ReconciliationFailed"


def test_override_manager_flag_is_repeatable_and_kept_whole() -> None:
    _, options = parse_options(["--override-manager=node-fetch", "--override-manager", "a,b"])

    assert options.override_managers == ("node-fetch", "a,b")
    assert parse_options([])[1].override_managers == ()
