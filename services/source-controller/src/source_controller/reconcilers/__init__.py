"""One reconciler per source kind, each an ordered list of steps (see `steps`)."""

from source_controller.reconcilers.bucket import BucketReconciler
from source_controller.reconcilers.gitrepository import GitRepositoryReconciler
from source_controller.reconcilers.helmchart import HelmChartReconciler
from source_controller.reconcilers.helmrepository import HelmRepositoryReconciler
from source_controller.reconcilers.ocirepository import OCIRepositoryReconciler

__all__ = [
    "BucketReconciler",
    "GitRepositoryReconciler",
    "HelmChartReconciler",
    "HelmRepositoryReconciler",
    "OCIRepositoryReconciler",
]
