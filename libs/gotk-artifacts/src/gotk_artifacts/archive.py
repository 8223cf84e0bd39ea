"""Pack a directory into a deterministic tar.gz: the same tree always gives the same bytes.

As Flux's `Storage.Archive` does, the walk is lexical, directories get their own entries,
symlinks and other non-regular files are left out, and every header is stripped of what
depends on the machine: uid/gid 0, empty user and group names, mtime 0, and modes forced
to 0600 (files), 0700 (files with any exec bit) or 0750 (directories). The gzip header
carries no name and mtime 0. The digest therefore depends on paths and content only.
"""

from __future__ import annotations

import asyncio
import os
import queue
import stat
import tarfile
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

from gotk_artifacts.atomic import AtomicWriter
from gotk_artifacts.digest import Digest
from gotk_artifacts.errors import ArchiveBuildError
from gotk_artifacts.ignore import IgnoreMatcher

__all__ = [
    "ARCHIVE_DIR_MODE",
    "ARCHIVE_EXEC_MODE",
    "ARCHIVE_FILE_MODE",
    "ArchiveResult",
    "IgnoreFilter",
    "build_archive",
    "build_archive_async",
    "write_tar_gz",
]

ARCHIVE_FILE_MODE: Final = 0o600
ARCHIVE_EXEC_MODE: Final = 0o700
ARCHIVE_DIR_MODE: Final = 0o750
GZIP_LEVEL: Final = 6  # Go's gzip.DefaultCompression, and gzip(1)'s default
_COPY_BUFFER: Final = 1 << 20
_PIPE_CHUNK: Final = 1 << 20

IgnoreFilter = Callable[[str, bool], bool]
"""`(relative posix path, is_dir) -> True` to leave the entry out of the archive."""


@dataclass(frozen=True, slots=True)
class ArchiveResult:
    path: Path
    digest: Digest
    size: int
    entries: int


def build_archive(
    src_dir: Path,
    dest: Path,
    *,
    ignore: IgnoreFilter | None = None,
    file_mode: int = 0o600,
) -> ArchiveResult:
    """Write `src_dir` as tar.gz to `dest` atomically; blocking (see build_archive_async)."""
    if not src_dir.is_dir():
        raise ArchiveBuildError(f"cannot archive {src_dir}: not a directory")
    try:
        with AtomicWriter(dest, mode=file_mode) as out:
            entries = write_tar_gz(src_dir, out, ignore=ignore)
            digest = out.commit()
            return ArchiveResult(dest, digest, out.size, entries)
    except ArchiveBuildError:
        raise
    except (OSError, tarfile.TarError) as exc:
        raise ArchiveBuildError(f"cannot archive {src_dir} to {dest}: {exc}") from exc


async def build_archive_async(
    src_dir: Path,
    dest: Path,
    *,
    ignore: IgnoreFilter | None = None,
    file_mode: int = 0o600,
) -> ArchiveResult:
    """build_archive in a worker thread, so the event loop keeps running."""
    return await asyncio.to_thread(build_archive, src_dir, dest, ignore=ignore, file_mode=file_mode)


def write_tar_gz(
    src_dir: Path, out: IO[bytes] | AtomicWriter, *, ignore: IgnoreFilter | None
) -> int:
    """Stream the deterministic tar.gz of `src_dir` into `out`; return the entry count."""
    prune = isinstance(ignore, IgnoreMatcher) and ignore.prunes_excluded_dirs
    gz = _GzipPipe(out, GZIP_LEVEL)
    try:
        with tarfile.TarFile(
            fileobj=gz,  # type: ignore[arg-type]
            mode="w",
            format=tarfile.PAX_FORMAT,
            encoding="utf-8",
            copybufsize=_COPY_BUFFER,
        ) as tar:
            count = 0
            for rel, abs_path, is_dir in _walk(src_dir, ignore, prune):
                if is_dir:
                    tar.addfile(_header(rel + "/", tarfile.DIRTYPE, ARCHIVE_DIR_MODE, 0))
                else:
                    _add_file(tar, rel, abs_path)
                count += 1
    except BaseException:
        gz.abort()
        raise
    gz.finish()
    return count


class _GzipPipe:
    """A write-only sink that gzips on a worker thread.

    zlib and sha256 release the GIL, so compressing (and hashing, in `out`) overlaps with
    reading the source files — what makes `tar czf`, with its separate gzip process, fast.
    zlib's own gzip wrapper writes mtime 0 and no file name.
    """

    def __init__(self, out: IO[bytes] | AtomicWriter, level: int) -> None:
        self._out = out
        self._level = level
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=4)
        self._buffer = bytearray()
        self._position = 0
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._compress, name="gotk-gzip", daemon=True)
        self._thread.start()

    def write(self, data: bytes) -> int:
        self._buffer += data
        self._position += len(data)
        if len(self._buffer) >= _PIPE_CHUNK:
            self._flush_buffer()
        return len(data)

    def tell(self) -> int:
        return self._position

    def finish(self) -> None:
        self._flush_buffer()
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def abort(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _flush_buffer(self) -> None:
        if self._error is not None:
            raise self._error
        if self._buffer:
            self._queue.put(bytes(self._buffer))
            self._buffer.clear()

    def _compress(self) -> None:
        compressor = zlib.compressobj(self._level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        try:
            while (chunk := self._queue.get()) is not None:
                self._out.write(compressor.compress(chunk))
            self._out.write(compressor.flush())
        except BaseException as exc:
            self._error = exc
            # Keep consuming so the producer never blocks on a full queue.
            while self._queue.get() is not None:
                pass


def _walk(root: Path, ignore: IgnoreFilter | None, prune: bool) -> Iterator[tuple[str, str, bool]]:
    """Yield (relative posix path, absolute path, is_dir) in Go's filepath.Walk order:
    lexical, each directory followed by its subtree before its next sibling."""
    stack: list[tuple[Iterator[os.DirEntry[str]], str]] = [(_sorted_entries(root), "")]
    while stack:
        entries, prefix = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        mode = entry.stat(follow_symlinks=False).st_mode
        is_dir = stat.S_ISDIR(mode)
        if not (is_dir or stat.S_ISREG(mode)):
            continue
        rel = prefix + entry.name
        excluded = ignore is not None and ignore(rel, is_dir)
        if not excluded:
            yield rel, entry.path, is_dir
        if is_dir and not (excluded and prune):
            stack.append((_sorted_entries(entry.path), rel + "/"))


def _sorted_entries(directory: str | Path) -> Iterator[os.DirEntry[str]]:
    with os.scandir(directory) as it:
        return iter(sorted(it, key=lambda e: e.name))


def _header(name: str, kind: bytes, mode: int, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _add_file(tar: tarfile.TarFile, rel: str, path: str) -> None:
    # O_NOFOLLOW: a file swapped for a symlink after the walk must not pull in its target.
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        mode = ARCHIVE_EXEC_MODE if st.st_mode & 0o111 else ARCHIVE_FILE_MODE
        tar.addfile(_header(rel, tarfile.REGTYPE, mode, st.st_size), fh)
