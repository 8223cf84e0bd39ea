"""An OCI distribution client, shared by OCIRepository and Helm's OCI charts.

repository = parse_oci_url("oci://ghcr.io/org/app")
async with OCIClient(repository, credentials=creds, options=ClientOptions()) as client:
    resolved = await client.resolve("v1.2.3")         # or "sha256:..."
    await client.fetch_blob(resolved.manifest.layers[0], dest)
"""

from source_controller.oci.auth import RegistryCredentials, credentials_from_dockerconfig
from source_controller.oci.client import OCIClient, Resolved
from source_controller.oci.errors import (
    BlobDigestMismatch,
    InvalidReference,
    InvalidSemverRange,
    LayerOperationFailed,
    ManifestDigestMismatch,
    ManifestNotFound,
    NoMatchingTag,
    OCIError,
    PullFailed,
    RegistryAuthenticationFailed,
    RegistryUnreachable,
    UnsupportedManifest,
)
from source_controller.oci.manifest import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    FLUX_CONFIG,
    FLUX_CONTENT_LAYER,
    HELM_CHART_CONFIG,
    HELM_CHART_LAYER,
    OCI_INDEX,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
    Descriptor,
    Index,
    Manifest,
    select_layer,
)
from source_controller.oci.reference import Repository, parse_oci_url, validate_tag
from source_controller.oci.tags import select_semver_tag
from source_controller.oci.transport import ClientOptions

__all__ = [
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "FLUX_CONFIG",
    "FLUX_CONTENT_LAYER",
    "HELM_CHART_CONFIG",
    "HELM_CHART_LAYER",
    "OCI_INDEX",
    "OCI_LAYER_GZIP",
    "OCI_MANIFEST",
    "BlobDigestMismatch",
    "ClientOptions",
    "Descriptor",
    "Index",
    "InvalidReference",
    "InvalidSemverRange",
    "LayerOperationFailed",
    "Manifest",
    "ManifestDigestMismatch",
    "ManifestNotFound",
    "NoMatchingTag",
    "OCIClient",
    "OCIError",
    "PullFailed",
    "RegistryAuthenticationFailed",
    "RegistryCredentials",
    "RegistryUnreachable",
    "Repository",
    "Resolved",
    "UnsupportedManifest",
    "credentials_from_dockerconfig",
    "parse_oci_url",
    "select_layer",
    "select_semver_tag",
    "validate_tag",
]
