"""OCIRepository's reconcile steps, one at a time, against the real API server and registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from fixtures.git_servers import HangingServer
from fixtures.oci_registry import Registry, tarball, unique_repo
from fixtures.sources import SourceDeps, condition, stored_artifact
from gotk_api.conditions import FETCH_FAILED, SOURCE_VERIFIED, STORAGE_OPERATION_FAILED
from gotk_api.errors import GotkError
from gotk_api.objects import Obj
from gotk_runtime import Conditions, Stalling
from source_controller.oci import FLUX_CONFIG, OCI_MANIFEST, Descriptor, Manifest
from source_controller.reconcilers import OCIRepositoryReconciler
from source_controller.reconcilers.ocirepository import (
    MAX_LAYER_SIZE,
    OCIContext,
    Target,
    check_spec,
    connect,
    pull_layer,
    resolve_target,
    store_artifact,
    unpack_layer,
)

URL = "oci://registry.example.com/org/app"
DIGEST = "sha256:" + "d" * 64


def oci_context(deps: SourceDeps, obj: Obj) -> OCIContext:
    return OCIRepositoryReconciler(deps.client, deps.storage, deps.events).context(obj)


def ocirepo(deps: SourceDeps, url: str = URL, **spec: Any) -> Obj:
    return deps.source("OCIRepository", "app", url=url, **{"insecure": True, **spec})


@pytest.mark.parametrize(
    ("spec", "reason", "verified"),
    [
        ({"provider": "aws"}, "InvalidProviderConfiguration", None),
        ({"verify": {"provider": "cosign"}}, "VerificationError", "False"),
    ],
    ids=["provider", "verify"],
)
async def test_unsupported_settings_stall(
    source_deps: SourceDeps, spec: dict[str, Any], reason: str, verified: str | None
) -> None:
    obj = ocirepo(source_deps, **spec)
    with pytest.raises(Stalling) as caught:
        await check_spec(oci_context(source_deps, obj))
    assert (caught.value.reason, caught.value.stalling) == (reason, True)
    found = condition(obj, SOURCE_VERIFIED)
    assert (found[0] if found else None) == verified


def _dockerconfig(host: str) -> bytes:
    return json.dumps({"auths": {host: {"username": "u", "password": "p"}}}).encode()


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
            {"creds": {"username": b"u"}},
            "AuthenticationFailed",
            "secret '{ns}/creds' (spec.secretRef) has no '.dockerconfigjson' key",
        ),
        (
            {"serviceAccountName": "puller"},
            {},
            "AuthenticationFailed",
            "serviceaccount '{ns}/puller' (spec.serviceAccountName) not found",
        ),
        (
            {"certSecretRef": {"name": "tls"}},
            {"tls": {"other": b"x"}},
            "AuthenticationFailed",
            "invalid secret '{ns}/tls' (spec.certSecretRef): needs 'ca.crt'",
        ),
        (
            {"certSecretRef": {"name": "tls"}},
            {"tls": {"ca.crt": b"not a certificate"}},
            "AuthenticationFailed",
            "invalid TLS material in the cert secret",
        ),
        (
            {"proxySecretRef": {"name": "proxy"}},
            {"proxy": {"address": b"socks5://proxy:1080"}},
            "AuthenticationFailed",
            "invalid proxy secret '{ns}/proxy' (spec.proxySecretRef): 'address' must be a URL",
        ),
        (
            {"url": URL + ":v1"},
            {},
            "URLInvalid",
            "",
        ),
    ],
    ids=[
        "missing-secret",
        "not-a-docker-config",
        "missing-service-account",
        "cert-secret-without-ca-or-pair",
        "bad-ca",
        "socks-proxy",
        "tag-in-url",
    ],
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
    obj = ocirepo(source_deps, **spec)
    ctx = oci_context(source_deps, obj)
    async with ctx.resources:
        with pytest.raises(GotkError) as caught:
            await connect(ctx)
    assert str(caught.value).startswith(message.format(ns=source_deps.namespace))
    assert caught.value.reason == reason
    assert caught.value.stalling is (reason == "URLInvalid")
    assert condition(obj, FETCH_FAILED) == ("True", reason, str(caught.value))


async def test_connect_takes_credentials_from_the_first_matching_secret(
    source_deps: SourceDeps,
) -> None:
    await source_deps.secret("other", {".dockerconfigjson": _dockerconfig("elsewhere.io")})
    await source_deps.secret("creds", {".dockerconfigjson": _dockerconfig("registry.example.com")})
    ctx = oci_context(source_deps, ocirepo(source_deps, secretRef={"name": "creds"}))
    async with ctx.resources:
        await connect(ctx)
        assert (ctx.registry.credentials.username, ctx.registry.credentials.password) == ("u", "p")


async def test_resolve_target_finishes_when_the_stored_artifact_is_current(
    source_deps: SourceDeps, oci_registry: Registry
) -> None:
    repo = unique_repo()
    digest = await oci_registry.push(repo, "v1")
    obj = ocirepo(source_deps, oci_registry.url(repo), ref={"tag": "v1"})
    obj["status"] = {"artifact": stored_artifact("ocirepository/ns/app/x.tar.gz", f"v1@{digest}")}
    Conditions(obj).mark_true(FETCH_FAILED, "OCIArtifactPullFailed", "an earlier failure")
    ctx = oci_context(source_deps, obj)
    async with ctx.resources:
        await connect(ctx)
        await resolve_target(ctx)
    assert ctx.target == Target(revision=f"v1@{digest}", pull_ref=digest)
    assert ctx.result is not None
    assert ctx.result.message == f"stored artifact for digest 'v1@{digest}'"
    assert condition(obj, FETCH_FAILED) is None


async def test_resolve_target_of_a_missing_tag_sets_fetch_failed(
    source_deps: SourceDeps, oci_registry: Registry
) -> None:
    repo = unique_repo()
    await oci_registry.push(repo, "v1")
    obj = ocirepo(source_deps, oci_registry.url(repo), ref={"tag": "v9"})
    ctx = oci_context(source_deps, obj)
    async with ctx.resources:
        await connect(ctx)
        with pytest.raises(GotkError, match="tag 'v9' not found") as caught:
            await resolve_target(ctx)
    assert condition(obj, FETCH_FAILED) == ("True", "OCIArtifactPullFailed", str(caught.value))


async def test_a_registry_that_never_answers_times_out_with_spec_timeout(
    source_deps: SourceDeps, hanging_server: HangingServer
) -> None:
    obj = ocirepo(source_deps, f"oci://127.0.0.1:{hanging_server.port}/app", timeout="1s")
    ctx = oci_context(source_deps, obj)
    async with ctx.resources:
        await connect(ctx)
        with pytest.raises(GotkError, match=r"did not finish within 1s \(spec.timeout\)"):
            await resolve_target(ctx)
    assert condition(obj, FETCH_FAILED) is not None


async def test_pull_layer_without_the_selected_media_type_sets_fetch_failed(
    source_deps: SourceDeps, oci_registry: Registry
) -> None:
    repo = unique_repo()
    digest = await oci_registry.push(repo, "v1")
    obj = ocirepo(source_deps, oci_registry.url(repo), layerSelector={"mediaType": "x/none"})
    ctx = oci_context(source_deps, obj)
    ctx.target = Target(revision=f"v1@{digest}", pull_ref=digest)
    async with ctx.resources:
        await connect(ctx)
        with pytest.raises(GotkError, match="no layer with media type 'x/none'") as caught:
            await pull_layer(ctx)
    assert caught.value.reason == "OCIArtifactLayerOperationFailed"
    assert condition(obj, FETCH_FAILED) is not None


async def test_pull_and_unpack_the_layer(source_deps: SourceDeps, oci_registry: Registry) -> None:
    repo = unique_repo()
    digest = await oci_registry.push(repo, "v1", {"app.yaml": "v: 1\n"})
    ctx = oci_context(source_deps, ocirepo(source_deps, oci_registry.url(repo)))
    ctx.target = Target(revision=f"v1@{digest}", pull_ref=digest)
    async with ctx.resources:
        await connect(ctx)
        await pull_layer(ctx)
        await unpack_layer(ctx)
        assert (ctx.content / "app.yaml").read_text() == "v: 1\n"
    assert ctx.manifest.digest == digest


@pytest.mark.parametrize("operation", ["extract", "copy"])
async def test_unpack_layer_extracts_or_copies(
    source_deps: SourceDeps, tmp_path: Path, operation: str
) -> None:
    obj = ocirepo(source_deps, layerSelector={"mediaType": "x/y", "operation": operation})
    ctx = oci_context(source_deps, obj)
    ctx.blob = tmp_path / "layer.blob"
    ctx.blob.write_bytes(b"not a tarball")
    if operation == "copy":
        await unpack_layer(ctx)
        assert ctx.content == ctx.blob
        return
    with pytest.raises(GotkError, match="operation to 'copy'") as caught:
        await unpack_layer(ctx)
    assert caught.value.reason == "OCIArtifactLayerOperationFailed"
    assert condition(obj, FETCH_FAILED) is not None


def _manifest() -> Manifest:
    return Manifest(
        media_type=OCI_MANIFEST,
        digest=DIGEST,
        config=Descriptor(FLUX_CONFIG, "sha256:" + "c" * 64, 2),
        layers=(),
        annotations={"org.opencontainers.image.revision": "abc"},
    )


async def test_store_artifact_records_the_layer_and_its_annotations(
    source_deps: SourceDeps, tmp_path: Path
) -> None:
    obj = ocirepo(source_deps, layerSelector={"mediaType": "x/y", "operation": "copy"})
    ctx = oci_context(source_deps, obj)
    ctx.target, ctx.manifest = Target(f"v1@{DIGEST}", DIGEST), _manifest()
    ctx.content = tmp_path / "layer.blob"
    ctx.content.write_bytes(tarball({"a": "b"}))
    await store_artifact(ctx)
    status = obj["status"]
    assert status["artifact"]["revision"] == f"v1@{DIGEST}"
    assert status["artifact"]["metadata"] == {"org.opencontainers.image.revision": "abc"}
    assert status["url"].endswith(f"/ocirepository/{source_deps.namespace}/app/latest.tar.gz")
    assert status["observedLayerSelector"] == {"mediaType": "x/y", "operation": "copy"}


async def test_a_storage_failure_sets_storage_operation_failed(
    source_deps: SourceDeps, tmp_path: Path
) -> None:
    (source_deps.storage.root / "ocirepository").write_text("in the way")
    ctx = oci_context(source_deps, ocirepo(source_deps))
    ctx.target, ctx.manifest, ctx.content = Target(DIGEST, DIGEST), _manifest(), tmp_path
    with pytest.raises(GotkError) as caught:
        await store_artifact(ctx)
    assert caught.value.reason == "DirectoryCreationFailed"
    assert condition(ctx.obj, STORAGE_OPERATION_FAILED) == (
        "True",
        "DirectoryCreationFailed",
        str(caught.value),
    )


async def test_a_layer_above_the_size_limit_is_refused_before_it_is_downloaded(
    source_deps: SourceDeps, oci_registry: Registry
) -> None:
    """The registry declares a layer one byte over MAX_LAYER_SIZE (about 165 MiB): the size
    is refused before the blob is requested, and FetchFailed names the layer and the limit."""
    repo = unique_repo()
    digest = await oci_registry.push(repo, "v1", {"app.yaml": "v: 1\n"})
    manifest = await _get_manifest(oci_registry, repo, digest)
    assert MAX_LAYER_SIZE is not None
    manifest["layers"][0]["size"] = MAX_LAYER_SIZE + 1
    lying = await oci_registry.push_manifest(repo, manifest, ["big"], OCI_MANIFEST)
    ctx = oci_context(source_deps, ocirepo(source_deps, oci_registry.url(repo)))
    ctx.target = Target(revision=f"big@{lying}", pull_ref=lying)
    async with ctx.resources:
        await connect(ctx)
        with pytest.raises(GotkError, match=f"above the limit of {MAX_LAYER_SIZE} bytes") as caught:
            await pull_layer(ctx)
    assert caught.value.reason == "OCIArtifactLayerOperationFailed"
    assert condition(ctx.obj, FETCH_FAILED) == (
        "True",
        "OCIArtifactLayerOperationFailed",
        str(caught.value),
    )


async def _get_manifest(registry: Registry, repo: str, digest: str) -> Obj:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{registry.base_url}/v2/{repo}/manifests/{digest}",
            headers={"Accept": OCI_MANIFEST},
        ) as response,
    ):
        manifest: Obj = json.loads(await response.read())
        return manifest
