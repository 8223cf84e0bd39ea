"""Listing and downloading against a real MinIO: request counts, races, the tree written."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fixtures.s3_server import S3Server
from gotk_api.source_bucket import Bucket
from source_controller.bucket.connection import connection_for
from source_controller.bucket.errors import BucketNotFound, BucketUnreachable
from source_controller.bucket.fetch import download_index, list_bucket
from source_controller.bucket.s3 import S3Bucket, open_bucket


def _bucket(name: str, endpoint: str) -> Bucket:
    return Bucket.model_validate(
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "Bucket",
            "metadata": {"name": "b", "namespace": "ns"},
            "spec": {"bucketName": name, "endpoint": endpoint, "insecure": True, "interval": "1m"},
        }
    )


@pytest.fixture
async def bucket_name(s3_server: S3Server) -> str:
    name = f"fetch-{uuid.uuid4().hex[:12]}"
    await s3_server.create_bucket(name)
    return name


@pytest.fixture
async def s3(s3_server: S3Server, bucket_name: str) -> AsyncIterator[S3Bucket]:
    conn = connection_for(
        _bucket(bucket_name, s3_server.endpoint),
        timeout=10,
        secret=("creds", s3_server.credentials()),
    )
    async with open_bucket(conn) as client:
        yield client


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in root.rglob("*") if p.is_file()}


def _count(monkeypatch: pytest.MonkeyPatch, s3: S3Bucket) -> Counter[str]:
    calls: Counter[str] = Counter()
    list_objects, read_object = s3.list_objects, s3.read_object

    def counted_list(prefix: str | None) -> AsyncIterator[tuple[str, str]]:
        calls["list"] += 1
        return list_objects(prefix)

    async def counted_read(key: str, **kwargs: Any) -> Any:
        calls["read"] += 1
        return await read_object(key, **kwargs)

    monkeypatch.setattr(s3, "list_objects", counted_list)
    monkeypatch.setattr(s3, "read_object", counted_read)
    return calls


async def test_unchanged_bucket_costs_one_list_request(
    s3_server: S3Server, bucket_name: str, s3: S3Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, content in {".sourceignore": "skip/\n", "keep.yaml": "k", "skip/x": "x"}.items():
        await s3_server.put(bucket_name, key, content)
    calls = _count(monkeypatch, s3)

    first = await list_bucket(s3, prefix=None, spec_ignore=None, cached=None, timeout=10)
    assert [key for key, _ in first.index.items()] == ["keep.yaml"]
    assert calls == Counter(list=1, read=1)

    second = await list_bucket(
        s3, prefix=None, spec_ignore=None, cached=first.ignore_file, timeout=10
    )
    assert calls == Counter(list=2, read=1)
    assert second.index.digest() == first.index.digest()

    await s3_server.put(bucket_name, ".sourceignore", "")
    third = await list_bucket(
        s3, prefix=None, spec_ignore=None, cached=second.ignore_file, timeout=10
    )
    assert calls == Counter(list=3, read=2)
    assert [key for key, _ in third.index.items()] == ["keep.yaml", "skip/x"]


async def test_prefix_hiding_sourceignore_uses_a_conditional_get(
    s3_server: S3Server, bucket_name: str, s3: S3Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, content in {".sourceignore": "*.md\n", "app/a.yaml": "a", "app/r.md": "r"}.items():
        await s3_server.put(bucket_name, key, content)
    first = await list_bucket(s3, prefix="app/", spec_ignore=None, cached=None, timeout=10)
    assert [key for key, _ in first.index.items()] == ["app/a.yaml"]
    assert first.ignore_file is not None

    calls: list[str | None] = []
    read_object = s3.read_object

    async def spy(key: str, *, if_none_match: str | None = None, limit: int) -> Any:
        result = await read_object(key, if_none_match=if_none_match, limit=limit)
        calls.append(result if isinstance(result, str) else "read")
        return result

    monkeypatch.setattr(s3, "read_object", spy)
    second = await list_bucket(
        s3, prefix="app/", spec_ignore=None, cached=first.ignore_file, timeout=10
    )
    assert calls == ["unchanged"]
    assert second.ignore_file is first.ignore_file


async def test_download_writes_every_object_beyond_the_concurrency_bound(
    s3_server: S3Server, bucket_name: str, s3: S3Bucket, tmp_path: Path
) -> None:
    objects = {f"dir{i % 7}/obj-{i}.yaml": f"content {i}" for i in range(130)}
    objects[".sourceignore"] = "# nothing ignored\n"
    await asyncio.gather(*(s3_server.put(bucket_name, k, v) for k, v in objects.items()))
    listing = await list_bucket(s3, prefix=None, spec_ignore=None, cached=None, timeout=10)
    revision = listing.index.digest()

    await download_index(s3, listing, tmp_path, timeout=10)

    assert await asyncio.to_thread(_tree, tmp_path) == objects
    assert listing.index.digest() == revision


async def test_objects_changed_or_deleted_after_listing_update_the_index(
    s3_server: S3Server, bucket_name: str, s3: S3Bucket, tmp_path: Path
) -> None:
    for key in ("stay", "change", "vanish"):
        await s3_server.put(bucket_name, key, "before")
    listing = await list_bucket(s3, prefix=None, spec_ignore=None, cached=None, timeout=10)
    changed_etag = await s3_server.put(bucket_name, "change", "after")
    await s3_server.delete(bucket_name, "vanish")

    await download_index(s3, listing, tmp_path, timeout=10)

    assert dict(listing.index.items()) == {
        "change": changed_etag,
        "stay": listing.index.get("stay"),
    }
    assert (tmp_path / "change").read_text() == "after"


async def test_missing_bucket_and_dead_endpoint_are_named(s3_server: S3Server) -> None:
    async def listing(name: str, endpoint: str) -> None:
        conn = connection_for(
            _bucket(name, endpoint), timeout=5, secret=("creds", s3_server.credentials())
        )
        async with open_bucket(conn) as client:
            await list_bucket(client, prefix=None, spec_ignore=None, cached=None, timeout=5)

    with pytest.raises(BucketNotFound, match="bucket 'no-such-bucket-here' not found"):
        await listing("no-such-bucket-here", s3_server.endpoint)
    with pytest.raises(BucketUnreachable, match=r"cannot connect to endpoint '127\.0\.0\.1:9'"):
        await listing("x-bucket", "127.0.0.1:9")
