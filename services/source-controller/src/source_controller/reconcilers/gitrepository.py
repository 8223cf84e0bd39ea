"""The GitRepository reconciler: storage → source → include → artifact, as Flux orders it.

`STEPS` is the whole reconcile. A remote whose commit and artifact inputs are unchanged
costs one `git ls-remote` (`check_remote_head` finishes the run); otherwise the commit is
cloned, its signature verified if asked, the includes copied in and the tree archived.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Final

from gotk_api.conditions import (
    ARTIFACT_IN_STORAGE,
    ARTIFACT_OUTDATED,
    FETCH_FAILED,
    INCLUDE_UNAVAILABLE,
    INVALID_PROVIDER_CONFIGURATION_REASON,
    NEW_ARTIFACT_EVENT_REASON,
    SOURCE_VERIFIED,
    STORAGE_OPERATION_FAILED,
    SUCCEEDED_REASON,
    VERIFICATION_ERROR_REASON,
)
from gotk_api.meta import parse_duration
from gotk_api.objects import Obj
from gotk_api.source_git import GitRepository
from gotk_artifacts.ignore import source_ignore_matcher
from gotk_runtime import (
    Conditions,
    GenericError,
    ReadySummary,
    Result,
    Stalling,
    patch_progress,
)

from source_controller.credentials import (
    GIT_PROXY_SCHEMES,
    CredentialsError,
    proxy_from_secret,
    read_secret,
)
from source_controller.git import (
    Commit,
    GitAuth,
    GitRef,
    RemoteHead,
    auth_from_secret,
    checkout,
    parse_git_url,
    remote_head,
)
from source_controller.git.verify import VerificationError, VerificationMode, verify_commit
from source_controller.reconcilers import artifact_steps
from source_controller.reconcilers import gitrepository_include as include
from source_controller.reconcilers.steps import (
    SourceContext,
    SourceReconciler,
    Step,
    records,
    run_steps,
)

__all__ = ["STEPS", "GitContext", "GitRepositoryReconciler"]

KIND: Final = "GitRepository"


@dataclass(eq=False, kw_only=True)
class GitContext(SourceContext):
    repo: GitRepository
    auth: GitAuth = field(init=False)
    includes: list[include.ResolvedInclude] = field(init=False)
    tree: Path = field(init=False)
    commit: Commit = field(init=False)

    @property
    def timeout(self) -> float:
        return parse_duration(self.repo.spec.timeout)

    @property
    def ref(self) -> GitRef:
        return GitRef.from_spec(self.repo.spec.ref)


async def check_spec(ctx: GitContext) -> None:
    """Stall on a provider gotk cannot serve; forget a verification the spec no longer asks
    for (so an unverified artifact is never reported as verified)."""
    spec = ctx.repo.spec
    if spec.provider not in (None, "generic"):
        raise Stalling(
            f"spec.provider '{spec.provider}' is not supported by gotk yet; "
            "use a secretRef with credentials instead",
            reason=INVALID_PROVIDER_CONFIGURATION_REASON,
        )
    if spec.verify is None:
        ctx.conditions.delete(SOURCE_VERIFIED)
        ctx.status.pop("sourceVerificationMode", None)


@records(FETCH_FAILED)
async def resolve_auth(ctx: GitContext) -> None:
    """The URL, and the credentials and proxy its Secrets hold."""
    repo = ctx.repo
    url = parse_git_url(repo.spec.url)
    proxy = None
    if repo.spec.proxy_secret_ref is not None:
        name = repo.spec.proxy_secret_ref.name
        data = await read_secret(ctx.client, repo.namespace, name, field="spec.proxySecretRef")
        source = f"secret '{repo.namespace}/{name}' (spec.proxySecretRef)"
        proxy = proxy_from_secret(data, source=source, schemes=GIT_PROXY_SCHEMES)
    secret = None
    if repo.spec.secret_ref is not None:
        secret = await read_secret(
            ctx.client, repo.namespace, repo.spec.secret_ref.name, field="spec.secretRef"
        )
    ctx.auth = auth_from_secret(url, secret, proxy=proxy)


async def resolve_includes(ctx: GitContext) -> None:
    """The stored artifact of each included GitRepository (IncludeUnavailable until each
    has one)."""
    ctx.includes = await include.resolve_includes(ctx.client, ctx.repo, ctx.obj)


@records(FETCH_FAILED)
async def check_remote_head(ctx: GitContext) -> None:
    """Flux skips the clone when the remote commit and every artifact input are unchanged."""
    head = await remote_head(ctx.repo.spec.url, ctx.ref, ctx.auth, timeout=ctx.timeout)
    if head is None:
        return
    if _up_to_date(ctx, head):
        Conditions(ctx.obj).delete(FETCH_FAILED)  # the remote answered: an old failure is over
        ctx.finish(_stored(head.revision))
    elif artifact_steps.mark_new_revision(ctx.obj, head.revision):
        await patch_progress(ctx.obj)


@records(FETCH_FAILED)
async def clone(ctx: GitContext) -> None:
    repo = ctx.repo
    ctx.tree = await ctx.scratch("gitrepository-") / "tree"
    ctx.commit = await checkout(
        repo.spec.url,
        ctx.ref,
        ctx.tree,
        ctx.auth,
        timeout=ctx.timeout,
        recurse_submodules=bool(repo.spec.recurse_submodules),
        sparse_paths=repo.spec.sparse_checkout,
    )
    ctx.conditions.delete(FETCH_FAILED)
    artifact_steps.mark_new_revision(ctx.obj, ctx.commit.revision)


async def verify_signature(ctx: GitContext) -> None:
    """Flux's verifySignature: the new revision is stored only if its signature checks."""
    repo, verify = ctx.repo, ctx.repo.spec.verify
    if verify is None:
        return
    try:
        keys = await read_secret(
            ctx.client, repo.namespace, verify.secret_ref.name, field="spec.verify.secretRef"
        )
    except CredentialsError as err:
        message = f"PGP public keys secret error: {err}"
        ctx.conditions.mark_false(SOURCE_VERIFIED, VERIFICATION_ERROR_REASON, message)
        raise GenericError(message, reason=VERIFICATION_ERROR_REASON) from None
    mode = VerificationMode.from_spec(verify.mode)
    try:
        verified = await verify_commit(
            repo.spec.url, ctx.tree, ctx.commit, mode, keys, timeout=ctx.timeout
        )
    except VerificationError as err:
        ctx.conditions.mark_false(SOURCE_VERIFIED, err.reason, str(err))
        raise
    ctx.status["sourceVerificationMode"] = verified.mode.value
    ctx.conditions.mark_true(SOURCE_VERIFIED, SUCCEEDED_REASON, verified.message)


