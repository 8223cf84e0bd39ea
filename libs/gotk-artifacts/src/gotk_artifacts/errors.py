"""The artifact error tree: every failure to build, fetch, verify or unpack an artifact.

Each class carries the Flux condition reason a reconciler reports for it, and a message
that names the artifact (URL without credentials, or the archive entry) and the cause.
"""

from __future__ import annotations

from gotk_api.conditions import ARCHIVE_OPERATION_FAILED_REASON, ARTIFACT_FAILED_REASON
from gotk_api.errors import GotkError

__all__ = [
    "ArchiveBuildError",
    "ArtifactDownloadError",
    "ArtifactError",
    "ArtifactNotFound",
    "ArtifactTooLarge",
    "CorruptArchive",
    "DigestMismatch",
    "InvalidDigest",
    "TooManyEntries",
    "UnsafeArchiveEntry",
]


class ArtifactError(GotkError):
    """An artifact could not be built, fetched, verified or extracted."""

    reason: str = ARTIFACT_FAILED_REASON


class InvalidDigest(ArtifactError):
    """A digest string is not `<algorithm>:<hex>` with a supported algorithm."""


class DigestMismatch(ArtifactError):
    """The bytes received do not hash to the digest the artifact advertises."""

    def __init__(self, source: str, expected: str, actual: str) -> None:
        super().__init__(f"artifact {source}: digest {actual} does not match expected {expected}")
        self.source = source
        self.expected = expected
        self.actual = actual


class ArtifactTooLarge(ArtifactError):
    """A download, an archive entry or the unpacked total is above its size limit."""


class ArtifactNotFound(ArtifactError):
    """The artifact server answered 404: the artifact is gone (GC or storage loss)."""


class ArtifactDownloadError(ArtifactError):
    """The artifact server was unreachable or kept answering with an error status."""


class CorruptArchive(ArtifactError):
    """The bytes are not a readable tar (or tar.gz) stream."""


class UnsafeArchiveEntry(ArtifactError):
    """An archive entry would write outside the target, or is a kind of file we refuse."""

    def __init__(self, entry: str, cause: str) -> None:
        super().__init__(f"archive entry {entry!r}: {cause}")
        self.entry = entry
        self.cause = cause


class TooManyEntries(ArtifactError):
    """The archive holds more entries than the extraction limit allows."""


class ArchiveBuildError(ArtifactError):
    """A source directory could not be packed into an artifact."""

    reason: str = ARCHIVE_OPERATION_FAILED_REASON
