"""How helm-controller's errors come out of the runtime's one outcome mapping."""

from __future__ import annotations

from gotk_api.objects import Obj
from gotk_runtime import Conditions, ReadySummary
from gotk_runtime.reconcile import apply_outcome
from helm_controller.errors import MissingRollbackTarget, ReleaseNotReady, RetriesExceeded


def _obj() -> Obj:
    return {"metadata": {"name": "app", "namespace": "ns", "generation": 3}, "status": {}}


def test_retries_exceeded_stalls_while_ready_keeps_the_failed_action() -> None:
    o = _obj()
    failure = ("InstallFailed", "Helm install failed for release ns/app with chart c@1: boom")
    error = RetriesExceeded("Failed to install after 1 attempt(s)", ready=failure)
    decision = apply_outcome(o, error, ReadySummary(), interval=60)
    conditions = Conditions(o)
    stalled = conditions.get("Stalled") or {}
    ready = conditions.get("Ready") or {}
    assert (stalled["reason"], stalled["message"]) == (
        "RetriesExceeded",
        "Failed to install after 1 attempt(s)",
    )
    assert (ready["status"], ready["reason"], ready["message"]) == ("False", *failure)
    assert decision.requeue == "never"
    assert o["status"]["observedGeneration"] == 3


def test_a_stall_without_a_ready_override_reports_itself_on_ready() -> None:
    o = _obj()
    apply_outcome(o, MissingRollbackTarget("no target"), ReadySummary(), interval=60)
    ready = Conditions(o).get("Ready") or {}
    assert (ready["reason"], ready["message"]) == ("MissingRollbackTarget", "no target")


def test_release_not_ready_is_retried_with_its_summarised_reason() -> None:
    o = _obj()
    error = ReleaseNotReady("Helm rollback ... succeeded", reason="RollbackSucceeded")
    decision = apply_outcome(o, error, ReadySummary(), interval=60)
    ready = Conditions(o).get("Ready") or {}
    assert (ready["status"], ready["reason"]) == ("False", "RollbackSucceeded")
    assert decision.requeue == "backoff"
    assert decision.event is None, "the rollback emitted its own event"
