"""HelmRelease model: Flux's documented manifests parse, defaults and helpers match
helm-controller's (release name, timeouts, remediation, retries, history)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from gotk_api import helm_actions, helm_history
from gotk_api.helm import HelmRelease, shorten_release_name
from gotk_api.helm_history import Snapshot, TestHookStatus
from gotk_api.meta import NamespacedObjectReference
from pydantic import ValidationError

DOCS = Path(__file__).resolve().parents[2] / "fixtures" / "flux-docs" / "helm"
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


def _release(status: dict[str, Any] | None = None, **spec: Any) -> HelmRelease:
    manifest: dict[str, Any] = {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "podinfo", "namespace": "apps"},
        "spec": {"interval": "10m", "chartRef": {"kind": "OCIRepository", "name": "p"}, **spec},
    }
    if status is not None:
        manifest["status"] = status
    return HelmRelease.model_validate(manifest)


def test_documented_examples_exist() -> None:
    assert len(DOC_FILES) >= 15


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: p.stem)
def test_documented_example_parses_and_round_trips(path: Path) -> None:
    manifest = _load(path)
    obj = HelmRelease.model_validate(manifest)
    assert obj.api_version == "helm.toolkit.fluxcd.io/v2"
    dumped = obj.to_manifest()
    assert HelmRelease.model_validate(dumped) == obj
    assert _contains(dumped["spec"], manifest["spec"])
    if "status" in manifest:
        assert _contains(dumped["status"], manifest["status"])


def test_values_stay_free_form() -> None:
    obj = HelmRelease.model_validate(_load(DOCS / "depends-on-ready-expr.yaml"))
    assert obj.get_values() == {"app": {"version": "v1.2.3"}}
    assert _release().get_values() == {}


def test_chart_template_defaults_match_the_crd() -> None:
    obj = HelmRelease.model_validate(_load(DOCS / "service-account.yaml"))
    assert obj.spec.chart is not None
    template = obj.spec.chart
    assert template.spec.version == "*"
    assert template.spec.reconcile_strategy == "ChartVersion"
    assert template.get_interval(obj.spec.interval) == "15m"
    assert template.get_namespace(obj.namespace) == "webapp"
    assert obj.get_helm_chart_name() == "webapp-podinfo"


_CHART = {"spec": {"chart": "c", "sourceRef": {"kind": "HelmRepository", "name": "r"}}}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"chartRef": None}, "either chart or chartRef must be set"),
        (
            {
                "chart": {
                    "spec": {"chart": "c", "sourceRef": {"kind": "HelmRepository", "name": "r"}}
                }
            },
            "either chart or chartRef must be set",
        ),
        (
            {"install": {"strategy": {"name": "RemediateOnFailure", "retryInterval": "1m"}}},
            ".retryInterval cannot be set when .name is 'RemediateOnFailure'",
        ),
        (
            {"upgrade": {"strategy": {"name": "RemediateOnFailure", "retryInterval": "1m"}}},
            ".retryInterval can only be set when .name is 'RetryOnFailure'",
        ),
    ],
)
def test_model_enforces_the_crd_cel_rules(spec: dict[str, Any], message: str) -> None:
    clean = {key: value for key, value in spec.items() if value is not None}
    manifest: dict[str, Any] = {
        "metadata": {"name": "x"},
        "spec": {"interval": "1m", **clean},
    }
    if "chartRef" not in spec:
        manifest["spec"]["chartRef"] = {"kind": "HelmChart", "name": "c"}
    with pytest.raises(ValidationError, match=re.escape(message)):
        HelmRelease.model_validate(manifest)


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"chartRef": {"kind": "GitRepository", "name": "x"}}, "spec.chartRef.kind"),
        ({"install": {"crds": "Sometimes"}}, "spec.install.crds"),
        ({"upgrade": {"remediation": {"strategy": "retry"}}}, "spec.upgrade.remediation.strategy"),
        ({"driftDetection": {"mode": "on"}}, "spec.driftDetection.mode"),
        ({"uninstall": {"deletionPropagation": "never"}}, "spec.uninstall.deletionPropagation"),
        ({"releaseName": "r" * 54}, "spec.releaseName"),
        ({"valuesFrom": [{"kind": "Secret", "name": "s", "valuesKey": "a b"}]}, "spec.valuesFrom"),
        ({"maxHistory": "five"}, "spec.maxHistory"),
        ({"test": {"filters": [{"name": ""}]}}, "spec.test.filters.0.name"),
        ({"waitStrategy": {"name": "forever"}}, "spec.waitStrategy.name"),
        ({"timeout": "5 minutes"}, "spec.timeout"),
    ],
)
def test_model_rejects_invalid_spec_naming_the_field(spec: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _release(**spec)
    locations = [".".join(str(p) for p in error["loc"]) for error in caught.value.errors()]
    assert any(loc.startswith(field) for loc in locations), locations


def test_model_requires_interval() -> None:
    with pytest.raises(ValidationError) as caught:
        HelmRelease.model_validate({"spec": {"chartRef": {"kind": "HelmChart", "name": "c"}}})
    assert [e["loc"] for e in caught.value.errors()] == [("spec", "interval")]


# --- release naming


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({}, "podinfo"),
        ({"targetNamespace": "prod"}, "prod-podinfo"),
        ({"targetNamespace": "prod", "releaseName": "web"}, "web"),
    ],
)
def test_release_name_defaults_to_target_namespace_dash_name(
    spec: dict[str, Any], expected: str
) -> None:
    assert _release(**spec).get_release_name() == expected


def test_release_and_storage_namespace_default_to_the_object_namespace() -> None:
    plain = _release()
    assert (plain.get_release_namespace(), plain.get_storage_namespace()) == ("apps", "apps")
    moved = _release(targetNamespace="prod", storageNamespace="helm")
    assert (moved.get_release_namespace(), moved.get_storage_namespace()) == ("prod", "helm")


def test_short_release_names_are_kept() -> None:
    assert shorten_release_name("a" * 53) == "a" * 53


def test_long_release_names_become_40_chars_dash_12_hex_of_sha256() -> None:
    name = "release-name-with-very-long-name-which-is-longer-than-53-characters"
    short = shorten_release_name(name)
    assert len(short) == 53
    assert short == name[:40] + "-" + hashlib.sha256(name.encode()).hexdigest()[:12]


# --- defaults of the helpers


def test_spec_helpers_default_like_helm_controller() -> None:
    obj = _release()
    assert obj.get_timeout() == 300.0
    assert obj.get_max_history() == 5
    assert obj.use_persistent_client() is True
    assert obj.get_wait_strategy() is None
    assert obj.get_drift_detection().get_mode() == "disabled"
    assert obj.get_drift_detection().must_detect_changes() is False
    assert obj.get_install().get_crds_policy() == "Create"
    assert obj.get_install().get_server_side_apply() is True
    assert obj.get_install().get_server_side_apply(use_helm3_defaults=True) is False
    assert obj.get_upgrade().get_crds_policy() == "Create"
    assert obj.get_upgrade().get_server_side_apply() == "auto"
    assert obj.get_rollback().get_server_side_apply() == "auto"
    assert obj.get_uninstall().get_deletion_propagation() == "background"
    assert obj.get_test().get_filters() == []
    assert obj.get_requeue_after() == 600.0


def test_spec_helpers_read_configured_values() -> None:
    obj = _release(
        timeout="2m",
        maxHistory=0,
        persistentClient=False,
        waitStrategy={"name": "legacy"},
        driftDetection={"mode": "warn"},
        install={"timeout": "1m", "crds": "Skip", "serverSideApply": False},
        upgrade={"crds": "CreateReplace", "serverSideApply": "disabled"},
        test={"timeout": "30s"},
        uninstall={"deletionPropagation": "orphan"},
    )
    assert obj.get_timeout() == 120.0
    assert obj.get_max_history() == 0
    assert obj.use_persistent_client() is False
    assert obj.get_wait_strategy() == "legacy"
    assert obj.get_drift_detection().must_detect_changes() is True
    assert obj.get_install().get_timeout(obj.get_timeout()) == 60.0
    assert obj.get_upgrade().get_timeout(obj.get_timeout()) == 120.0
    assert obj.get_test().get_timeout(obj.get_timeout()) == 30.0
    assert obj.get_install().get_crds_policy() == "Skip"
    assert obj.get_install().get_server_side_apply() is False
    assert obj.get_upgrade().get_crds_policy() == "CreateReplace"
    assert obj.get_upgrade().get_server_side_apply() == "disabled"
    assert obj.get_uninstall().get_deletion_propagation() == "orphan"


def test_depends_on_resolves_namespace_against_the_referrer() -> None:
    obj = _release(dependsOn=[{"name": "backend"}, {"name": "db", "namespace": "data"}])
    assert obj.get_depends_on() == [
        NamespacedObjectReference(name="backend", namespace="apps"),
        NamespacedObjectReference(name="db", namespace="data"),
    ]


# --- remediation and retries


def test_no_active_remediation_before_any_release_attempt() -> None:
    obj = _release(install={"remediation": {"retries": 3}})
    assert obj.get_active_remediation() is None
    assert obj.get_active_retry() is None
    assert obj.retries_exhausted() is False


def test_install_remediation_always_uninstalls_and_counts_install_failures() -> None:
    obj = _release(
        {"lastAttemptedReleaseAction": "install", "installFailures": 3, "upgradeFailures": 9},
        install={"remediation": {"retries": 3}},
    )
    remediation = obj.get_active_remediation()
    assert isinstance(remediation, helm_actions.InstallRemediation)
    assert remediation.get_strategy() == "uninstall"
    assert remediation.must_remediate_last_failure() is False
    assert obj.status.get_failure_count(remediation) == 3
    assert obj.retries_exhausted() is False
    obj.status.increment_failure_count(remediation)
    assert (obj.status.install_failures, obj.status.upgrade_failures) == (4, 9)
    assert obj.retries_exhausted() is True


@pytest.mark.parametrize(
    ("remediation", "expected"),
    [
        ({}, False),
        ({"retries": 0}, False),
        ({"retries": 2}, True),
        ({"retries": -1}, False),
        ({"retries": 2, "remediateLastFailure": False}, False),
        ({"retries": 0, "remediateLastFailure": True}, True),
    ],
)
def test_upgrade_remediates_last_failure_by_default_only_with_positive_retries(
    remediation: dict[str, Any], expected: bool
) -> None:
    obj = _release({"lastAttemptedReleaseAction": "upgrade"}, upgrade={"remediation": remediation})
    active = obj.get_active_remediation()
    assert isinstance(active, helm_actions.UpgradeRemediation)
    assert active.must_remediate_last_failure() is expected


@pytest.mark.parametrize(
    ("retries", "failures", "exhausted"),
    [(0, 0, False), (0, 1, True), (3, 3, False), (3, 4, True), (-1, 1000, False)],
)
def test_retries_are_exhausted_when_failures_exceed_a_non_negative_retry_count(
    retries: int, failures: int, exhausted: bool
) -> None:
    obj = _release(
        {"lastAttemptedReleaseAction": "upgrade", "upgradeFailures": failures},
        upgrade={"remediation": {"retries": retries}},
    )
    assert obj.retries_exhausted() is exhausted


def test_upgrade_remediation_strategy_defaults_to_rollback() -> None:
    default = helm_actions.UpgradeRemediation()
    assert default.get_strategy() == "rollback"
    assert default.is_uninstall_after_upgrade() is False
    uninstall = helm_actions.UpgradeRemediation(strategy="uninstall")
    assert uninstall.is_uninstall_after_upgrade() is True


def test_ignore_test_failures_falls_back_to_the_test_setting() -> None:
    assert helm_actions.InstallRemediation().must_ignore_test_failures(True) is True
    assert (
        helm_actions.UpgradeRemediation(ignore_test_failures=False).must_ignore_test_failures(True)
        is False
    )


def test_retry_on_failure_strategy_and_its_default_interval() -> None:
    obj = HelmRelease.model_validate(_load(DOCS / "production-webapp.yaml"))
    obj.status.last_attempted_release_action = "upgrade"
    retry = obj.get_active_retry()
    assert isinstance(retry, helm_actions.UpgradeStrategy)
    assert retry.get_retry_interval() == 300.0
    assert helm_actions.InstallStrategy(name="RetryOnFailure").get_retry_interval() == 300.0
    remediate = _release({"lastAttemptedReleaseAction": "install"})
    assert remediate.get_active_retry() is None
    assert isinstance(
        remediate.get_active_retry(default_to_retry_on_failure=True), helm_actions.InstallStrategy
    )


def test_clear_failures_and_history() -> None:
    obj = HelmRelease.model_validate(_load(DOCS / "status-inventory.yaml"))
    assert obj.status.get_helm_chart() == ("default", "default-podinfo")
    obj.status.clear_failures()
    assert (obj.status.failures, obj.status.install_failures, obj.status.upgrade_failures) == (
        0,
        0,
        0,
    )
    obj = HelmRelease.model_validate(_load(DOCS / "status-history.yaml"))
    obj.status.clear_history()
    assert obj.status.history is None


# --- history


def _snap(version: int, status: str, test_phase: str | None = None) -> Snapshot:
    at = datetime(2024, 5, 7, tzinfo=UTC)
    hooks = None if test_phase is None else {"t": TestHookStatus(phase=test_phase)}
    return Snapshot(
        digest=f"sha256:{version}",
        name="podinfo",
        namespace="apps",
        version=version,
        status=status,
        chart_name="podinfo",
        chart_version="6.6.1",
        config_digest="sha256:c",
        first_deployed=at,
        last_deployed=at,
        test_hooks=hooks,
    )


def test_documented_history_is_newest_first_with_a_rollback_target() -> None:
    obj = HelmRelease.model_validate(_load(DOCS / "status-history.yaml"))
    history = obj.status.history or []
    newest = helm_history.latest(history)
    assert newest is not None
    assert newest.full_release_name() == "podinfo/podinfo.v2"
    assert newest.versioned_chart_name() == "podinfo@6.6.1+0cc9a8446c95"
    assert newest.has_been_tested()
    target = helm_history.previous(history, ignore_tests=False)
    assert target is not None
    assert target.version == 1


def test_previous_skips_failed_tests_unless_ignored() -> None:
    history = [_snap(3, "failed"), _snap(2, "superseded", "Failed"), _snap(1, "superseded")]
    previous = helm_history.previous(history, ignore_tests=False)
    assert previous is not None
    assert previous.version == 1
    ignored = helm_history.previous(history, ignore_tests=True)
    assert ignored is not None
    assert ignored.version == 2


def test_truncate_keeps_up_to_the_previous_deployed_snapshot() -> None:
    history = [_snap(v, "superseded") for v in (1, 2, 3)] + [_snap(4, "failed"), _snap(5, "failed")]
    kept = helm_history.truncate(history, ignore_tests=False)
    assert [s.version for s in kept] == [5, 4, 3]


def test_truncate_without_rollback_target_keeps_five() -> None:
    history = [_snap(v, "failed") for v in range(1, 9)]
    assert [s.version for s in helm_history.truncate(history, ignore_tests=False)] == [
        8,
        7,
        6,
        5,
        4,
    ]
    assert len(helm_history.truncate_ignoring_previous(history)) == 5
    assert helm_history.latest([]) is None
    assert helm_history.previous([_snap(1, "deployed")], ignore_tests=False) is None
