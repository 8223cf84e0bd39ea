"""The Helm error tree; each class carries the Flux reason HelmRepository or HelmChart reports.

`stalling` is True when only a spec change can help (Flux's persistent build errors:
an invalid chart reference, a values file problem, a version that cannot take metadata).
Messages name the repository URL (never its credentials), the chart and the cause.
"""

from __future__ import annotations

from gotk_api.conditions import (
    AUTHENTICATION_FAILED_REASON,
    CHART_PACKAGE_ERROR_REASON,
    CHART_PULL_ERROR_REASON,
    DEPENDENCY_BUILD_ERROR_REASON,
    FAILED_REASON,
    ILLEGAL_PATH_REASON,
    INDEXATION_FAILED_REASON,
    INVALID_CHART_REFERENCE_REASON,
    METADATA_PATCH_ERROR_REASON,
    URL_INVALID_REASON,
    VALUES_FILES_ERROR_REASON,
)
from gotk_runtime.errors import GotkError

__all__ = [
    "ChartPackageError",
    "ChartPullError",
    "ChartReferenceError",
    "DependencyBuildError",
    "HelmError",
    "IllegalChartPath",
    "IndexTooLarge",
    "InvalidIndex",
    "InvalidRepositoryURL",
    "MetadataPatchError",
    "RepositoryAuthFailed",
    "RepositoryFetchFailed",
    "ValuesFilesError",
]


class HelmError(GotkError):
    """Root of every failure fetching an index or building a chart."""

    reason: str = FAILED_REASON
    stalling: bool = False
    build_failure: bool = False
    """True for failures after the chart was fetched (Flux's BuildFailed, not FetchFailed)."""


class InvalidRepositoryURL(HelmError):
    reason = URL_INVALID_REASON
    stalling = True


class RepositoryFetchFailed(HelmError):
    """The repository host could not be reached or answered with an error status."""


class RepositoryAuthFailed(HelmError):
    """Credentials are malformed, missing, or were rejected (401/403), or TLS failed."""

    reason = AUTHENTICATION_FAILED_REASON


class InvalidIndex(HelmError):
    """The index is empty, not YAML, or lacks what Helm requires of it."""

    reason = INDEXATION_FAILED_REASON


class IndexTooLarge(InvalidIndex):
    """The index is larger than `--helm-index-max-size`; counted while streaming."""


class ChartReferenceError(HelmError):
    """No such chart, no version in range, an invalid range, or no Chart.yaml at the path."""

    reason = INVALID_CHART_REFERENCE_REASON
    stalling = True


class IllegalChartPath(HelmError):
    """`spec.chart` or a values file path escapes the source root."""

    reason = ILLEGAL_PATH_REASON
    stalling = True


class ChartPullError(HelmError):
    """The chart could not be downloaded, or the download is not a sound chart archive."""

    reason = CHART_PULL_ERROR_REASON


class MetadataPatchError(HelmError):
    reason = METADATA_PATCH_ERROR_REASON
    stalling = True
    build_failure = True


class ValuesFilesError(HelmError):
    reason = VALUES_FILES_ERROR_REASON
    stalling = True
    build_failure = True


class DependencyBuildError(HelmError):
    reason = DEPENDENCY_BUILD_ERROR_REASON
    build_failure = True


class ChartPackageError(HelmError):
    reason = CHART_PACKAGE_ERROR_REASON
    build_failure = True
