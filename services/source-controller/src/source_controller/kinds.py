"""The source kinds this service reconciles, each with its reconciler, and the watches that
reconcile a HelmChart when its source gets a new artifact."""

from __future__ import annotations

from gotk_api.objects import Obj
from gotk_api.source_bucket import Bucket
from gotk_api.source_git import GitRepository
from gotk_api.source_helm import HelmRepository
from gotk_artifacts.revision import brings_new_artifact
from gotk_runtime import EventRecorder, KubeClient, Manager, Reconciler
from gotk_runtime.referrers import Reference

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
    charts = manager.index_referrers("HelmChart", chart_source)
    for source in CHART_SOURCES:
        manager.watch(
            source.api_version_string(),
            source.KIND,
            charts.on_change(source.KIND, brings_new_artifact),
        )


def chart_source(chart: Obj) -> list[Reference]:
    """The source a raw HelmChart builds from (always in its own namespace)."""
    ref = (chart.get("spec") or {}).get("sourceRef") or {}
    if not ref.get("kind") or not ref.get("name"):
        return []
    return [(str(ref["kind"]), str(chart["metadata"].get("namespace") or ""), str(ref["name"]))]
