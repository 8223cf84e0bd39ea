"""Types shared by the two applier kinds, Kustomization and HelmRelease.

The overlay types (`Image`, `Selector`, `Patch`, `CustomHealthCheck`) follow
fluxcd/pkg/apis/kustomize; `CommonMetadata`, `DependencyReference`, the inventory and the
reconcile history have the same shape in kustomize-controller and helm-controller.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from gotk_api.meta import (
    FluxModel,
    JsonDict,
    NamespacedObjectReference,
    Time,
    omit_crd_default,
)

Flag = Annotated[bool, Field(json_schema_extra=omit_crd_default)]
"""A Go `bool` with `omitempty`: False in Python, no `default` in the CRD."""


def _int64_counter(schema: JsonDict) -> None:
    omit_crd_default(schema)
    schema["format"] = "int64"


Int64 = Annotated[int, Field(json_schema_extra={"format": "int64"})]
"""A Go `int64`."""

Counter = Annotated[int, Field(json_schema_extra=_int64_counter)]
"""A Go `int64` with `omitempty`: 0 in Python, no `default` in the CRD."""


class Image(FluxModel):
    """A kustomize image override: new name, new tag or digest for `name`."""

    name: str
    new_name: str | None = None
    new_tag: str | None = None
    digest: str | None = None


class Selector(FluxModel):
    """Which objects a patch (or a drift-detection ignore rule) applies to."""

    group: str | None = None
    version: str | None = None
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    annotation_selector: str | None = None
    label_selector: str | None = None


class Patch(FluxModel):
    """An inline strategic-merge or JSON 6902 patch, with an optional target."""

    patch: str
    target: Selector | None = None


class CustomHealthCheck(FluxModel):
    """CEL expressions that tell the health of objects of one kind.

    They are evaluated in the order `in_progress`, `failed`, `current`; the first true one
    decides the status.
    """

    api_version: str
    kind: str
    current: str
    in_progress: str | None = None
    failed: str | None = None


class CommonMetadata(FluxModel):
    """Labels and annotations stamped on every applied object, overriding same-named keys."""

    annotations: dict[str, str] | None = None
    labels: dict[str, str] | None = None


class DependencyReference(FluxModel):
    """An object of the same kind that must be ready before this one is reconciled."""

    name: str
    namespace: str | None = None
    ready_expr: str | None = None
    """CEL over `self` and `dep`; replaces the built-in readiness check when set."""

    def namespaced(self, default_namespace: str) -> NamespacedObjectReference:
        """The reference with the referrer's namespace filled in when none is given."""
        return NamespacedObjectReference(
            name=self.name, namespace=self.namespace or default_namespace
        )


class ResourceRef(FluxModel):
    """One applied object: id `<namespace>_<name>_<group>_<kind>` and its API version."""

    id: str
    v: str


class ResourceInventory(FluxModel):
    """The objects applied by the last successful reconciliation."""

    entries: list[ResourceRef]


HISTORY_MAX_SIZE = 5
"""At most this many reconcile snapshots are kept in `status.history` (fluxcd/pkg meta)."""


class ReconcileSnapshot(FluxModel):
    """One entry of a Kustomization's `status.history` (fluxcd/pkg meta.Snapshot)."""

    digest: str
    first_reconciled: Time
    last_reconciled: Time
    last_reconciled_duration: str
    last_reconciled_status: str
    total_reconciliations: Int64
    metadata: dict[str, str] | None = None


def upsert_history(
    history: list[ReconcileSnapshot],
    *,
    digest: str,
    timestamp: datetime,
    duration: str,
    status: str,
    metadata: dict[str, str] | None = None,
) -> list[ReconcileSnapshot]:
    """Record a reconciliation, newest first, as Flux's History.Upsert does.

    An entry with the same digest and status is updated and moved to the front; otherwise a
    new one is added. The result keeps at most `HISTORY_MAX_SIZE` entries.
    """
    for index, entry in enumerate(history):
        if entry.digest == digest and entry.last_reconciled_status == status:
            updated = ReconcileSnapshot(
                digest=digest,
                first_reconciled=entry.first_reconciled,
                last_reconciled=timestamp,
                last_reconciled_duration=duration,
                last_reconciled_status=status,
                total_reconciliations=entry.total_reconciliations + 1,
                metadata=metadata,
            )
            rest = history[:index] + history[index + 1 :]
            return [updated, *rest][:HISTORY_MAX_SIZE]
    fresh = ReconcileSnapshot(
        digest=digest,
        first_reconciled=timestamp,
        last_reconciled=timestamp,
        last_reconciled_duration=duration,
        last_reconciled_status=status,
        total_reconciliations=1,
        metadata=metadata,
    )
    return [fresh, *history][:HISTORY_MAX_SIZE]
