"""Bucket's reconcile steps, one at a time, against the real API server and MinIO."""

from __future__ import annotations

from typing import Any

import pytest
from fixtures.s3_server import S3Server
from fixtures.sources import SourceDeps, condition, stored_artifact
from gotk_api.conditions import ARTIFACT_OUTDATED, FETCH_FAILED, STORAGE_OPERATION_FAILED
from gotk_api.errors import GotkError
from gotk_api.objects import Obj
from gotk_envtest import free_port
from gotk_runtime import Conditions, Result
from source_controller.reconcilers import BucketReconciler
from source_controller.reconcilers.bucket import (
    BucketContext,
    check_spec,
    connect,
    fetch,
    refresh_url,
    store_artifact,
)


def bucket_context(deps: SourceDeps, obj: Obj) -> BucketContext:
    return BucketReconciler(deps.client, deps.storage, deps.events).context(obj)


def bucket(deps: SourceDeps, endpoint: str = "s3.example.com", **spec: Any) -> Obj:
    return deps.source(
        "Bucket",
        "b",
        **{"bucketName": deps.namespace, "endpoint": endpoint, "timeout": "10s", **spec},
    )


@pytest.mark.parametrize(
    ("spec", "reason", "text"),
    [
        ({"provider": "aws"}, "InvalidProviderConfiguration", "spec.provider 'aws'"),
        (
            {"sts": {"provider": "ldap", "endpoint": "https://sts"}},
            "InvalidSTSConfiguration",
            r"spec\.sts",
        ),
    ],
    ids=["provider", "sts"],
)
async def test_unsupported_settings_stall_with_fetch_failed(
    source_deps: SourceDeps, spec: dict[str, Any], reason: str, text: str
) -> None:
    obj = bucket(source_deps, **spec)
    with pytest.raises(GotkError, match=text) as caught:
        await check_spec(bucket_context(source_deps, obj))
    assert (caught.value.reason, caught.value.stalling) == (reason, True)
    assert condition(obj, FETCH_FAILED) == ("True", reason, str(caught.value))


@pytest.mark.parametrize("has_artifact", [True, False])
async def test_refresh_url_follows_the_artifact(
    source_deps: SourceDeps, has_artifact: bool
) -> None:
    obj = bucket(source_deps)
    obj["status"] = {"url": "http://old-address/bucket/ns/b/latest.tar.gz"}
    if has_artifact:
        obj["status"]["artifact"] = stored_artifact("bucket/ns/b/x.tar.gz", "sha256:1")
    await refresh_url(bucket_context(source_deps, obj))
    url = obj["status"].get("url")
    assert url == ("http://127.0.0.1:9090/bucket/ns/b/latest.tar.gz" if has_artifact else None)


@pytest.mark.parametrize(
    ("spec", "secrets", "reason", "message"),
    [
        (
            {"secretRef": {"name": "absent"}},
            {},
            "AuthenticationFailed",
            "failed to get secret '{ns}/absent' referenced by spec.secretRef: not found",
        ),
        (
            {"secretRef": {"name": "creds"}},
            {"creds": {"accesskey": b"only"}},
            "AuthenticationFailed",
            "invalid 'creds' secret data: required fields 'accesskey' and 'secretkey'",
        ),
        (
            {"certSecretRef": {"name": "tls"}},
            {"tls": {"tls.key": b"key"}},
            "AuthenticationFailed",
            "invalid 'tls' secret data: 'tls.crt' and 'tls.key' must be set together",
        ),
        (
            {"proxySecretRef": {"name": "proxy"}},
            {"proxy": {"address": b"proxy:3128"}},
            "AuthenticationFailed",
            "invalid proxy 'proxy' secret data: 'address' must be a URL",
        ),
        (
            {"endpoint": "https://s3.example.com"},
            {},
            "URLInvalid",
            "invalid spec.endpoint 'https://s3.example.com'",
        ),
    ],
    ids=["missing-secret", "half-static-keys", "half-client-pair", "bad-proxy", "endpoint-url"],
)
async def test_connect_failures_set_fetch_failed(
    source_deps: SourceDeps,
    spec: dict[str, Any],
    secrets: dict[str, dict[str, bytes]],
    reason: str,
    message: str,
) -> None:
    for name, data in secrets.items():
        await source_deps.secret(name, data)
    obj = bucket(source_deps, **spec)
    with pytest.raises(GotkError) as caught:
        await connect(bucket_context(source_deps, obj))
    assert str(caught.value).startswith(message.format(ns=source_deps.namespace))
    assert (caught.value.reason, caught.value.stalling) == (reason, reason == "URLInvalid")
    assert condition(obj, FETCH_FAILED) == ("True", reason, str(caught.value))


