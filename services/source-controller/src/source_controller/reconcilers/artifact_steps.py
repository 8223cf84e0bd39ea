"""What every source kind's steps share: the storage step, and noting and recording revisions.

Flux's source reconcilers all start with `reconcileStorage` (garbage-collect, drop an
artifact from status that has disappeared from storage or no longer matches its digest)
and end by recording the artifact and the ArtifactInStorage condition. Failures of the
fetch and store steps are recorded on FetchFailed / StorageOperationFailed by
`steps.records`.
"""

from __future__ import annotations

import logging

from gotk_api.conditions import (
    ARTIFACT_IN_STORAGE,
    ARTIFACT_OUTDATED,
    NEW_REVISION_REASON,
    PROGRESSING_REASON,
    READY,
    STORAGE_OPERATION_FAILED,
    SUCCEEDED_REASON,
)
from gotk_api.meta import Artifact
from gotk_api.objects import Obj
from gotk_artifacts.errors import ArtifactError
from gotk_runtime import Conditions

from source_controller.reconcilers.steps import SourceContext
from source_controller.storage import StorageError

log = logging.getLogger(__name__)


def current_artifact(obj: Obj) -> Obj | None:
    artifact: Obj | None = (obj.get("status") or {}).get("artifact")
    return artifact


async def reconcile_storage(ctx: SourceContext) -> None:
    """Garbage-collect old artifacts and forget one that is gone from storage or corrupt."""
    obj, storage = ctx.obj, ctx.storage
    meta, conditions = obj["metadata"], Conditions(obj)
    artifact = current_artifact(obj)
    try:
        await storage.garbage_collect(
            obj["kind"],
            meta["namespace"],
            meta["name"],
            current=artifact["path"] if artifact else None,
        )
    except StorageError as err:
        # GC is housekeeping: report it but do not fail the reconcile over it (as Flux).
        log.warning("garbage collection failed: %s", err)
    if artifact is None:
        conditions.delete(ARTIFACT_IN_STORAGE)
        return
    problem = ""
    if not await storage.exists(artifact["path"]):
        problem = "disappeared from storage"
    else:
        try:
            await storage.verify(artifact["path"], artifact["digest"])
        except ArtifactError:
            problem = "no longer matches its digest"
    if problem:
        obj["status"].pop("artifact", None)
        conditions.delete(ARTIFACT_IN_STORAGE)
        mark_progressing(obj, f"building artifact: {problem}")
        return
    # The advertised address may have changed since the artifact was written.
    artifact["url"] = storage.artifact_url(artifact["path"])
    conditions.mark_true(
        ARTIFACT_IN_STORAGE,
        SUCCEEDED_REASON,
        f"stored artifact for revision '{artifact['revision']}'",
    )


def mark_new_revision(obj: Obj, revision: str) -> bool:
    """Note a revision that differs from the stored artifact's; return whether it does."""
    artifact = current_artifact(obj)
    if artifact is not None and artifact.get("revision") == revision:
        return False
    conditions = Conditions(obj)
    message = f"new upstream revision '{revision}'"
    conditions.mark_true(ARTIFACT_OUTDATED, NEW_REVISION_REASON, message)
    mark_progressing(obj, f"building artifact: {message}")
    return True


def mark_progressing(obj: Obj, message: str) -> None:
    """Reconciling=True and Ready=Unknown while work is under way, as Flux reports it."""
    conditions = Conditions(obj)
    conditions.mark_reconciling(message)
    conditions.mark_unknown(READY, PROGRESSING_REASON, message)


def record_artifact(obj: Obj, artifact: Artifact) -> None:
    """Put a freshly stored artifact in status and mark it in storage."""
    status = obj.setdefault("status", {})
    status["artifact"] = artifact.model_dump(mode="json", exclude_none=True)
    conditions = Conditions(obj)
    conditions.delete(ARTIFACT_OUTDATED)
    conditions.delete(STORAGE_OPERATION_FAILED)
    conditions.mark_true(
        ARTIFACT_IN_STORAGE, SUCCEEDED_REASON, f"stored artifact for revision '{artifact.revision}'"
    )
