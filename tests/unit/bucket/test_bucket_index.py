"""The etag index and its revision, checked against revisions Flux's own tests assert."""

from __future__ import annotations

import hashlib

import pytest
from source_controller.bucket.fetch import index_objects
from source_controller.bucket.index import EtagIndex, normalize_etag


def _md5(content: bytes) -> str:
    # A single-part S3 upload's etag is the MD5 of its content.
    return hashlib.md5(content).hexdigest()


def _listing(objects: dict[str, bytes]) -> list[tuple[str, str]]:
    return [(key, _md5(content)) for key, content in objects.items()]


# (objects in the bucket, spec.ignore, expected index, revision Flux's bucket tests assert)
FLUX_VECTORS = [
    pytest.param(
        {"test.txt": b"test"},
        None,
        {"test.txt": "098f6bcd4621d373cade4e832627b4f6"},
        "sha256:b4c2a60ce44b67f5b659a95ce4e4cc9e2a86baf13afb72bd397c5384cbc0e479",
        id="one-object",
    ),
    pytest.param(
        {
            ".sourceignore": b"ignored/file.txt",
            "ignored/file.txt": b"ignored/file.txt",
            "included/file.txt": b"included/file.txt",
        },
        None,
        {"included/file.txt": "5a4bc7048b3301f677fe15b8678be2f8"},
        "sha256:9fc2ddfc4a6f44e6c3efee40af36578b9e76d4d930eaf384b8435a0aa0bf7a0f",
        id="sourceignore-object",
    ),
    pytest.param(
        {
            ".sourceignore": b"ignored/file.txt",
            "ignored/file.txt": b"ignored/file.txt",
            "included/file.txt": b"included/file.txt",
        },
        "!ignored/file.txt",
        {
            "ignored/file.txt": "f08907038338288420ae7dc2d30c0497",
            "included/file.txt": "5a4bc7048b3301f677fe15b8678be2f8",
        },
        "sha256:117f586dc64cfc559329e21d286edcbb94cb6b1581517eaddc0ab5292b470cd5",
        id="spec-ignore-overrides-sourceignore",
    ),
]


@pytest.mark.parametrize(("objects", "spec_ignore", "expected", "revision"), FLUX_VECTORS)
def test_index_and_revision_match_flux(
    objects: dict[str, bytes], spec_ignore: str | None, expected: dict[str, str], revision: str
) -> None:
    index = index_objects(
        _listing(objects), ignore_file=objects.get(".sourceignore"), spec_ignore=spec_ignore
    )
    assert dict(index.items()) == expected
    assert index.digest() == revision


def test_digest_is_sha256_of_sorted_key_etag_lines() -> None:
    index = EtagIndex({"foo": "bar", "bar": "baz"})
    assert index.text() == "bar baz\nfoo bar\n"
    expected = hashlib.sha256(b"bar baz\nfoo bar\n").hexdigest()
    assert index.digest() == f"sha256:{expected}"


def test_keys_sort_by_utf8_bytes_like_go() -> None:
    index = EtagIndex({"\u00e9": "1", "z": "2", "Z": "3", "a/b": "4", "a-b": "5"})
    keys = [line.split(" ")[0] for line in index.lines()]
    assert keys == sorted(keys, key=lambda k: k.encode())
    assert keys == ["Z", "a-b", "a/b", "z", "\u00e9"]


def test_empty_index_digest_is_sha256_of_nothing() -> None:
    assert EtagIndex().digest() == f"sha256:{hashlib.sha256(b'').hexdigest()}"


def test_order_of_insertion_does_not_change_revision() -> None:
    a = EtagIndex({"x": "1", "y": "2"})
    b = EtagIndex()
    b.add("y", "2")
    b.add("x", "1")
    assert a.digest() == b.digest()
    b.add("x", "3")
    assert a.digest() != b.digest()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [('"abc"', "abc"), ("abc", "abc"), ('"abc-2"', "abc-2"), ('"', ""), ("", "")],
)
def test_etag_quotes_are_stripped_as_minio_go_does(raw: str, expected: str) -> None:
    assert normalize_etag(raw) == expected
