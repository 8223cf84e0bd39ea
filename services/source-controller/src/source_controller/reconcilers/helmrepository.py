"""The HelmRepository reconciler: storage → index → artifact, as Flux orders it.

`type: default` downloads `<url>/index.yaml` (streamed, capped at `--helm-index-max-size`),
revisions it by the sha256 of the bytes served (Flux's revision), compacts it in a child
process (see helm/index_compact) and stores the compact JSON as `index-<hex>.yaml` with an
`index.yaml` link, which `status.url` points at. `type: oci` has no index and no artifact.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Final
from urllib.parse import urlsplit

from gotk_api.conditions import (
    ARTIFACT_IN_STORAGE,
    ARTIFACT_OUTDATED,
    FETCH_FAILED,
    NEW_ARTIFACT_EVENT_REASON,
    STORAGE_OPERATION_FAILED,
    SUCCEEDED_REASON,
    URL_INVALID_REASON,
)
from gotk_api.objects import Obj
from gotk_api.source_helm import HelmRepository
from gotk_artifacts.errors import ArtifactError
from gotk_artifacts.scratch import scratch_dir
from gotk_artifacts.urls import redact_url
from gotk_runtime import (
    Conditions,
    EventRecorder,
    GenericError,
    KubeClient,
    ReadySummary,
    Result,
    Stalling,
    patch_progress,
)

from source_controller.helm.auth import RepositoryAuth, repository_auth_for
from source_controller.helm.download import Downloaded, download
from source_controller.helm.errors import HelmError, IndexTooLarge
from source_controller.helm.index_process import compact_index_in_child
from source_controller.helm.oci_repository import check_oci_repository
from source_controller.helm.urls import index_url
from source_controller.reconcilers import artifact_steps
from source_controller.reconcilers.steps import SourceReconciler
from source_controller.storage import ArtifactStorage, StorageError

__all__ = ["DEFAULT_HELM_INDEX_MAX_SIZE", "HelmRepositoryReconciler"]

DEFAULT_HELM_INDEX_MAX_SIZE: Final = 50 << 20  # --helm-index-max-size
INDEX_LINK: Final = "index.yaml"
_COMPACT_TIMEOUT: Final = 120.0


class HelmRepositoryReconciler(SourceReconciler):
    api_version: ClassVar[str] = HelmRepository.api_version_string()
    kind: ClassVar[str] = "HelmRepository"
    ready_summary: ClassVar[ReadySummary] = ReadySummary(
        conditions=(STORAGE_OPERATION_FAILED, FETCH_FAILED, ARTIFACT_OUTDATED, ARTIFACT_IN_STORAGE),
        negative_polarity=(STORAGE_OPERATION_FAILED, FETCH_FAILED, ARTIFACT_OUTDATED),
    )

    def __init__(
        self,
        client: KubeClient,
        storage: ArtifactStorage,
        events: EventRecorder,
        *,
        index_max_size: int = DEFAULT_HELM_INDEX_MAX_SIZE,
    ) -> None:
        super().__init__(client, storage, events)
        self.index_max_size = index_max_size

    async def reconcile(self, obj: Obj) -> Result:
        repo = HelmRepository.model_validate(obj)
        interval = repo.spec.interval_seconds()
        if repo.spec.type == "oci":
            return await self._reconcile_oci(repo, obj, interval)
        await artifact_steps.reconcile_storage(self.context(obj))
        if urlsplit(repo.spec.url).scheme == "oci":
            message = (
                "invalid Helm repository URL: 'oci' URL scheme cannot be used with "
                "'default' HelmRepository type"
            )
            Conditions(obj).mark_true(FETCH_FAILED, URL_INVALID_REASON, message)
            raise Stalling(message, reason=URL_INVALID_REASON)
        try:
            auth = await repository_auth_for(self.client, repo)
        except (HelmError, GenericError) as err:
            raise artifact_steps.fetch_failed(obj, err) from None

        async with scratch_dir("helmrepository-") as workdir:
            raw = await self._fetch_index(repo, auth, workdir, obj)
            revision = f"sha256:{raw.sha256}"
            current = artifact_steps.current_artifact(obj)
            if current is not None and current.get("revision") == revision:
                Conditions(obj).delete(FETCH_FAILED)
                return self._result(revision, interval)
            if artifact_steps.mark_new_revision(obj, revision) and current is not None:
                await patch_progress(obj)
            compact = workdir / "index.json"
            try:
                await compact_index_in_child(raw.path, compact, timeout=_COMPACT_TIMEOUT)
            except HelmError as err:
                raise artifact_steps.fetch_failed(obj, err) from None
            Conditions(obj).delete(FETCH_FAILED)
            await self._store(repo, obj, compact, revision, raw.size)
        return self._result(revision, interval)

    @staticmethod
    def _result(revision: str, interval: float) -> Result:
        return Result(
            message=f"stored artifact: revision '{revision}'",
            revision=revision,
            requeue_after=interval,
        )

    async def _fetch_index(
        self, repo: HelmRepository, auth: RepositoryAuth, workdir: Path, obj: Obj
    ) -> Downloaded:
        url = index_url(repo.spec.url)
        try:
            return await download(
                url,
                workdir / "index.yaml",
                auth=auth,
                repository_url=repo.spec.url,
                timeout=repo.spec.timeout_seconds(),
                max_size=self.index_max_size,
                what="index",
                too_large=IndexTooLarge,
            )
        except HelmError as err:
            raise artifact_steps.fetch_failed(obj, err) from None

    async def _store(
        self, repo: HelmRepository, obj: Obj, compact: Path, revision: str, fetched: int
    ) -> None:
        hex_digest = revision.removeprefix("sha256:")
        try:
            stored = await self.storage.copy_file(
                compact, self.kind, repo.namespace, repo.name, filename=f"index-{hex_digest}.yaml"
            )
            link = await self.storage.set_latest(stored.path, INDEX_LINK)
        except (StorageError, ArtifactError) as err:
            raise artifact_steps.storage_failure(obj, err) from None
        previous = (artifact_steps.current_artifact(obj) or {}).get("digest")
        artifact_steps.record_artifact(obj, stored.to_api(revision))
        Conditions(obj).mark_true(
            ARTIFACT_IN_STORAGE, SUCCEEDED_REASON, f"stored artifact: revision '{revision}'"
        )
        obj["status"]["url"] = self.storage.artifact_url(link)
        if previous != stored.digest:
            await self.events.normal(
                obj,
                NEW_ARTIFACT_EVENT_REASON,
                f"stored fetched index of size {fetched} bytes from "
                f"'{redact_url(index_url(repo.spec.url))}'",
                revision=revision,
                metadata={"revision": revision, "digest": stored.digest},
            )

    async def _reconcile_oci(self, repo: HelmRepository, obj: Obj, interval: float) -> Result:
        """No index and no artifact (as Flux); Ready once the registry accepts us."""
        status = obj.setdefault("status", {})
        for key in ("artifact", "url"):
            status.pop(key, None)
        conditions = Conditions(obj)
        for condition in (ARTIFACT_IN_STORAGE, ARTIFACT_OUTDATED, STORAGE_OPERATION_FAILED):
            conditions.delete(condition)
        await self.storage.remove_all(self.kind, repo.namespace, repo.name)
        try:
            await check_oci_repository(self.client, repo)
        except (HelmError, GenericError) as err:
            raise artifact_steps.fetch_failed(obj, err) from None
        conditions.delete(FETCH_FAILED)
        return Result(message="Helm repository is ready", requeue_after=interval)
