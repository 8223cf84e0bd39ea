"""GitRepository's reconcile steps, one at a time, against the real API server and git."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fixtures.git_servers import GitHTTPServer, GitRepo
from fixtures.sources import SourceDeps, condition, stored_artifact
from gotk_api.conditions import (
    ARTIFACT_OUTDATED,
    FETCH_FAILED,
    INCLUDE_UNAVAILABLE,
    SOURCE_VERIFIED,
    STORAGE_OPERATION_FAILED,
)
from gotk_api.errors import GotkError
from gotk_api.objects import Obj
from gotk_api.source_git import GitRepository
from gotk_runtime import Conditions, Result, Stalling, Waiting
from source_controller.git import Commit, GitAuth
from source_controller.git.checkout import Signature
from source_controller.reconcilers import GitRepositoryReconciler
from source_controller.reconcilers.gitrepository import (
    GitContext,
    check_remote_head,
    check_spec,
    clone,
    resolve_auth,
    resolve_includes,
    store_artifact,
    verify_signature,
)

URL = "https://git.example.com/org/repo"


def git_context(deps: SourceDeps, obj: Obj) -> GitContext:
    return GitRepositoryReconciler(deps.client, deps.storage, deps.events).context(obj)


def failure(err: GotkError) -> tuple[str, bool]:
    return err.reason, err.stalling


async def test_an_unsupported_provider_stalls(source_deps: SourceDeps) -> None:
    ctx = git_context(
        source_deps, source_deps.source("GitRepository", "r", url=URL, provider="azure")
    )
    with pytest.raises(Stalling, match=r"spec\.provider 'azure' is not supported") as caught:
        await check_spec(ctx)
    assert failure(caught.value) == ("InvalidProviderConfiguration", True)


async def test_a_verification_no_longer_asked_for_is_forgotten(source_deps: SourceDeps) -> None:
    obj = source_deps.source("GitRepository", "r", url=URL)
    obj["status"] = {"sourceVerificationMode": "HEAD"}
    Conditions(obj).mark_true(SOURCE_VERIFIED, "Succeeded", "verified")
    await check_spec(git_context(source_deps, obj))
    assert condition(obj, SOURCE_VERIFIED) is None
    assert "sourceVerificationMode" not in obj["status"]


@pytest.mark.parametrize(
    ("spec", "secrets", "reason", "stalling", "message"),
    [
        (
            {"secretRef": {"name": "absent"}},
            {},
            "AuthenticationFailed",
            False,
            "failed to get secret '{ns}/absent' referenced by spec.secretRef: not found",
        ),
        (
            {"proxySecretRef": {"name": "absent"}},
            {},
            "AuthenticationFailed",
            False,
            "failed to get secret '{ns}/absent' referenced by spec.proxySecretRef: not found",
        ),
        (
            {"proxySecretRef": {"name": "proxy"}},
            {"proxy": {"username": b"u"}},
            "AuthenticationFailed",
            False,
            "invalid proxy secret '{ns}/proxy' (spec.proxySecretRef): 'address' is required",
        ),
        (
            {"url": "ssh://git@git.example.com/org/repo", "secretRef": {"name": "ssh"}},
            {"ssh": {"known_hosts": b"git.example.com ssh-ed25519 AAAA"}},
            "AuthenticationFailed",
            False,
            "invalid 'ssh' auth option: 'identity' is required in the secret",
        ),
        (
            {"url": "https:///org/repo"},
            {},
            "URLInvalid",
            True,
            "failed to parse url 'https:///org/repo': no host",
        ),
        (
            {"url": "https://me:s3cret@git.example.com:bad/repo?token=t"},
            {},
            "URLInvalid",
            True,
            "failed to parse url 'https://git.example.com:bad/repo': ",
        ),
    ],
    ids=[
        "missing-secret",
        "missing-proxy-secret",
        "proxy-without-address",
        "ssh-without-identity",
        "url-without-host",
        "bad-port-credentials-redacted",
    ],
)
async def test_resolve_auth_failures_set_fetch_failed(
    source_deps: SourceDeps,
    spec: dict[str, Any],
    secrets: dict[str, dict[str, bytes]],
    reason: str,
    stalling: bool,
    message: str,
) -> None:
    for name, data in secrets.items():
        await source_deps.secret(name, data)
    obj = source_deps.source("GitRepository", "r", **{"url": URL, **spec})
    with pytest.raises(GotkError) as caught:
        await resolve_auth(git_context(source_deps, obj))
    expected = message.format(ns=source_deps.namespace)
    assert str(caught.value).startswith(expected)
    assert failure(caught.value) == (reason, stalling)
    assert condition(obj, FETCH_FAILED) == ("True", reason, str(caught.value))
    assert "s3cret" not in str(caught.value)


async def test_resolve_auth_reads_credentials_and_proxy(source_deps: SourceDeps) -> None:
    await source_deps.secret("creds", {"username": b"me", "password": b"pw"})
    await source_deps.secret("proxy", {"address": b"socks5://proxy:1080"})
    obj = source_deps.source(
        "GitRepository", "r", url=URL, secretRef={"name": "creds"}, proxySecretRef={"name": "proxy"}
    )
    ctx = git_context(source_deps, obj)
    await resolve_auth(ctx)
    assert (ctx.auth.username, ctx.auth.password) == ("me", "pw")
    assert ctx.auth.proxy is not None
    assert ctx.auth.proxy.address == "socks5://proxy:1080"
    assert condition(obj, FETCH_FAILED) is None


@pytest.mark.parametrize(
    ("status", "reason", "message"),
    [
        (None, "NotFound", "spec.include[0]: GitRepository '{ns}/lib' not found"),
        ({}, "NoArtifact", "spec.include[0]: GitRepository '{ns}/lib' has no artifact yet"),
    ],
    ids=["missing", "no-artifact"],
)
async def test_an_unavailable_include_waits(
    source_deps: SourceDeps, status: Obj | None, reason: str, message: str
) -> None:
    if status is not None:
        await source_deps.create(source_deps.source("GitRepository", "lib", url=URL), status)
    obj = source_deps.source(
        "GitRepository", "r", url=URL, include=[{"repository": {"name": "lib"}}]
    )
    with pytest.raises(Waiting) as caught:
        await resolve_includes(git_context(source_deps, obj))
    expected = message.format(ns=source_deps.namespace)
    assert (str(caught.value), caught.value.reason, caught.value.requeue_after) == (
        expected,
        reason,
        30.0,
    )
    assert condition(obj, INCLUDE_UNAVAILABLE) == ("True", reason, expected)


async def test_an_include_path_escaping_the_tree_is_illegal(source_deps: SourceDeps) -> None:
    artifact = stored_artifact("gitrepository/ns/lib/x.tar.gz", "master@sha1:" + "c" * 40)
    await source_deps.create(
        source_deps.source("GitRepository", "lib", url=URL), {"artifact": artifact}
    )
    include = {"repository": {"name": "lib"}, "toPath": "../outside"}
    obj = source_deps.source("GitRepository", "r", url=URL, include=[include])
    with pytest.raises(GotkError, match=r"spec.include\[0\].toPath '../outside' escapes") as caught:
        await resolve_includes(git_context(source_deps, obj))
    assert caught.value.reason == "IllegalPath"


@pytest.fixture
def remote(make_git_repo: Callable[..., GitRepo]) -> GitRepo:
    repo = make_git_repo()
    repo.commit({"app.yaml": "v: 1\n", "notes.md": "ignored\n"}, "first")
    return repo


async def test_check_remote_head_finishes_when_nothing_changed(
    source_deps: SourceDeps, git_http_server: GitHTTPServer, remote: GitRepo
) -> None:
    url, sha = git_http_server.url(remote), remote.git("rev-parse", "HEAD")
    revision = f"master@sha1:{sha}"
    obj = source_deps.source("GitRepository", "r", url=url)
    obj["status"] = {"artifact": stored_artifact("gitrepository/ns/r/x.tar.gz", revision)}
    ctx = git_context(source_deps, obj)
    ctx.auth, ctx.includes = GitAuth(), []
    await check_remote_head(ctx)
    assert ctx.result == Result(
        message=f"stored artifact for revision '{revision}'", revision=revision
    )


async def test_check_remote_head_clears_an_old_fetch_failure_when_nothing_changed(
    source_deps: SourceDeps, git_http_server: GitHTTPServer, remote: GitRepo
) -> None:
    url, sha = git_http_server.url(remote), remote.git("rev-parse", "HEAD")
    revision = f"master@sha1:{sha}"
    obj = source_deps.source("GitRepository", "r", url=url)
    obj["status"] = {
        "artifact": stored_artifact("gitrepository/ns/r/x.tar.gz", revision),
        "conditions": [
            {
                "type": FETCH_FAILED,
                "status": "True",
                "reason": "GitOperationFailed",
                "message": "the remote was briefly unreachable",
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            }
        ],
    }
    ctx = git_context(source_deps, obj)
    ctx.auth, ctx.includes = GitAuth(), []
    await check_remote_head(ctx)
    assert ctx.result is not None
    assert Conditions(obj).get(FETCH_FAILED) is None


async def test_check_remote_head_reports_a_new_revision_mid_run(
    source_deps: SourceDeps, git_http_server: GitHTTPServer, remote: GitRepo
) -> None:
    url, sha = git_http_server.url(remote), remote.git("rev-parse", "HEAD")
    async with source_deps.reconciling(source_deps.source("GitRepository", "r", url=url)) as obj:
        ctx = git_context(source_deps, obj)
        ctx.auth, ctx.includes = GitAuth(), []
        await check_remote_head(ctx)
    assert ctx.result is None, "a new revision goes on to the clone"
    outdated = ("True", "NewRevision", f"new upstream revision 'master@sha1:{sha}'")
    assert condition(await source_deps.get(obj), ARTIFACT_OUTDATED) == outdated


@pytest.mark.parametrize("step", [check_remote_head, clone], ids=["ls-remote", "clone"])
async def test_an_unreachable_remote_sets_fetch_failed(
    source_deps: SourceDeps, git_http_server: GitHTTPServer, step: Any
) -> None:
    obj = source_deps.source("GitRepository", "r", url=git_http_server.url("missing.git"))
    ctx = git_context(source_deps, obj)
    ctx.auth, ctx.includes = GitAuth(), []
    with pytest.raises(GotkError) as caught:
        await step(ctx)
    assert caught.value.reason == "GitOperationFailed"
    assert condition(obj, FETCH_FAILED) == ("True", "GitOperationFailed", str(caught.value))


async def test_clone_checks_out_the_commit_and_clears_fetch_failed(
    source_deps: SourceDeps, git_http_server: GitHTTPServer, remote: GitRepo
) -> None:
    obj = source_deps.source("GitRepository", "r", url=git_http_server.url(remote))
    Conditions(obj).mark_true(FETCH_FAILED, "GitOperationFailed", "an earlier failure")
    ctx = git_context(source_deps, obj)
    ctx.auth = GitAuth()
    async with ctx.resources:
        await clone(ctx)
        assert (ctx.tree / "app.yaml").read_text() == "v: 1\n"
    assert ctx.commit.sha == remote.git("rev-parse", "HEAD")
    assert condition(obj, FETCH_FAILED) is None
    assert condition(obj, ARTIFACT_OUTDATED) is not None


async def test_a_missing_verification_key_secret_is_a_verification_error(
    source_deps: SourceDeps,
) -> None:
    obj = source_deps.source(
        "GitRepository", "r", url=URL, verify={"mode": "HEAD", "secretRef": {"name": "keys"}}
    )
    ctx = git_context(source_deps, obj)
    with pytest.raises(GotkError, match="PGP public keys secret error: failed to get secret"):
        await verify_signature(ctx)
    verified = condition(obj, SOURCE_VERIFIED)
    assert verified is not None
    assert verified[:2] == ("False", "VerificationError")
    assert condition(obj, FETCH_FAILED) is None


def _commit(sha: str) -> Commit:
    someone = Signature("A", "a@example.com", datetime(2024, 1, 1, tzinfo=UTC))
    return Commit(sha, "refs/heads/main", f"main@sha1:{sha}", someone, someone, "subject")


async def test_store_artifact_records_the_artifact_and_its_inputs(
    source_deps: SourceDeps, tmp_path: Path
) -> None:
    obj = source_deps.source("GitRepository", "r", url=URL, ignore="*.md\n")
    ctx = git_context(source_deps, obj)
    ctx.tree, ctx.commit, ctx.includes = tmp_path / "tree", _commit("a" * 40), []
    ctx.tree.mkdir()
    (ctx.tree / "app.yaml").write_text("v: 1\n")
    (ctx.tree / "notes.md").write_text("not stored\n")
    await store_artifact(ctx)
    artifact = obj["status"]["artifact"]
    assert artifact["revision"] == f"main@sha1:{'a' * 40}"
    assert artifact["path"] == f"gitrepository/{source_deps.namespace}/r/{'a' * 40}.tar.gz"
    assert obj["status"]["observedIgnore"] == "*.md\n"
    assert ctx.result is not None
    assert ctx.result.revision == artifact["revision"]


async def test_a_storage_failure_sets_storage_operation_failed(
    source_deps: SourceDeps, tmp_path: Path
) -> None:
    # A file where the kind's directory belongs: the artifact directory cannot be made.
    (source_deps.storage.root / "gitrepository").write_text("in the way")
    ctx = git_context(source_deps, source_deps.source("GitRepository", "r", url=URL))
    ctx.tree, ctx.commit, ctx.includes = tmp_path, _commit("b" * 40), []
    with pytest.raises(GotkError, match="cannot create storage directory") as caught:
        await store_artifact(ctx)
    assert caught.value.reason == "DirectoryCreationFailed"
    stored = condition(ctx.obj, STORAGE_OPERATION_FAILED)
    assert stored == ("True", "DirectoryCreationFailed", str(caught.value))
    assert "artifact" not in ctx.obj.get("status", {})


def test_the_context_parses_the_object(source_deps: SourceDeps) -> None:
    obj = source_deps.source("GitRepository", "r", url=URL, timeout="90s", ref={"tag": "v1"})
    ctx = git_context(source_deps, obj)
    assert isinstance(ctx.repo, GitRepository)
    assert (ctx.timeout, ctx.ref.tag) == (90.0, "v1")
