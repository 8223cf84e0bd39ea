"""Helm release storage Secrets: decoding, encoding, Go times."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from datetime import UTC, datetime

import pytest
from helm_controller.storage import (
    ReleaseStorageError,
    decode_release,
    encode_release,
    parse_helm_time,
)


def _secret(payload: bytes) -> dict[str, object]:
    inner = base64.b64encode(gzip.compress(payload))
    return {
        "metadata": {"name": "sh.helm.release.v1.app.v1", "namespace": "ns"},
        "data": {"release": base64.b64encode(inner).decode()},
    }


RELEASE = {
    "name": "app",
    "namespace": "ns",
    "version": 3,
    "info": {
        "status": "pending-upgrade",
        "first_deployed": "2025-01-02T03:04:05.123456789Z",
        "last_deployed": "2025-01-02T03:04:06.5+01:00",
        "deleted": "",
        "description": "Preparing upgrade",
    },
    "chart": {"metadata": {"name": "demo", "version": "1.2.3", "appVersion": "2.0"}},
    "config": {"replicas": 2},
    "manifest": "---\n",
    "hooks": [{"name": "t", "events": ["test"], "last_run": {"phase": "Succeeded"}}],
}


def test_a_stored_release_decodes_with_its_digest() -> None:
    raw = json.dumps(RELEASE).encode()
    record = decode_release(_secret(raw))
    assert (record.name, record.namespace, record.version) == ("app", "ns", 3)
    assert record.pending
    assert record.status == "pending-upgrade"
    assert record.full_name == "ns/app.v3"
    assert record.chart == "demo@1.2.3"
    assert record.app_version == "2.0"
    assert record.config == {"replicas": 2}
    assert record.first_deployed == datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    assert record.last_deployed == datetime(2025, 1, 2, 2, 4, 6, 500000, tzinfo=UTC)
    assert record.deleted is None
    assert record.digest == "sha256:" + hashlib.sha256(raw + b"\n").hexdigest()
    assert [h["name"] for h in record.test_hooks()] == ["t"]


def test_encode_then_decode_round_trips() -> None:
    secret = {"metadata": {"name": "s", "namespace": "ns"}, "data": {"release": ""}}
    secret["data"] = {"release": encode_release(RELEASE)}
    assert decode_release(secret).payload == RELEASE


@pytest.mark.parametrize("data", [{}, {"release": "not base64!"}, {"release": "aGVsbG8="}])
def test_a_corrupt_release_secret_is_an_error_naming_it(data: dict[str, str]) -> None:
    with pytest.raises(ReleaseStorageError, match=r"Secret 'ns/sh\.helm\.release\.v1\.app\.v1'"):
        decode_release(
            {"metadata": {"name": "sh.helm.release.v1.app.v1", "namespace": "ns"}, "data": data}
        )


def test_go_zero_times_and_garbage_are_none() -> None:
    assert parse_helm_time("0001-01-01T00:00:00Z") is None
    assert parse_helm_time("yesterday") is None
    assert parse_helm_time(None) is None
