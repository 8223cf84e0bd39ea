"""The atomic release loop: read the stored release, decide the next action from its state,
run it with `helm`, record the outcome; again until the release is in sync, a remediation
asks for a new attempt, or retries are exhausted (helm-controller's AtomicRelease).

A failed install/upgrade/test is an outcome, not an exception: it sets Released or
TestSuccess False with Helm's own error line, bumps the failure counters and emits a
Warning event; the next turn of the loop remediates or stalls. Each action marks
Reconciling ("Running 'upgrade' action with timeout of 5m0s") and patches progress first.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from gotk_api.conditions import (
    INSTALL_FAILED_REASON,
    INSTALL_SUCCEEDED_REASON,
    READY,
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
from gotk_api.helm_history import Snapshot, previous
from gotk_api.meta import format_duration
from gotk_api.objects import Obj
from gotk_runtime import (
    Conditions,
    EventRecorder,
    KubeClient,
    ReadySummary,
    Waiting,
    patch_progress,
)

from helm_controller import actions
from helm_controller.chart import ChartMetadata
from helm_controller.crds import apply_chart_crds
from helm_controller.errors import MissingRollbackTarget, ReleaseNotReady, RetriesExceeded
from helm_controller.helm_cli import PROCESS_GRACE, HelmCLI, HelmOutcome
from helm_controller.history import observe, write_history
from helm_controller.state import ReleaseState, State, determine_state
from helm_controller.storage import (
    STATUS_FAILED,
    STATUS_UNINSTALLED,
    ReleaseRecord,
    list_releases,
    update_status,
)

log = logging.getLogger(__name__)

__all__ = ["AtomicRelease", "ReleaseRequest", "summarize"]

MAX_ACTIONS = 10
"""A loop guard: no reconcile runs more actions than this."""
PENDING_RELEASE_REASON = "PendingRelease"

Kind = Literal["release", "test", "remediate", "unlock"]


@dataclass
class ReleaseRequest:
    """Everything one reconcile knows about the release it drives."""

    obj: Obj
    chart: ChartMetadata
    chart_path: Path
    values: dict[str, Any]
    config_digest: str
    name: str
    namespace: str
    kubeconfig: Obj
    client: KubeClient
    """Client for the release's cluster and identity: storage reads, CRDs."""
    revision: str
    oci_digest: str | None = None
    postrender: dict[str, Any] | None = None
    digests: dict[str, str | None] = field(default_factory=dict)
    """observedPostRenderersDigest / observedCommonMetadataDigest this reconcile wants."""
    force: bool = False
    acted: list[str] = field(default_factory=list)
    current: ReleaseRecord | None = None
    """The newest stored revision when the loop ended."""

    @property
    def hr(self) -> HelmRelease:
        return HelmRelease.model_validate(self.obj)

    @property
    def status(self) -> Obj:
        status: Obj = self.obj.setdefault("status", {})
        return status

    @property
    def target(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    kind: Kind
    timeout: float
    run: Callable[[], Awaitable[None]]


def summarize(obj: Obj, hr: HelmRelease) -> Obj:
    """Derive Ready from Remediated (abnormal when True), TestSuccess and Released."""
    conditions = Conditions(obj)
    test = hr.get_test()
    if not test.enable:
        conditions.delete(TEST_SUCCESS)
    order = [REMEDIATED, RELEASED]
    if test.enable and not test.ignore_failures:
        order = [REMEDIATED, TEST_SUCCESS, RELEASED]
    released = conditions.is_true(RELEASED)
    tests_ok = not test.enable or test.ignore_failures or conditions.is_true(TEST_SUCCESS)
    if released and tests_ok:
        conditions.delete(REMEDIATED)
    conditions.summarize(ReadySummary(tuple(order), (REMEDIATED,)))
    return conditions.get(READY) or {}


class AtomicRelease:
    def __init__(self, helm: HelmCLI, events: EventRecorder) -> None:
        self.helm = helm
        self.events = events

    async def run(self, req: ReleaseRequest) -> Obj:
        """Drive the release to the desired state; return Ready (True) or raise."""
        for _ in range(MAX_ACTIONS):
            hr = req.hr
            records = await list_releases(req.client, req.namespace, req.name)
            state = determine_state(
                hr, records, req.chart, req.config_digest, req.oci_digest, req.digests
            )
            log.debug("release %s: %s (%s)", req.target, state.state.value, state.reason)
            step = self._next(req, hr, state, records)
            if step is None:
                req.current = records[-1] if records else None
                return self._finish(req)
            conditions = Conditions(req.obj)
            conditions.mark_reconciling(
                f"Running '{step.name}' action with timeout of {format_duration(step.timeout)}"
            )
            await patch_progress(req.obj)
            await step.run()
            req.acted.append(step.name)
            if step.kind == "remediate":
                ready = summarize(req.obj, req.hr)
                raise ReleaseNotReady(str(ready.get("message")), reason=str(ready.get("reason")))
        raise ReleaseNotReady(f"release {req.target}: more than {MAX_ACTIONS} actions in one run")

    def _finish(self, req: ReleaseRequest) -> Obj:
        ready = summarize(req.obj, req.hr)
        if ready.get("status") != "True":
            raise ReleaseNotReady(
                str(ready.get("message") or "release is not ready"),
                reason=str(ready.get("reason") or "Failed"),
            )
        return ready

    # -- choosing the next action ------------------------------------------------------------

    def _next(
        self, req: ReleaseRequest, hr: HelmRelease, state: ReleaseState, records: list[Any]
    ) -> Step | None:
        s = state.state
        forced = req.force and not req.acted
        if s is State.IN_SYNC:
            return self._upgrade(req, hr) if forced else None
        if s is State.LOCKED:
            assert state.record is not None
            return self._unlock(req, hr, state.record)
        if s is State.UNTESTED:
            return self._test(req, hr)
        if s is State.FAILED:
            return self._failed(req, hr, records)
        if not forced:
            self._check_retries(req, hr)
        if _released_already(req):
            return None  # one install or upgrade per reconcile: a failure is retried later
        if s is State.ABSENT:
            return self._install(req, hr, replace=state.record is not None)
        if s is State.UNMANAGED:
            write_history(req.obj, [])
        return self._upgrade(req, hr)

    def _check_retries(self, req: ReleaseRequest, hr: HelmRelease) -> None:
        remediation = hr.get_active_remediation()
        if remediation is None or hr.get_active_retry() is not None:
            return
        failures = hr.status.get_failure_count(remediation)
        if remediation.retries_exhausted(failures):
            self._stall_retries(req, hr, failures)

    def _stall_retries(self, req: ReleaseRequest, hr: HelmRelease, failures: int) -> None:
        action = hr.status.last_attempted_release_action or "release"
        raise RetriesExceeded(
            f"Failed to {action} after {failures} attempt(s)", ready=_not_ready(req)
        )

    def _failed(self, req: ReleaseRequest, hr: HelmRelease, records: list[Any]) -> Step | None:
        remediation = hr.get_active_remediation()
        no_failure = remediation is None or hr.status.get_failure_count(remediation) <= 0
        if hr.get_active_retry() is not None or no_failure:
            # RetryOnFailure, or no failure counted against this config: try again (once
            # per reconcile) rather than remediate; a release that never deployed is
            # installed again in place of its failed revision.
            if _released_already(req):
                return None
            if hr.status.last_attempted_release_action == "install" and not any(
                r.status in ("deployed", "superseded") for r in records
            ):
                return self._install(req, hr, replace=True)
            return self._upgrade(req, hr)
        assert remediation is not None
        failures = hr.status.get_failure_count(remediation)
        if (
            remediation.retries_exhausted(failures)
            and not remediation.must_remediate_last_failure()
        ):
            self._stall_retries(req, hr, failures)
        if remediation.get_strategy() == "uninstall":
            return self._uninstall_remediation(req, hr, remediation)
        ignore_tests = remediation.must_ignore_test_failures(hr.get_test().ignore_failures)
        target = previous(hr.status.history or [], ignore_tests)
        if target is None:
            raise MissingRollbackTarget(
                f"Failed to perform remediation: no previous release to roll back to for "
                f"release {req.target}",
                ready=_not_ready(req),
            )
        stored = {r.version: r for r in records}.get(target.version)
        if stored is None:
            # The target is gone from storage: another upgrade is the way forward.
            return self._upgrade(req, hr)
        return self._rollback(req, hr, target)

    # -- the actions -------------------------------------------------------------------------

    def _install(self, req: ReleaseRequest, hr: HelmRelease, *, replace: bool) -> Step:
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

    def _upgrade(self, req: ReleaseRequest, hr: HelmRelease) -> Step:
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
        since = _max_version(req)
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
        _count_failure(
            req,
            hr.get_install().get_remediation()
            if action == "install"
            else hr.get_upgrade().get_remediation(),
        )
        await self._event(req, "Warning", reason, message)

    def _test(self, req: ReleaseRequest, hr: HelmRelease) -> Step:
        test = hr.get_test()
        timeout = test.get_timeout(hr.get_timeout())

        async def run() -> None:
            since = _max_version(req)
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
                _count_failure(req, remediation)
            await self._event(req, "Warning", TEST_FAILED_REASON, message)

        return Step("test", "test", timeout, run)

    def _rollback(self, req: ReleaseRequest, hr: HelmRelease, target: Snapshot) -> Step:
        timeout = hr.get_rollback().get_timeout(hr.get_timeout())

        async def run() -> None:
            since = _max_version(req)
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

    def _uninstall_remediation(
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
            await self._observe(req, hr, _max_version(req))
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

    def _unlock(self, req: ReleaseRequest, hr: HelmRelease, record: ReleaseRecord) -> Step:
        # A helm process may still be working on it (our own, orphaned by a killed
        # controller, or someone's CLI): only a release pending for longer than an action
        # may take is stale. Flux unlocks at once.
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

        async def run() -> None:
            status = record.status
            await update_status(
                req.client, record, STATUS_FAILED, f"Release unlocked from stale '{status}' state"
            )
            await self._observe(req, hr, _max_version(req))
            message = (
                f"Unlocked Helm release {record.full_name} with chart {record.chart} in "
                f"'{status}' state: marked it failed (no Helm process has held it since "
                f"{(since or stale_at).strftime('%Y-%m-%dT%H:%M:%SZ')}); remediation follows"
            )
            Conditions(req.obj).mark_false(RELEASED, PENDING_RELEASE_REASON, message)
            await self._event(req, "Warning", PENDING_RELEASE_REASON, message)

        return Step("unlock", "unlock", 30.0, run)

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


def _max_version(req: ReleaseRequest) -> int:
    history = HelmRelease.model_validate(req.obj).status.history or []
    return max((s.version for s in history), default=0)


def _count_failure(req: ReleaseRequest, remediation: Remediation) -> None:
    status = req.status
    status["failures"] = int(status.get("failures") or 0) + 1
    key = (
        "installFailures"
        if remediation.FAILURE_COUNTER == "install_failures"
        else "upgradeFailures"
    )
    status[key] = int(status.get(key) or 0) + 1


def _released_already(req: ReleaseRequest) -> bool:
    return any(action in ("install", "upgrade") for action in req.acted)


def _not_ready(req: ReleaseRequest) -> tuple[str, str] | None:
    """Ready as the conditions summarise it, when that is not True (kept on a stall)."""
    ready = summarize(req.obj, req.hr)
    if not ready or ready.get("status") == "True":
        return None
    return str(ready.get("reason")), str(ready.get("message"))


def _failure(outcome: HelmOutcome) -> str:
    return outcome.error
