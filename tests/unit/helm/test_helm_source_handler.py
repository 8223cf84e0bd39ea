"""Which HelmCharts a source's new artifact revision enqueues."""

from __future__ import annotations

from typing import Any

import pytest
from gotk_api.objects import Obj
from gotk_artifacts.revision import brings_new_artifact
from gotk_runtime.referrers import ReferrerIndex
from source_controller.kinds import chart_source


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
    index = ReferrerIndex("HelmChart", chart_source)
    index.bind(enqueued.append)
    for chart in CHARTS:
        index.track("ADDED", chart, None)
    index.on_change("HelmRepository", brings_new_artifact)(event, new, old)
    assert enqueued == expected