async def _connected(deps: SourceDeps, obj: Obj, s3: S3Server | None = None) -> BucketContext:
    if s3 is not None:
        await deps.secret("creds", s3.credentials())
        obj["spec"]["secretRef"] = {"name": "creds"}
    ctx = bucket_context(deps, obj)
    await connect(ctx)
    return ctx


async def test_an_unreachable_endpoint_sets_fetch_failed(source_deps: SourceDeps) -> None:
    obj = bucket(source_deps, f"127.0.0.1:{free_port()}", insecure=True, timeout="5s")
    ctx = await _connected(source_deps, obj)
    async with ctx.resources:
        with pytest.raises(GotkError) as caught:
            await fetch(ctx)
    assert caught.value.reason == "BucketOperationFailed"
    assert condition(obj, FETCH_FAILED) == ("True", "BucketOperationFailed", str(caught.value))


async def test_a_missing_bucket_sets_fetch_failed(
    source_deps: SourceDeps, s3_server: S3Server
) -> None:
    obj = bucket(source_deps, s3_server.endpoint, insecure=True, bucketName="no-such-bucket")
    ctx = await _connected(source_deps, obj, s3_server)
    async with ctx.resources:
        with pytest.raises(GotkError, match="no-such-bucket") as caught:
            await fetch(ctx)
    assert condition(obj, FETCH_FAILED) == ("True", "BucketOperationFailed", str(caught.value))


async def test_fetch_downloads_a_new_revision_and_stores_it(
    source_deps: SourceDeps, s3_server: S3Server
) -> None:
    await s3_server.create_bucket(source_deps.namespace, {"app/config.yaml": "a: 1\n"})
    async with source_deps.reconciling(
        bucket(source_deps, s3_server.endpoint, insecure=True)
    ) as obj:
        ctx = await _connected(source_deps, obj, s3_server)
        async with ctx.resources:
            await fetch(ctx)
            assert ctx.downloaded
            assert (ctx.tree / "app" / "config.yaml").read_text() == "a: 1\n"
            # Reported as progress; a run this quick writes it only with its final status.
            assert condition(obj, ARTIFACT_OUTDATED) is not None
            await store_artifact(ctx)
    stored = await source_deps.get(obj)
    assert stored["status"]["artifact"]["revision"] == ctx.revision
    assert condition(stored, ARTIFACT_OUTDATED) is None
    assert obj["status"]["artifact"]["revision"] == ctx.revision
    assert obj["status"]["url"].endswith(f"/bucket/{source_deps.namespace}/b/latest.tar.gz")
    message = f"stored artifact for revision '{ctx.revision}'"
    assert ctx.result == Result(message=message, revision=ctx.revision)


async def test_an_unchanged_bucket_is_not_downloaded(
    source_deps: SourceDeps, s3_server: S3Server
) -> None:
    await s3_server.create_bucket(source_deps.namespace, {"a.txt": "a"})
    new = bucket(source_deps, s3_server.endpoint, insecure=True)
    async with source_deps.reconciling(new) as obj:
        first = await _connected(source_deps, obj, s3_server)
        async with first.resources:
            await fetch(first)
    obj["status"] = {"artifact": stored_artifact("bucket/ns/b/x.tar.gz", first.revision)}
    Conditions(obj).mark_true(FETCH_FAILED, "BucketOperationFailed", "an earlier failure")
    ctx = bucket_context(source_deps, obj)
    ctx.connection = first.connection
    async with ctx.resources:
        await fetch(ctx)
        assert not ctx.downloaded
        assert not any(ctx.tree.iterdir())
    assert condition(obj, FETCH_FAILED) is None
    await store_artifact(ctx)
    assert obj["status"]["artifact"]["path"] == "bucket/ns/b/x.tar.gz", "nothing stored again"


async def test_a_storage_failure_sets_storage_operation_failed(
    source_deps: SourceDeps, s3_server: S3Server
) -> None:
    await s3_server.create_bucket(source_deps.namespace, {"a.txt": "a"})
    (source_deps.storage.root / "bucket").write_text("in the way")
    async with source_deps.reconciling(
        bucket(source_deps, s3_server.endpoint, insecure=True)
    ) as obj:
        ctx = await _connected(source_deps, obj, s3_server)
        async with ctx.resources:
            await fetch(ctx)
            with pytest.raises(GotkError) as caught:
                await store_artifact(ctx)
    assert caught.value.reason == "DirectoryCreationFailed"
    stored = condition(obj, STORAGE_OPERATION_FAILED)
    assert stored == ("True", "DirectoryCreationFailed", str(caught.value))
