"""`status.history`: snapshots of the releases this HelmRelease made, newest first.

After every action the stored revisions are read again: snapshots we hold get their
current status and digest (an upgrade supersedes the previous revision, a test updates its
hooks), revisions made since the action started are added, and the list is truncated after
the previous rollback target, as helm-controller does.
"""

from __future__ import annotations

from collections.abc import Iterable

from gotk_api.helm_history import (
    CURRENT_SNAPSHOT_API_VERSION,
    Snapshot,
    TestHookStatus,
    sort_by_version,
    truncate,
)
from gotk_api.meta import now
from gotk_api.objects import Obj

from helm_controller.storage import ReleaseRecord, parse_helm_time
from helm_controller.values import config_digest

__all__ = ["observe", "snapshot_of", "test_hooks_of", "write_history"]


def test_hooks_of(record: ReleaseRecord) -> dict[str, TestHookStatus] | None:
    """The test hooks that have run (None: never tested)."""
    hooks = record.test_hooks()
    ran = [h for h in hooks if (h.get("last_run") or {}).get("phase")]
    if not ran:
        return None
    result: dict[str, TestHookStatus] = {}
    for hook in ran:
        run = hook.get("last_run") or {}
        result[str(hook.get("name"))] = TestHookStatus(
            last_started=parse_helm_time(run.get("started_at")),
            last_completed=parse_helm_time(run.get("completed_at")),
            phase=str(run.get("phase")),
        )
    return result


def snapshot_of(
    record: ReleaseRecord, *, tested: bool = False, oci_digest: str | None = None
) -> Snapshot:
    hooks = test_hooks_of(record)
    if hooks is None and tested:
        hooks = {}  # tested, and the chart has no test hooks
    return Snapshot(
        api_version=CURRENT_SNAPSHOT_API_VERSION,
        digest=record.digest,
        name=record.name,
        namespace=record.namespace,
        version=record.version,
        status=record.status,
        chart_name=record.chart_name,
        chart_version=record.chart_version,
        app_version=record.app_version or None,
        config_digest=config_digest(record.config),
        first_deployed=record.first_deployed or now(),
        last_deployed=record.last_deployed or now(),
        deleted=record.deleted,
        test_hooks=hooks,
        oci_digest=oci_digest,
    )


def observe(
    history: list[Snapshot],
    records: Iterable[ReleaseRecord],
    *,
    since_version: int,
    ignore_tests: bool,
    oci_digest: str | None = None,
    tested_version: int | None = None,
) -> list[Snapshot]:
    """`history` brought up to date with the stored `records` of the release.

    Revisions above `since_version` are new (made by the action just run); the others only
    refresh the snapshots already held.
    """
    by_version = {r.version: r for r in records}
    refreshed: list[Snapshot] = []
    held = {s.version for s in history}
    for snapshot in history:
        record = by_version.get(snapshot.version)
        if record is None or record.name != snapshot.name:
            refreshed.append(snapshot)
            continue
        updated = snapshot_of(
            record,
            tested=snapshot.test_hooks is not None or tested_version == record.version,
            oci_digest=snapshot.oci_digest,
        )
        if snapshot.action:
            updated.action = snapshot.action
        refreshed.append(updated)
    for version, record in by_version.items():
        if version > since_version and version not in held:
            refreshed.append(
                snapshot_of(record, tested=tested_version == version, oci_digest=oci_digest)
            )
    return truncate(sort_by_version(refreshed), ignore_tests)


def write_history(obj: Obj, history: list[Snapshot]) -> None:
    status = obj.setdefault("status", {})
    if history:
        status["history"] = [s.model_dump(mode="json", exclude_none=True) for s in history]
    else:
        status.pop("history", None)
