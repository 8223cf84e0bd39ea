"""Where the stored release stands against the HelmRelease: helm-controller's state machine.

Absent → install; Unmanaged (stored, but not the revision we last recorded) → upgrade with a
cleared history; Locked (pending-*) → unlock; OutOfSync (chart or values changed) →
upgrade; Untested → test; Failed → remediate; InSync → nothing. A release InSync in
storage is Drifted when its objects in the cluster are not (the release loop compares
them, see `drift.py`): warn, or correct.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from gotk_api.helm import HelmRelease
from gotk_api.helm_history import latest

from helm_controller.chart import ChartMetadata
from helm_controller.drift import ClusterDrift
from helm_controller.storage import STATUS_FAILED, STATUS_UNINSTALLED, ReleaseRecord

__all__ = ["ReleaseState", "State", "determine_state"]


class State(Enum):
    ABSENT = "Absent"
    UNMANAGED = "Unmanaged"
    LOCKED = "Locked"
    OUT_OF_SYNC = "OutOfSync"
    UNTESTED = "Untested"
    FAILED = "Failed"
    DRIFTED = "Drifted"
    IN_SYNC = "InSync"


@dataclass(frozen=True, slots=True)
class ReleaseState:
    state: State
    reason: str
    record: ReleaseRecord | None = None
    drift: ClusterDrift | None = None


def determine_state(
    hr: HelmRelease,
    records: list[ReleaseRecord],
    chart: ChartMetadata,
    config_digest: str,
    oci_digest: str | None = None,
    digests: Mapping[str, str | None] | None = None,
) -> ReleaseState:
    """The state of the newest stored revision of the release (`records` oldest first)."""
    if not records:
        return ReleaseState(State.ABSENT, "no release in storage")
    record = records[-1]
    if record.pending:
        return ReleaseState(State.LOCKED, f"release with status '{record.status}'", record)
    if record.status == STATUS_UNINSTALLED:
        return ReleaseState(State.ABSENT, "release is uninstalled", record)
    current = latest(hr.status.history or [])
    if current is None:
        return ReleaseState(State.UNMANAGED, "release has no history", record)
    if not current.targets(record.name, record.namespace, record.version):
        return ReleaseState(State.UNMANAGED, "release not observed to be made for object", record)
    if current.digest != record.digest:
        return ReleaseState(State.UNMANAGED, "release digest does not match history", record)
    if record.status == STATUS_FAILED:
        return ReleaseState(State.FAILED, "release is in a failed state", record)
    if record.chart_name != chart.name or record.chart_version != chart.version:
        return ReleaseState(State.OUT_OF_SYNC, "chart differs from release", record)
    if oci_digest and current.oci_digest and current.oci_digest != oci_digest:
        # The same chart version pushed again under the tag (Flux tracks the OCI digest).
        return ReleaseState(State.OUT_OF_SYNC, "chart digest differs from release", record)
    if current.config_digest != config_digest:
        return ReleaseState(State.OUT_OF_SYNC, "values differ from release", record)
    status = hr.status.model_dump(by_alias=True)
    for key, digest in (digests or {}).items():
        if status.get(key) != digest:
            return ReleaseState(State.OUT_OF_SYNC, f"{key} differs from release", record)
    test = hr.get_test()
    if test.enable and not current.has_been_tested():
        return ReleaseState(State.UNTESTED, "release has not been tested", record)
    if test.enable and current.has_test_in_phase("Failed"):
        remediation = hr.get_active_remediation()
        ignore = (
            remediation.must_ignore_test_failures(test.ignore_failures)
            if remediation is not None
            else test.ignore_failures
        )
        if not ignore:
            return ReleaseState(State.FAILED, "release has test in failed phase", record)
    return ReleaseState(State.IN_SYNC, "release in sync", record)
