"""The Bucket reconciler: storage → source (LIST, index, download) → artifact, as Flux orders it.

`STEPS` is the whole reconcile. The revision is the digest of the etag index (see
bucket.index). When it equals the stored artifact's revision nothing is downloaded: an
unchanged bucket costs one LIST request. Only the generic (S3-compatible) provider is
served; the others, STS and workload identity stall with a message saying so.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Final

from gotk_api.conditions import (
    ARTIFACT_IN_STORAGE,
    ARTIFACT_OUTDATED,
    FETCH_FAILED,
    NEW_ARTIFACT_EVENT_REASON,
    STORAGE_OPERATION_FAILED,
)
from gotk_api.meta import parse_duration
from gotk_api.objects import Obj
from gotk_api.source_bucket import Bucket
from gotk_runtime import EventRecorder, KubeClient, ReadySummary, Result, patch_progress

from source_controller.bucket.connection import BucketConnection, check_supported, connection_for
from source_controller.bucket.fetch import IgnoreFile, Listing, download_index, list_bucket
from source_controller.credentials import SecretData, read_secret
from source_controller.reconcilers import artifact_steps
from source_controller.reconcilers.steps import (
    SourceContext,
    SourceReconciler,
    Step,
    records,
    run_steps,
)
from source_controller.storage import ArtifactStorage, StorageError

__all__ = ["STEPS", "BucketContext", "BucketReconciler"]

log = logging.getLogger(__name__)
KIND: Final = "Bucket"
_LATEST: Final = "latest.tar.gz"

IgnoreFiles = dict[tuple[str, ...], IgnoreFile]
"""`.sourceignore` per object and bucket, so an unchanged one is not read again."""


@dataclass(eq=False, kw_only=True)
class BucketContext(SourceContext):
    bucket: Bucket
    ignore_files: IgnoreFiles = field(default_factory=dict)
    connection: BucketConnection = field(init=False)
    listing: Listing = field(init=False)
    tree: Path = field(init=False)
    downloaded: bool = False
    """False when the stored artifact already has the listing's revision."""

    @property
    def revision(self) -> str:
        return self.listing.index.digest()


@records(FETCH_FAILED)
async def check_spec(ctx: BucketContext) -> None:
    """Stall on a provider, STS or workload identity gotk cannot serve yet."""
    check_supported(ctx.bucket)


async def refresh_url(ctx: BucketContext) -> None:
    """`status.url` follows the artifact: gone with it, and on the current address."""
    artifact = artifact_steps.current_artifact(ctx.obj)
    if artifact is None:
        ctx.status.pop("url", None)
    elif ctx.status.get("url"):
        directory = artifact["path"].rpartition("/")[0]
        ctx.status["url"] = ctx.storage.artifact_url(f"{directory}/{_LATEST}")


@records(FETCH_FAILED)
async def connect(ctx: BucketContext) -> None:
    """The endpoint, credentials, TLS settings and proxy the spec and its Secrets give."""
    spec = ctx.bucket.spec
    secret = cert_secret = proxy_secret = None
    if spec.secret_ref is not None:
        secret = await _read_secret(ctx, spec.secret_ref.name, "spec.secretRef")
    if spec.cert_secret_ref is not None:
        cert_secret = await _read_secret(ctx, spec.cert_secret_ref.name, "spec.certSecretRef")
    if spec.proxy_secret_ref is not None:
        proxy_secret = await _read_secret(ctx, spec.proxy_secret_ref.name, "spec.proxySecretRef")
    ctx.connection = connection_for(
        ctx.bucket,
        timeout=parse_duration(spec.timeout),
        secret=secret,
        cert_secret=cert_secret,
        proxy_secret=proxy_secret,
    )


