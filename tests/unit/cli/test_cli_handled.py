"""When a requested reconcile counts as finished, and how a row reads an object's status."""

from __future__ import annotations

from typing import Any

import pytest
from gotk_cli.columns import Columns
from gotk_cli.kinds import KUSTOMIZATION, SOURCES
from gotk_cli.reconcile import handled
from gotk_cli.table import format_table

TOKEN = "2026-01-01T00:00:00.5Z"


def obj(
    *conditions: dict[str, Any], handled_at: str = TOKEN, generation: int = 2
) -> dict[str, Any]:
    return {
        "metadata": {"name": "app", "namespace": "ns", "generation": generation},
        "status": {"lastHandledReconcileAt": handled_at, "conditions": list(conditions)},
    }


def ready(status: str, generation: int = 2, message: str = "m") -> dict[str, Any]:
    return {"type": "Ready", "status": status, "observedGeneration": generation, "message": message}


def reconciling(reason: str) -> dict[str, Any]:
    return {"type": "Reconciling", "status": "True", "reason": reason}


@pytest.mark.parametrize(
    ("candidate", "done"),
    [
        (obj(ready("True")), True),
        (obj(ready("False"), reconciling("ProgressingWithRetry")), True),
        (obj(ready("True"), handled_at="earlier"), False),
        (obj(ready("Unknown")), False),
        (obj(), False),
        (obj(ready("True", generation=1)), False),
        (obj(ready("True"), reconciling("Progressing")), False),
    ],
    ids=[
        "ready",
        "failed-will-retry",
        "other-request",
        "ready-unknown",
        "no-ready",
        "stale-generation",
        "mid-reconcile-progress",
    ],
)
def test_handled_only_after_the_pass_for_this_request_ends(
    candidate: dict[str, Any], done: bool
) -> None:
    assert handled(candidate, TOKEN) is done


def test_row_of_a_source_shows_artifact_revision_and_ready() -> None:
    source = obj(ready("True", message="stored artifact\nfor main"))
    source["status"]["artifact"] = {"revision": "main@sha1:abc"}
    source["spec"] = {"suspend": True}
    cells = Columns(prefix_kind=True, with_namespace=True).row(SOURCES["git"], source)
    assert cells == [
        "ns",
        "gitrepository/app",
        "main@sha1:abc",
        "True",
        "True",
        "stored artifact for main",
    ]


def test_row_of_an_unhandled_kustomization_waits_to_be_reconciled() -> None:
    fresh = {"metadata": {"name": "app"}, "spec": {}}
    cells = Columns().row(KUSTOMIZATION, fresh)
    assert cells == ["app", "", "False", "False", "waiting to be reconciled"]


def test_format_table_aligns_every_column_but_the_message() -> None:
    text = format_table(
        ("NAME", "READY", "MESSAGE"), [["a-long-name", "True", "ok"], ["b", "False", ""]]
    )
    assert text.splitlines() == [
        "NAME          READY   MESSAGE",
        "a-long-name   True    ok",
        "b             False",
    ]
