"""Every kind gotk serves, for code that iterates over kinds (CRD generation, controllers)."""

from __future__ import annotations

from typing import Any

from gotk_api.helm import HelmRelease
from gotk_api.kustomize import Kustomization
from gotk_api.meta import FluxObject
from gotk_api.source import (
    Bucket,
    ExternalArtifact,
    GitRepository,
    HelmChart,
    HelmRepository,
    OCIRepository,
)

AnyFluxObject = FluxObject[Any, Any]
KindModel = type[AnyFluxObject]

KINDS: tuple[KindModel, ...] = (
    GitRepository,
    OCIRepository,
    HelmRepository,
    HelmChart,
    Bucket,
    ExternalArtifact,
    Kustomization,
    HelmRelease,
)
"""The kinds, each carrying its group, version, names and printer columns as ClassVars."""


class UnknownKindError(LookupError):
    """No registered kind has this name (and group)."""


def find_kind(kind: str, group: str | None = None) -> KindModel:
    """The model of `kind` (in `group`, when given); accepts the kind, plural or short name."""
    wanted = kind.lower()
    for model in KINDS:
        if group is not None and group != model.GROUP:
            continue
        names = {model.KIND.lower(), model.plural(), *model.SHORT_NAMES}
        if wanted in names:
            return model
    where = f" in group {group}" if group else ""
    raise UnknownKindError(f"unknown kind {kind!r}{where}")


def find_api_version(api_version: str, kind: str) -> KindModel:
    """The model for an object's apiVersion and kind, as read from a manifest."""
    group, _, version = api_version.rpartition("/")
    model = find_kind(kind, group)
    if version != model.VERSION or kind != model.KIND:
        raise UnknownKindError(f"unknown kind {kind!r} in {api_version}")
    return model
