"""Values files merging, path confinement, version metadata and chart URL resolution."""

from __future__ import annotations

from pathlib import Path

import pytest
from source_controller.helm.chart_build import with_version_metadata
from source_controller.helm.errors import (
    ChartPullError,
    IllegalChartPath,
    MetadataPatchError,
    ValuesFilesError,
)
from source_controller.helm.urls import resolve_chart_url
from source_controller.helm.values import merge_maps, merge_values_files, safe_join


def test_maps_merge_deeply_and_the_last_file_wins() -> None:
    base = {"image": {"repo": "a", "tag": "1"}, "list": [1, 2], "keep": True}
    override = {"image": {"tag": "2"}, "list": [3], "new": {"x": 1}}
    assert merge_maps(base, override) == {
        "image": {"repo": "a", "tag": "2"},
        "list": [3],
        "keep": True,
        "new": {"x": 1},
    }
    assert base["image"] == {"repo": "a", "tag": "1"}, "inputs are not mutated"


def test_values_files_merge_in_order_and_missing_ones_can_be_ignored() -> None:
    files = {"a.yaml": b"x: 1\nnested: {a: 1}\n", "b.yaml": b"nested: {b: 2}\nx: 2\n"}
    merged, used = merge_values_files(
        ["a.yaml", "gone.yaml", "b.yaml"], files.get, ignore_missing=True
    )
    assert merged == {"x": 2, "nested": {"a": 1, "b": 2}}
    assert used == ["a.yaml", "b.yaml"]
    with pytest.raises(ValuesFilesError, match=r"no values file found at path 'gone\.yaml'"):
        merge_values_files(["a.yaml", "gone.yaml"], files.get, ignore_missing=False)


@pytest.mark.parametrize("data", [b"- a list\n", b"key: [unclosed\n"])
def test_values_file_that_is_not_a_mapping_is_a_values_files_error(data: bytes) -> None:
    with pytest.raises(ValuesFilesError) as caught:
        merge_values_files(["v.yaml"], {"v.yaml": data}.get, ignore_missing=False)
    assert caught.value.stalling


@pytest.mark.parametrize("path", ["../outside", "a/../../outside", "/etc/../../x"])
def test_paths_escaping_the_source_root_are_illegal(tmp_path: Path, path: str) -> None:
    with pytest.raises(IllegalChartPath) as caught:
        safe_join(tmp_path, path, "spec.chart")
    assert caught.value.reason == "IllegalPath"


def test_symlink_out_of_the_root_is_illegal(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "link").symlink_to(tmp_path)
    with pytest.raises(IllegalChartPath):
        safe_join(tmp_path / "root", "link/x", "spec.chart")
    assert safe_join(tmp_path / "root", "./charts/../charts/app", "spec.chart") == (
        tmp_path / "root" / "charts" / "app"
    )


@pytest.mark.parametrize(
    ("version", "metadata", "expected"),
    [
        ("6.0.3", "", "6.0.3"),
        ("6.0.3", "4", "6.0.3+4"),
        ("6.0.3+old", "abcdef123456.2", "6.0.3+abcdef123456.2"),
        ("v1.2", "7", "1.2.0+7"),
        ("1.0.0-rc.1", "3", "1.0.0-rc.1+3"),
    ],
)
def test_version_metadata_replaces_build_metadata(
    version: str, metadata: str, expected: str
) -> None:
    assert with_version_metadata(version, metadata) == expected


def test_invalid_version_cannot_take_metadata() -> None:
    with pytest.raises(MetadataPatchError):
        with_version_metadata("latest", "1")


@pytest.mark.parametrize(
    ("repository", "chart", "expected"),
    [
        ("https://h/charts", "app-1.tgz", "https://h/charts/app-1.tgz"),
        ("https://h/charts/", "sub/app-1.tgz", "https://h/charts/sub/app-1.tgz"),
        ("https://h/charts", "https://cdn/app-1.tgz", "https://cdn/app-1.tgz"),
        ("https://h/c?token=x", "app-1.tgz", "https://h/c/app-1.tgz?token=x"),
    ],
)
def test_relative_chart_urls_resolve_under_the_repository(
    repository: str, chart: str, expected: str
) -> None:
    assert resolve_chart_url(repository, chart) == expected


def test_non_http_chart_url_is_refused() -> None:
    with pytest.raises(ChartPullError):
        resolve_chart_url("https://h/charts", "file:///etc/passwd")


def test_a_values_file_alias_bomb_is_refused_before_it_is_expanded() -> None:
    """One 1 MiB anchored string aliased 2000 times: 2 GiB once the merged values are
    written out as the chart's values.yaml."""
    bomb = b"big: &big '" + b"A" * (1 << 20) + b"'\ncopies: [" + b"*big, " * 1999 + b"*big]\n"
    with pytest.raises(ValuesFilesError, match=r"'values-bomb\.yaml'.*alias bomb"):
        merge_values_files(
            ["values-bomb.yaml"], {"values-bomb.yaml": bomb}.get, ignore_missing=False
        )
