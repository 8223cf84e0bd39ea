"""Errors of the build pipeline, each carrying the Flux condition reason it maps to."""

from __future__ import annotations

from gotk_api.conditions import ARTIFACT_FAILED_REASON, BUILD_FAILED_REASON
from gotk_runtime.errors import GenericError


class BuildError(GenericError):
    """The artifact could not be turned into manifests; Ready=False with `BuildFailed`."""

    reason = BUILD_FAILED_REASON


class PathNotFoundError(BuildError):
    """`spec.path` does not exist in the artifact (Flux reports it as `ArtifactFailed`)."""

    reason = ARTIFACT_FAILED_REASON


class SubstitutionError(BuildError):
    """Post-build variable substitution failed."""


class DecryptionError(BuildError):
    """SOPS decryption failed: no usable key, a damaged value or a MAC mismatch."""
