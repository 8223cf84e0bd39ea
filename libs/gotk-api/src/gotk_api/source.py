"""The source.toolkit.fluxcd.io/v1 kinds, gathered in one namespace."""

from gotk_api.source_bucket import Bucket, BucketSpec, BucketStatus, BucketSTSSpec
from gotk_api.source_external import ExternalArtifact, ExternalArtifactSpec, ExternalArtifactStatus
from gotk_api.source_git import (
    GitRepository,
    GitRepositoryInclude,
    GitRepositoryRef,
    GitRepositorySpec,
    GitRepositoryStatus,
    GitRepositoryVerification,
)
from gotk_api.source_helm import (
    AccessFrom,
    HelmChart,
    HelmChartSpec,
    HelmChartStatus,
    HelmRepository,
    HelmRepositorySpec,
    HelmRepositoryStatus,
    LocalHelmChartSourceReference,
    NamespaceSelector,
)
from gotk_api.source_oci import (
    OCILayerSelector,
    OCIRepository,
    OCIRepositoryRef,
    OCIRepositorySpec,
    OCIRepositoryStatus,
    OCIRepositoryVerification,
    OIDCIdentityMatch,
)

SOURCE_KINDS = (GitRepository, OCIRepository, HelmRepository, HelmChart, Bucket)
"""The five kinds source-controller reconciles (ExternalArtifact is not one of them)."""

__all__ = [
    "SOURCE_KINDS",
    "AccessFrom",
    "Bucket",
    "BucketSTSSpec",
    "BucketSpec",
    "BucketStatus",
    "ExternalArtifact",
    "ExternalArtifactSpec",
    "ExternalArtifactStatus",
    "GitRepository",
    "GitRepositoryInclude",
    "GitRepositoryRef",
    "GitRepositorySpec",
    "GitRepositoryStatus",
    "GitRepositoryVerification",
    "HelmChart",
    "HelmChartSpec",
    "HelmChartStatus",
    "HelmRepository",
    "HelmRepositorySpec",
    "HelmRepositoryStatus",
    "LocalHelmChartSourceReference",
    "NamespaceSelector",
    "OCILayerSelector",
    "OCIRepository",
    "OCIRepositoryRef",
    "OCIRepositorySpec",
    "OCIRepositoryStatus",
    "OCIRepositoryVerification",
    "OIDCIdentityMatch",
]
