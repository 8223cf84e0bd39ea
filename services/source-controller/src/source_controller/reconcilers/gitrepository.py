"""The GitRepository reconciler: storage → source → include → artifact, as Flux orders it.

Each step reads and writes the raw object (conditions, status fields) and raises a
gotk_runtime error carrying a Flux reason; the runtime patches the status once at the end.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar

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
from gotk_artifacts.errors import ArtifactError
from gotk_artifacts.ignore import source_ignore_matcher
from gotk_artifacts.scratch import scratch_dir
from gotk_runtime import (
    Conditions,
    GenericError,
    ReadySummary,
    Result,
    Stalling,
    patch_progress,
)

from source_controller.credentials import GIT_PROXY_SCHEMES, proxy_from_secret, read_secret
from source_controller.git import (
    Commit,
    GitAuth,
    GitError,
    GitRef,
    RemoteHead,
    auth_from_secret,
    checkout,
    parse_git_url,
    remote_head,
)
from source_controller.git.verify import VerificationError, VerificationMode, verify_commit
from source_controller.reconcilers import artifact_steps
from source_controller.reconcilers.gitrepository_include import (
    ResolvedInclude,
    copy_includes,
    resolve_includes,
)
from source_controller.reconcilers.steps import SourceReconciler
from source_controller.storage import StorageError


class GitRepositoryReconciler(SourceReconciler):
    api_version: ClassVar[str] = GitRepository.api_version_string()
    kind: ClassVar[str] = "GitRepository"
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

    async def reconcile(self, obj: Obj) -> Result:
        repo = GitRepository.model_validate(obj)
        self._check_unsupported(repo)
        await artifact_steps.reconcile_storage(self.storage, obj)
        auth = await self._auth(repo, obj)
        includes = await resolve_includes(self.client, repo, obj)
        timeout = parse_duration(repo.spec.timeout)
        ref = GitRef.from_spec(repo.spec.ref)
        if repo.spec.verify is None:
            _forget_verification(obj)

        head = await self._remote_head(repo, ref, auth, timeout, obj)
        if head is not None and self._up_to_date(obj, repo, head, includes):
            revision = head.revision
            return Result(message=f"stored artifact for revision '{revision}'", revision=revision)
        if head is not None and artifact_steps.mark_new_revision(obj, head.revision):
            await patch_progress(obj)

        async with scratch_dir("gitrepository-") as workdir:
            tree = workdir / "tree"
            commit = await self._checkout(repo, ref, auth, timeout, tree, obj)
            artifact_steps.mark_new_revision(obj, commit.revision)
            await self._verify(repo, obj, tree, commit, timeout)
            await copy_includes(self.storage, includes, tree)
            await self._store(repo, obj, tree, commit, includes)
        return Result(
            message=f"stored artifact for revision '{commit.revision}'", revision=commit.revision
        )

    # -- steps -------------------------------------------------------------------------------

    @staticmethod
    def _check_unsupported(repo: GitRepository) -> None:
        if repo.spec.provider not in (None, "generic"):
            raise Stalling(
                f"spec.provider '{repo.spec.provider}' is not supported by gotk yet; "
                "use a secretRef with credentials instead",
                reason=INVALID_PROVIDER_CONFIGURATION_REASON,
            )

    async def _auth(self, repo: GitRepository, obj: Obj) -> GitAuth:
        try:
            url = parse_git_url(repo.spec.url)
            proxy = None
            if repo.spec.proxy_secret_ref is not None:
                name = repo.spec.proxy_secret_ref.name
                proxy_data = await read_secret(
                    self.client, repo.namespace, name, field="spec.proxySecretRef"
                )
                proxy = proxy_from_secret(
                    proxy_data,
                    source=f"secret '{repo.namespace}/{name}' (spec.proxySecretRef)",
                    schemes=GIT_PROXY_SCHEMES,
                )
            data = None
            if repo.spec.secret_ref is not None:
                data = await read_secret(
                    self.client, repo.namespace, repo.spec.secret_ref.name, field="spec.secretRef"
                )
            return auth_from_secret(url, data, proxy=proxy)
        except (GitError, GenericError) as err:
            raise artifact_steps.fetch_failed(obj, err) from None

    async def _remote_head(
        self, repo: GitRepository, ref: GitRef, auth: GitAuth, timeout: float, obj: Obj
    ) -> RemoteHead | None:
        try:
            return await remote_head(repo.spec.url, ref, auth, timeout=timeout)
        except GitError as err:
            raise artifact_steps.fetch_failed(obj, err) from None

    @staticmethod
    def _up_to_date(
        obj: Obj, repo: GitRepository, head: RemoteHead, includes: list[ResolvedInclude]
    ) -> bool:
        """Flux skips the clone when the remote commit and every artifact input are unchanged."""
        status = obj.get("status") or {}
        artifact = status.get("artifact")
        if not artifact or artifact.get("revision") != head.revision:
            return False
        spec = repo.spec
        if status.get("observedIgnore") != spec.ignore:
            return False
        if bool(status.get("observedRecurseSubmodules")) != bool(spec.recurse_submodules):
            return False
        if (status.get("observedSparseCheckout") or None) != (spec.sparse_checkout or None):
            return False
        if (status.get("observedInclude") or None) != _include_spec(repo):
            return False
        if _requires_verification(repo, status.get("sourceVerificationMode")):
            return False
        stored = [a.get("digest") for a in status.get("includedArtifacts") or []]
        return stored == [i.artifact.get("digest") for i in includes]

    async def _checkout(
        self, repo: GitRepository, ref: GitRef, auth: GitAuth, timeout: float, tree: Path, obj: Obj
    ) -> Commit:
        try:
            commit = await checkout(
                repo.spec.url,
                ref,
                tree,
                auth,
                timeout=timeout,
                recurse_submodules=bool(repo.spec.recurse_submodules),
                sparse_paths=repo.spec.sparse_checkout,
            )
        except GitError as err:
            raise artifact_steps.fetch_failed(obj, err) from None
        Conditions(obj).delete(FETCH_FAILED)
        return commit

    async def _verify(
        self, repo: GitRepository, obj: Obj, tree: Path, commit: Commit, timeout: float
    ) -> None:
        """Flux's verifySignature: the new revision is stored only if its signature checks."""
        verify = repo.spec.verify
        if verify is None:
            return
        conditions = Conditions(obj)
        try:
            keys = await read_secret(
                self.client, repo.namespace, verify.secret_ref.name, field="spec.verify.secretRef"
            )
        except GenericError as err:
            message = f"PGP public keys secret error: {err}"
            conditions.mark_false(SOURCE_VERIFIED, VERIFICATION_ERROR_REASON, message)
            raise GenericError(message, reason=VERIFICATION_ERROR_REASON) from None
        mode = VerificationMode.from_spec(verify.mode)
        try:
            verified = await verify_commit(repo.spec.url, tree, commit, mode, keys, timeout=timeout)
        except VerificationError as err:
            conditions.mark_false(SOURCE_VERIFIED, err.reason, str(err))
            raise
        obj.setdefault("status", {})["sourceVerificationMode"] = verified.mode.value
        conditions.mark_true(SOURCE_VERIFIED, SUCCEEDED_REASON, verified.message)

    async def _store(
        self,
        repo: GitRepository,
        obj: Obj,
        tree: Path,
        commit: Commit,
        includes: list[ResolvedInclude],
    ) -> None:
        try:
            ignore = await asyncio.to_thread(source_ignore_matcher, tree, repo.spec.ignore)
            stored = await self.storage.archive(
                tree,
                "GitRepository",
                repo.namespace,
                repo.name,
                ignore=ignore,
                filename=f"{commit.sha}.tar.gz",
            )
            await self.storage.set_latest(stored.path)
        except (StorageError, ArtifactError) as err:
            raise artifact_steps.storage_failure(obj, err) from None
        previous = (artifact_steps.current_artifact(obj) or {}).get("digest")
        artifact_steps.record_artifact(obj, stored.to_api(commit.revision))
        status = obj["status"]
        status["includedArtifacts"] = [i.artifact for i in includes] or None
        status["observedIgnore"] = repo.spec.ignore
        status["observedRecurseSubmodules"] = repo.spec.recurse_submodules or None
        status["observedInclude"] = _include_spec(repo)
        status["observedSparseCheckout"] = repo.spec.sparse_checkout or None
        for key in [k for k, v in status.items() if v is None]:
            del status[key]
        if previous != stored.digest:
            await self.events.normal(
                obj,
                NEW_ARTIFACT_EVENT_REASON,
                f"stored artifact for commit '{commit.short_message or commit.sha}'",
                revision=commit.revision,
                metadata={"revision": commit.revision, "digest": stored.digest},
            )


def _forget_verification(obj: Obj) -> None:
    Conditions(obj).delete(SOURCE_VERIFIED)
    (obj.get("status") or {}).pop("sourceVerificationMode", None)


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
