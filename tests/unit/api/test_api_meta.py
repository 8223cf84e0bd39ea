"""Durations, times, conditions and the object envelope shared by every kind."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from gotk_api import (
    INTERVAL_PATTERN,
    TIMEOUT_PATTERN,
    Condition,
    GitRepository,
    ObjectMeta,
    format_duration,
    parse_duration,
)
from pydantic import ValidationError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1h2m3.5s", 3723.5),
        ("500ms", 0.5),
        ("5m0s", 300.0),
        ("1.5h", 5400.0),
        ("0", 0.0),
        ("-1m", -60.0),
        ("2us", 2e-6),
        ("3µs", 3e-6),
        ("10ns", 1e-8),
    ],
)
def test_parse_duration_reads_go_syntax(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5", "1d", "m", "1h 2m", ".s", "abc"])
def test_parse_duration_rejects_non_go_durations(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.5, "500ms"),
        (1, "1s"),
        (90, "1m30s"),
        (60, "1m0s"),
        (3600, "1h0m0s"),
        (3723.5, "1h2m3.5s"),
        (-30, "-30s"),
        (1.5e-6, "1.5µs"),
    ],
)
def test_format_duration_matches_go_string(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("value", "interval_ok", "timeout_ok"),
    [
        ("1m", True, True),
        ("5m0s", True, True),
        ("1.5s", True, True),
        ("250ms", True, True),
        ("1h", True, False),
        ("1h30m", True, False),
        ("5", False, False),
        ("5 minutes", False, False),
        ("-1m", False, False),
        ("1d", False, False),
    ],
)
def test_interval_and_timeout_patterns_match_flux(
    value: str, interval_ok: bool, timeout_ok: bool
) -> None:
    assert bool(re.fullmatch(INTERVAL_PATTERN, value)) is interval_ok
    assert bool(re.fullmatch(TIMEOUT_PATTERN, value)) is timeout_ok


def test_condition_serializes_time_as_rfc3339_seconds_in_utc() -> None:
    condition = Condition.model_validate(
        {
            "type": "Ready",
            "status": "True",
            "observedGeneration": 3,
            "lastTransitionTime": "2024-05-01T12:30:45.123456+02:00",
            "reason": "Succeeded",
            "message": "stored artifact",
        }
    )
    assert condition.last_transition_time == datetime(2024, 5, 1, 10, 30, 45, 123456, UTC)
    dumped = condition.model_dump(mode="json", exclude_none=True)
    assert dumped["lastTransitionTime"] == "2024-05-01T10:30:45Z"
    assert dumped["observedGeneration"] == 3


@pytest.mark.parametrize(
    ("field", "value"),
    [("status", "Maybe"), ("reason", ""), ("reason", "has space"), ("type", "-bad")],
)
def test_condition_rejects_values_metav1_rejects(field: str, value: str) -> None:
    raw = {
        "type": "Ready",
        "status": "True",
        "lastTransitionTime": "2024-05-01T12:30:45Z",
        "reason": "Succeeded",
        "message": "",
    }
    raw[field] = value
    with pytest.raises(ValidationError) as info:
        Condition.model_validate(raw)
    assert info.value.errors()[0]["loc"] == (field,)


def test_object_fills_api_version_and_kind_and_default_status() -> None:
    repo = GitRepository.model_validate(
        {
            "metadata": {"name": "a", "namespace": "b"},
            "spec": {"url": "https://x", "interval": "1m"},
        }
    )
    assert repo.api_version == "source.toolkit.fluxcd.io/v1"
    assert repo.kind == "GitRepository"
    assert repo.status.observed_generation == -1
    assert repo.get_condition("Ready") is None
    assert (repo.name, repo.namespace) == ("a", "b")


def test_object_metadata_keeps_fields_gotk_does_not_model() -> None:
    owner = {"apiVersion": "v1", "kind": "X", "name": "o", "uid": "1"}
    meta = ObjectMeta.model_validate({"name": "a", "ownerReferences": [owner]})
    assert meta.model_dump(mode="json", exclude_none=True) == {
        "name": "a",
        "ownerReferences": [owner],
    }


def test_to_manifest_uses_camel_case_and_drops_unset_fields() -> None:
    repo = GitRepository.model_validate(
        {
            "metadata": {"name": "a"},
            "spec": {"url": "https://x", "interval": "1m", "secretRef": {"name": "s"}},
        }
    )
    assert repo.to_manifest() == {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": "a"},
        "spec": {
            "url": "https://x",
            "interval": "1m",
            "secretRef": {"name": "s"},
            "timeout": "60s",
        },
        "status": {"observedGeneration": -1},
    }


def test_snake_case_names_are_accepted_on_input() -> None:
    repo = GitRepository.model_validate(
        {"spec": {"url": "https://x", "interval": "1m", "secret_ref": {"name": "s"}}}
    )
    assert repo.spec.secret_ref is not None
    assert repo.spec.secret_ref.name == "s"