async def copy_includes(ctx: GitContext) -> None:
    await include.copy_includes(ctx.storage, ctx.includes, ctx.tree)


@records(STORAGE_OPERATION_FAILED)
async def store_artifact(ctx: GitContext) -> None:
    """Archive the tree (minus `spec.ignore`), record it and the inputs it was built from."""
    repo, commit = ctx.repo, ctx.commit
    ignore = await asyncio.to_thread(source_ignore_matcher, ctx.tree, repo.spec.ignore)
    stored = await ctx.storage.archive(
        ctx.tree,
        KIND,
        repo.namespace,
        repo.name,
        ignore=ignore,
        filename=f"{commit.sha}.tar.gz",
    )
    await ctx.storage.set_latest(stored.path)
    previous = (artifact_steps.current_artifact(ctx.obj) or {}).get("digest")
    artifact_steps.record_artifact(ctx.obj, stored.to_api(commit.revision))
    status = ctx.status
    status["includedArtifacts"] = [i.artifact for i in ctx.includes] or None
    status["observedIgnore"] = repo.spec.ignore
    status["observedRecurseSubmodules"] = repo.spec.recurse_submodules or None
    status["observedInclude"] = _include_spec(repo)
    status["observedSparseCheckout"] = repo.spec.sparse_checkout or None
    for key in [k for k, v in status.items() if v is None]:
        del status[key]
    if previous != stored.digest:
        await ctx.events.normal(
            ctx.obj,
            NEW_ARTIFACT_EVENT_REASON,
            f"stored artifact for commit '{commit.short_message or commit.sha}'",
            revision=commit.revision,
            metadata={"revision": commit.revision, "digest": stored.digest},
        )
    ctx.finish(_stored(commit.revision))


STEPS: Final[tuple[Step[GitContext], ...]] = (
    check_spec,
    artifact_steps.reconcile_storage,
    resolve_auth,
    resolve_includes,
    check_remote_head,
    clone,
    verify_signature,
    copy_includes,
    store_artifact,
)


class GitRepositoryReconciler(SourceReconciler):
    api_version: ClassVar[str] = GitRepository.api_version_string()
    kind: ClassVar[str] = KIND
    ready_summary: ClassVar[ReadySummary] = ReadySummary(
        conditions=(
            STORAGE_OPERATION_FAILED,
            FETCH_FAILED,
            INCLUDE_UNAVAILABLE,
            ARTIFACT_OUTDATED,
            ARTIFACT_IN_STORAGE,
            SOURCE_VERIFIED,
        ),
        negative_polarity=(
            STORAGE_OPERATION_FAILED,
            FETCH_FAILED,
            INCLUDE_UNAVAILABLE,
            ARTIFACT_OUTDATED,
        ),
    )

    def context(self, obj: Obj) -> GitContext:
        repo = GitRepository.model_validate(obj)
        return GitContext(
            obj=obj, repo=repo, client=self.client, storage=self.storage, events=self.events
        )

    async def reconcile(self, obj: Obj) -> Result:
        return await run_steps(self.context(obj), STEPS)


def _stored(revision: str) -> Result:
    return Result(message=f"stored artifact for revision '{revision}'", revision=revision)


def _up_to_date(ctx: GitContext, head: RemoteHead) -> bool:
    status, spec = ctx.obj.get("status") or {}, ctx.repo.spec
    artifact = status.get("artifact")
    if not artifact or artifact.get("revision") != head.revision:
        return False
    if status.get("observedIgnore") != spec.ignore:
        return False
    if bool(status.get("observedRecurseSubmodules")) != bool(spec.recurse_submodules):
        return False
    if (status.get("observedSparseCheckout") or None) != (spec.sparse_checkout or None):
        return False
    if (status.get("observedInclude") or None) != _include_spec(ctx.repo):
        return False
    if _requires_verification(ctx.repo, status.get("sourceVerificationMode")):
        return False
    stored = [a.get("digest") for a in status.get("includedArtifacts") or []]
    return stored == [i.artifact.get("digest") for i in ctx.includes]


def _requires_verification(repo: GitRepository, observed: str | None) -> bool:
    """Whether the stored artifact lacks a verification the spec now asks for."""
    if repo.spec.verify is None:
        return False
    if observed is None:
        return True
    wanted = VerificationMode.from_spec(repo.spec.verify.mode)
    try:
        done = VerificationMode.from_spec(observed)
    except ValueError:
        return True
    return (wanted.verifies_head and not done.verifies_head) or (
        wanted.verifies_tag and not done.verifies_tag
    )


def _include_spec(repo: GitRepository) -> list[Obj] | None:
    includes = repo.spec.include or []
    return [i.model_dump(mode="json", exclude_none=True) for i in includes] or None
