"""Artifact storage: the `--storage-path` tree the artifact server publishes.

Layout, as Flux's: `<root>/<kind lowercase>/<namespace>/<name>/<file>`, e.g.
`gitrepository/flux-system/podinfo/<commit>.tar.gz`, plus a `latest.tar.gz` (or
`index.yaml`) symlink per directory. Every write is atomic (temp file in the same
directory, fsync, rename), so the server never hands out half an artifact. Operations on
one object are serialized by an in-process lock: only the leader writes, so no file lock
is needed across processes. All paths are confined to the root after resolving symlinks.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from gotk_api.conditions import (
    ARCHIVE_OPERATION_FAILED_REASON,
    DIRECTORY_CREATION_FAILED_REASON,
    GARBAGE_COLLECTION_FAILED_REASON,
    INVALID_PATH_REASON,
    STAT_OPERATION_FAILED_REASON,
    SYMLINK_UPDATE_FAILED_REASON,
)
from gotk_api.meta import Artifact
from gotk_artifacts.archive import IgnoreFilter, build_archive
from gotk_artifacts.atomic import AtomicWriter, fsync_dir
from gotk_artifacts.digest import verify_file
from gotk_artifacts.errors import ArtifactError
from gotk_runtime.errors import GotkError

from source_controller.storage.gc import collect_garbage

__all__ = [
    "ArtifactStorage",
    "StorageError",
    "StoredArtifact",
]

GC_TIMEOUT: Final = 5.0  # seconds, as Flux
_SEGMENT_RE: Final = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_COPY_CHUNK: Final = 1 << 20


class StorageError(GotkError):
    """A storage operation failed; `reason` says which, in Flux's words."""

    reason: str = ARCHIVE_OPERATION_FAILED_REASON


@dataclass(frozen=True, slots=True)
class StoredArtifact:
    """What a write produced; `to_api` adds the revision the reconciler knows."""

    path: str
    url: str
    digest: str
    size: int
    last_update_time: datetime

    def to_api(self, revision: str, metadata: dict[str, str] | None = None) -> Artifact:
        return Artifact(
            path=self.path,
            url=self.url,
            revision=revision,
            digest=self.digest,
            size=self.size,
            last_update_time=self.last_update_time,
            metadata=metadata,
        )


