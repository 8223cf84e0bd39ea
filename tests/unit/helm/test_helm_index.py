"""Index compaction (chunked and whole-document parsing), lookup and version selection."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from source_controller.helm.errors import ChartReferenceError, InvalidIndex
from source_controller.helm.index_compact import IndexFormatError, compact_index
from source_controller.helm.index_lookup import find_chart_versions, select_chart_version
from source_controller.helm.index_process import compact_index_in_child

HELM_STYLE = """\
apiVersion: v1
entries:
  alpine:
  - apiVersion: v2
    appVersion: 3.18.0
    created: "2016-10-06T16:23:20.499814565-06:00"
    description: |
      A multi-line description
      entries: that looks like a key
    digest: 515c58e5f79d8b2913a10cb400ebb6fa9c77fe813287afbacf1a0b897cd78727
    maintainers:
    - name: someone
    name: alpine
    urls:
    - alpine-0.2.0.tgz
    version: 0.2.0
  - created: 2016-10-06T16:23:20.499543808-06:00
    deprecated: yes
    name: alpine
    urls:
    - https://example.com/alpine-0.1.0.tgz
    version: 0.1.0
  # a comment between charts
  nginx:
  - name: nginx
    urls: [nginx-1.10.tgz]
    version: "1.10"
    appVersion: 1.10
generated: "2016-10-06T16:23:20.499029981-06:00"
"""


def _compact(tmp_path: Path, text: str) -> tuple[dict[str, Any], bool]:
    raw, out = tmp_path / "index.yaml", tmp_path / "index.json"
    raw.write_text(text)
    stats = compact_index(raw, out)
    return json.loads(out.read_text()), stats.chunked


def test_helm_style_index_is_split_per_chart_and_compacted(tmp_path: Path) -> None:
    doc, chunked = _compact(tmp_path, HELM_STYLE)
    assert chunked
    assert doc["apiVersion"] == "v1"
    assert doc["generated"] == "2016-10-06T16:23:20.499029981-06:00"
    alpine = doc["entries"]["alpine"]
    assert alpine[0] == {
        "name": "alpine",
        "version": "0.2.0",
        "apiVersion": "v2",
        "appVersion": "3.18.0",
        "created": "2016-10-06T16:23:20.499814565-06:00",
        "digest": "515c58e5f79d8b2913a10cb400ebb6fa9c77fe813287afbacf1a0b897cd78727",
        "urls": ["alpine-0.2.0.tgz"],
    }
    assert "description" not in alpine[0]
    assert "maintainers" not in alpine[0]
    # Unquoted timestamps stay text; YAML 1.1's `yes` still means true for `deprecated`.
    assert alpine[1]["created"] == "2016-10-06T16:23:20.499543808-06:00"
    assert alpine[1]["deprecated"] is True
    assert alpine[1]["apiVersion"] == "v1"
    assert doc["entries"]["nginx"][0]["version"] == "1.10"


def test_whole_document_parse_gives_the_same_result_as_the_split(tmp_path: Path) -> None:
    chunked_doc, _ = _compact(tmp_path, HELM_STYLE)
    flow = json.dumps(yaml.safe_load(HELM_STYLE), default=str)  # JSON is YAML, in flow style
    whole_doc, chunked = _compact(tmp_path, flow)
    assert not chunked
    assert whole_doc["entries"]["alpine"][0] == chunked_doc["entries"]["alpine"][0]
    assert set(whole_doc["entries"]) == {"alpine", "nginx"}


def test_anchor_shared_across_charts_falls_back_to_whole_document(tmp_path: Path) -> None:
    text = (
        "apiVersion: v1\nentries:\n  a:\n  - &base\n    name: a\n    version: 1.0.0\n"
        "  b:\n  - <<: *base\n    name: b\n"
    )
    doc, chunked = _compact(tmp_path, text)
    assert not chunked
    assert doc["entries"]["b"][0]["version"] == "1.0.0"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "index is empty"),
        ("entries: {}\n", "no API version"),
        ("apiVersion: v1\nentries:\n  a:\n  - name: [unclosed\n", "invalid YAML"),
        ("apiVersion: v1\nentries:\n  a: []\n  a: []\n", "duplicate"),
        ("- just\n- a list\n", "not a YAML mapping"),
    ],
)
def test_malformed_index_is_refused_with_a_clear_message(
    tmp_path: Path, text: str, message: str
) -> None:
    raw = tmp_path / "index.yaml"
    raw.write_text(text)
    with pytest.raises(IndexFormatError, match=message):
        compact_index(raw, tmp_path / "out.json")


async def test_child_process_compaction_maps_a_bad_index_to_indexation_failed(
    tmp_path: Path,
) -> None:
    raw = tmp_path / "index.yaml"
    raw.write_text("apiVersion: v1\nentries:\n  a:\n  - name: [unclosed\n")
    with pytest.raises(InvalidIndex, match="invalid YAML") as caught:
        await compact_index_in_child(raw, tmp_path / "out.json", timeout=60)
    assert caught.value.reason == "IndexationFailed"

    raw.write_text(HELM_STYLE)
    stats = await compact_index_in_child(raw, tmp_path / "out.json", timeout=60)
    assert (stats.charts, stats.versions) == (2, 3)


def test_lookup_reads_only_the_wanted_chart(tmp_path: Path) -> None:
    _compact(tmp_path, HELM_STYLE)
    index = tmp_path / "index.json"
    versions = find_chart_versions(index, "nginx")
    assert versions is not None
    assert [v["version"] for v in versions] == ["1.10"]
    assert find_chart_versions(index, "missing") is None


def _entries(*versions: str, created: str = "") -> list[dict[str, Any]]:
    return [
        {"name": "app", "version": v, "urls": [f"app-{v}.tgz"], "created": created}
        for v in versions
    ]


@pytest.mark.parametrize(
    ("constraint", "expected"),
    [
        ("*", "1.2.0"),
        ("", "1.2.0"),
        ("<1.2.0", "1.1.5"),
        ("~1.1", "1.1.5"),
        (">=2.0.0-0", "2.0.0-rc.1"),
        ("2.0.0-rc.1", "2.0.0-rc.1"),
        ("not-semver-but-listed", "not-semver-but-listed"),
    ],
)
def test_highest_version_in_range_is_selected_prereleases_only_when_asked(
    constraint: str, expected: str
) -> None:
    versions = _entries("1.0.0", "1.2.0", "1.1.5", "2.0.0-rc.1", "not-semver-but-listed")
    assert select_chart_version(versions, "app", constraint).version == expected


def test_equal_versions_are_told_apart_by_creation_time() -> None:
    older = _entries("1.0.0+a", created="2020-01-01T00:00:00.123456789Z")
    newer = _entries("1.0.0+b", created="2021-01-01T00:00:00Z")
    assert select_chart_version(older + newer, "app", "*").version == "1.0.0+b"
    assert select_chart_version(newer + older, "app", "*").version == "1.0.0+b"


@pytest.mark.parametrize(
    ("versions", "constraint", "message"),
    [
        (None, "*", "no chart named 'app'"),
        ([], "*", "has no versions"),
        (_entries("1.0.0"), ">=2", "no 'app' chart with version matching '>=2'"),
        (_entries("1.0.0"), "not a range", "invalid spec.version"),
    ],
)
def test_unsatisfiable_reference_is_an_invalid_chart_reference(
    versions: list[dict[str, Any]] | None, constraint: str, message: str
) -> None:
    with pytest.raises(ChartReferenceError, match=message) as caught:
        select_chart_version(versions, "app", constraint)
    assert caught.value.reason == "InvalidChartReference"
    assert caught.value.stalling
