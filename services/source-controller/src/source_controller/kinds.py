"""The source kinds this service reconciles, each with its reconciler."""

from __future__ import annotations

from gotk_api.source_bucket import Bucket
from gotk_api.source_git import GitRepository
from gotk_api.source_helm import HelmRepository
from gotk_runtime import EventRecorder, KubeClient, Manager, Reconciler

from source_controller.options import HelmLimits
from source_controller.reconcilers import (
    BucketReconciler,
    GitRepositoryReconciler,
    HelmChartReconciler,
    HelmRepositoryReconciler,
    OCIRepositoryReconciler,
)
from source_controller.reconcilers.helmchart import source_revision_handler
from source_controller.storage import ArtifactStorage

CHART_SOURCES = (HelmRepository, GitRepository, Bucket)


def source_reconcilers(
    client: KubeClient, storage: ArtifactStorage, events: EventRecorder, helm: HelmLimits
) -> list[Reconciler]:
    return [
        GitRepositoryReconciler(client, storage, events),
        OCIRepositoryReconciler(client, storage, events),
        HelmRepositoryReconciler(client, storage, events, index_max_size=helm.index_max_size),
        HelmChartReconciler(
            client,
            storage,
            events,
            chart_max_size=helm.chart_max_size,
            chart_file_max_size=helm.chart_file_max_size,
        ),
        BucketReconciler(client, storage, events),
    ]


def watch_chart_sources(manager: Manager) -> None:
    """Reconcile a HelmChart as soon as its source has a new artifact (as Flux does); this
    is also how a Stalled chart recovers once its source changes."""

    def charts() -> list[dict[str, object]]:
        return list(manager.controllers["HelmChart"].informer)

    def enqueue(key: str) -> None:
        manager.controllers["HelmChart"].enqueue(key)

    for source in CHART_SOURCES:
        manager.watch(
            source.api_version_string(),
            source.KIND,
            source_revision_handler(source.KIND, charts, enqueue),
        )
