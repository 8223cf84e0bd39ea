"""Conditions, Ready derivation, outcome mapping and event predicates (pure functions)."""

from __future__ import annotations

from typing import Any

import pytest
from gotk_api.conditions import (
    ARTIFACT_IN_STORAGE,
    ARTIFACT_OUTDATED,
    FETCH_FAILED,
    PROGRESSING_WITH_RETRY_REASON,
    READY,
    RECONCILING,
    STALLED,
)
from gotk_runtime import Conditions, GenericError, ReadySummary, Result, Stalling, Waiting
from gotk_runtime.controller import should_enqueue
from gotk_runtime.reconcile import apply_outcome, jittered
from gotk_runtime.status import status_diff

SOURCE_SUMMARY = ReadySummary(
    conditions=(STALLED, FETCH_FAILED, ARTIFACT_OUTDATED, ARTIFACT_IN_STORAGE, RECONCILING),
    negative_polarity=(STALLED, FETCH_FAILED, ARTIFACT_OUTDATED, RECONCILING),
)


def obj(generation: int = 3, *conditions: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {"name": "x", "namespace": "ns", "generation": generation},
        "status": {"conditions": [dict(c) for c in conditions]},
    }


def cond(type_: str, status: str, reason: str = "R", message: str = "m") -> dict[str, Any]:
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": "2020-01-01T00:00:00Z",
    }


def test_same_status_keeps_last_transition_time_and_a_change_bumps_it() -> None:
    o = obj(3, cond(READY, "True"))
    Conditions(o).mark_true(READY, "Succeeded", "new message")
    ready = Conditions(o).get(READY)
    assert ready is not None
    assert ready["lastTransitionTime"] == "2020-01-01T00:00:00Z"
    assert (ready["message"], ready["observedGeneration"]) == ("new message", 3)
    Conditions(o).mark_false(READY, "Failed", "boom")
    ready = Conditions(o).get(READY)
    assert ready is not None
    assert ready["lastTransitionTime"] != "2020-01-01T00:00:00Z"


@pytest.mark.parametrize("type_", [RECONCILING, STALLED])
@pytest.mark.parametrize("status", ["False", "Unknown"])
def test_reconciling_and_stalled_exist_only_while_true(type_: str, status: Any) -> None:
    o = obj(1, cond(type_, "True"))
    Conditions(o).set(type_, status, "R", "m")
    assert Conditions(o).get(type_) is None


def test_ready_is_listed_first_then_alphabetically() -> None:
    o = obj(1)
    c = Conditions(o)
    c.mark_true("Zeta", "R")
    c.mark_true(ARTIFACT_IN_STORAGE, "R")
    c.mark_true(READY, "R")
    assert [x["type"] for x in o["status"]["conditions"]] == [READY, ARTIFACT_IN_STORAGE, "Zeta"]


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        pytest.param(
            [cond(ARTIFACT_IN_STORAGE, "True", "Succeeded", "stored")],
            ("True", "Succeeded", "stored"),
            id="all-normal-true",
        ),
        pytest.param(
            [
                cond(ARTIFACT_IN_STORAGE, "True", "Succeeded", "stored"),
                cond(FETCH_FAILED, "True", "GitOperationFailed", "clone failed"),
            ],
            ("False", "GitOperationFailed", "clone failed"),
            id="negative-polarity-true-wins",
        ),
        pytest.param(
            [
                cond(ARTIFACT_OUTDATED, "True", "NewRevision", "new rev"),
                cond(FETCH_FAILED, "True", "GitOperationFailed", "clone failed"),
            ],
            ("False", "GitOperationFailed", "clone failed"),
            id="priority-order-not-list-order",
        ),
        pytest.param(
            [
                cond(ARTIFACT_IN_STORAGE, "Unknown", "Progressing", "working"),
                cond(FETCH_FAILED, "False", "Succeeded", "ok"),
            ],
            ("Unknown", "Progressing", "working"),
            id="unknown-beats-normal",
        ),
        pytest.param(
            [
                cond(ARTIFACT_IN_STORAGE, "False", "StorageOperationFailed", "disk"),
                cond(ARTIFACT_IN_STORAGE + "x", "True"),
            ],
            ("False", "StorageOperationFailed", "disk"),
            id="positive-false-is-abnormal",
        ),
        pytest.param(
            [cond(STALLED, "True", "InvalidURL", "bad url"), cond(FETCH_FAILED, "True")],
            ("False", "InvalidURL", "bad url"),
            id="stalled-first",
        ),
    ],
)
def test_summarize_derives_ready_from_declared_priority(
    conditions: list[dict[str, Any]], expected: tuple[str, str, str]
) -> None:
    o = obj(2, *conditions)
    ready = Conditions(o).summarize(SOURCE_SUMMARY)
    assert ready is not None
    assert (ready["status"], ready["reason"], ready["message"]) == expected


