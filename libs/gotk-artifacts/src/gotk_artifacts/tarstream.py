"""Reading an untrusted tar or tar.gz as a stream, within bounds set before reading.

Both extraction and scanning go through `tar_members`. `tarfile` opened seekable
(`r:gz`, `r:*`) is no place for untrusted input: it keeps a TarInfo for every entry (a
small archive of millions of directory entries costs GiBs), reads each PAX or GNU long-name
header whole into memory whatever size it declares, and, on an unpatched 3.11, follows a
negative PAX `size` backwards into an endless loop. Here the archive is read forwards only
(`r|`), every entry is forgotten once handed out, extended headers above
`MAX_EXTENDED_HEADER` are refused before they are read, a negative size is refused, and
the decompressed stream stops at the limits' `stream_cap`.
"""

from __future__ import annotations

import contextlib
import gzip
import tarfile
import zlib
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Final, cast

from gotk_artifacts.errors import (
    ArtifactError,
    ArtifactTooLarge,
    CorruptArchive,
    TooManyEntries,
    UnsafeArchiveEntry,
)

if TYPE_CHECKING:
    from gotk_artifacts.extract import ExtractLimits

__all__ = ["MAX_EXTENDED_HEADER", "peek", "safe_relpath", "tar_members"]

MAX_EXTENDED_HEADER: Final = 1 << 20
"""Largest PAX or GNU long-name header accepted (real ones hold a few hundred bytes)."""
MAX_GLOBAL_HEADERS: Final = 64 << 10
"""Total size of global PAX headers: tarfile copies them into every later entry."""
MAX_HEADER_CHAIN: Final = 8
"""Extended headers in a row before an entry (tarfile recurses once for each)."""
_GZIP_MAGIC: Final = b"\x1f\x8b"
_EXTENDED_TYPES: Final = frozenset(
    {
        tarfile.XHDTYPE,
        tarfile.XGLTYPE,
        tarfile.SOLARIS_XHDTYPE,
        tarfile.GNUTYPE_LONGNAME,
        tarfile.GNUTYPE_LONGLINK,
    }
)


class _CappedReader:
    """Counts bytes read from the decompressed stream and stops past `cap`.

    A read never asks the inner stream for more than one byte past the cap, so no single
    read can allocate more than the cap allows.
    """

    def __init__(self, inner: IO[bytes], cap: int | None) -> None:
        self._inner = inner
        self._cap = cap
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        if self._cap is not None:
            room = self._cap - self.count + 1
            size = room if size < 0 else min(size, room)
        data = self._inner.read(size)
        self.count += len(data)
        if self._cap is not None and self.count > self._cap:
            raise ArtifactTooLarge(f"archive unpacks to more than {self._cap} bytes")
        return data


class _BoundedTarInfo(tarfile.TarInfo):
    """A TarInfo that refuses oversized extended headers and negative sizes as it parses."""

    def _proc_member(self, tarfile_: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type not in _EXTENDED_TYPES:
            return self._checked(super()._proc_member(tarfile_))  # type: ignore[misc]
        if self.size > MAX_EXTENDED_HEADER:
            raise UnsafeArchiveEntry(
                self.name,
                f"extended header of {self.size} bytes, above the limit of {MAX_EXTENDED_HEADER}",
            )
        if self.type == tarfile.XGLTYPE:
            seen = getattr(tarfile_, "_gotk_global_bytes", 0) + self.size
            if seen > MAX_GLOBAL_HEADERS:
                raise UnsafeArchiveEntry(
                    self.name, f"global headers above {MAX_GLOBAL_HEADERS} bytes in total"
                )
            tarfile_._gotk_global_bytes = seen  # type: ignore[attr-defined]
        chain = getattr(tarfile_, "_gotk_chain", 0) + 1
        if chain > MAX_HEADER_CHAIN:
            raise UnsafeArchiveEntry(
                self.name, f"more than {MAX_HEADER_CHAIN} extended headers in a row"
            )
        tarfile_._gotk_chain = chain  # type: ignore[attr-defined]
        try:
            return self._checked(super()._proc_member(tarfile_))  # type: ignore[misc]
        finally:
            tarfile_._gotk_chain = chain - 1  # type: ignore[attr-defined]

    @staticmethod
    def _checked(member: tarfile.TarInfo) -> tarfile.TarInfo:
        if member.size < 0:
            raise CorruptArchive(f"archive entry {member.name!r} declares a negative size")
        return member


@contextlib.contextmanager
def tar_members(
    raw: IO[bytes], compressed: bool | None, limits: ExtractLimits
) -> Iterator[Iterator[tuple[tarfile.TarFile, tarfile.TarInfo]]]:
    """The archive's entries in order, each with the open TarFile to read its content from.

    Counts entries against `limits.max_entries`; translates tar, gzip and I/O failures
    into the artifact error tree, including those raised while the caller reads content.
    """
    if compressed is None:
        compressed = peek(raw, 2) == _GZIP_MAGIC
    kind = "tar.gz" if compressed else "tar"
    try:
        stream = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb")) if compressed else raw
        reader = _CappedReader(stream, limits.stream_cap())
        with tarfile.open(  # type: ignore[call-overload]
            fileobj=reader, mode="r|", tarinfo=_BoundedTarInfo
        ) as tar:
            yield _iterate(tar, limits.max_entries)
    except (tarfile.TarError, gzip.BadGzipFile, zlib.error, EOFError) as exc:
        raise CorruptArchive(f"not a readable {kind}: {exc}") from exc
    except RecursionError:
        raise CorruptArchive(f"not a readable {kind}: headers nested too deeply") from None
    except ArtifactError:
        raise
    except OSError as exc:
        raise ArtifactError(f"cannot unpack archive: {exc}") from exc


def _iterate(
    tar: tarfile.TarFile, max_entries: int | None
) -> Iterator[tuple[tarfile.TarFile, tarfile.TarInfo]]:
    entries = 0
    while (member := tar.next()) is not None:
        # TarFile remembers every entry it has read; a stream never looks back, so forget them.
        tar.members.clear()  # type: ignore[attr-defined]
        entries += 1
        if max_entries is not None and entries > max_entries:
            raise TooManyEntries(f"archive has more than {max_entries} entries")
        yield tar, member


def safe_relpath(name: str) -> str | None:
    """The normalized relative path of an entry name, None for the root; raise if unsafe."""
    if not name or "\\" in name or "\x00" in name:
        raise UnsafeArchiveEntry(name, "empty name or one containing a backslash or NUL")
    if name.startswith("/"):
        raise UnsafeArchiveEntry(name, "absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchiveEntry(name, "path contains '..'")
    return "/".join(parts) or None


def peek(raw: IO[bytes], n: int) -> bytes:
    """The first `n` bytes of `raw`, left unread."""
    peek_ = getattr(raw, "peek", None)
    if peek_ is not None:
        return bytes(peek_(n)[:n])
    if raw.seekable():
        pos = raw.tell()
        head = raw.read(n)
        raw.seek(pos)
        return head
    raise ArtifactError("cannot detect compression of a non-seekable stream; pass compressed=")
