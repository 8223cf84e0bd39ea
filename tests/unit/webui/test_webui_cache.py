"""What the UI's cache keeps of an Event: little, and in the object the informer holds."""

from __future__ import annotations

from typing import Any

from gotk_inspect import ObjectRef
from gotk_ui.cache import event_subject, trim_event


def _event(api_version: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "e1", "namespace": "apps", "resourceVersion": "7",
                     "managedFields": [{"manager": "x"}]},
        "involvedObject": {"apiVersion": api_version, "kind": "Kustomization", "name": "web"},
        "type": "Warning",
        "reason": "HealthCheckFailed",
        "message": "m" * 10_000,
        "lastTimestamp": "2026-01-02T03:04:05Z",
        "reportingComponent": "kustomize-controller",
        "source": {"component": "kustomize-controller"},
    }  # fmt: skip


def test_flux_event_is_trimmed_in_place_to_what_pages_show() -> None:
    event = _event("kustomize.toolkit.fluxcd.io/v1")
    assert trim_event(event) is event
    assert set(event) == {
        "metadata", "involvedObject", "type", "reason", "message", "count", "time", "controller",
    }  # fmt: skip
    assert event["time"] == "2026-01-02T03:04:05Z"
    assert event["controller"] == "kustomize-controller"
    assert len(event["message"]) == 4096
    assert event_subject(event) == ObjectRef("Kustomization", "apps", "web")


def test_other_events_keep_only_their_name() -> None:
    event = _event("apps/v1")
    assert trim_event(event) is event
    assert event == {"metadata": {"name": "e1", "namespace": "apps", "resourceVersion": "7"}}
    assert event_subject(event) is None
