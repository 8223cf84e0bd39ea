"""The HelmRepository reconciler: storage → index → artifact, as Flux orders it.

`type: default` runs `STEPS`: it downloads `<url>/index.yaml` (streamed, capped at
`--helm-index-max-size`), revisions it by the sha256 of the bytes served (Flux's revision;
`fetch_index` finishes the run when it is the stored one), compacts it in a child process
(see helm/index_compact) and stores the compact JSON as `index-<hex>.yaml` with an
`index.yaml` link, which `status.url` points at. `type: oci` runs `OCI_STEPS`: no index
and no artifact, only a check that the registry answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
from gotk_artifacts.urls import redact_url
from gotk_runtime import (
    EventRecorder,
    KubeClient,
    ReadySummary,
    Result,
    Stalling,
    patch_progress,
)

from source_controller.helm.auth import RepositoryAuth, repository_auth_for
from source_controller.helm.download import Downloaded, download
from source_controller.helm.errors import IndexTooLarge
from source_controller.helm.index_process import compact_index_in_child
from source_controller.helm.oci_repository import check_oci_repository
from source_controller.helm.urls import index_url
from source_controller.reconcilers import artifact_steps
from source_controller.reconcilers.steps import (
    SourceContext,
    SourceReconciler,
    Step,
    records,
    run_steps,
)
from source_controller.storage import ArtifactStorage

__all__ = [
    "DEFAULT_HELM_INDEX_MAX_SIZE",
    "OCI_STEPS",
    "STEPS",
    "HelmRepositoryContext",
    "HelmRepositoryReconciler",
]

KIND: Final = "HelmRepository"
DEFAULT_HELM_INDEX_MAX_SIZE: Final = 50 << 20  # --helm-index-max-size
INDEX_LINK: Final = "index.yaml"
_COMPACT_TIMEOUT: Final = 120.0


@dataclass(eq=False, kw_only=True)
class HelmRepositoryContext(SourceContext):
    repo: HelmRepository
    index_max_size: int = DEFAULT_HELM_INDEX_MAX_SIZE
    auth: RepositoryAuth = field(init=False)
    index: Downloaded = field(init=False)
    """The index as served; its sha256 is the revision."""
    compact: Path = field(init=False)

    @property
    def revision(self) -> str:
        return f"sha256:{self.index.sha256}"

    def finish_with(self, message: str, revision: str | None = None) -> None:
        """Finish, requeued at exactly `spec.interval`."""
        interval = self.repo.spec.interval_seconds()
        self.finish(Result(message=message, revision=revision, requeue_after=interval))


@records(FETCH_FAILED)
async def check_url(ctx: HelmRepositoryContext) -> None:
    if urlsplit(ctx.repo.spec.url).scheme == "oci":
        raise Stalling(
            "invalid Helm repository URL: 'oci' URL scheme cannot be used with "
            "'default' HelmRepository type",
            reason=URL_INVALID_REASON,
        )


@records(FETCH_FAILED)
async def resolve_auth(ctx: HelmRepositoryContext) -> None:
    ctx.auth = await repository_auth_for(ctx.client, ctx.repo)


@records(FETCH_FAILED)
async def fetch_index(ctx: HelmRepositoryContext) -> None:
    """Download the index; finish when it is the stored revision."""
    workdir = await ctx.scratch("helmrepository-")
    ctx.index = await download(
        index_url(ctx.repo.spec.url),
        workdir / "index.yaml",
        auth=ctx.auth,
        repository_url=ctx.repo.spec.url,
        timeout=ctx.repo.spec.timeout_seconds(),
        max_size=ctx.index_max_size,
        what="index",
        too_large=IndexTooLarge,
    )
    current = artifact_steps.current_artifact(ctx.obj)
    if current is not None and current.get("revision") == ctx.revision:
        ctx.conditions.delete(FETCH_FAILED)
        ctx.finish_with(_stored(ctx.revision), ctx.revision)
    elif artifact_steps.mark_new_revision(ctx.obj, ctx.revision) and current is not None:
        await patch_progress(ctx.obj)


@records(FETCH_FAILED)
async def compact_index(ctx: HelmRepositoryContext) -> None:
    """Parse and compact the index in a child process (see helm/index_compact)."""
    ctx.compact = ctx.index.path.with_name("index.json")
    await compact_index_in_child(ctx.index.path, ctx.compact, timeout=_COMPACT_TIMEOUT)
    ctx.conditions.delete(FETCH_FAILED)


@records(STORAGE_OPERATION_FAILED)
async def store_index(ctx: HelmRepositoryContext) -> None:
    repo, revision, storage = ctx.repo, ctx.revision, ctx.storage
    hex_digest = revision.removeprefix("sha256:")
    stored = await storage.copy_file(
        ctx.compact, KIND, repo.namespace, repo.name, filename=f"index-{hex_digest}.yaml"
    )
    link = await storage.set_latest(stored.path, INDEX_LINK)
    previous = (artifact_steps.current_artifact(ctx.obj) or {}).get("digest")
    artifact_steps.record_artifact(ctx.obj, stored.to_api(revision))
    ctx.conditions.mark_true(ARTIFACT_IN_STORAGE, SUCCEEDED_REASON, _stored(revision))
    ctx.status["url"] = storage.artifact_url(link)
    if previous != stored.digest:
        await ctx.events.normal(
            ctx.obj,
            NEW_ARTIFACT_EVENT_REASON,
            f"stored fetched index of size {ctx.index.size} bytes from "
            f"'{redact_url(index_url(repo.spec.url))}'",
            revision=revision,
            metadata={"revision": revision, "digest": stored.digest},
        )
    ctx.finish_with(_stored(revision), revision)


async def forget_artifact(ctx: HelmRepositoryContext) -> None:
    """An OCI HelmRepository has no artifact (as in Flux): drop one left from another type."""
    for key in ("artifact", "url"):
        ctx.status.pop(key, None)
    for condition in (ARTIFACT_IN_STORAGE, ARTIFACT_OUTDATED, STORAGE_OPERATION_FAILED):
        ctx.conditions.delete(condition)
    await ctx.storage.remove_all(KIND, ctx.repo.namespace, ctx.repo.name)


@records(FETCH_FAILED)
async def check_registry(ctx: HelmRepositoryContext) -> None:
    """Ready once the registry answers (and accepts the credentials, for Basic auth)."""
    await check_oci_repository(ctx.client, ctx.repo)
    ctx.conditions.delete(FETCH_FAILED)
    ctx.finish_with("Helm repository is ready")


STEPS: Final[tuple[Step[HelmRepositoryContext], ...]] = (
    artifact_steps.reconcile_storage,
    check_url,
    resolve_auth,
    fetch_index,
    compact_index,
    store_index,
)
OCI_STEPS: Final[tuple[Step[HelmRepositoryContext], ...]] = (forget_artifact, check_registry)


class HelmRepositoryReconciler(SourceReconciler):
    api_version: ClassVar[str] = HelmRepository.api_version_string()
    kind: ClassVar[str] = KIND
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

    def context(self, obj: Obj) -> HelmRepositoryContext:
        return HelmRepositoryContext(
            obj=obj,
            repo=HelmRepository.model_validate(obj),
            index_max_size=self.index_max_size,
            client=self.client,
            storage=self.storage,
            events=self.events,
        )

    async def reconcile(self, obj: Obj) -> Result:
        ctx = self.context(obj)
        return await run_steps(ctx, OCI_STEPS if ctx.repo.spec.type == "oci" else STEPS)


def _stored(revision: str) -> str:
    return f"stored artifact: revision '{revision}'"
