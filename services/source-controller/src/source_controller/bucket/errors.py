"""What can go wrong fetching a Bucket, each carrying the Flux condition reason it reports."""

from __future__ import annotations

from gotk_api.conditions import (
    AUTHENTICATION_FAILED_REASON,
    BUCKET_OPERATION_FAILED_REASON,
    INVALID_PROVIDER_CONFIGURATION_REASON,
    INVALID_STS_CONFIGURATION_REASON,
    URL_INVALID_REASON,
)
from gotk_runtime.errors import GotkError

__all__ = [
    "BucketAuthenticationFailed",
    "BucketError",
    "BucketNotFound",
    "BucketOperationFailed",
    "BucketTimeout",
    "BucketUnreachable",
    "EndpointInvalid",
    "ObjectKeyConflict",
    "UnsafeObjectKey",
    "UnsupportedConfiguration",
    "UnsupportedSTS",
]


class BucketError(GotkError):
    """Root of every Bucket failure. `stalling` is True when only a spec change can help."""

    reason = BUCKET_OPERATION_FAILED_REASON
    stalling: bool = False


class BucketOperationFailed(BucketError):
    """The storage service refused or failed a request (wrong credentials included, as Flux)."""


class BucketNotFound(BucketOperationFailed):
    """The bucket named by spec.bucketName does not exist."""


class BucketUnreachable(BucketOperationFailed):
    """No connection to spec.endpoint (DNS, refused, TLS handshake)."""


class BucketTimeout(BucketOperationFailed):
    """A bucket operation outlived spec.timeout."""


class UnsafeObjectKey(BucketOperationFailed):
    """An object key would be written outside the download directory (or ambiguously)."""


class ObjectKeyConflict(BucketOperationFailed):
    """Two object keys need the same path to be both a file and a directory."""


class BucketAuthenticationFailed(BucketError):
    """A referenced Secret is missing or its data cannot form credentials, TLS or a proxy."""

    reason = AUTHENTICATION_FAILED_REASON


class EndpointInvalid(BucketError):
    """spec.endpoint is not `host[:port]`."""

    reason = URL_INVALID_REASON
    stalling = True


class UnsupportedConfiguration(BucketError):
    """A provider, STS or workload identity setting gotk cannot serve yet."""

    reason = INVALID_PROVIDER_CONFIGURATION_REASON
    stalling = True


class UnsupportedSTS(UnsupportedConfiguration):
    """spec.sts is set; gotk does not exchange credentials at an STS yet."""

    reason = INVALID_STS_CONFIGURATION_REASON
