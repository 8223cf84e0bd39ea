"""Digest parsing and verification in go-digest's `<algorithm>:<hex>` form."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from gotk_artifacts.digest import Digest, compute_file, parse_digest, verify_file
from gotk_artifacts.errors import DigestMismatch, InvalidDigest

HEX = hashlib.sha256(b"hello").hexdigest()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"sha256:{HEX}", Digest("sha256", HEX)),
        (HEX, Digest("sha256", HEX)),
        ("sha1:" + "a" * 40, Digest("sha1", "a" * 40)),
        ("sha512:" + "b" * 128, Digest("sha512", "b" * 128)),
    ],
)
def test_valid_digests_parse(text: str, expected: Digest) -> None:
    assert parse_digest(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sha256:",
        f"sha256:{HEX[:-1]}",
        f"sha256:{HEX.upper()}",
        f"SHA256:{HEX}",
        f"md5:{HEX[:32]}",
        f"sha256:{HEX}0",
        "sha256:" + "g" * 64,
        ":" + HEX,
    ],
)
def test_invalid_digests_are_rejected(text: str) -> None:
    with pytest.raises(InvalidDigest):
        parse_digest(text)


def test_str_is_the_canonical_form() -> None:
    assert str(parse_digest(HEX)) == f"sha256:{HEX}"


def test_compute_and_verify_file(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"hello")
    assert compute_file(path) == Digest("sha256", HEX)
    assert verify_file(path, f"sha256:{HEX}") == Digest("sha256", HEX)
    with pytest.raises(DigestMismatch, match="does not match") as info:
        verify_file(path, "sha256:" + "0" * 64, source="gitrepository/ns/name/x.tar.gz")
    assert info.value.source == "gitrepository/ns/name/x.tar.gz"
    assert info.value.actual == f"sha256:{HEX}"
