"""The atomic release loop: read the stored release, decide the next action from its state,
run it with `helm`, record the outcome; again until the release is in sync, a remediation
asks for a new attempt, or retries are exhausted (helm-controller's AtomicRelease).

A failed install/upgrade/test is an outcome, not an exception: it sets Released or
TestSuccess False with Helm's own error line, bumps the failure counters and emits a
Warning event; the next turn of the loop remediates or stalls. Each action marks
Reconciling ("Running 'upgrade' action with timeout of 5m0s") and patches progress first.

A release in sync in storage is compared with the cluster when `spec.driftDetection` asks:
drift is a DriftDetected Warning, corrected (once per reconcile) in `enabled` mode; it
touches neither the history nor the Released condition, as in Flux.
"""

from __future__ import annotations

import logging
from typing import Any

from gotk_api.helm import HelmRelease
from gotk_api.helm_history import previous
from gotk_api.meta import format_duration
from gotk_api.objects import Obj
from gotk_runtime import Conditions, EventRecorder, patch_progress

from helm_controller.drift import compile_ignore_rules, detect_drift
from helm_controller.errors import (
    DriftCorrectionFailed,
    MissingRollbackTarget,
    ReleaseNotReady,
    ReleaseStateError,
    RetriesExceeded,
)
from helm_controller.helm_cli import HelmCLI
from helm_controller.history import write_history
from helm_controller.release_request import ReleaseRequest, Step, summarize
from helm_controller.release_steps import ReleaseSteps
from helm_controller.state import ReleaseState, State, determine_state
from helm_controller.storage import list_releases

log = logging.getLogger(__name__)

__all__ = ["AtomicRelease", "ReleaseRequest", "summarize"]

MAX_ACTIONS = 10
"""A loop guard: no reconcile runs more actions than this."""


class AtomicRelease:
    def __init__(self, helm: HelmCLI, events: EventRecorder) -> None:
        self.steps = ReleaseSteps(helm, events)

    async def run(self, req: ReleaseRequest) -> Obj:
        """Drive the release to the desired state; return Ready (True) or raise."""
        for _ in range(MAX_ACTIONS):
            hr = req.hr
            records = await list_releases(req.client, req.namespace, req.name)
            state = determine_state(
                hr, records, req.chart, req.config_digest, req.oci_digest, req.digests
            )
            if state.state is State.IN_SYNC and not (req.force and not req.acted):
                state = await self._compare_cluster(req, hr, state)
            log.debug("release %s: %s (%s)", req.target, state.state.value, state.reason)
            if state.state is State.DRIFTED:
                step = await self._drifted(req, hr, state)
            else:
                step = self._next(req, hr, state, records)
            if step is None:
                req.current = records[-1] if records else None
                return self._finish(req)
            running = f"'{step.name}' action with timeout of {format_duration(step.timeout)}"
            log.info("release %s is %s: running %s", req.target, state.state.value, running)
            Conditions(req.obj).mark_reconciling(f"Running {running}")
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

    # -- drift -------------------------------------------------------------------------------

    async def _compare_cluster(
        self, req: ReleaseRequest, hr: HelmRelease, state: ReleaseState
    ) -> ReleaseState:
        """InSync, or Drifted when the release's objects differ from the cluster."""
        if not hr.get_drift_detection().must_detect_changes() or state.record is None:
            return state
        record = state.record
        drift = await detect_drift(req.client, record, compile_ignore_rules(hr))
        if drift.errors:
            errors = "; ".join(drift.errors)
            if not drift.drifted:
                raise ReleaseStateError(
                    f"Could not determine release state: unable to determine cluster state "
                    f"of release {record.full_name}: {errors}"
                )
            log.error(
                "release %s: diff against the cluster completed with errors: %s", req.target, errors
            )
        if not drift.drifted:
            return state
        log.info("release %s: detected changes in cluster state: %s", req.target, drift.brief())
        return ReleaseState(State.DRIFTED, drift.brief(), record, drift)

    async def _drifted(
        self, req: ReleaseRequest, hr: HelmRelease, state: ReleaseState
    ) -> Step | None:
        assert state.record is not None
        assert state.drift is not None
        record, drift = state.record, state.drift
        if self.steps.CORRECT_DRIFT in req.acted:
            # Corrected, yet drifted again at once (a webhook or controller reverting it).
            raise DriftCorrectionFailed(
                f"Cluster state of release {record.full_name} has drifted again after its "
                f"correction: " + "; ".join(o.summary() for o in drift.drifted)
            )
        await self.steps.drift_detected(req, record, drift)
        if hr.get_drift_detection().get_mode() != "enabled":
            return None
        return self.steps.correct_drift(req, hr, record, drift)

    # -- choosing the next action ------------------------------------------------------------

    def _next(
        self, req: ReleaseRequest, hr: HelmRelease, state: ReleaseState, records: list[Any]
    ) -> Step | None:
        s = state.state
        forced = req.force and not req.acted
        if s is State.IN_SYNC:
            return self.steps.upgrade(req, hr) if forced else None
        if s is State.LOCKED:
            assert state.record is not None
            return self.steps.unlock(req, hr, state.record)
        if s is State.UNTESTED:
            return self.steps.test(req, hr)
        if s is State.FAILED:
            return self._failed(req, hr, records)
        if not forced:
            self._check_retries(req, hr)
        if _released_already(req):
            return None  # one install or upgrade per reconcile: a failure is retried later
        if s is State.ABSENT:
            return self.steps.install(req, hr, replace=state.record is not None)
        if s is State.UNMANAGED:
            write_history(req.obj, [])
        return self.steps.upgrade(req, hr)

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
                return self.steps.install(req, hr, replace=True)
            return self.steps.upgrade(req, hr)
        assert remediation is not None
        failures = hr.status.get_failure_count(remediation)
        if (
            remediation.retries_exhausted(failures)
            and not remediation.must_remediate_last_failure()
        ):
            self._stall_retries(req, hr, failures)
        if remediation.get_strategy() == "uninstall":
            return self.steps.uninstall_remediation(req, hr, remediation)
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
            return self.steps.upgrade(req, hr)
        return self.steps.rollback(req, hr, target)


def _released_already(req: ReleaseRequest) -> bool:
    return any(action in ("install", "upgrade") for action in req.acted)


def _not_ready(req: ReleaseRequest) -> tuple[str, str] | None:
    """Ready as the conditions summarise it, when that is not True (kept on a stall)."""
    ready = summarize(req.obj, req.hr)
    if not ready or ready.get("status") == "True":
        return None
    return str(ready.get("reason")), str(ready.get("message"))