def test_summarize_without_declared_conditions_leaves_ready_alone() -> None:
    o = obj(2, cond("Other", "False"))
    assert Conditions(o).summarize(SOURCE_SUMMARY) is None
    assert Conditions(o).get(READY) is None


def test_success_clears_reconciling_and_stalled_sets_ready_and_observed_generation() -> None:
    o = obj(
        4, cond(READY, "False", "Failed", "x"), cond(RECONCILING, "True"), cond(STALLED, "True")
    )
    decision = apply_outcome(
        o, Result(message="Applied revision: main@sha1:abc"), ReadySummary(), interval=60
    )
    c = Conditions(o)
    assert c.get(RECONCILING) is None
    assert c.get(STALLED) is None
    ready = c.get(READY)
    assert ready is not None
    assert (ready["status"], ready["message"]) == ("True", "Applied revision: main@sha1:abc")
    assert o["status"]["observedGeneration"] == 4
    assert decision.requeue == "after"
    assert decision.delay is not None
    assert 57 <= decision.delay <= 63
    assert decision.event == ("Normal", "Succeeded", "Applied revision: main@sha1:abc")


def test_unchanged_success_emits_no_event() -> None:
    o = obj(4, cond(READY, "True", "Succeeded", "same"))
    decision = apply_outcome(o, Result(message="same"), ReadySummary(), interval=None)
    assert decision.event is None
    assert decision.requeue == "never"


@pytest.mark.parametrize(
    ("outcome", "requeue", "ready_reason", "reconciling", "stalled", "observed", "event"),
    [
        (
            Stalling("spec.url is invalid", reason="InvalidURL"),
            "never",
            "InvalidURL",
            False,
            True,
            True,
            "Warning",
        ),
        (
            Waiting("dependency 'a' is not ready", requeue_after=30, reason="DependencyNotReady"),
            "after",
            "DependencyNotReady",
            True,
            False,
            False,
            None,
        ),
        (
            GenericError("clone failed", reason="GitOperationFailed"),
            "backoff",
            "GitOperationFailed",
            True,
            False,
            False,
            "Warning",
        ),
        (
            RuntimeError("unexpected"),
            "backoff",
            "ReconciliationFailed",
            True,
            False,
            False,
            "Warning",
        ),
    ],
)
def test_errors_map_to_conditions_requeue_and_events(
    outcome: BaseException,
    requeue: str,
    ready_reason: str,
    reconciling: bool,
    stalled: bool,
    observed: bool,
    event: str | None,
) -> None:
    o = obj(5)
    o["status"]["observedGeneration"] = 4
    decision = apply_outcome(o, outcome, ReadySummary(), interval=60)
    c = Conditions(o)
    ready = c.get(READY)
    assert ready is not None
    assert (ready["status"], ready["reason"]) == ("False", ready_reason)
    assert c.is_true(RECONCILING) is reconciling
    if reconciling:
        assert (c.get(RECONCILING) or {})["reason"] == PROGRESSING_WITH_RETRY_REASON
    assert c.is_true(STALLED) is stalled
    assert (o["status"]["observedGeneration"] == 5) is observed
    assert decision.requeue == requeue
    assert (decision.event[0] if decision.event else None) == event
    if isinstance(outcome, Waiting):
        assert decision.delay == 30
    assert "Traceback" not in ready["message"]


