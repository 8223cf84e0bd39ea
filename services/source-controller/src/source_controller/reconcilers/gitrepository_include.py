"""`spec.include`: copying the artifacts of other GitRepositories into this one's tree."""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from gotk_api.conditions import (
    ILLEGAL_PATH_REASON,
    INCLUDE_UNAVAILABLE,
    NO_ARTIFACT_REASON,
    NOT_FOUND_REASON,
)
from gotk_api.objects import Obj
from gotk_api.source_git import GitRepository
from gotk_artifacts.errors import ArtifactError
from gotk_artifacts.extract import UNLIMITED, extract_archive
from gotk_artifacts.scratch import scratch_dir
from gotk_runtime import Conditions, GenericError, KubeClient, NotFound, Waiting

from source_controller.storage import ArtifactStorage

_INCLUDE_RETRY = 30.0


@dataclass(frozen=True, slots=True)
class ResolvedInclude:
    name: str
    from_path: str
    to_path: str
    artifact: Obj


def _safe_relative(path: str, field: str) -> PurePosixPath:
    relative = PurePosixPath(path.strip("/") or ".")
    if ".." in relative.parts:
        raise GenericError(
            f"{field} '{path}' escapes the repository root", reason=ILLEGAL_PATH_REASON
        )
    return relative


async def resolve_includes(
    client: KubeClient, repo: GitRepository, obj: Obj
) -> list[ResolvedInclude]:
    """Find the stored artifact of each included GitRepository (same namespace, as Flux)."""
    includes = repo.spec.include or []
    conditions = Conditions(obj)
    if not includes:
        conditions.delete(INCLUDE_UNAVAILABLE)
        return []
    resource = await client.discovery.resource_for(
        GitRepository.api_version_string(), "GitRepository"
    )
    resolved = []
    for index, include in enumerate(includes):
        name = include.repository.name
        field = f"spec.include[{index}]"
        try:
            included = await client.get(resource, name, repo.namespace)
        except NotFound:
            message = f"{field}: GitRepository '{repo.namespace}/{name}' not found"
            conditions.mark_true(INCLUDE_UNAVAILABLE, NOT_FOUND_REASON, message)
            raise Waiting(message, requeue_after=_INCLUDE_RETRY, reason=NOT_FOUND_REASON) from None
        artifact = (included.get("status") or {}).get("artifact")
        if not artifact:
            message = f"{field}: GitRepository '{repo.namespace}/{name}' has no artifact yet"
            conditions.mark_true(INCLUDE_UNAVAILABLE, NO_ARTIFACT_REASON, message)
            raise Waiting(message, requeue_after=_INCLUDE_RETRY, reason=NO_ARTIFACT_REASON)
        from_path = str(_safe_relative(include.from_path or "", f"{field}.fromPath"))
        to_path = str(_safe_relative(include.to_path or name, f"{field}.toPath"))
        resolved.append(ResolvedInclude(name, from_path, to_path, artifact))
    conditions.delete(INCLUDE_UNAVAILABLE)
    return resolved


def _copy_include(
    storage: ArtifactStorage, include: ResolvedInclude, root: Path, scratch: Path
) -> None:
    archive = storage.local_path(include.artifact["path"])
    extracted = scratch / "tree"
    extract_archive(archive, extracted, limits=UNLIMITED)
    source = (extracted / include.from_path).resolve()
    if not source.is_relative_to(extracted.resolve()) or not source.is_dir():
        raise GenericError(
            f"include '{include.name}': fromPath '{include.from_path}' is not a directory "
            "in its artifact",
            reason=ILLEGAL_PATH_REASON,
        )
    target = root / include.to_path
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, symlinks=False)


async def copy_includes(
    storage: ArtifactStorage, includes: list[ResolvedInclude], root: Path
) -> None:
    """Copy each include's `fromPath` into `root/toPath`, replacing what the clone had there."""
    for include in includes:
        try:
            async with scratch_dir("include-", parent=root.parent) as scratch:
                await asyncio.to_thread(_copy_include, storage, include, root, scratch)
        except ArtifactError as err:
            raise GenericError(f"include '{include.name}': {err}", reason=err.reason) from err