@records(FETCH_FAILED)
async def fetch(ctx: BucketContext) -> None:
    """LIST and index the bucket; download the indexed objects unless the revision is stored."""
    # botocore is imported on first use only (see bucket.s3).
    from source_controller.bucket.s3 import open_bucket

    spec, connection = ctx.bucket.spec, ctx.connection
    ctx.tree = await ctx.scratch("bucket-") / "tree"
    await asyncio.to_thread(ctx.tree.mkdir)
    cache_key = (ctx.bucket.namespace, ctx.bucket.name, connection.endpoint_url, connection.bucket)
    async with open_bucket(connection) as s3:
        ctx.listing = await list_bucket(
            s3,
            prefix=spec.prefix,
            spec_ignore=spec.ignore,
            cached=ctx.ignore_files.get(cache_key),
            timeout=connection.timeout,
        )
        if ctx.listing.ignore_file is None:
            ctx.ignore_files.pop(cache_key, None)
        else:
            ctx.ignore_files[cache_key] = ctx.listing.ignore_file
        artifact = artifact_steps.current_artifact(ctx.obj)
        if artifact is None or artifact.get("revision") != ctx.revision:
            if artifact_steps.mark_new_revision(ctx.obj, ctx.revision):
                await patch_progress(ctx.obj)
            await download_index(s3, ctx.listing, ctx.tree, timeout=connection.timeout)
            ctx.downloaded = True
    ctx.conditions.delete(FETCH_FAILED)


@records(STORAGE_OPERATION_FAILED)
async def store_artifact(ctx: BucketContext) -> None:
    """Archive what was downloaded, if anything, and finish."""
    if ctx.downloaded:
        await _store(ctx)
    ctx.status["observedIgnore"] = ctx.bucket.spec.ignore
    for key in [k for k, v in ctx.status.items() if v is None]:
        del ctx.status[key]
    revision = ctx.revision
    ctx.finish(Result(message=f"stored artifact for revision '{revision}'", revision=revision))


STEPS: Final[tuple[Step[BucketContext], ...]] = (
    check_spec,
    artifact_steps.reconcile_storage,
    refresh_url,
    connect,
    fetch,
    store_artifact,
)


class BucketReconciler(SourceReconciler):
    api_version: ClassVar[str] = Bucket.api_version_string()
    kind: ClassVar[str] = KIND
    ready_summary: ClassVar[ReadySummary] = ReadySummary(
        conditions=(STORAGE_OPERATION_FAILED, FETCH_FAILED, ARTIFACT_OUTDATED, ARTIFACT_IN_STORAGE),
        negative_polarity=(STORAGE_OPERATION_FAILED, FETCH_FAILED, ARTIFACT_OUTDATED),
    )

    def __init__(self, client: KubeClient, storage: ArtifactStorage, events: EventRecorder) -> None:
        super().__init__(client, storage, events)
        self._ignore_files: IgnoreFiles = {}

    def context(self, obj: Obj) -> BucketContext:
        return BucketContext(
            obj=obj,
            bucket=Bucket.model_validate(obj),
            ignore_files=self._ignore_files,
            client=self.client,
            storage=self.storage,
            events=self.events,
        )

    async def reconcile(self, obj: Obj) -> Result:
        return await run_steps(self.context(obj), STEPS)

    async def finalize(self, obj: Obj) -> None:
        meta = obj["metadata"]
        for key in [k for k in self._ignore_files if k[:2] == (meta["namespace"], meta["name"])]:
            del self._ignore_files[key]
        await super().finalize(obj)


async def _read_secret(ctx: BucketContext, name: str, field: str) -> tuple[str, SecretData]:
    return name, await read_secret(ctx.client, ctx.bucket.namespace, name, field=field)


async def _store(ctx: BucketContext) -> None:
    bucket, revision, storage = ctx.bucket, ctx.revision, ctx.storage
    # Flux archives the download directory unfiltered: ignore rules already decided what
    # was downloaded.
    filename = f"{revision.partition(':')[2]}.tar.gz"
    stored = await storage.archive(ctx.tree, KIND, bucket.namespace, bucket.name, filename=filename)
    previous = (artifact_steps.current_artifact(ctx.obj) or {}).get("digest")
    artifact_steps.record_artifact(ctx.obj, stored.to_api(revision))
    try:
        ctx.status["url"] = storage.artifact_url(await storage.set_latest(stored.path))
    except StorageError as err:
        # Best effort, as in Flux: the artifact itself is stored and recorded.
        log.warning("cannot update %s of %s: %s", _LATEST, stored.path, err)
    if previous != stored.digest:
        await ctx.events.normal(
            ctx.obj,
            NEW_ARTIFACT_EVENT_REASON,
            f"stored artifact with {len(ctx.listing.index)} fetched files "
            f"from '{bucket.spec.bucket_name}' bucket",
            revision=revision,
            metadata={"revision": revision, "digest": stored.digest},
        )
