"""The OCI distribution error tree, each class carrying the Flux reason an OCIRepository reports.

Messages name the registry URL or reference (never a credential) and the cause. `stalling`
is True when only a spec change can help (a malformed URL or semver range).
"""

from __future__ import annotations

from gotk_api.conditions import (
    AUTHENTICATION_FAILED_REASON,
    OCI_ARTIFACT_LAYER_OPERATION_FAILED_REASON,
    OCI_ARTIFACT_PULL_FAILED_REASON,
    READ_OPERATION_FAILED_REASON,
    URL_INVALID_REASON,
)
from gotk_runtime.errors import GotkError

__all__ = [
    "BlobDigestMismatch",
    "InvalidReference",
    "InvalidSemverRange",
    "LayerOperationFailed",
    "ManifestDigestMismatch",
    "ManifestNotFound",
    "NoMatchingTag",
    "OCIError",
    "PullFailed",
    "RegistryAuthenticationFailed",
    "RegistryUnreachable",
    "UnsupportedManifest",
]


class OCIError(GotkError):
    """Root of every failure talking to an OCI registry or using what it returned."""

    reason: str = OCI_ARTIFACT_PULL_FAILED_REASON
    stalling: bool = False


class InvalidReference(OCIError):
    """`spec.url`, a tag, a digest or a semver range cannot be parsed."""

    reason = URL_INVALID_REASON
    stalling = True


class InvalidSemverRange(OCIError):
    """`ref.semver` or `ref.semverFilter` cannot be parsed; Flux reports ReadOperationFailed."""

    reason = READ_OPERATION_FAILED_REASON
    stalling = True


class RegistryAuthenticationFailed(OCIError):
    """Credentials are malformed, or the registry rejected them (401/403)."""

    reason = AUTHENTICATION_FAILED_REASON


class PullFailed(OCIError):
    """The registry could not give us the manifest, tags or blob we asked for."""


class RegistryUnreachable(PullFailed):
    """No HTTP answer: DNS, connection, TLS or timeout failure."""


class ManifestNotFound(PullFailed):
    """The tag or digest does not exist in the repository (404)."""


class ManifestDigestMismatch(PullFailed):
    """The manifest bytes do not hash to the digest asked for or advertised."""


class BlobDigestMismatch(PullFailed):
    """A downloaded blob does not hash to its descriptor's digest; nothing was kept."""


class UnsupportedManifest(PullFailed):
    """The manifest has a media type or shape gotk cannot read."""


class NoMatchingTag(OCIError):
    """No tag of the repository satisfies `ref.semver` (and `ref.semverFilter`)."""

    reason = READ_OPERATION_FAILED_REASON


class LayerOperationFailed(OCIError):
    """No layer matches the selector, or the layer cannot be extracted or copied."""

    reason = OCI_ARTIFACT_LAYER_OPERATION_FAILED_REASON
