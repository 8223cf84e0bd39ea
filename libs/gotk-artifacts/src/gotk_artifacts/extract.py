"""Unpack an untrusted tar or tar.gz into a new directory, or not at all.

Everything is written into a fresh staging directory next to the target, which is renamed
into place only when the whole archive passed; any failure deletes the staging directory,
so a rejected archive leaves nothing behind. Compared with Flux's `tar.Untar` this also
counts the bytes actually written (not only the header sizes), caps single files and the
number of entries, bounds the memory tar metadata can claim, and copies hard links
instead of writing them as empty files.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final, Literal

from gotk_artifacts.errors import (
    ArtifactError,
    ArtifactTooLarge,
    CorruptArchive,
    UnsafeArchiveEntry,
)
from gotk_artifacts.tarstream import safe_relpath, tar_members

__all__ = [
    "DEFAULT_MAX_ENTRIES",
    "DEFAULT_MAX_UNTAR_SIZE",
    "UNLIMITED",
    "ExtractLimits",
    "ExtractResult",
    "SymlinkPolicy",
    "extract_archive",
    "extract_archive_async",
]

DEFAULT_MAX_UNTAR_SIZE: Final = 100 << 20  # Flux's tar.DefaultMaxUntarSize
DEFAULT_MAX_ENTRIES: Final = 100_000
_CHUNK: Final = 1 << 20
# Tar headers, PAX records and block padding on top of file contents, per entry.
_METADATA_PER_ENTRY: Final = 2048
_METADATA_CAP: Final = 64 << 20

SymlinkPolicy = Literal["reject", "skip", "confine"]
"""What to do with symlink entries: fail (Flux's Untar default), drop them silently
(Flux's artifact fetcher), or keep those that resolve inside the target."""


@dataclass(frozen=True, slots=True)
class ExtractLimits:
    """Caps on an extraction; None switches one off."""

    max_total_bytes: int | None = DEFAULT_MAX_UNTAR_SIZE
    max_file_bytes: int | None = None
    max_entries: int | None = DEFAULT_MAX_ENTRIES

    def stream_cap(self) -> int | None:
        """Most decompressed bytes a conforming archive can need, metadata included."""
        if self.max_total_bytes is None:
            return None
        entries = self.max_entries if self.max_entries is not None else DEFAULT_MAX_ENTRIES
        return self.max_total_bytes + min(entries * _METADATA_PER_ENTRY, _METADATA_CAP) + _CHUNK

    def archive_cap(self) -> int | None:
        """Most bytes an archive (tar or tar.gz) that unpacks within these limits can take.

        Deflate grows incompressible data by well under 0.1 %, so a download larger than
        this cannot pass the extraction and is refused while it is still arriving.
        """
        stream = self.stream_cap()
        return None if stream is None else stream + stream // 1024 + (64 << 10)


UNLIMITED: Final = ExtractLimits(None, None, None)


@dataclass(frozen=True, slots=True)
class ExtractResult:
    path: Path
    entries: int
    bytes_written: int


def extract_archive(
    source: Path | IO[bytes],
    target: Path,
    *,
    limits: ExtractLimits = ExtractLimits(),
    compressed: bool | None = None,
    symlinks: SymlinkPolicy = "reject",
) -> ExtractResult:
    """Extract `source` into `target`, which must not exist or be an empty directory.

    `compressed=None` detects gzip from the magic bytes. Blocking: see
    extract_archive_async.
    """
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ArtifactError(f"cannot extract into {target}: not an empty directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=target.parent))
    try:
        with contextlib.ExitStack() as stack:
            raw: IO[bytes] = (
                stack.enter_context(source.open("rb")) if isinstance(source, Path) else source
            )
            result = _Extraction(staging, limits, symlinks).run(raw, compressed)
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExtractResult(target, result[0], result[1])


async def extract_archive_async(
    source: Path,
    target: Path,
    *,
    limits: ExtractLimits = ExtractLimits(),
    compressed: bool | None = None,
    symlinks: SymlinkPolicy = "reject",
) -> ExtractResult:
    """extract_archive in a worker thread."""
    return await asyncio.to_thread(
        extract_archive, source, target, limits=limits, compressed=compressed, symlinks=symlinks
    )


class _Extraction:
    def __init__(self, root: Path, limits: ExtractLimits, symlinks: SymlinkPolicy) -> None:
        self.root = root
        self.limits = limits
        self.symlinks = symlinks
        self.entries = 0
        self.total = 0
        self.files: set[str] = set()
        self.pending_links: list[tuple[str, str]] = []

    def run(self, raw: IO[bytes], compressed: bool | None) -> tuple[int, int]:
        with tar_members(raw, compressed, self.limits) as members:
            for tar, member in members:
                self.entries += 1
                self._extract_member(tar, member)
        self._create_symlinks()
        return self.entries, self.total

    def _extract_member(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        rel = safe_relpath(member.name)
        if rel is None:
            return  # the archive root itself ("." or "./")
        if member.issparse():
            raise UnsafeArchiveEntry(member.name, "sparse files are not supported")
        if member.isreg():
            self._check_size(member.name, member.size)
            fileobj = tar.extractfile(member)
            if fileobj is None:
                raise CorruptArchive(f"archive entry {member.name!r} has no content")
            self._write_file(member.name, rel, fileobj, member.mode)
        elif member.isdir():
            self._mkdirs(member.name, rel, (member.mode & 0o777) | 0o700)
        elif member.islnk():
            self._copy_hardlink(member, rel)
        elif member.issym():
            self._note_symlink(member, rel)
        else:
            raise UnsafeArchiveEntry(member.name, "device, fifo or other special file")

    def _check_size(self, name: str, size: int) -> None:
        max_file, max_total = self.limits.max_file_bytes, self.limits.max_total_bytes
        if max_file is not None and size > max_file:
            raise ArtifactTooLarge(f"archive entry {name!r} is {size} bytes, limit {max_file}")
        if max_total is not None and self.total + size > max_total:
            raise ArtifactTooLarge(f"archive unpacks to more than {max_total} bytes at {name!r}")

    def _write_file(self, name: str, rel: str, src: IO[bytes], mode: int) -> None:
        dest = self._parent_ready(name, rel)
        perm = (mode & 0o777) | 0o600
        try:
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, perm)
        except (IsADirectoryError, NotADirectoryError) as exc:
            raise UnsafeArchiveEntry(name, "conflicts with an earlier entry") from exc
        written = 0
        with os.fdopen(fd, "wb") as out:
            while chunk := src.read(_CHUNK):
                written += len(chunk)
                self._check_size(name, written)
                out.write(chunk)
        self.total += written
        self.files.add(rel)

    def _mkdirs(self, name: str, rel: str, perm: int) -> None:
        path = self.root / rel
        try:
            path.mkdir(mode=perm, parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise UnsafeArchiveEntry(name, "conflicts with an earlier entry") from exc

    def _parent_ready(self, name: str, rel: str) -> Path:
        dest = self.root / rel
        if "/" in rel:
            self._mkdirs(name, rel.rsplit("/", 1)[0], 0o750)
        return dest

    def _copy_hardlink(self, member: tarfile.TarInfo, rel: str) -> None:
        try:
            target = safe_relpath(member.linkname)
        except UnsafeArchiveEntry as exc:
            raise UnsafeArchiveEntry(
                member.name, f"hard link to {member.linkname!r}: {exc.cause}"
            ) from None
        if target is None or target not in self.files:
            raise UnsafeArchiveEntry(
                member.name, f"hard link to {member.linkname!r}, not an earlier file in the archive"
            )
        size = (self.root / target).stat().st_size
        self._check_size(member.name, size)
        dest = self._parent_ready(member.name, rel)
        if dest.is_dir():
            raise UnsafeArchiveEntry(member.name, "conflicts with an earlier entry")
        shutil.copyfile(self.root / target, dest, follow_symlinks=False)
        self.total += size
        self.files.add(rel)

    def _note_symlink(self, member: tarfile.TarInfo, rel: str) -> None:
        if self.symlinks == "skip":
            return
        if self.symlinks == "reject":
            raise UnsafeArchiveEntry(member.name, "symlinks are not allowed")
        if not member.linkname or member.linkname.startswith("/") or "\\" in member.linkname:
            raise UnsafeArchiveEntry(member.name, f"symlink to {member.linkname!r} escapes")
        # Links are made after every file is written, so no write can pass through one.
        self.pending_links.append((rel, member.linkname))

    def _create_symlinks(self) -> None:
        root = os.path.realpath(self.root)
        for rel, link in self.pending_links:
            path = self.root / rel
            # An earlier link may make a parent resolve outside: never create anything there.
            if not _inside(os.path.realpath(path.parent), root):
                raise UnsafeArchiveEntry(rel, "its directory resolves outside the target")
            self._parent_ready(rel, rel)
            try:
                os.symlink(link, path)
            except FileExistsError as exc:
                raise UnsafeArchiveEntry(rel, "conflicts with an earlier entry") from exc
        # Check once all exist: a link's resolution can depend on links created after it.
        for rel, link in self.pending_links:
            if not _inside(os.path.realpath(self.root / rel), root):
                raise UnsafeArchiveEntry(rel, f"symlink to {link!r} resolves outside the target")


def _inside(resolved: str, root: str) -> bool:
    return resolved == root or resolved.startswith(root + os.sep)
