"""The source kinds this service reconciles, each with its reconciler, and the watches that
reconcile a HelmChart when its source gets a new artifact."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from gotk_api.objects import Obj
from gotk_api.source_bucket import Bucket
from gotk_api.source_git import GitRepository
from gotk_api.source_helm import HelmRepository
from gotk_artifacts.revision import new_artifact_revision
from gotk_runtime import EventRecorder, KubeClient, Manager, Reconciler
from gotk_runtime.informer import EventHandler, EventType

from source_controller.options import HelmLimits
from source_controller.reconcilers import (
    BucketReconciler,
    GitRepositoryReconciler,
    HelmChartReconciler,
    HelmRepositoryReconciler,
    OCIRepositoryReconciler,
)
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


def source_revision_handler(
    kind: str, charts: Callable[[], Iterable[Obj]], enqueue: Callable[[str], None]
) -> EventHandler:
    """An informer handler for source `kind`: when a source gets a new artifact revision,
    enqueue the HelmCharts in its namespace that reference it (Flux watches sources the same
    way, which is also how a Stalled chart retries once its source changes)."""

    def handle(event: EventType, obj: Obj, old: Obj | None) -> None:
        if new_artifact_revision(event, obj, old) is None:
            return
        namespace, name = obj["metadata"].get("namespace"), obj["metadata"]["name"]
        for chart in charts():
            meta, ref = chart["metadata"], (chart.get("spec") or {}).get("sourceRef") or {}
            wanted = (meta.get("namespace"), ref.get("kind"), ref.get("name"))
            if wanted == (namespace, kind, name):
                enqueue(f"{namespace}/{meta['name']}")

    return handle
