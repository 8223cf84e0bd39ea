"""ExternalArtifact, source.toolkit.fluxcd.io/v1 (Flux 2.7+).

Its artifact is produced by a third-party controller; gotk only serves the kind so that
Kustomizations and HelmReleases can refer to it.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from gotk_api.groups import SOURCE_CATEGORIES, SOURCE_GROUP, SOURCE_VERSION
from gotk_api.meta import (
    AGE_COLUMN,
    READY_COLUMN,
    STATUS_COLUMN,
    Artifact,
    ConditionedStatus,
    FluxModel,
    FluxObject,
    NamespacedObjectKindReference,
    PrinterColumn,
)

SOURCE_NAME_COLUMN = PrinterColumn("Source", "string", ".spec.sourceRef.name")


class ExternalArtifactSpec(FluxModel):
    """Which object the artifact was generated for."""

    source_ref: NamespacedObjectKindReference | None = None
    """The custom resource the artifact is generated from."""


class ExternalArtifactStatus(ConditionedStatus):
    """The artifact published by the external controller."""

    artifact: Artifact | None = None
    """The last artifact published."""


class ExternalArtifact(FluxObject[ExternalArtifactSpec, ExternalArtifactStatus]):
    """An artifact produced outside source-controller."""

    GROUP: ClassVar[str] = SOURCE_GROUP
    VERSION: ClassVar[str] = SOURCE_VERSION
    KIND: ClassVar[str] = "ExternalArtifact"
    PLURAL: ClassVar[str] = "externalartifacts"
    CATEGORIES: ClassVar[tuple[str, ...]] = SOURCE_CATEGORIES
    PRINTER_COLUMNS: ClassVar[tuple[PrinterColumn, ...]] = (
        AGE_COLUMN,
        READY_COLUMN,
        STATUS_COLUMN,
        SOURCE_NAME_COLUMN,
    )

    spec: ExternalArtifactSpec = Field(default_factory=ExternalArtifactSpec)
    status: ExternalArtifactStatus = Field(default_factory=ExternalArtifactStatus)
