"""Object keys → download paths: unsafe keys are refused by name, ignore rules as Flux's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from source_controller.bucket.errors import ObjectKeyConflict, UnsafeObjectKey
from source_controller.bucket.fetch import index_objects
from source_controller.bucket.keys import check_key, check_tree, local_path


@pytest.mark.parametrize(
    ("key", "parts"),
    [
        ("a.yaml", ("a.yaml",)),
        ("deploy/app/cm.yaml", ("deploy", "app", "cm.yaml")),
        ("..hidden", ("..hidden",)),
        ("a../b", ("a..", "b")),
        ("spaces in name.txt", ("spaces in name.txt",)),
        ("\u00e9t\u00e9/x", ("\u00e9t\u00e9", "x")),
    ],
)
def test_safe_keys_map_to_their_segments(key: str, parts: tuple[str, ...]) -> None:
    assert check_key(key) == parts


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("../evil.yaml", "'..'"),
        ("a/../../evil", "'..'"),
        ("a/..", "'..'"),
        ("..", "'..'"),
        ("/etc/passwd", "absolute"),
        ("a//b", "ambiguous"),
        ("./a", "ambiguous"),
        ("a/./b", "ambiguous"),
        ("a\\..\\b", "backslash"),
        ("a\x00b", "NUL"),
        ("", "empty"),
    ],
)
def test_unsafe_keys_are_refused_naming_the_key(key: str, why: str) -> None:
    with pytest.raises(UnsafeObjectKey) as caught:
        check_key(key)
    assert repr(key) in str(caught.value)
    assert why in str(caught.value)
    assert caught.value.reason == "BucketOperationFailed"


def test_a_key_that_is_also_a_directory_conflicts() -> None:
    check_tree(["a/b", "a/c", "ab"])
    with pytest.raises(ObjectKeyConflict, match="'a' and 'a/b'"):
        check_tree(["a/b", "a"])


def test_local_path_refuses_a_symlink_leading_out_of_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", root / "link")
    assert local_path(root, "dir/file") == root / "dir" / "file"
    with pytest.raises(UnsafeObjectKey, match="outside the download root"):
        local_path(root, "link/file")


def _index(keys: list[str], sourceignore: str | None = None, spec: str | None = None) -> list[str]:
    objects = [(key, "etag") for key in keys]
    ignore_file = sourceignore.encode() if sourceignore is not None else None
    index = index_objects(objects, ignore_file=ignore_file, spec_ignore=spec)
    return [key for key, _ in index.items()]


def test_directory_markers_and_the_sourceignore_object_are_not_indexed() -> None:
    assert _index(["dir/", "dir/a.yaml", ".sourceignore"], sourceignore="") == ["dir/a.yaml"]


def test_no_default_exclusions_apply_to_buckets() -> None:
    keys = [".github/workflows/ci.yaml", "logo.png", "bundle.tar.gz", ".git/config"]
    assert _index(keys) == sorted(keys)


def test_sourceignore_then_spec_ignore_last_match_wins() -> None:
    keys = ["docs/a.md", "docs/keep.md", "app.yaml", "tmp/x"]
    assert _index(keys, sourceignore="docs/\ntmp\n", spec="!docs/keep.md") == [
        "app.yaml",
        "docs/keep.md",
    ]


def test_unsafe_key_is_refused_unless_ignored() -> None:
    with pytest.raises(UnsafeObjectKey, match=r"'\.\./evil\.yaml'"):
        _index(["ok.yaml", "../evil.yaml"])
    assert _index(["ok.yaml", "../evil.yaml"], spec="evil.yaml") == ["ok.yaml"]


def test_file_directory_conflict_is_refused_at_indexing() -> None:
    with pytest.raises(ObjectKeyConflict):
        _index(["a", "a/b"])