class ArtifactStorage:
    def __init__(
        self,
        root: Path,
        hostname: str,
        *,
        retention_ttl: float = 60.0,
        retention_records: int = 2,
    ) -> None:
        if not root.is_dir():
            raise StorageError(
                f"storage path {root} is not a directory", reason=INVALID_PATH_REASON
            )
        self.root = Path(os.path.realpath(root))
        self.hostname = hostname
        self.retention_ttl = retention_ttl
        self.retention_records = retention_records
        self._locks: dict[str, asyncio.Lock] = {}
        self._lock_users: dict[str, int] = {}

    # --- paths

    @staticmethod
    def artifact_dir(kind: str, namespace: str, name: str) -> str:
        parts = (kind.lower(), namespace, name)
        for part in parts:
            if not _SEGMENT_RE.match(part):
                raise StorageError(
                    f"invalid storage path segment {part!r} in {kind}/{namespace}/{name}",
                    reason=INVALID_PATH_REASON,
                )
        return "/".join(parts)

    @classmethod
    def artifact_path(cls, kind: str, namespace: str, name: str, filename: str) -> str:
        _check_filename(filename)
        return f"{cls.artifact_dir(kind, namespace, name)}/{filename}"

    def artifact_url(self, path: str) -> str:
        if self.hostname.startswith(("http://", "https://")):
            return f"{self.hostname.rstrip('/')}/{path.lstrip('/')}"
        return f"http://{self.hostname}/{path.lstrip('/')}"

    def local_path(self, path: str) -> Path:
        """The on-disk path for a storage-relative path; refuses anything escaping the root."""
        if "\x00" in path or "\\" in path or ".." in path.split("/"):
            raise StorageError(f"invalid artifact path {path!r}", reason=INVALID_PATH_REASON)
        joined = os.path.join(self.root, path.lstrip("/"))
        real = os.path.realpath(joined)
        if real != str(self.root) and not real.startswith(f"{self.root}{os.sep}"):
            raise StorageError(
                f"artifact path {path!r} resolves outside the storage root",
                reason=INVALID_PATH_REASON,
            )
        return Path(joined)

    # --- writes

    async def archive(
        self,
        src_dir: Path,
        kind: str,
        namespace: str,
        name: str,
        *,
        ignore: IgnoreFilter | None = None,
        filename: str | None = None,
    ) -> StoredArtifact:
        """Pack `src_dir` as tar.gz into the object's directory.

        `filename` defaults to `<sha256 hex>.tar.gz`; Git sources pass `<commit>.tar.gz`.
        """
        rel_dir = self.artifact_dir(kind, namespace, name)
        if filename is not None:
            _check_filename(filename)
        async with self._locked(rel_dir):
            directory = await self._mkdir(rel_dir)
            return await asyncio.to_thread(
                self._archive_sync, src_dir, directory, rel_dir, ignore, filename
            )

    def _archive_sync(
        self,
        src_dir: Path,
        directory: Path,
        rel_dir: str,
        ignore: IgnoreFilter | None,
        filename: str | None,
    ) -> StoredArtifact:
        staged = directory / f".tmp-archive-{os.getpid()}-{time.monotonic_ns()}"
        try:
            result = build_archive(src_dir, staged, ignore=ignore)
            final = filename or f"{result.digest.hex}.tar.gz"
            os.replace(staged, directory / final)
            fsync_dir(directory)
        except ArtifactError:
            raise
        except OSError as exc:
            raise StorageError(f"cannot store artifact in {rel_dir}: {exc}") from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                staged.unlink()
        return self._stored(f"{rel_dir}/{final}", str(result.digest), result.size)

    async def copy_file(
        self,
        src: Path,
        kind: str,
        namespace: str,
        name: str,
        *,
        filename: str | None = None,
        prefix: str = "",
        suffix: str = "",
    ) -> StoredArtifact:
        """Store a file as-is (Helm index, chart .tgz, OCI layer).

        Without `filename` the name is `<prefix><sha256 hex><suffix>`, e.g.
        `index-<hex>.yaml` for a HelmRepository.
        """
        rel_dir = self.artifact_dir(kind, namespace, name)
        async with self._locked(rel_dir):
            directory = await self._mkdir(rel_dir)
            return await asyncio.to_thread(
                self._copy_sync, src, directory, rel_dir, filename, prefix, suffix
            )

    def _copy_sync(
        self,
        src: Path,
        directory: Path,
        rel_dir: str,
        filename: str | None,
        prefix: str,
        suffix: str,
    ) -> StoredArtifact:
        staged = directory / f".tmp-copy-{os.getpid()}-{time.monotonic_ns()}"
        try:
            with AtomicWriter(staged) as out, src.open("rb") as fh:
                while chunk := fh.read(_COPY_CHUNK):
                    out.write(chunk)
                digest = out.commit()
                size = out.size
            final = filename or f"{prefix}{digest.hex}{suffix}"
            _check_filename(final)
            os.replace(staged, directory / final)
            fsync_dir(directory)
        except OSError as exc:
            raise StorageError(f"cannot copy {src.name} into {rel_dir}: {exc}") from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                staged.unlink()
        return self._stored(f"{rel_dir}/{final}", str(digest), size)

    async def set_latest(self, artifact_path: str, link_name: str = "latest.tar.gz") -> str:
        """Point `<dir>/<link_name>` at the artifact, atomically; return the link's path."""
        rel_dir, _, target = artifact_path.rpartition("/")
        _check_filename(link_name)
        directory = self.local_path(rel_dir)
        async with self._locked(rel_dir):
            try:
                await asyncio.to_thread(_replace_symlink, directory, target, link_name)
            except OSError as exc:
                raise StorageError(
                    f"cannot point {rel_dir}/{link_name} at {target}: {exc}",
                    reason=SYMLINK_UPDATE_FAILED_REASON,
                ) from exc
        return f"{rel_dir}/{link_name}"

    # --- reads

    async def exists(self, path: str) -> bool:
        """True when `path` is a regular file in storage (a symlink does not count)."""
        local = self.local_path(path)
        return await asyncio.to_thread(lambda: local.is_file() and not local.is_symlink())

    async def verify(self, path: str, digest: str) -> None:
        """Raise DigestMismatch (an ArtifactError) unless the stored file matches `digest`."""
        local = self.local_path(path)
        try:
            await asyncio.to_thread(verify_file, local, digest, source=path)
        except OSError as exc:
            raise StorageError(
                f"cannot read artifact {path}: {exc}", reason=STAT_OPERATION_FAILED_REASON
            ) from exc

    # --- deletion

    async def garbage_collect(
        self, kind: str, namespace: str, name: str, *, current: str | None
    ) -> list[str]:
        """Delete old artifacts of one object (see storage.gc); return the deleted paths.

        `current` is the storage path (or file name) of the artifact in status.
        """
        rel_dir = self.artifact_dir(kind, namespace, name)
        current_name = current.rpartition("/")[2] if current else None
        directory = self.local_path(rel_dir)
        async with self._locked(rel_dir):
            try:
                deleted = await asyncio.to_thread(
                    collect_garbage,
                    directory,
                    current=current_name,
                    keep=self.retention_records,
                    ttl=self.retention_ttl,
                    deadline=time.monotonic() + GC_TIMEOUT,
                )
            except OSError as exc:
                raise StorageError(
                    f"garbage collection of {rel_dir} failed: {exc}",
                    reason=GARBAGE_COLLECTION_FAILED_REASON,
                ) from exc
        return [f"{rel_dir}/{n}" for n in deleted]

    async def remove_all(self, kind: str, namespace: str, name: str) -> None:
        """Delete every file of one object (finalizer); a missing directory is fine."""
        rel_dir = self.artifact_dir(kind, namespace, name)
        directory = self.local_path(rel_dir)
        async with self._locked(rel_dir):
            try:
                await asyncio.to_thread(_rmtree_if_exists, directory)
            except OSError as exc:
                raise StorageError(f"cannot remove {rel_dir}: {exc}") from exc

    # --- helpers

    def _stored(self, path: str, digest: str, size: int) -> StoredArtifact:
        return StoredArtifact(
            path=path,
            url=self.artifact_url(path),
            digest=digest,
            size=size,
            last_update_time=datetime.now(UTC).replace(microsecond=0),
        )

    async def _mkdir(self, rel_dir: str) -> Path:
        directory = self.local_path(rel_dir)
        try:
            await asyncio.to_thread(directory.mkdir, 0o750, True, True)
        except OSError as exc:
            raise StorageError(
                f"cannot create storage directory {rel_dir}: {exc}",
                reason=DIRECTORY_CREATION_FAILED_REASON,
            ) from exc
        self.local_path(rel_dir)  # re-check: a component may have been swapped for a symlink
        return directory

    @contextlib.asynccontextmanager
    async def _locked(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._lock_users[key] = self._lock_users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._lock_users[key] -= 1
            if self._lock_users[key] == 0:
                del self._lock_users[key]
                del self._locks[key]


def _check_filename(filename: str) -> None:
    if (
        not filename
        or filename in (".", "..")
        or "/" in filename
        or "\\" in filename
        or "\x00" in filename
        or filename.startswith(".")
        or filename.endswith(".lock")
    ):
        raise StorageError(f"invalid artifact file name {filename!r}", reason=INVALID_PATH_REASON)


def _replace_symlink(directory: Path, target: str, link_name: str) -> None:
    if not (directory / target).is_file():
        raise FileNotFoundError(f"{target} does not exist")
    tmp = directory / f".tmp-link-{os.getpid()}-{time.monotonic_ns()}"
    os.symlink(target, tmp)
    try:
        os.replace(tmp, directory / link_name)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(directory)


def _rmtree_if_exists(directory: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(directory)
