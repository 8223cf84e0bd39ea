"""The actions of the release loop, each a `Step`: install, upgrade, test, rollback and
uninstall remediation with `helm`, the unlock of a stale pending release in storage, and
the correction of cluster drift.

Each records its outcome as Flux does: the Released / TestSuccess / Remediated condition
with Helm's own error line, the failure counters, `status.history` refreshed from storage,
and an event carrying the chart version, config digest, app version and OCI digest.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from gotk_api.conditions import (
    DRIFT_CORRECTED_EVENT_REASON,
    DRIFT_CORRECTION_FAILED_EVENT_REASON,
    DRIFT_DETECTED_EVENT_REASON,
    INSTALL_FAILED_REASON,
    INSTALL_SUCCEEDED_REASON,
    RELEASED,
    REMEDIATED,
    ROLLBACK_FAILED_REASON,
    ROLLBACK_SUCCEEDED_REASON,
    TEST_FAILED_REASON,
    TEST_SUCCEEDED_REASON,
    TEST_SUCCESS,
    UNINSTALL_FAILED_REASON,
    UNINSTALL_SUCCEEDED_REASON,
    UPGRADE_FAILED_REASON,
    UPGRADE_SUCCEEDED_REASON,
)
from gotk_api.helm import HelmRelease
from gotk_api.helm_actions import Remediation
from gotk_api.helm_history import Snapshot
from gotk_api.meta import format_duration
from gotk_runtime import Conditions, EventRecorder, Waiting

from helm_controller import actions
from helm_controller.crds import apply_chart_crds
from helm_controller.drift import ClusterDrift, Correction, correct_drift
from helm_controller.errors import DriftCorrectionFailed
from helm_controller.helm_cli import PROCESS_GRACE, HelmCLI, HelmOutcome
from helm_controller.history import observe, write_history
from helm_controller.release_request import ReleaseRequest, Step, count_failure, max_version
from helm_controller.storage import (
    STATUS_FAILED,
    STATUS_UNINSTALLED,
    ReleaseRecord,
    list_releases,
    update_status,
)

__all__ = ["PENDING_RELEASE_REASON", "ReleaseSteps"]

PENDING_RELEASE_REASON = "PendingRelease"


class ReleaseSteps:
    CORRECT_DRIFT = "correct cluster drift"

    def __init__(self, helm: HelmCLI, events: EventRecorder) -> None:
        self.helm = helm
        self.events = events

    def install(self, req: ReleaseRequest, hr: HelmRelease, *, replace: bool) -> Step:
        spec = hr.get_install()
        timeout = spec.get_timeout(hr.get_timeout())

        async def run() -> None:
            if spec.get_crds_policy() == "CreateReplace":
                await apply_chart_crds(req.client, req.chart_path, "CreateReplace")
            write_history(req.obj, [])
            args = actions.install_args(
                hr, req.name, req.namespace, str(req.chart_path), replace=replace
            )
            await self._release(req, hr, "install", args, timeout)

        return Step("install", "release", timeout, run)

    def upgrade(self, req: ReleaseRequest, hr: HelmRelease) -> Step:
        spec = hr.get_upgrade()
        timeout = spec.get_timeout(hr.get_timeout())

        async def run() -> None:
            policy = spec.get_crds_policy()
            if policy != "Skip":
                await apply_chart_crds(req.client, req.chart_path, policy)
            args = actions.upgrade_args(hr, req.name, req.namespace, str(req.chart_path))
            await self._release(req, hr, "upgrade", args, timeout)

        return Step("upgrade", "release", timeout, run)

    async def _release(
        self,
        req: ReleaseRequest,
        hr: HelmRelease,
        action: Literal["install", "upgrade"],
        args: list[str],
        timeout: float,
    ) -> None:
        since = max_version(req)
        started = time.monotonic()
        req.status["lastAttemptedReleaseAction"] = action
        # A new attempt: the remediation of the previous one no longer describes the release.
        Conditions(req.obj).delete(REMEDIATED)
        outcome = await self.helm.run(
            args,
            kubeconfig=req.kubeconfig,
            timeout=timeout,
            values=req.values,
            postrender=req.postrender,
        )
        req.status["lastAttemptedReleaseActionDuration"] = format_duration(
            round(time.monotonic() - started, 3)
        )
        record = await self._observe(req, hr, since)
        conditions = Conditions(req.obj)
        verb = "install" if action == "install" else "upgrade"
        if outcome.ok and record is not None:
            reason = INSTALL_SUCCEEDED_REASON if action == "install" else UPGRADE_SUCCEEDED_REASON
            message = (
                f"Helm {verb} succeeded for release {record.full_name} with chart {record.chart}"
            )
            conditions.mark_true(RELEASED, reason, message)
            conditions.delete(TEST_SUCCESS)
            for key, digest in req.digests.items():
                if digest:
                    req.status[key] = digest
                else:
                    req.status.pop(key, None)
            await self._event(req, "Normal", reason, message)
            return
        reason = INSTALL_FAILED_REASON if action == "install" else UPGRADE_FAILED_REASON
        message = (
            f"Helm {verb} failed for release {req.target} with chart {req.chart.versioned}: "
            f"{_failure(outcome)}"
        )
        conditions.mark_false(RELEASED, reason, message)
        count_failure(
            req,
            hr.get_install().get_remediation()
            if action == "install"
            else hr.get_upgrade().get_remediation(),
        )
        await self._event(req, "Warning", reason, message)

    def test(self, req: ReleaseRequest, hr: HelmRelease) -> Step:
        test = hr.get_test()
        timeout = test.get_timeout(hr.get_timeout())

        async def run() -> None:
            since = max_version(req)
            outcome = await self.helm.run(
                actions.test_args(hr, req.name, req.namespace),
                kubeconfig=req.kubeconfig,
                timeout=timeout,
            )
            latest = since
            record = await self._observe(req, hr, since, tested_version=latest)
            conditions = Conditions(req.obj)
            name = record.full_name if record else f"{req.target}.v{latest}"
            chart = record.chart if record else req.chart.versioned
            if outcome.ok:
                count = len(record.test_hooks()) if record else 0
                hooks = (
                    "no test hooks"
                    if count == 0
                    else "1 test hook completed successfully"
                    if count == 1
                    else f"{count} test hooks completed successfully"
                )
                message = f"Helm test succeeded for release {name} with chart {chart}: {hooks}"
                conditions.mark_true(TEST_SUCCESS, TEST_SUCCEEDED_REASON, message)
                await self._event(req, "Normal", TEST_SUCCEEDED_REASON, message)
                return
            message = f"Helm test failed for release {name} with chart {chart}: {_failure(outcome)}"
            conditions.mark_false(TEST_SUCCESS, TEST_FAILED_REASON, message)
            remediation = req.hr.get_active_remediation()
            if remediation is not None and not remediation.must_ignore_test_failures(
                test.ignore_failures
            ):
                count_failure(req, remediation)
            await self._event(req, "Warning", TEST_FAILED_REASON, message)

        return Step("test", "test", timeout, run)

    def rollback(self, req: ReleaseRequest, hr: HelmRelease, target: Snapshot) -> Step:
        timeout = hr.get_rollback().get_timeout(hr.get_timeout())

        async def run() -> None:
            since = max_version(req)
            outcome = await self.helm.run(
                actions.rollback_args(hr, req.name, req.namespace, target.version),
                kubeconfig=req.kubeconfig,
                timeout=timeout,
            )
            await self._observe(req, hr, since)
            name = target.full_release_name()
            chart = target.versioned_chart_name()
            conditions = Conditions(req.obj)
            if outcome.ok:
                message = f"Helm rollback to previous release {name} with chart {chart} succeeded"
                conditions.mark_true(REMEDIATED, ROLLBACK_SUCCEEDED_REASON, message)
                await self._event(req, "Normal", ROLLBACK_SUCCEEDED_REASON, message)
                return
            message = (
                f"Helm rollback to previous release {name} with chart {chart} failed: "
                f"{_failure(outcome)}"
            )
            conditions.mark_false(REMEDIATED, ROLLBACK_FAILED_REASON, message)
            await self._event(req, "Warning", ROLLBACK_FAILED_REASON, message)

        return Step("rollback", "remediate", timeout, run)

    def uninstall_remediation(
        self, req: ReleaseRequest, hr: HelmRelease, remediation: Remediation
    ) -> Step:
        timeout = hr.get_uninstall().get_timeout(hr.get_timeout())

        async def run() -> None:
            history = hr.status.history or []
            current = history[0] if history else None
            name = current.full_release_name() if current else req.target
            chart = current.versioned_chart_name() if current else req.chart.versioned
            outcome = await self.helm.run(
                actions.uninstall_args(hr, req.name, req.namespace),
                kubeconfig=req.kubeconfig,
                timeout=timeout,
            )
            await self._observe(req, hr, max_version(req))
            conditions = Conditions(req.obj)
            if outcome.ok:
                message = (
                    f"Helm uninstall remediation for release {name} with chart {chart} succeeded"
                )
                conditions.mark_true(REMEDIATED, UNINSTALL_SUCCEEDED_REASON, message)
                await self._event(req, "Normal", UNINSTALL_SUCCEEDED_REASON, message)
                return
            message = (
                f"Helm uninstall remediation for release {name} with chart {chart} failed: "
                f"{_failure(outcome)}"
            )
            conditions.mark_false(REMEDIATED, UNINSTALL_FAILED_REASON, message)
            await self._event(req, "Warning", UNINSTALL_FAILED_REASON, message)

        return Step("uninstall", "remediate", timeout, run)

    def unlock(self, req: ReleaseRequest, hr: HelmRelease, record: ReleaseRecord) -> Step:
        # A helm process may still be working on it (our own, orphaned by a killed
        # controller, or someone's CLI): only a release pending for longer than an action
        # may take is stale — unless the process that made it was ours and has ended
        # (killed, or timed out past Helm's own timeout). Flux unlocks at once.
        if record.version in req.ended:
            return self._unlock_step(
                req, hr, record, "the helm process of this controller that held it has ended"
            )
        timeout = max(
            hr.get_install().get_timeout(hr.get_timeout()),
            hr.get_upgrade().get_timeout(hr.get_timeout()),
            hr.get_rollback().get_timeout(hr.get_timeout()),
        )
        since = record.last_deployed or record.first_deployed
        stale_at = (since or datetime.now(UTC)) + timedelta(seconds=timeout + PROCESS_GRACE)
        wait = (stale_at - datetime.now(UTC)).total_seconds()
        if wait > 0:
            raise Waiting(
                f"release {record.full_name} is {record.status} since "
                f"{(since or stale_at).strftime('%Y-%m-%dT%H:%M:%SZ')}; a Helm action may still "
                f"be running, it is unlocked if still pending at "
                f"{stale_at.strftime('%Y-%m-%dT%H:%M:%SZ')}",
                requeue_after=max(1.0, wait),
                reason=PENDING_RELEASE_REASON,
            )

        held_since = (since or stale_at).strftime("%Y-%m-%dT%H:%M:%SZ")
        held = f"no Helm process has held it since {held_since}"
        return self._unlock_step(req, hr, record, held)

    def _unlock_step(
        self, req: ReleaseRequest, hr: HelmRelease, record: ReleaseRecord, why: str
    ) -> Step:
        async def run() -> None:
            status = record.status
            await update_status(
                req.client, record, STATUS_FAILED, f"Release unlocked from stale '{status}' state"
            )
            await self._observe(req, hr, max_version(req))
            message = (
                f"Unlocked Helm release {record.full_name} with chart {record.chart} in "
                f"'{status}' state: marked it failed ({why}); remediation follows"
            )
            Conditions(req.obj).mark_false(RELEASED, PENDING_RELEASE_REASON, message)
            await self._event(req, "Warning", PENDING_RELEASE_REASON, message)

        return Step("unlock", "unlock", 30.0, run)

    async def drift_detected(
        self, req: ReleaseRequest, record: ReleaseRecord, drift: ClusterDrift
    ) -> None:
        message = (
            f"Cluster state of release {record.full_name} has drifted from the desired state:\n"
            f"{drift.summary()}"
        )
        await self._event(req, "Warning", DRIFT_DETECTED_EVENT_REASON, message)

    def correct_drift(
        self, req: ReleaseRequest, hr: HelmRelease, record: ReleaseRecord, drift: ClusterDrift
    ) -> Step:
        """Put the drifted objects back; a failure is retried (Flux requeues) with Ready
        saying what could not be corrected."""
        timeout = hr.get_timeout()

        async def run() -> None:
            try:
                async with asyncio.timeout(timeout):
                    correction = await correct_drift(req.client, drift)
            except TimeoutError:
                correction = Correction(errors=[f"timed out after {format_duration(timeout)}"])
            name = record.full_name
            changes = "\n".join(str(c) for c in correction.changes)
            if not correction.errors:
                message = f"Cluster state of release {name} has been corrected:\n{changes}"
                await self._event(req, "Normal", DRIFT_CORRECTED_EVENT_REASON, message)
                return
            partially = "partially " if correction.changes else ""
            message = (
                f"Failed to {partially}correct cluster state of release {name}:\n"
                + "\n".join(correction.errors)
            )
            if changes:
                message += f"\n\nSuccessful corrections:\n{changes}"
            await self._event(req, "Warning", DRIFT_CORRECTION_FAILED_EVENT_REASON, message)
            raise DriftCorrectionFailed(
                f"Failed to {partially}correct cluster state of release {name}: "
                + "; ".join(correction.errors),
                announced=True,
            )

        return Step(self.CORRECT_DRIFT, "drift", timeout, run)

    # -- bookkeeping -------------------------------------------------------------------------

    async def _observe(
        self, req: ReleaseRequest, hr: HelmRelease, since: int, tested_version: int | None = None
    ) -> ReleaseRecord | None:
        """Refresh status.history from storage; return the newest stored record."""
        records = await list_releases(req.client, req.namespace, req.name)
        remediation = hr.get_active_remediation()
        ignore = (
            remediation.must_ignore_test_failures(hr.get_test().ignore_failures)
            if remediation is not None
            else hr.get_test().ignore_failures
        )
        history = observe(
            HelmRelease.model_validate(req.obj).status.history or [],
            [r for r in records if r.status != STATUS_UNINSTALLED or r.version > since],
            since_version=since,
            ignore_tests=ignore,
            oci_digest=req.oci_digest,
            tested_version=tested_version,
        )
        write_history(req.obj, history)
        # Revisions made by the helm process that just returned: nothing holds them now.
        req.ended.update(r.version for r in records if r.version > since)
        newest = records[-1] if records else None
        if newest is not None and newest.version > since:
            return newest
        return newest if tested_version is not None else None

    async def _event(self, req: ReleaseRequest, type_: Any, reason: str, message: str) -> None:
        metadata = {"token": req.config_digest}
        if req.chart.app_version:
            metadata["app-version"] = req.chart.app_version
        if req.oci_digest:
            metadata["oci-digest"] = req.oci_digest
        await self.events.record(
            req.obj, type_, reason, message, revision=req.chart.version, metadata=metadata
        )


def _failure(outcome: HelmOutcome) -> str:
    return outcome.error
