"""The public names of gotk_artifacts are pinned: changing them is a deliberate act."""

from __future__ import annotations

import gotk_artifacts
from gotk_artifacts.errors import ArtifactError
from gotk_runtime.errors import GotkError


def test_public_names_are_pinned() -> None:
    assert sorted(gotk_artifacts.__all__) == [
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
    for name in gotk_artifacts.__all__:
        assert hasattr(gotk_artifacts, name), name


def test_every_artifact_error_is_a_gotk_error_with_a_reason() -> None:
    errors = [
        getattr(gotk_artifacts, n)
        for n in gotk_artifacts.__all__
        if isinstance(getattr(gotk_artifacts, n), type)
        and issubclass(getattr(gotk_artifacts, n), Exception)
    ]
    assert len(errors) == 10
    for error in errors:
        assert issubclass(error, ArtifactError)
        assert issubclass(error, GotkError)
        assert error.reason in {"ArtifactFailed", "ArchiveOperationFailed"}
