"""The Bucket reconciler: storage → source (LIST, index, download) → artifact, as Flux orders it.

The revision is the digest of the etag index (see bucket.index). When it equals the stored
artifact's revision nothing is downloaded: an unchanged bucket costs one LIST request.
Only the generic (S3-compatible) provider is served; the others, STS and workload identity
stall with a message saying so.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

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
from gotk_artifacts.errors import ArtifactError
from gotk_artifacts.scratch import scratch_dir
from gotk_runtime import (
    Conditions,
    EventRecorder,
    GenericError,
    KubeClient,
    ReadySummary,
    Result,
    patch_progress,
)

from source_controller.bucket.connection import BucketConnection, check_supported, connection_for
from source_controller.bucket.errors import BucketError
from source_controller.bucket.fetch import IgnoreFile, Listing, download_index, list_bucket
from source_controller.credentials import read_secret
from source_controller.reconcilers import artifact_steps
from source_controller.reconcilers.steps import SourceReconciler
from source_controller.storage import ArtifactStorage, StorageError

__all__ = ["BucketReconciler"]

log = logging.getLogger(__name__)
_LATEST = "latest.tar.gz"
_KIND = "Bucket"


class BucketReconciler(SourceReconciler):
    api_version: ClassVar[str] = Bucket.api_version_string()
    kind: ClassVar[str] = _KIND
    ready_summary: ClassVar[ReadySummary] = ReadySummary(
        conditions=(STORAGE_OPERATION_FAILED, FETCH_FAILED, ARTIFACT_OUTDATED, ARTIFACT_IN_STORAGE),
        negative_polarity=(STORAGE_OPERATION_FAILED, FETCH_FAILED, ARTIFACT_OUTDATED),
    )

    def __init__(self, client: KubeClient, storage: ArtifactStorage, events: EventRecorder) -> None:
        super().__init__(client, storage, events)
        # `.sourceignore` per object and bucket, so an unchanged one is not read again.
        self._ignore_files: dict[tuple[str, ...], IgnoreFile] = {}

    async def reconcile(self, obj: Obj) -> Result:
        bucket = Bucket.model_validate(obj)
        try:
            check_supported(bucket)
        except BucketError as err:
            raise artifact_steps.fetch_failed(obj, err) from None
        await artifact_steps.reconcile_storage(self.context(obj))
        self._refresh_url(obj)
        connection = await self._connection(bucket, obj)

        async with scratch_dir("bucket-") as workdir:
            tree = workdir / "tree"
            await asyncio.to_thread(tree.mkdir)
            fetched = await self._fetch(bucket, connection, obj, tree)
            revision = fetched.listing.index.digest()
            if fetched.downloaded:
                await self._store(bucket, obj, tree, fetched.listing, revision)
        obj["status"]["observedIgnore"] = bucket.spec.ignore
        _drop_none(obj["status"])
        return Result(message=f"stored artifact for revision '{revision}'", revision=revision)

    # -- steps -------------------------------------------------------------------------------

    def _refresh_url(self, obj: Obj) -> None:
        """`status.url` follows the artifact: gone with it, and on the current address."""
        status = obj.setdefault("status", {})
        artifact = artifact_steps.current_artifact(obj)
        if artifact is None:
            status.pop("url", None)
        elif status.get("url"):
            directory = artifact["path"].rpartition("/")[0]
            status["url"] = self.storage.artifact_url(f"{directory}/{_LATEST}")

    async def _connection(self, bucket: Bucket, obj: Obj) -> BucketConnection:
        spec, namespace = bucket.spec, bucket.namespace
        try:
            secret = cert_secret = proxy_secret = None
            if spec.secret_ref is not None:
                name = spec.secret_ref.name
                data = await read_secret(self.client, namespace, name, field="spec.secretRef")
                secret = (name, data)
            if spec.cert_secret_ref is not None:
                name = spec.cert_secret_ref.name
                data = await read_secret(self.client, namespace, name, field="spec.certSecretRef")
                cert_secret = (name, data)
            if spec.proxy_secret_ref is not None:
                name = spec.proxy_secret_ref.name
                data = await read_secret(self.client, namespace, name, field="spec.proxySecretRef")
                proxy_secret = (name, data)
            return connection_for(
                bucket,
                timeout=parse_duration(spec.timeout),
                secret=secret,
                cert_secret=cert_secret,
                proxy_secret=proxy_secret,
            )
        except (BucketError, GenericError) as err:
            raise artifact_steps.fetch_failed(obj, err) from None

    async def _fetch(
        self, bucket: Bucket, connection: BucketConnection, obj: Obj, tree: Path
    ) -> _Fetched:
        # botocore is imported on first use only (see bucket.s3).
        from source_controller.bucket.s3 import open_bucket

        spec = bucket.spec
        cache_key = (bucket.namespace, bucket.name, connection.endpoint_url, connection.bucket)
        try:
            async with open_bucket(connection) as s3:
                listing = await list_bucket(
                    s3,
                    prefix=spec.prefix,
                    spec_ignore=spec.ignore,
                    cached=self._ignore_files.get(cache_key),
                    timeout=connection.timeout,
                )
                self._remember_ignore_file(cache_key, listing.ignore_file)
                revision = listing.index.digest()
                artifact = artifact_steps.current_artifact(obj)
                if artifact is not None and artifact.get("revision") == revision:
                    Conditions(obj).delete(FETCH_FAILED)
                    return _Fetched(listing, downloaded=False)
                if artifact_steps.mark_new_revision(obj, revision):
                    await patch_progress(obj)
                await download_index(s3, listing, tree, timeout=connection.timeout)
        except BucketError as err:
            raise artifact_steps.fetch_failed(obj, err) from None
        Conditions(obj).delete(FETCH_FAILED)
        return _Fetched(listing, downloaded=True)

    def _remember_ignore_file(self, key: tuple[str, ...], ignore_file: IgnoreFile | None) -> None:
        if ignore_file is None:
            self._ignore_files.pop(key, None)
        else:
            self._ignore_files[key] = ignore_file

    async def _store(
        self, bucket: Bucket, obj: Obj, tree: Path, listing: Listing, revision: str
    ) -> None:
        hex_digest = revision.partition(":")[2]
        try:
            # Flux archives the download directory unfiltered: ignore rules already
            # decided what was downloaded.
            stored = await self.storage.archive(
                tree, _KIND, bucket.namespace, bucket.name, filename=f"{hex_digest}.tar.gz"
            )
        except (StorageError, ArtifactError) as err:
            raise artifact_steps.storage_failure(obj, err) from None
        previous = (artifact_steps.current_artifact(obj) or {}).get("digest")
        artifact_steps.record_artifact(obj, stored.to_api(revision))
        status = obj["status"]
        try:
            status["url"] = self.storage.artifact_url(await self.storage.set_latest(stored.path))
        except StorageError as err:
            # Best effort, as in Flux: the artifact itself is stored and recorded.
            log.warning("cannot update %s of %s: %s", _LATEST, stored.path, err)
        if previous != stored.digest:
            await self.events.normal(
                obj,
                NEW_ARTIFACT_EVENT_REASON,
                f"stored artifact with {len(listing.index)} fetched files "
                f"from '{bucket.spec.bucket_name}' bucket",
                revision=revision,
                metadata={"revision": revision, "digest": stored.digest},
            )

    async def finalize(self, obj: Obj) -> None:
        meta = obj["metadata"]
        for key in [k for k in self._ignore_files if k[:2] == (meta["namespace"], meta["name"])]:
            del self._ignore_files[key]
        await super().finalize(obj)


@dataclass(frozen=True, slots=True)
class _Fetched:
    listing: Listing
    downloaded: bool
    """False when the stored artifact already has the listing's revision."""


def _drop_none(status: Obj) -> None:
    for key in [k for k, v in status.items() if v is None]:
        del status[key]
