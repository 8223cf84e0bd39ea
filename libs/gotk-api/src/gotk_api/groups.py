"""API groups and versions of the Flux kinds gotk serves."""

from typing import Final

SOURCE_GROUP: Final = "source.toolkit.fluxcd.io"
SOURCE_VERSION: Final = "v1"
KUSTOMIZE_GROUP: Final = "kustomize.toolkit.fluxcd.io"
KUSTOMIZE_VERSION: Final = "v1"
HELM_GROUP: Final = "helm.toolkit.fluxcd.io"
HELM_VERSION: Final = "v2"

SOURCE_CATEGORIES: Final = ("all", "fluxcd", "fluxcd-sources")
"""CRD categories of the source kinds (as Flux after 2.8; lets `kubectl get fluxcd` work)."""
APPLIER_CATEGORIES: Final = ("all", "fluxcd", "fluxcd-appliers")
"""CRD categories of Kustomization and HelmRelease."""
