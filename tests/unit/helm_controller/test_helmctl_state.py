"""The release state machine, table-driven: stored revision vs HelmRelease."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from gotk_api.helm import HelmRelease
from helm_controller.chart import ChartMetadata
from helm_controller.history import snapshot_of
from helm_controller.state import State, determine_state
from helm_controller.storage import ReleaseRecord
from helm_controller.values import config_digest

CHART = ChartMetadata("demo", "1.0.0", "1.0")
VALUES = {"replicas": 2}


def record(version: int = 1, status: str = "deployed", **changes: Any) -> ReleaseRecord:
    fields: dict[str, Any] = {
        "name": "app",
        "namespace": "ns",
        "version": version,
        "status": status,
        "chart_name": "demo",
        "chart_version": "1.0.0",
        "app_version": "1.0",
        "config": VALUES,
        "first_deployed": datetime(2025, 1, 1, tzinfo=UTC),
        "last_deployed": datetime(2025, 1, 1, tzinfo=UTC),
        "deleted": None,
        "description": "",
        "manifest": "",
        "hooks": [],
        "digest": f"sha256:{version}{status}",
        "payload": {},
        "secret": {},
    }
    fields.update(changes)
    return ReleaseRecord(**fields)


def hr(history: list[ReleaseRecord], **spec: Any) -> HelmRelease:
    return HelmRelease.model_validate(
        {
            "metadata": {"name": "app", "namespace": "ns"},
            "spec": {"interval": "1h", "chartRef": {"kind": "HelmChart", "name": "c"}, **spec},
            "status": {
                "history": [
                    snapshot_of(r).model_dump(mode="json", exclude_none=True) for r in history
                ]
            },
        }
    )


TESTED = [{"name": "t", "events": ["test"], "last_run": {"phase": "Succeeded"}}]
FAILED_TEST = [{"name": "t", "events": ["test"], "last_run": {"phase": "Failed"}}]


@pytest.mark.parametrize(
    ("stored", "history", "spec", "values", "state"),
    [
        ([], [], {}, VALUES, State.ABSENT),
        ([record(status="uninstalled")], [], {}, VALUES, State.ABSENT),
        ([record(status="pending-upgrade")], [], {}, VALUES, State.LOCKED),
        ([record()], [], {}, VALUES, State.UNMANAGED),
        ([record(), record(2)], [record()], {}, VALUES, State.UNMANAGED),
        ([record()], [record(digest="sha256:other")], {}, VALUES, State.UNMANAGED),
        ([record(status="failed")], [record(status="failed")], {}, VALUES, State.FAILED),
        (
            [record(chart_version="0.9.0")],
            [record(chart_version="0.9.0")],
            {},
            VALUES,
            State.OUT_OF_SYNC,
        ),
        ([record()], [record()], {}, {"replicas": 3}, State.OUT_OF_SYNC),
        ([record()], [record()], {"test": {"enable": True}}, VALUES, State.UNTESTED),
        (
            [record(hooks=TESTED)],
            [record(hooks=TESTED)],
            {"test": {"enable": True}},
            VALUES,
            State.IN_SYNC,
        ),
        (
            [record(hooks=FAILED_TEST)],
            [record(hooks=FAILED_TEST)],
            {"test": {"enable": True}},
            VALUES,
            State.FAILED,
        ),
        (
            [record(hooks=FAILED_TEST)],
            [record(hooks=FAILED_TEST)],
            {"test": {"enable": True, "ignoreFailures": True}},
            VALUES,
            State.IN_SYNC,
        ),
        ([record()], [record()], {}, VALUES, State.IN_SYNC),
    ],
)
def test_state_of_the_stored_release(
    stored: list[ReleaseRecord],
    history: list[ReleaseRecord],
    spec: dict[str, Any],
    values: dict[str, Any],
    state: State,
) -> None:
    result = determine_state(hr(history, **spec), stored, CHART, config_digest(values))
    assert result.state is state, result.reason


def test_a_changed_post_renderer_digest_is_out_of_sync() -> None:
    release = hr([record()])
    digest = config_digest(VALUES)
    wanted = {"observedPostRenderersDigest": "sha256:new"}
    assert determine_state(release, [record()], CHART, digest, None, wanted).state is (
        State.OUT_OF_SYNC
    )
    unchanged = {"observedPostRenderersDigest": None}
    assert determine_state(release, [record()], CHART, digest, None, unchanged).state is (
        State.IN_SYNC
    )
