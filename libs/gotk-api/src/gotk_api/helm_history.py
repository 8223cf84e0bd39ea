"""HelmRelease `status.history`: snapshots of the Helm releases helm-controller made.

The list is kept newest first (highest release version first) and truncated after the
previous deployed or superseded snapshot, so the rollback target is never dropped.
"""

from __future__ import annotations

from typing import ClassVar, Final

from gotk_api.meta import FluxModel, Time

CURRENT_SNAPSHOT_API_VERSION: Final = "v2"
"""Snapshots written with Helm 4 digests (helm-controller 1.5+) carry this apiVersion."""

MAX_SNAPSHOTS: Final = 5
"""Without a previous deployed snapshot, at most this many are kept."""

STATUS_DEPLOYED: Final = "deployed"
STATUS_SUPERSEDED: Final = "superseded"
TEST_PHASE_FAILED: Final = "Failed"


class TestHookStatus(FluxModel):
    """A Helm test hook as helm-controller saw it run."""

    __test__: ClassVar[bool] = False  # not a pytest test class, despite the name

    last_started: Time | None = None
    last_completed: Time | None = None
    phase: str | None = None


class Snapshot(FluxModel):
    """A point-in-time copy of one Helm release's storage record."""

    api_version: str | None = None
    digest: str
    """`<algo>:<hex>` of the release object in Helm storage."""
    name: str
    namespace: str
    version: int
    status: str
    action: str | None = None
    """The release action that produced it: install, upgrade, rollback, ..."""
    chart_name: str
    chart_version: str
    app_version: str | None = None
    config_digest: str
    """`<algo>:<hex>` of the release values."""
    first_deployed: Time
    last_deployed: Time
    deleted: Time | None = None
    test_hooks: dict[str, TestHookStatus] | None = None
    """None: never tested; an empty dict: tested, the chart has no tests."""
    oci_digest: str | None = None

    def full_release_name(self) -> str:
        """`<namespace>/<name>.v<version>`, as helm-controller names releases in messages."""
        return f"{self.namespace}/{self.name}.v{self.version}"

    def versioned_chart_name(self) -> str:
        """`<chart>@<version>`."""
        return f"{self.chart_name}@{self.chart_version}"

    def has_been_tested(self) -> bool:
        return self.test_hooks is not None

    def has_test_in_phase(self, phase: str) -> bool:
        return any(hook.phase == phase for hook in (self.test_hooks or {}).values())

    def targets(self, name: str, namespace: str, version: int) -> bool:
        return self.name == name and self.namespace == namespace and self.version == version


def sort_by_version(snapshots: list[Snapshot]) -> list[Snapshot]:
    """Newest release first."""
    return sorted(snapshots, key=lambda snapshot: snapshot.version, reverse=True)


def latest(snapshots: list[Snapshot]) -> Snapshot | None:
    """The snapshot of the newest release, or None for an empty history."""
    ordered = sort_by_version(snapshots)
    return ordered[0] if ordered else None


def _is_rollback_target(snapshot: Snapshot, ignore_tests: bool) -> bool:
    if snapshot.status not in (STATUS_DEPLOYED, STATUS_SUPERSEDED):
        return False
    return ignore_tests or not snapshot.has_test_in_phase(TEST_PHASE_FAILED)


def previous(snapshots: list[Snapshot], ignore_tests: bool) -> Snapshot | None:
    """The newest deployed or superseded snapshot before the latest one.

    Snapshots with a failed test do not count unless `ignore_tests` is true.
    """
    ordered = sort_by_version(snapshots)
    for snapshot in ordered[1:]:
        if _is_rollback_target(snapshot, ignore_tests):
            return snapshot
    return None


def truncate(snapshots: list[Snapshot], ignore_tests: bool) -> list[Snapshot]:
    """Drop everything older than the previous rollback target.

    Without such a target, keep the newest `MAX_SNAPSHOTS` entries.
    """
    ordered = sort_by_version(snapshots)
    if len(ordered) < 2:
        return ordered
    for index, snapshot in enumerate(ordered[1:], start=1):
        if _is_rollback_target(snapshot, ignore_tests):
            return ordered[: index + 1]
    return ordered[:MAX_SNAPSHOTS]


def truncate_ignoring_previous(snapshots: list[Snapshot]) -> list[Snapshot]:
    """Newest first, at most `MAX_SNAPSHOTS` entries, whatever their status."""
    return sort_by_version(snapshots)[:MAX_SNAPSHOTS]