def test_result_requeue_after_overrides_interval_and_done_never_requeues() -> None:
    assert apply_outcome(obj(), Result(requeue_after=7), ReadySummary(), interval=60).delay == 7
    assert apply_outcome(obj(), Result(done=True), ReadySummary(), interval=60).requeue == "never"


def test_jitter_stays_within_the_percentage() -> None:
    values = [jittered(100, 5) for _ in range(500)]
    assert all(95 <= v <= 105 for v in values)
    assert max(values) - min(values) > 1


def meta(generation: int, **extra: Any) -> dict[str, Any]:
    return {"metadata": {"name": "x", "namespace": "n", "generation": generation, **extra}}


@pytest.mark.parametrize(
    ("event", "new", "old", "expected"),
    [
        ("ADDED", meta(1), None, True),
        ("DELETED", meta(1), meta(1), True),
        ("MODIFIED", meta(2), meta(1), True),
        ("MODIFIED", meta(1, resourceVersion="9"), meta(1, resourceVersion="8"), False),
        (
            "MODIFIED",
            meta(1, annotations={"reconcile.fluxcd.io/requestedAt": "t2"}),
            meta(1, annotations={"reconcile.fluxcd.io/requestedAt": "t1"}),
            True,
        ),
        ("MODIFIED", meta(1, deletionTimestamp="2024-01-01T00:00:00Z"), meta(1), True),
        ("MODIFIED", meta(1, labels={"a": "b"}), meta(1), False),
    ],
)
def test_only_spec_changes_requests_and_deletions_enqueue(
    event: Any, new: dict[str, Any], old: dict[str, Any] | None, expected: bool
) -> None:
    assert should_enqueue(event, new, old) is expected


def test_status_diff_is_a_merge_patch_that_removes_nested_keys() -> None:
    before = {"a": 1, "b": [1], "gone": "x", "data": {"keep": "1", "drop": "2"}}
    after = {"a": 1, "b": [1, 2], "new": True, "data": {"keep": "1", "add": "3"}}
    assert status_diff(before, after) == {
        "b": [1, 2],
        "new": True,
        "gone": None,
        "data": {"drop": None, "add": "3"},
    }
    assert status_diff(after, after) == {}
    assert status_diff({}, {"n": None}) == {"n": None}


def test_success_compares_with_ready_from_before_the_progress_marking() -> None:
    o = obj(4, cond(READY, "True", "Succeeded", "same"))
    before = Conditions(o).get(READY)
    Conditions(o).mark_unknown(READY, "Progressing", "reconciliation in progress")
    decision = apply_outcome(
        o, Result(message="same"), ReadySummary(), interval=None, previous_ready=before
    )
    assert decision.event is None
    recovered = apply_outcome(
        o,
        Result(message="same"),
        ReadySummary(),
        interval=None,
        previous_ready=cond(READY, "False", "Failed", "same"),
    )
    assert recovered.event == ("Normal", "Succeeded", "same")


def test_an_outcome_the_reconciler_announced_itself_gets_no_event() -> None:
    o = obj(4, cond(READY, "False", "UpgradeFailed", "boom"))
    decision = apply_outcome(
        o,
        Result(reason="UpgradeSucceeded", message="upgraded", announced=True),
        ReadySummary(),
        interval=60,
    )
    ready = Conditions(o).get(READY) or {}
    assert (ready["status"], ready["message"]) == ("True", "upgraded")
    assert decision.event is None

    for error in (GenericError("boom"), Stalling("stuck")):
        setattr(error, "announced", True)  # noqa: B010 - any error class may say so
        decision = apply_outcome(obj(5), error, ReadySummary(), interval=60)
        assert decision.event is None
        assert decision.requeue in ("backoff", "never")
