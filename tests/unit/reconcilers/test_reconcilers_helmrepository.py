"""HelmRepository's reconcile steps, one at a time, against the real API server and a served
chart repository (its index written by hand: these steps never run `helm`)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import pytest
from fixtures.helm_repo import HelmChartRepository, HelmRepoFactory
from fixtures.sources import SourceDeps, condition, stored_artifact
from gotk_api.conditions import (
    ARTIFACT_IN_STORAGE,
    ARTIFACT_OUTDATED,
    FETCH_FAILED,
    STORAGE_OPERATION_FAILED,
)
from gotk_api.errors import GotkError
from gotk_api.objects import Obj
from gotk_envtest import free_port
from gotk_runtime import Conditions, Result, Stalling
from source_controller.helm.auth import RepositoryAuth
from source_controller.reconcilers import HelmRepositoryReconciler
from source_controller.reconcilers.helmrepository import (
    HelmRepositoryContext,
    check_registry,
    check_url,
    compact_index,
    fetch_index,
    forget_artifact,
    resolve_auth,
    store_index,
)

INDEX = b"""apiVersion: v1
entries:
  podinfo:
  - name: podinfo
    version: 6.0.3
    urls: [podinfo-6.0.3.tgz]
"""
REVISION = f"sha256:{hashlib.sha256(INDEX).hexdigest()}"


def helm_context(deps: SourceDeps, obj: Obj, **options: Any) -> HelmRepositoryContext:
    reconciler = HelmRepositoryReconciler(deps.client, deps.storage, deps.events, **options)
    return reconciler.context(obj)


def helmrepo(deps: SourceDeps, url: str, **spec: Any) -> Obj:
    return deps.source("HelmRepository", "charts", url=url, **spec)


async def test_an_oci_url_on_a_default_repository_stalls(source_deps: SourceDeps) -> None:
    obj = helmrepo(source_deps, "oci://registry.example.com/charts")
    with pytest.raises(Stalling, match="'oci' URL scheme cannot be used") as caught:
        await check_url(helm_context(source_deps, obj))
    assert caught.value.reason == "URLInvalid"
    assert condition(obj, FETCH_FAILED) == ("True", "URLInvalid", str(caught.value))


@pytest.mark.parametrize(
    ("spec", "secrets", "message"),
    [
        (
            {"secretRef": {"name": "absent"}},
            {},
            "failed to get secret '{ns}/absent' referenced by spec.secretRef: not found",
        ),
        (
            {"secretRef": {"name": "basic"}},
            {"basic": {"username": b"me"}},
            "spec.secretRef: basic authentication needs both 'username' and 'password'",
        ),
        (
            {"certSecretRef": {"name": "tls"}},
            {"tls": {"tls.crt": b"cert"}},
            "invalid spec.certSecretRef data: 'tls.crt' and 'tls.key' must be set together",
        ),
        (
            {"certSecretRef": {"name": "tls"}},
            {"tls": {"ca.crt": b"not a certificate"}},
            "invalid TLS material in spec.certSecretRef",
        ),
        (
            {"secretRef": {"name": "legacy"}},
            {"legacy": {"certFile": b"cert"}},
            "invalid spec.secretRef data: 'certFile' and 'keyFile' must be set together",
        ),
    ],
    ids=["missing-secret", "half-basic-auth", "half-client-pair", "bad-ca", "legacy-keys"],
)
async def test_resolve_auth_failures_are_authentication_failed(
    source_deps: SourceDeps,
    spec: dict[str, Any],
    secrets: dict[str, dict[str, bytes]],
    message: str,
) -> None:
    for name, data in secrets.items():
        await source_deps.secret(name, data)
    obj = helmrepo(source_deps, "https://charts.example.com", **spec)
    with pytest.raises(GotkError) as caught:
        await resolve_auth(helm_context(source_deps, obj))
    assert str(caught.value).startswith(message.format(ns=source_deps.namespace))
    assert (caught.value.reason, caught.value.stalling) == ("AuthenticationFailed", False)
    assert condition(obj, FETCH_FAILED) == ("True", "AuthenticationFailed", str(caught.value))


async def _served(
    factory: HelmRepoFactory, index: bytes = INDEX, auth: tuple[str, str] | None = None
) -> str:
    repo: HelmChartRepository = await factory(auth=auth)
    repo.write("index.yaml", index)
    return repo.url


@pytest.mark.parametrize(
    ("where", "options", "reason", "text"),
    [
        ("closed-port", {}, "Failed", "cannot connect"),
        (
            "needs-auth",
            {},
            "AuthenticationFailed",
            r"401 Unauthorized \(no credentials",
        ),
        ("served", {"index_max_size": 16}, "IndexationFailed", "above the limit of 16 bytes"),
    ],
)
async def test_fetch_index_failures_set_fetch_failed(
    source_deps: SourceDeps,
    helm_repo_factory: HelmRepoFactory,
    where: str,
    options: dict[str, Any],
    reason: str,
    text: str,
) -> None:
    if where == "closed-port":
        url = f"http://127.0.0.1:{free_port()}/charts"
    else:
        auth = ("me", "pw") if where == "needs-auth" else None
        url = await _served(helm_repo_factory, auth=auth)
    obj = helmrepo(source_deps, url)
    ctx = helm_context(source_deps, obj, **options)
    ctx.auth = RepositoryAuth()
    async with ctx.resources:
        with pytest.raises(GotkError, match=text) as caught:
            await fetch_index(ctx)
    assert caught.value.reason == reason
    assert condition(obj, FETCH_FAILED) == ("True", reason, str(caught.value))


async def test_fetch_index_finishes_when_the_revision_is_stored(
    source_deps: SourceDeps, helm_repo_factory: HelmRepoFactory
) -> None:
    obj = helmrepo(source_deps, await _served(helm_repo_factory), interval="7m")
    obj["status"] = {"artifact": stored_artifact("helmrepository/ns/charts/i.yaml", REVISION)}
    Conditions(obj).mark_true(FETCH_FAILED, "Failed", "an earlier failure")
    ctx = helm_context(source_deps, obj)
    ctx.auth = RepositoryAuth()
    async with ctx.resources:
        await fetch_index(ctx)
    message = f"stored artifact: revision '{REVISION}'"
    assert ctx.result == Result(message=message, revision=REVISION, requeue_after=420.0)
    assert condition(obj, FETCH_FAILED) is None


async def test_a_new_index_is_compacted_and_stored(
    source_deps: SourceDeps, helm_repo_factory: HelmRepoFactory
) -> None:
    obj = helmrepo(source_deps, await _served(helm_repo_factory))
    ctx = helm_context(source_deps, obj)
    ctx.auth = RepositoryAuth()
    async with ctx.resources:
        await fetch_index(ctx)
        assert ctx.result is None
        assert condition(obj, ARTIFACT_OUTDATED) is not None
        await compact_index(ctx)
        await store_index(ctx)
    status = obj["status"]
    assert status["artifact"]["revision"] == REVISION
    assert status["url"].endswith(f"/helmrepository/{source_deps.namespace}/charts/index.yaml")
    assert condition(obj, ARTIFACT_IN_STORAGE) == (
        "True",
        "Succeeded",
        f"stored artifact: revision '{REVISION}'",
    )
    assert condition(obj, ARTIFACT_OUTDATED) is None


async def test_an_invalid_index_is_indexation_failed(
    source_deps: SourceDeps, helm_repo_factory: HelmRepoFactory
) -> None:
    obj = helmrepo(source_deps, await _served(helm_repo_factory, b"entries: [not, a, map]\n"))
    ctx = helm_context(source_deps, obj)
    ctx.auth = RepositoryAuth()
    async with ctx.resources:
        await fetch_index(ctx)
        with pytest.raises(GotkError) as caught:
            await compact_index(ctx)
    assert caught.value.reason == "IndexationFailed"
    assert condition(obj, FETCH_FAILED) == ("True", "IndexationFailed", str(caught.value))


async def test_a_storage_failure_sets_storage_operation_failed(
    source_deps: SourceDeps, helm_repo_factory: HelmRepoFactory, tmp_path: Path
) -> None:
    (source_deps.storage.root / "helmrepository").write_text("in the way")
    obj = helmrepo(source_deps, await _served(helm_repo_factory))
    ctx = helm_context(source_deps, obj)
    ctx.auth = RepositoryAuth()
    async with ctx.resources:
        await fetch_index(ctx)
        await compact_index(ctx)
        with pytest.raises(GotkError) as caught:
            await store_index(ctx)
    assert caught.value.reason == "DirectoryCreationFailed"
    stored = condition(obj, STORAGE_OPERATION_FAILED)
    assert stored == ("True", "DirectoryCreationFailed", str(caught.value))


async def test_an_oci_repository_forgets_any_artifact(
    source_deps: SourceDeps, tmp_path: Path
) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "index.yaml").write_text("x")
    stored = await source_deps.storage.archive(
        tree, "HelmRepository", source_deps.namespace, "charts"
    )
    obj = helmrepo(source_deps, "oci://registry.example.com/charts", type="oci")
    obj["status"] = {"artifact": stored_artifact(stored.path, REVISION), "url": "http://x"}
    Conditions(obj).mark_true(ARTIFACT_IN_STORAGE, "Succeeded", "stored")
    await forget_artifact(helm_context(source_deps, obj))
    assert "artifact" not in obj["status"]
    assert "url" not in obj["status"]
    assert condition(obj, ARTIFACT_IN_STORAGE) is None
    assert not await source_deps.storage.exists(stored.path)


async def test_an_unreachable_oci_registry_sets_fetch_failed(source_deps: SourceDeps) -> None:
    url = f"oci://127.0.0.1:{free_port()}/charts"
    obj = helmrepo(source_deps, url, type="oci", insecure=True, timeout="5s")
    with pytest.raises(GotkError, match="is unreachable") as caught:
        await check_registry(helm_context(source_deps, obj))
    assert condition(obj, FETCH_FAILED) == ("True", "Failed", str(caught.value))


async def test_an_index_alias_bomb_is_refused_before_the_child_expands_it(
    source_deps: SourceDeps, helm_repo_factory: HelmRepoFactory
) -> None:
    """A 10 MiB anchored scalar aliased 2000 times (20 GB expanded) drove the index child to
    5 GB; it is refused from its event stream, in seconds, with IndexationFailed."""
    big = b"A" * (10 << 20)
    index = (
        b"apiVersion: v1\nentries:\n  bomb:\n  - name: bomb\n    version: 1.0.0\n"
        b"    description: &big " + big + b"\n    keywords: [" + b"*big, " * 1999 + b"*big]\n"
    )
    obj = helmrepo(source_deps, await _served(helm_repo_factory, index))
    ctx = helm_context(source_deps, obj)
    ctx.auth = RepositoryAuth()
    loop = asyncio.get_running_loop()
    async with ctx.resources:
        await fetch_index(ctx)
        started = loop.time()
        with pytest.raises(GotkError, match="alias bomb") as caught:
            await compact_index(ctx)
    assert loop.time() - started < 15
    assert caught.value.reason == "IndexationFailed"
    assert condition(obj, FETCH_FAILED) == ("True", "IndexationFailed", str(caught.value))
