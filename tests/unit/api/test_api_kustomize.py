"""Kustomization model: Flux's documented manifests parse, defaults and helpers match Flux."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from gotk_api.kustomize import Kustomization
from gotk_api.kustomize_types import HISTORY_MAX_SIZE, ReconcileSnapshot, upsert_history
from gotk_api.meta import NamespacedObjectReference
from pydantic import ValidationError

DOCS = Path(__file__).resolve().parents[2] / "fixtures" / "flux-docs" / "kustomize"
DOC_FILES = sorted(DOCS.glob("*.yaml"))


def _load(path: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = yaml.safe_load(path.read_text())
    return manifest


def _contains(whole: Any, part: Any) -> bool:
    """`part` is `whole` with some mapping keys left out, at any depth."""
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(
            key in whole and _contains(whole[key], value) for key, value in part.items()
        )
    if isinstance(part, list):
        return (
            isinstance(whole, list)
            and len(whole) == len(part)
            and all(_contains(w, p) for w, p in zip(whole, part, strict=True))
        )
    return bool(whole == part)


def _minimal(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "app", "namespace": "apps"},
        "spec": {
            "interval": "10m",
            "prune": True,
            "sourceRef": {"kind": "GitRepository", "name": "repo"},
            **spec,
        },
    }


def test_documented_examples_exist() -> None:
    assert len(DOC_FILES) >= 15


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: p.stem)
def test_documented_example_parses_and_round_trips(path: Path) -> None:
    manifest = _load(path)
    obj = Kustomization.model_validate(manifest)
    assert obj.kind == "Kustomization"
    assert obj.api_version == "kustomize.toolkit.fluxcd.io/v1"
    dumped = obj.to_manifest()
    assert Kustomization.model_validate(dumped) == obj
    # Every field the document sets survives, spelled the same way; defaults may be added.
    assert _contains(dumped["spec"], manifest["spec"])


def test_unset_status_defaults_to_observed_generation_minus_one() -> None:
    obj = Kustomization.model_validate(_minimal())
    assert obj.status.observed_generation == -1
    assert obj.to_manifest()["status"] == {"observedGeneration": -1}


def test_optional_spec_fields_default_like_flux() -> None:
    spec = Kustomization.model_validate(_minimal()).spec
    assert spec.force is False
    assert spec.wait is False
    assert spec.suspend is False
    assert spec.path is None
    assert spec.target_namespace is None


def test_substitute_reference_is_required_unless_marked_optional() -> None:
    obj = Kustomization.model_validate(_load(DOCS / "post-build.yaml"))
    assert obj.spec.post_build is not None
    refs = obj.spec.post_build.substitute_from or []
    assert [(r.kind, r.name, r.optional) for r in refs] == [
        ("ConfigMap", "cluster-vars", True),
        ("Secret", "cluster-secret-vars", False),
    ]


@pytest.mark.parametrize(
    ("interval", "timeout", "expected"),
    [
        ("10m", None, 570.0),  # interval - 30s
        ("5m", None, 270.0),
        ("1m", None, 30.0),
        ("45s", None, 30.0),  # never below 30s
        ("10s", None, 30.0),
        ("1h", "5m", 300.0),  # an explicit timeout wins
        ("1h", "90m", 5400.0),  # and may exceed the interval
        ("10m", "10s", 30.0),  # but is still at least 30s
        ("1h30m", None, 5370.0),
    ],
)
def test_get_timeout_defaults_to_interval_minus_30s_with_30s_floor(
    interval: str, timeout: str | None, expected: float
) -> None:
    spec: dict[str, Any] = {"interval": interval}
    if timeout is not None:
        spec["timeout"] = timeout
    assert Kustomization.model_validate(_minimal(**spec)).get_timeout() == expected


@pytest.mark.parametrize(
    ("interval", "retry_interval", "expected"),
    [("10m", None, 600.0), ("10m", "2m", 120.0), ("60m0s", "2m0s", 120.0), ("5m", "500ms", 0.5)],
)
def test_get_retry_interval_defaults_to_interval(
    interval: str, retry_interval: str | None, expected: float
) -> None:
    spec: dict[str, Any] = {"interval": interval}
    if retry_interval is not None:
        spec["retryInterval"] = retry_interval
    assert Kustomization.model_validate(_minimal(**spec)).get_retry_interval() == expected


def test_production_example_helpers_read_its_durations() -> None:
    obj = Kustomization.model_validate(_load(DOCS / "production-webapp.yaml"))
    assert obj.get_requeue_after() == 3600.0
    assert obj.get_timeout() == 180.0
    assert obj.get_retry_interval() == 120.0


@pytest.mark.parametrize(
    ("policy", "expected"),
    [(None, "MirrorPrune"), ("Delete", "Delete"), ("Orphan", "Orphan")],
)
def test_get_deletion_policy_defaults_to_mirror_prune(policy: str | None, expected: str) -> None:
    spec = {} if policy is None else {"deletionPolicy": policy}
    assert Kustomization.model_validate(_minimal(**spec)).get_deletion_policy() == expected


def test_depends_on_resolves_namespace_against_the_referrer() -> None:
    obj = Kustomization.model_validate(
        _minimal(dependsOn=[{"name": "infra"}, {"name": "crds", "namespace": "flux-system"}])
    )
    assert obj.get_depends_on() == [
        NamespacedObjectReference(name="infra", namespace="apps"),
        NamespacedObjectReference(name="crds", namespace="flux-system"),
    ]


def test_ready_expr_is_kept_verbatim() -> None:
    obj = Kustomization.model_validate(_load(DOCS / "depends-on-ready-expr.yaml"))
    deps = obj.spec.depends_on or []
    assert deps[0].ready_expr is not None
    assert deps[0].ready_expr.startswith("dep.metadata.labels['app/version']")


def test_source_ref_string_and_namespace_fallback() -> None:
    local = Kustomization.model_validate(_minimal())
    assert str(local.spec.source_ref) == "GitRepository/repo"
    assert local.get_source_namespace() == "apps"
    remote = Kustomization.model_validate(_load(DOCS / "cross-namespace-source.yaml"))
    assert str(remote.spec.source_ref) == "GitRepository/shared/webapp"
    assert remote.get_source_namespace() == "shared"


def test_status_example_parses_inventory_and_history() -> None:
    obj = Kustomization.model_validate(_load(DOCS / "status-history.yaml"))
    assert obj.status.inventory is not None
    assert [e.id for e in obj.status.inventory.entries] == [
        "default_app__Service",
        "default_app_apps_Deployment",
    ]
    history = obj.status.history or []
    assert [h.last_reconciled_status for h in history] == [
        "ReconciliationSucceeded",
        "HealthCheckFailed",
    ]
    assert history[1].total_reconciliations == 120
    assert history[0].first_reconciled == datetime(2025, 8, 15, 10, 11, tzinfo=UTC)
    ready = obj.get_condition("Ready")
    assert ready is not None
    assert ready.reason == "ReconciliationSucceeded"


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"deletionPolicy": "Sometimes"}, "spec.deletionPolicy"),
        ({"prune": "maybe"}, "spec.prune"),
        ({"interval": "10 minutes"}, "spec.interval"),
        ({"timeout": "1d"}, "spec.timeout"),
        ({"sourceRef": {"kind": "HelmRepository", "name": "x"}}, "spec.sourceRef.kind"),
        ({"decryption": {"provider": "vault"}}, "spec.decryption.provider"),
        ({"targetNamespace": ""}, "spec.targetNamespace"),
        ({"namePrefix": "p" * 201}, "spec.namePrefix"),
        (
            {"postBuild": {"substituteFrom": [{"kind": "Pod", "name": "x"}]}},
            "spec.postBuild.substituteFrom.0.kind",
        ),
        ({"healthCheckExprs": [{"apiVersion": "v1", "kind": "Pod"}]}, "spec.healthCheckExprs.0"),
    ],
)
def test_model_rejects_invalid_spec_naming_the_field(spec: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Kustomization.model_validate(_minimal(**spec))
    locations = [".".join(str(p) for p in error["loc"]) for error in caught.value.errors()]
    assert any(loc.startswith(field) for loc in locations), locations


@pytest.mark.parametrize("missing", ["prune", "interval", "sourceRef"])
def test_model_requires_prune_interval_and_source_ref(missing: str) -> None:
    manifest = _minimal()
    del manifest["spec"][missing]
    with pytest.raises(ValidationError) as caught:
        Kustomization.model_validate(manifest)
    assert [e["loc"] for e in caught.value.errors()] == [("spec", missing)]


def _snapshot(digest: str, status: str, total: int = 1) -> ReconcileSnapshot:
    at = datetime(2025, 1, 1, tzinfo=UTC)
    return ReconcileSnapshot(
        digest=digest,
        first_reconciled=at,
        last_reconciled=at,
        last_reconciled_duration="1s",
        last_reconciled_status=status,
        total_reconciliations=total,
    )


def test_history_upsert_updates_a_matching_entry_and_moves_it_first() -> None:
    history = [_snapshot("sha256:b", "HealthCheckFailed"), _snapshot("sha256:a", "Ok", total=3)]
    later = datetime(2025, 2, 1, tzinfo=UTC)
    result = upsert_history(
        history,
        digest="sha256:a",
        timestamp=later,
        duration="2s",
        status="Ok",
        metadata={"revision": "main@sha1:1"},
    )
    assert [(s.digest, s.total_reconciliations) for s in result] == [
        ("sha256:a", 4),
        ("sha256:b", 1),
    ]
    assert result[0].first_reconciled == datetime(2025, 1, 1, tzinfo=UTC)
    assert result[0].last_reconciled == later
    assert result[0].metadata == {"revision": "main@sha1:1"}


def test_history_upsert_adds_new_digest_or_status_first_and_keeps_five() -> None:
    history = [_snapshot(f"sha256:{i}", "Ok") for i in range(HISTORY_MAX_SIZE)]
    start = datetime(2025, 3, 1, tzinfo=UTC)
    result = upsert_history(
        history, digest="sha256:0", timestamp=start, duration="1s", status="BuildFailed"
    )
    assert len(result) == HISTORY_MAX_SIZE
    assert (result[0].digest, result[0].last_reconciled_status) == ("sha256:0", "BuildFailed")
    assert result[0].total_reconciliations == 1
    assert result[-1].digest == "sha256:3"  # the oldest entry fell off
    again = upsert_history(
        result,
        digest="sha256:new",
        timestamp=start + timedelta(minutes=1),
        duration="1s",
        status="Ok",
    )
    assert [s.digest for s in again][:2] == ["sha256:new", "sha256:0"]
