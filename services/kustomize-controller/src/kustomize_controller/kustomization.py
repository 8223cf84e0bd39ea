"""The Kustomization reconciler: source → dependencies → fetch → build → apply → prune →
health → status, in Flux's order.

Every step raises a gotk error with a Flux reason. A failure after the dependency check is
reported with a Warning event and retried after ``spec.retryInterval`` (Flux requeues there
rather than backing off); a missing source, artifact or dependency is retried after
``--requeue-dependency``. The inventory only moves forward after a successful apply, so a
failed build or apply never prunes anything.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import orjson
from gotk_api.conditions import (
    ARTIFACT_FAILED_REASON,
    PROGRESSING_REASON,
    READY,
    RECONCILIATION_FAILED_REASON,
    RECONCILIATION_SUCCEEDED_REASON,
)
from gotk_api.kustomize import Kustomization
from gotk_api.kustomize_types import ResourceInventory, upsert_history
from gotk_api.meta import format_duration
from gotk_api.objects import Obj
from gotk_artifacts import ArtifactNotFound, ExtractLimits, fetch_artifact
from gotk_runtime import (
    Conditions,
    EventRecorder,
    GotkError,
    KubeClient,
    Reconciler,
    Result,
    Waiting,
    note_attempt,
    patch_progress,
)
from gotk_ssa import (
    Action,
    ChangeSetEntry,
    ResourceApplier,
    add_refs,
    compile_health_checks,
    delete_objects,
    inventory_from_objects,
    set_common_metadata,
    stale_refs,
)

from kustomize_controller.apply_options import (
    apply_options,
    delete_options,
    refuse_encrypted_secrets,
    set_owner_labels,
)
from kustomize_controller.build import build_kustomization, resolve_build_dir
from kustomize_controller.dependencies import check_dependencies
from kustomize_controller.finalize import finalize_kustomization
from kustomize_controller.health_checks import run_health_checks
from kustomize_controller.impersonation import apply_client
from kustomize_controller.inputs import resolve_decryption_keys, resolve_variables
from kustomize_controller.options import CONTROLLER_NAME, KustomizeOptions
from kustomize_controller.source import SourceArtifact, SourceCache, get_source_artifact

log = logging.getLogger(__name__)

SOURCE_LOCALHOST_ENV = "SOURCE_CONTROLLER_LOCALHOST"
"""Rewrites the host of artifact URLs (Flux's knob for running outside the cluster)."""
ARTIFACT_LIMITS = ExtractLimits()
"""An artifact unpacks to at most 100 MiB in 100,000 entries (Flux: no cap)."""
MAX_ARTIFACT_SIZE = ARTIFACT_LIMITS.archive_cap()
"""The largest artifact downloaded (about 165 MiB): a bigger one cannot unpack within
ARTIFACT_LIMITS, so it is refused while it arrives rather than after (Flux: no cap)."""


class KustomizationReconciler(Reconciler):
    api_version: ClassVar[str] = Kustomization.api_version_string()
    kind: ClassVar[str] = "Kustomization"

    def __init__(
        self,
        client: KubeClient,
        events: EventRecorder,
        options: KustomizeOptions | None = None,
        *,
        health_poll_interval: float = 5.0,
        source_cache: SourceCache | None = None,
    ) -> None:
        self.client = client
        self.events = events
        self.options = options or KustomizeOptions()
        self.health_poll_interval = health_poll_interval
        self.source_cache = source_cache

    async def reconcile(self, obj: Obj) -> Result:
        ks = Kustomization.model_validate(obj)
        # Flux rejects invalid health check expressions before anything else is done.
        compile_health_checks(ks.spec.health_check_exprs)
        artifact = await get_source_artifact(
            self.client,
            ks,
            no_cross_namespace_refs=self.options.no_cross_namespace_refs,
            requeue_dependency=self.options.requeue_dependency,
            cache=self.source_cache,
        )
        note_attempt(artifact.revision, _origin_metadata(artifact))
        if ks.spec.depends_on:
            await check_dependencies(self.client, ks, artifact, self.options.requeue_dependency)
        return await self._reconcile_revision(obj, ks, artifact, time.monotonic())

    def retry_interval(self, obj: Obj) -> float | None:
        return Kustomization.model_validate(obj).get_retry_interval()

    async def finalize(self, obj: Obj) -> None:
        ks = Kustomization.model_validate(obj)
        await finalize_kustomization(
            self.client,
            self.events,
            obj,
            ks,
            default_service_account=self.options.default_service_account,
            insecure_exec=self.options.insecure_kubeconfig_exec,
            insecure_tls=self.options.insecure_kubeconfig_tls,
        )

    # -- the revision ------------------------------------------------------------------------

    async def _reconcile_revision(
        self, obj: Obj, ks: Kustomization, artifact: SourceArtifact, started: float
    ) -> Result:
        status = obj.setdefault("status", {})
        conditions = Conditions(obj)
        revision = artifact.revision
        timeout = ks.get_timeout()
        await self._progress(
            obj, f"Fetching manifests for revision {revision}", timeout, ready=True
        )
        old_inventory = ks.status.inventory
        workdir = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="kustomization-"))
        digest = ""
        history_meta = {"revision": revision}
        if artifact.origin_revision:
            history_meta["originRevision"] = artifact.origin_revision
        try:
            root = await self._fetch(artifact, workdir / "source", timeout)
            await asyncio.to_thread(resolve_build_dir, root, ks.spec.path)
            status["lastAttemptedRevision"] = revision
            await self._progress(obj, f"Building manifests for revision {revision}", timeout)
            variables = await resolve_variables(self.client, ks)
            keys = await resolve_decryption_keys(self.client, ks)
            objects = await build_kustomization(
                root,
                ks.spec,
                variables=variables,
                decryption_keys=keys,
                strict_substitution=self.options.strict_substitutions,
            )
        finally:
            await asyncio.to_thread(shutil.rmtree, workdir, True)

        if ks.spec.common_metadata is not None:
            metadata = ks.spec.common_metadata
            set_common_metadata(objects, metadata.labels, metadata.annotations)
        set_owner_labels(objects, ks.name, ks.namespace)
        digest = _digest(objects)
        await self._progress(obj, f"Detecting drift for revision {revision}", timeout)

        try:
            async with apply_client(
                self.client,
                ks,
                default_service_account=self.options.default_service_account,
                user_agent=CONTROLLER_NAME,
                insecure_exec=self.options.insecure_kubeconfig_exec,
                insecure_tls=self.options.insecure_kubeconfig_tls,
            ) as client:
                changes = await self._apply(obj, ks, client, artifact, objects)
                new_inventory = inventory_from_objects(e.ref.as_object() for e in changes)
                status["inventory"] = new_inventory.model_dump(mode="json")
                if ks.spec.prune:
                    await self._prune(obj, ks, client, artifact, old_inventory, new_inventory)
                await run_health_checks(
                    client,
                    obj,
                    ks,
                    changes,
                    artifact,
                    self.events,
                    is_new_revision=status.get("lastAppliedRevision") != revision,
                    drifted=any(e.action.changed for e in changes),
                    interval=self.health_poll_interval,
                )
        except GotkError as err:
            failed = (
                err.reason if err.reason not in ("", "Failed") else RECONCILIATION_FAILED_REASON
            )
            _record_history(obj, digest, started, failed, history_meta)
            raise

        status["lastAppliedRevision"] = revision
        if artifact.origin_revision:
            status["lastAppliedOriginRevision"] = artifact.origin_revision
        else:
            status.pop("lastAppliedOriginRevision", None)
        _record_history(obj, digest, started, RECONCILIATION_SUCCEEDED_REASON, history_meta)
        conditions.mark_true(
            READY, RECONCILIATION_SUCCEEDED_REASON, f"Applied revision: {revision}"
        )
        return Result(
            reason=RECONCILIATION_SUCCEEDED_REASON,
            message=f"Applied revision: {revision}",
            revision=revision,
            requeue_after=None,
        )

    async def _fetch(self, artifact: SourceArtifact, dest: Path, timeout: float) -> Path:
        url = _localhost(artifact.url)
        try:
            return await fetch_artifact(
                url,
                artifact.digest,
                dest,
                max_size=MAX_ARTIFACT_SIZE,
                timeout=timeout,
                retries=self.options.http_retry,
                limits=ARTIFACT_LIMITS,
            )
        except ArtifactNotFound:
            raise Waiting(
                "Source is not ready, artifact not found, retrying in "
                f"{format_duration(self.options.requeue_dependency)}",
                requeue_after=self.options.requeue_dependency,
                reason=ARTIFACT_FAILED_REASON,
            ) from None

    async def _apply(
        self,
        obj: Obj,
        ks: Kustomization,
        client: KubeClient,
        artifact: SourceArtifact,
        objects: list[Obj],
    ) -> list[ChangeSetEntry]:
        refuse_encrypted_secrets(objects, ks)
        options = apply_options(ks, CONTROLLER_NAME, self.options.override_managers)
        changes = await ResourceApplier(client, options).apply_all_staged(objects)
        changed = [str(e) for e in changes if e.action.changed]
        if changed:
            log.info("server-side apply completed: %s", ", ".join(changed))
            await self._change_event(obj, "\n".join(changed), artifact)
        return changes

    async def _prune(
        self,
        obj: Obj,
        ks: Kustomization,
        client: KubeClient,
        artifact: SourceArtifact,
        old: ResourceInventory | None,
        new: ResourceInventory,
    ) -> None:
        stale = stale_refs(old, new)
        if not stale:
            return
        result = await delete_objects(client, stale, delete_options(ks))
        if result.survivors:
            # Objects whose deletion failed stay tracked, so the next reconcile retries them.
            tracked = add_refs(new, result.survivors)
            obj["status"]["inventory"] = tracked.model_dump(mode="json")
        if result.changes:
            lines = "\n".join(str(e) for e in result.changes if e.action != Action.SKIPPED)
            if lines:
                log.info("garbage collection completed: %s", lines.replace("\n", ", "))
                await self._change_event(obj, lines, artifact)
        result.raise_for_errors()

    async def _progress(self, obj: Obj, what: str, timeout: float, *, ready: bool = False) -> None:
        conditions = Conditions(obj)
        if ready:
            conditions.mark_unknown(READY, PROGRESSING_REASON, "Reconciliation in progress")
        conditions.mark_reconciling(f"{what} with a timeout of {format_duration(timeout)}")
        await patch_progress(obj)

    async def _change_event(self, obj: Obj, message: str, artifact: SourceArtifact) -> None:
        """A Normal event for what apply or prune changed; failures are the runtime's."""
        # Flux names its events after the current Ready reason (Progressing mid-reconcile).
        ready = Conditions(obj).get(READY) or {}
        await self.events.record(
            obj,
            "Normal",
            str(ready.get("reason") or PROGRESSING_REASON),
            message,
            revision=artifact.revision,
            metadata=_origin_metadata(artifact),
        )


def _origin_metadata(artifact: SourceArtifact) -> dict[str, str] | None:
    return {"originRevision": artifact.origin_revision} if artifact.origin_revision else None


def _digest(objects: list[Obj]) -> str:
    data = b"".join(orjson.dumps(o, option=orjson.OPT_SORT_KEYS) + b"\n" for o in objects)
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def _record_history(
    obj: Obj, digest: str, started: float, status_reason: str, metadata: dict[str, str]
) -> None:
    if not digest:
        return
    ks = Kustomization.model_validate(obj)
    elapsed = time.monotonic() - started
    history = upsert_history(
        ks.status.history or [],
        digest=digest,
        timestamp=datetime.now(UTC).replace(microsecond=0),
        duration=f"{elapsed:.3f}s",
        status=status_reason,
        metadata=metadata,
    )
    obj["status"]["history"] = [h.model_dump(mode="json", exclude_none=True) for h in history]


def _localhost(url: str) -> str:
    override = os.environ.get(SOURCE_LOCALHOST_ENV)
    if not override:
        return url
    scheme, sep, rest = url.partition("://")
    _, slash, path = rest.partition("/")
    return f"{scheme}{sep}{override}{slash}{path}"
