"""Content digests in the OCI `<algorithm>:<hex>` form Flux writes to `status.artifact.digest`.

Parsing follows opencontainers/go-digest: a lowercase algorithm name, a colon, and an
encoded part whose length and alphabet the algorithm fixes. Like Flux's fetcher, a bare
hex string is read as sha256.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from gotk_artifacts.errors import DigestMismatch, InvalidDigest

__all__ = [
    "CANONICAL_ALGORITHM",
    "Digest",
    "Hasher",
    "compute_file",
    "new_hasher",
    "parse_digest",
    "verify_file",
]

CANONICAL_ALGORITHM: Final = "sha256"

# Hex length per algorithm; sha1 is accepted because Flux registers it for Git revisions.
_HEX_LENGTH: Final[dict[str, int]] = {"sha256": 64, "sha384": 96, "sha512": 128, "sha1": 40}
_ALGORITHM_RE: Final = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*$")
_HEX_RE: Final = re.compile(r"^[a-f0-9]+$")
_CHUNK: Final = 1 << 20


class Hasher(Protocol):
    """The slice of hashlib's interface the artifact code uses."""

    def update(self, data: bytes | bytearray | memoryview, /) -> None: ...
    def hexdigest(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Digest:
    """A parsed digest; `str()` gives the canonical `<algorithm>:<hex>` form."""

    algorithm: str
    hex: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    def hasher(self) -> Hasher:
        """A fresh hash object for this digest's algorithm."""
        return new_hasher(self.algorithm)

    def matches(self, other: Digest) -> bool:
        return self.algorithm == other.algorithm and self.hex == other.hex


def new_hasher(algorithm: str = CANONICAL_ALGORITHM) -> Hasher:
    if algorithm not in _HEX_LENGTH:
        raise InvalidDigest(f"unsupported digest algorithm {algorithm!r}")
    return hashlib.new(algorithm)


def parse_digest(value: str) -> Digest:
    """Parse `<algorithm>:<hex>`, or bare hex as sha256; raise InvalidDigest otherwise."""
    if not value:
        raise InvalidDigest("empty digest")
    algorithm, sep, encoded = value.partition(":")
    if not sep:
        algorithm, encoded = CANONICAL_ALGORITHM, value
    if not _ALGORITHM_RE.match(algorithm):
        raise InvalidDigest(f"digest {value!r}: invalid algorithm name {algorithm!r}")
    expected_length = _HEX_LENGTH.get(algorithm)
    if expected_length is None:
        raise InvalidDigest(f"digest {value!r}: unsupported algorithm {algorithm!r}")
    if len(encoded) != expected_length or not _HEX_RE.match(encoded):
        raise InvalidDigest(
            f"digest {value!r}: {algorithm} needs {expected_length} lowercase hex characters"
        )
    return Digest(algorithm, encoded)


def compute_file(path: Path, algorithm: str = CANONICAL_ALGORITHM) -> Digest:
    """Hash a file in chunks (blocking: call through asyncio.to_thread on the loop)."""
    hasher = new_hasher(algorithm)
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            hasher.update(chunk)
    return Digest(algorithm, hasher.hexdigest())


def verify_file(path: Path, expected: Digest | str, *, source: str | None = None) -> Digest:
    """Raise DigestMismatch unless the file hashes to `expected`; return the digest."""
    want = parse_digest(expected) if isinstance(expected, str) else expected
    got = compute_file(path, want.algorithm)
    if not got.matches(want):
        raise DigestMismatch(source or str(path), str(want), str(got))
    return got
