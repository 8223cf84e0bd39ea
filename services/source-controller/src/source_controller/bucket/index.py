"""The etag index of a bucket and the revision Flux derives from it.

Flux's revision for a Bucket is `sha256:` + the SHA-256 of the index written as one
`<key> <etag>\\n` line per object, keys in byte order (Go's `sort.Strings`). Python orders
`str` by code point, which for valid UTF-8 is the same order as the encoded bytes. Etags
are as the S3 API lists them without their surrounding quotes (minio-go strips them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping

__all__ = ["EtagIndex", "normalize_etag"]


def normalize_etag(etag: str) -> str:
    """An etag as minio-go reports it: one leading and one trailing `"` removed."""
    return etag.removeprefix('"').removesuffix('"')


class EtagIndex:
    """Object key → etag, for the objects that make up the artifact."""

    def __init__(self, entries: Mapping[str, str] | None = None) -> None:
        self._entries: dict[str, str] = dict(entries or {})

    def add(self, key: str, etag: str) -> None:
        self._entries[key] = etag

    def delete(self, key: str) -> None:
        self._entries.pop(key, None)

    def get(self, key: str) -> str | None:
        return self._entries.get(key)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def items(self) -> list[tuple[str, str]]:
        """A snapshot, so callers may add or delete while iterating it."""
        return sorted(self._entries.items())

    def lines(self) -> Iterator[str]:
        for key in sorted(self._entries):
            yield f"{key} {self._entries[key]}\n"

    def text(self) -> str:
        return "".join(self.lines())

    def digest(self) -> str:
        """The revision: `sha256:<hex>` of `text()`."""
        hasher = hashlib.sha256()
        for line in self.lines():
            hasher.update(line.encode("utf-8", "surrogateescape"))
        return f"sha256:{hasher.hexdigest()}"
