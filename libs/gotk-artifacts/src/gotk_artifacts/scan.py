"""Read what an untrusted archive holds without unpacking it: its entries and a few files.

For callers that need a listing or one small file (a chart's Chart.yaml, its CRDs) rather
than a directory. The archive is read as a stream within the same limits as an extraction
(`ExtractLimits`: entries, bytes, per-file size, extended headers), entry names are checked
as extraction checks them, and only the contents `read` asks for are kept in memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from gotk_artifacts.errors import ArtifactTooLarge, CorruptArchive, UnsafeArchiveEntry
from gotk_artifacts.extract import ExtractLimits
from gotk_artifacts.tarstream import safe_relpath, tar_members

__all__ = ["ArchiveEntry", "ArchiveScan", "EntryKind", "scan_archive", "scan_archive_async"]

EntryKind = Literal["file", "dir", "symlink", "hardlink"]


@dataclass(frozen=True, slots=True)
class ArchiveEntry:
    path: str
    """The normalized relative path ("chart/Chart.yaml")."""
    kind: EntryKind
    size: int
    link: str = ""


@dataclass(frozen=True, slots=True)
class ArchiveScan:
    entries: tuple[ArchiveEntry, ...]
    files: dict[str, bytes] = field(default_factory=dict)
    """The content of every regular file `read` selected, by path."""
    total_bytes: int = 0


def scan_archive(
    source: Path | IO[bytes],
    *,
    read: Callable[[str], bool] = lambda _path: False,
    limits: ExtractLimits = ExtractLimits(),  # noqa: B008 - frozen, shared safely
    compressed: bool | None = None,
) -> ArchiveScan:
    """List `source` and return the content of the regular files `read(path)` selects.

    Devices, FIFOs, sparse files and unsafe names are refused (UnsafeArchiveEntry), as in
    an extraction; symlinks and hard links are listed, not followed. Blocking.
    """
    if isinstance(source, Path):
        with source.open("rb") as raw:
            return _scan(raw, read, limits, compressed)
    return _scan(source, read, limits, compressed)


async def scan_archive_async(
    source: Path,
    *,
    read: Callable[[str], bool] = lambda _path: False,
    limits: ExtractLimits = ExtractLimits(),  # noqa: B008
    compressed: bool | None = None,
) -> ArchiveScan:
    """scan_archive in a worker thread."""
    return await asyncio.to_thread(
        scan_archive, source, read=read, limits=limits, compressed=compressed
    )


def _scan(
    raw: IO[bytes],
    read: Callable[[str], bool],
    limits: ExtractLimits,
    compressed: bool | None,
) -> ArchiveScan:
    entries: list[ArchiveEntry] = []
    files: dict[str, bytes] = {}
    total = 0
    with tar_members(raw, compressed, limits) as members:
        for tar, member in members:
            path = safe_relpath(member.name)
            if path is None:
                continue
            if member.issparse():
                raise UnsafeArchiveEntry(member.name, "sparse files are not supported")
            if member.isreg():
                _check_size(limits, member.name, member.size, total)
                total += member.size
                entries.append(ArchiveEntry(path, "file", member.size))
                if read(path):
                    handle = tar.extractfile(member)
                    if handle is None:
                        raise CorruptArchive(f"archive entry {member.name!r} has no content")
                    files[path] = handle.read(member.size)
            elif member.isdir():
                entries.append(ArchiveEntry(path, "dir", 0))
            elif member.issym():
                entries.append(ArchiveEntry(path, "symlink", 0, member.linkname))
            elif member.islnk():
                entries.append(ArchiveEntry(path, "hardlink", 0, member.linkname))
            else:
                raise UnsafeArchiveEntry(member.name, "device, fifo or other special file")
    return ArchiveScan(tuple(entries), files, total)


def _check_size(limits: ExtractLimits, name: str, size: int, total: int) -> None:
    # In a stream the header's size is exactly the bytes that follow it: no entry can
    # hold more than it declares, so the declared sizes are the real ones.
    max_file, max_total = limits.max_file_bytes, limits.max_total_bytes
    if max_file is not None and size > max_file:
        raise ArtifactTooLarge(f"archive entry {name!r} is {size} bytes, limit {max_file}")
    if max_total is not None and total + size > max_total:
        raise ArtifactTooLarge(f"archive unpacks to more than {max_total} bytes at {name!r}")
