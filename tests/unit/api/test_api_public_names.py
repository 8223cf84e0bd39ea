"""The public names of gotk_api are a contract with every other package: pin them."""

from __future__ import annotations

import gotk_api
import pytest
from gotk_api import conditions

PUBLIC_NAMES = {
    "INTERVAL_PATTERN",
    "KINDS",
    "SOURCE_KINDS",
    "TIMEOUT_PATTERN",
    "Artifact",
    "Bucket",
    "BucketSpec",
    "BucketStatus",
    "Condition",
    "ConditionStatus",
    "ConditionedStatus",
    "Duration",
    "ExternalArtifact",
    "ExternalArtifactSpec",
    "ExternalArtifactStatus",
    "FluxModel",
    "FluxObject",
    "FluxStatus",
    "GitRepository",
    "GitRepositorySpec",
    "GitRepositoryStatus",
    "HelmChart",
    "HelmChartSpec",
    "HelmChartStatus",
    "HelmRelease",
    "HelmReleaseSpec",
    "HelmReleaseStatus",
    "HelmRepository",
    "HelmRepositorySpec",
    "HelmRepositoryStatus",
    "KubeConfigReference",
    "Kustomization",
    "KustomizationSpec",
    "KustomizationStatus",
    "LocalObjectReference",
    "NamespacedObjectKindReference",
    "NamespacedObjectReference",
    "OCIRepository",
    "OCIRepositorySpec",
    "OCIRepositoryStatus",
    "ObjectMeta",
    "PrinterColumn",
    "SecretKeyReference",
    "Time",
    "TimeoutDuration",
    "UnknownKindError",
    "ValuesReference",
    "conditions",
    "find_api_version",
    "find_kind",
    "format_duration",
    "parse_duration",
}


def test_public_names_are_exactly_the_pinned_set() -> None:
    assert set(gotk_api.__all__) == PUBLIC_NAMES
    for name in PUBLIC_NAMES:
        assert hasattr(gotk_api, name), name


def test_registry_lists_every_kind_once_with_its_crd_names() -> None:
    found = {(m.GROUP, m.VERSION, m.KIND, m.plural()) for m in gotk_api.KINDS}
    assert found == {
        ("source.toolkit.fluxcd.io", "v1", "GitRepository", "gitrepositories"),
        ("source.toolkit.fluxcd.io", "v1", "OCIRepository", "ocirepositories"),
        ("source.toolkit.fluxcd.io", "v1", "HelmRepository", "helmrepositories"),
        ("source.toolkit.fluxcd.io", "v1", "HelmChart", "helmcharts"),
        ("source.toolkit.fluxcd.io", "v1", "Bucket", "buckets"),
        ("source.toolkit.fluxcd.io", "v1", "ExternalArtifact", "externalartifacts"),
        ("kustomize.toolkit.fluxcd.io", "v1", "Kustomization", "kustomizations"),
        ("helm.toolkit.fluxcd.io", "v2", "HelmRelease", "helmreleases"),
    }
    assert len(found) == len(gotk_api.KINDS)


def test_find_kind_accepts_kind_plural_and_short_name() -> None:
    assert gotk_api.find_kind("GitRepository") is gotk_api.GitRepository
    assert gotk_api.find_kind("gitrepositories") is gotk_api.GitRepository
    assert gotk_api.find_kind("gitrepo") is gotk_api.GitRepository
    assert gotk_api.find_kind("hc", "source.toolkit.fluxcd.io") is gotk_api.HelmChart
    assert gotk_api.find_api_version("source.toolkit.fluxcd.io/v1", "Bucket") is gotk_api.Bucket


def test_find_kind_names_what_it_could_not_find() -> None:
    with pytest.raises(gotk_api.UnknownKindError, match="v1beta2"):
        gotk_api.find_api_version("source.toolkit.fluxcd.io/v1beta2", "Bucket")
    with pytest.raises(gotk_api.UnknownKindError, match="'Receiver'"):
        gotk_api.find_kind("Receiver")


def test_condition_vocabulary_is_spelled_as_flux() -> None:
    assert (conditions.READY, conditions.RECONCILING, conditions.STALLED) == (
        "Ready",
        "Reconciling",
        "Stalled",
    )
    assert conditions.FINALIZER == "finalizers.fluxcd.io"
    assert conditions.RECONCILE_REQUEST_ANNOTATION == "reconcile.fluxcd.io/requestedAt"
    assert conditions.DIRECTORY_CREATION_FAILED_REASON == "DirectoryCreationFailed"
    assert conditions.GIT_OPERATION_SUCCEEDED_REASON == "GitOperationSucceeded"


@pytest.mark.parametrize(
    ("name", "flux"),
    [
        ("GARBAGE_COLLECTION_FAILED_REASON", "GarbageCollectionFailed"),
        ("EMPTY_GIT_REPOSITORY_REASON", "EmptyGitRepository"),
        ("NOT_FOUND_REASON", "NotFound"),
        ("NO_ARTIFACT_REASON", "NoArtifact"),
        ("SOURCE_UNAVAILABLE_REASON", "SourceUnavailable"),
        ("NO_SOURCE_ARTIFACT_REASON", "NoSourceArtifact"),
        ("CHART_PULL_ERROR_REASON", "ChartPullError"),
        ("METADATA_PATCH_ERROR_REASON", "MetadataPatchError"),
        ("VALUES_FILES_ERROR_REASON", "ValuesFilesError"),
        ("DEPENDENCY_BUILD_ERROR_REASON", "DependencyBuildError"),
        ("CHART_PACKAGE_ERROR_REASON", "ChartPackageError"),
    ],
)
def test_source_controller_reasons_live_in_the_api(name: str, flux: str) -> None:
    assert getattr(conditions, name) == flux
