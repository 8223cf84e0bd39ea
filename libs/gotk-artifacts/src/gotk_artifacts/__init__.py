"""gotk_artifacts: deterministic artifact packing, digests, safe extraction, fetch + verify,
and the helpers every artifact producer needs (URL redaction, scratch directories)."""

from gotk_artifacts.archive import ArchiveResult, IgnoreFilter, build_archive, build_archive_async
from gotk_artifacts.digest import Digest, compute_file, parse_digest, verify_file
from gotk_artifacts.errors import (
    ArchiveBuildError,
    ArtifactDownloadError,
    ArtifactError,
    ArtifactNotFound,
    ArtifactTooLarge,
    CorruptArchive,
    DigestMismatch,
    InvalidDigest,
    TooManyEntries,
    UnsafeArchiveEntry,
)
from gotk_artifacts.extract import (
    ExtractLimits,
    ExtractResult,
    SymlinkPolicy,
    extract_archive,
    extract_archive_async,
)
from gotk_artifacts.fetch import download_artifact, fetch_artifact
from gotk_artifacts.ignore import IgnoreMatcher, source_ignore_matcher
from gotk_artifacts.scan import ArchiveEntry, ArchiveScan, scan_archive, scan_archive_async
from gotk_artifacts.scratch import scratch_dir
from gotk_artifacts.urls import redact_url

__all__ = [
    "ArchiveBuildError",
    "ArchiveEntry",
    "ArchiveResult",
    "ArchiveScan",
    "ArtifactDownloadError",
    "ArtifactError",
    "ArtifactNotFound",
    "ArtifactTooLarge",
    "CorruptArchive",
    "Digest",
    "DigestMismatch",
    "ExtractLimits",
    "ExtractResult",
    "IgnoreFilter",
    "IgnoreMatcher",
    "InvalidDigest",
    "SymlinkPolicy",
    "TooManyEntries",
    "UnsafeArchiveEntry",
    "build_archive",
    "build_archive_async",
    "compute_file",
    "download_artifact",
    "extract_archive",
    "extract_archive_async",
    "fetch_artifact",
    "parse_digest",
    "redact_url",
    "scan_archive",
    "scan_archive_async",
    "scratch_dir",
    "source_ignore_matcher",
    "verify_file",
]
