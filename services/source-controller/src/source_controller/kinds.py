"""The source kinds this service reconciles, each with its reconciler."""

from __future__ import annotations

from gotk_runtime import EventRecorder, KubeClient, Reconciler

from source_controller.bucket import BucketReconciler
from source_controller.gitrepository import GitRepositoryReconciler
from source_controller.helmchart import HelmChartReconciler
from source_controller.helmrepository import HelmRepositoryReconciler
from source_controller.ocirepository import OCIRepositoryReconciler
from source_controller.storage import ArtifactStorage


def source_reconcilers(
    client: KubeClient, storage: ArtifactStorage, events: EventRecorder
) -> list[Reconciler]:
    return [
        GitRepositoryReconciler(client, storage, events),
        OCIRepositoryReconciler(client, storage, events),
        HelmRepositoryReconciler(client, storage, events),
        HelmChartReconciler(client, storage, events),
        BucketReconciler(client, storage, events),
    ]
