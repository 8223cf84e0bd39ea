"""Index a bucket (LIST + ignore rules) and download the indexed objects, as Flux does.

Ignore rules are the bucket's root `.sourceignore` object followed by `spec.ignore`, with no
default exclusions (unlike Git sources). The `.sourceignore` object itself never enters
the index, but Flux downloads it into the directory it archives, so it is in the artifact;
gotk keeps that. Its content is cached by etag, so a reconcile that finds an unchanged
bucket costs one LIST request (plus a conditional GET when `spec.prefix` hides the file
from the listing).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from gotk_artifacts.ignore import IGNORE_FILE, IgnoreMatcher, read_patterns

from source_controller.bucket.errors import BucketError, BucketOperationFailed, BucketTimeout
from source_controller.bucket.index import EtagIndex
from source_controller.bucket.keys import check_key, check_tree, is_directory_marker, local_path

if TYPE_CHECKING:
    from source_controller.bucket.s3 import S3Bucket

__all__ = [
    "MAX_CONCURRENT_FETCHES",
    "IgnoreFile",
    "Listing",
    "download_index",
    "index_objects",
    "list_bucket",
]

MAX_CONCURRENT_FETCHES: Final = 100
"""Flux's bound on parallel object downloads (maxConcurrentBucketFetches)."""
IGNORE_FILE_LIMIT: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class IgnoreFile:
    """The bucket's `.sourceignore` object as last read."""

    etag: str
    content: bytes


@dataclass(frozen=True, slots=True)
class Listing:
    index: EtagIndex
    ignore_file: IgnoreFile | None


def index_objects(
    objects: Iterable[tuple[str, str]], *, ignore_file: bytes | None, spec_ignore: str | None
) -> EtagIndex:
    """The index of the listed `(key, etag)` pairs that Flux would fetch.

    Directory markers and the root `.sourceignore` are skipped, then ignored keys; every
    remaining key must be safe to write (UnsafeObjectKey / ObjectKeyConflict otherwise), so
    a hostile key can still be excluded with `spec.ignore`.
    """
    patterns = []
    if ignore_file is not None:
        patterns += read_patterns(ignore_file.decode("utf-8", errors="replace"))
    if spec_ignore is not None:
        patterns += read_patterns(spec_ignore)
    matcher = IgnoreMatcher(patterns)
    index = EtagIndex()
    for key, etag in objects:
        if is_directory_marker(key) or key == IGNORE_FILE:
            continue
        if matcher.match(key.split("/"), False):
            continue
        check_key(key)
        index.add(key, etag)
    check_tree(key for key, _ in index.items())
    return index


async def list_bucket(
    bucket: S3Bucket,
    *,
    prefix: str | None,
    spec_ignore: str | None,
    cached: IgnoreFile | None,
    timeout: float,
) -> Listing:
    """LIST the bucket, read `.sourceignore` if it changed, and build the index."""
    try:
        async with asyncio.timeout(timeout):
            objects = [item async for item in bucket.list_objects(prefix)]
            ignore_file = await _ignore_file(bucket, objects, prefix=prefix, cached=cached)
    except TimeoutError:
        raise BucketTimeout(
            f"indexation of objects from bucket '{bucket.name}' timed out after {timeout:g}s"
        ) from None
    content = ignore_file.content if ignore_file else None
    index = await asyncio.to_thread(
        index_objects, objects, ignore_file=content, spec_ignore=spec_ignore
    )
    return Listing(index, ignore_file)


async def _ignore_file(
    bucket: S3Bucket,
    objects: list[tuple[str, str]],
    *,
    prefix: str | None,
    cached: IgnoreFile | None,
) -> IgnoreFile | None:
    if not prefix or IGNORE_FILE.startswith(prefix):
        etag = next((e for k, e in objects if k == IGNORE_FILE), None)
        if etag is None:
            return None
        if cached is not None and cached.etag == etag:
            return cached
        cached = None
    found = await bucket.read_object(
        IGNORE_FILE,
        if_none_match=cached.etag if cached else None,
        limit=IGNORE_FILE_LIMIT,
    )
    if found == "unchanged":
        return cached
    if found is None:
        return None
    return IgnoreFile(etag=found[1], content=found[0])


async def download_index(bucket: S3Bucket, listing: Listing, root: Path, *, timeout: float) -> None:
    """Download every indexed object below `root`, at most MAX_CONCURRENT_FETCHES at once.

    As in Flux, an object deleted since the LIST leaves the index and one replaced since
    gets its new etag, so the revision describes exactly what was downloaded.
    """
    index = listing.index
    try:
        targets = await asyncio.to_thread(_prepare, root, index, listing.ignore_file)
    except OSError as err:
        raise BucketOperationFailed(
            f"cannot lay out the objects of bucket '{bucket.name}': {err.strerror}"
        ) from None
    slots = asyncio.Semaphore(MAX_CONCURRENT_FETCHES)

    async def fetch(key: str, listed_etag: str) -> None:
        try:
            etag = await bucket.download(key, targets[key])
        finally:
            slots.release()
        if etag is None:
            index.delete(key)
        elif etag != listed_etag:
            index.add(key, etag)

    try:
        async with asyncio.timeout(timeout), asyncio.TaskGroup() as group:
            for key, etag in index.items():
                await slots.acquire()
                group.create_task(fetch(key, etag))
    except TimeoutError:
        raise BucketTimeout(
            f"fetch from bucket '{bucket.name}' timed out after {timeout:g}s"
        ) from None
    except ExceptionGroup as group_error:
        raise _first_bucket_error(group_error, bucket.name) from None


def _prepare(root: Path, index: EtagIndex, ignore_file: IgnoreFile | None) -> dict[str, Path]:
    """Create the directories the objects go in; map each key to its file."""
    if ignore_file is not None:
        (root / IGNORE_FILE).write_bytes(ignore_file.content)
    targets: dict[str, Path] = {}
    for key, _ in index.items():
        path = local_path(root, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        targets[key] = path
    return targets


def _first_bucket_error(group: BaseExceptionGroup[BaseException], bucket: str) -> BucketError:
    for err in group.exceptions:
        if isinstance(err, BaseExceptionGroup):
            return _first_bucket_error(err, bucket)
        if isinstance(err, BucketError):
            return type(err)(f"fetch from bucket '{bucket}' failed: {err}")
        raise err
    return BucketOperationFailed(f"fetch from bucket '{bucket}' failed")
