"""Drift and immutable-field detection: when the dry-run result differs from the live object,
and which API errors mean an immutable field changed."""

from __future__ import annotations

import pytest
from gotk_api.objects import Obj
from gotk_runtime import Invalid
from gotk_ssa.drift import has_drifted, is_immutable_error


@pytest.mark.parametrize(
    ("existing", "dry_run", "drifted"),
    [
        (
            {"metadata": {"resourceVersion": "1"}, "data": {"a": "1"}},
            {"metadata": {"resourceVersion": "1", "managedFields": []}, "data": {"a": "1"}},
            False,
        ),
        (
            {"metadata": {"resourceVersion": "1"}, "data": {"a": "1"}},
            {"metadata": {"resourceVersion": "1"}, "data": {"a": "2"}},
            True,
        ),
        (
            {"metadata": {"resourceVersion": "1", "labels": {"x": "1"}}},
            {"metadata": {"resourceVersion": "1", "labels": {"x": "2"}}},
            True,
        ),
        (
            {"metadata": {"resourceVersion": "1"}, "status": {"phase": "A"}},
            {"metadata": {"resourceVersion": "1"}, "status": {"phase": "B"}},
            False,
        ),
        ({"metadata": {}}, {"metadata": {}}, True),
    ],
)
def test_drift_compares_labels_annotations_and_body_but_not_status(
    existing: Obj, dry_run: Obj, drifted: bool
) -> None:
    assert has_drifted(existing, dry_run) is drifted


@pytest.mark.parametrize(
    ("status", "message", "immutable"),
    [
        (
            422,
            'Secret "s" is invalid: data: Forbidden: field is immutable when `immutable` is set',
            True,
        ),
        (422, "spec.selector: Invalid value: ...: field is immutable", True),
        (422, "spec.ports[0].port: Invalid value: 99999", False),
        (403, "field is immutable", False),
    ],
)
def test_immutable_errors_are_recognised(status: int, message: str, immutable: bool) -> None:
    assert is_immutable_error(Invalid(message, status=status)) is immutable
