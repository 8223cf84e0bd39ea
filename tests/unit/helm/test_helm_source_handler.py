"""Which HelmCharts a source's new artifact revision enqueues."""

from __future__ import annotations

from typing import Any

import pytest
from gotk_api.objects import Obj
from source_controller.kinds import source_revision_handler


def _source(revision: str | None, namespace: str = "ns", name: str = "repo") -> Obj:
    status = {"artifact": {"revision": revision}} if revision else {}
    return {"metadata": {"namespace": namespace, "name": name}, "status": status}


def _chart(name: str, kind: str = "HelmRepository", source: str = "repo", ns: str = "ns") -> Obj:
    return {
        "metadata": {"namespace": ns, "name": name},
        "spec": {"sourceRef": {"kind": kind, "name": source}},
    }


CHARTS = [
    _chart("mine"),
    _chart("other-source", source="else"),
    _chart("other-kind", kind="GitRepository"),
    _chart("other-ns", ns="elsewhere"),
]


@pytest.mark.parametrize(
    ("event", "new", "old", "expected"),
    [
        ("ADDED", _source("sha256:a"), None, ["ns/mine"]),
        ("MODIFIED", _source("sha256:b"), _source("sha256:a"), ["ns/mine"]),
        ("MODIFIED", _source("sha256:a"), _source("sha256:a"), []),
        ("MODIFIED", _source(None), _source("sha256:a"), []),
        ("DELETED", _source("sha256:a"), None, []),
    ],
)
def test_only_charts_of_a_source_with_a_new_revision_are_enqueued(
    event: Any, new: Obj, old: Obj | None, expected: list[str]
) -> None:
    enqueued: list[str] = []
    handler = source_revision_handler("HelmRepository", lambda: CHARTS, enqueued.append)
    handler(event, new, old)
    assert enqueued == expected
