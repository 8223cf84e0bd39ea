"""Write a file so that readers see either nothing or the whole, durable content.

The bytes go to a temp file in the destination directory (same filesystem, so the final
rename is atomic), are hashed and counted on the way, fsynced, then renamed into place and
the directory fsynced. Any failure removes the temp file. Flux skips the fsyncs; a crash
right after its rename can leave an empty artifact that the status already points at.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from gotk_artifacts.digest import CANONICAL_ALGORITHM, Digest, Hasher, new_hasher

__all__ = ["AtomicWriter", "fsync_dir", "is_temp_name"]

_TEMP_PREFIX: Final = ".tmp-"
_BUFFER: Final = 1 << 20


class AtomicWriter:
    """A binary, write-only file object; `commit()` publishes it at `dest`.

    Use as a context manager: leaving the block without `commit()` (or with an exception)
    discards everything written. `durable=False` skips the fsyncs (scratch files that a
    crash may lose). Blocking: use from a worker thread.
    """

    def __init__(
        self,
        dest: Path,
        *,
        mode: int = 0o600,
        algorithm: str = CANONICAL_ALGORITHM,
        durable: bool = True,
    ) -> None:
        self.dest = dest
        self._durable = durable
        self._mode = mode
        self._hasher: Hasher = new_hasher(algorithm)
        self._algorithm = algorithm
        self.size = 0
        fd, tmp = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=dest.parent)
        self._tmp = Path(tmp)
        self._fh = os.fdopen(fd, "wb", buffering=_BUFFER)
        self._done = False

    @property
    def temp_path(self) -> Path:
        return self._tmp

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._hasher.update(data)
        written = self._fh.write(data)
        self.size += written
        return written

    def flush(self) -> None:
        self._fh.flush()

    def tell(self) -> int:
        return self.size

    def digest(self) -> Digest:
        return Digest(self._algorithm, self._hasher.hexdigest())

    def commit(self) -> Digest:
        """fsync, rename over `dest`, fsync the directory; return the content digest."""
        digest = self.digest()
        self._fh.flush()
        os.fchmod(self._fh.fileno(), self._mode)
        if self._durable:
            os.fsync(self._fh.fileno())
        self._fh.close()
        os.replace(self._tmp, self.dest)
        self._done = True
        if self._durable:
            fsync_dir(self.dest.parent)
        return digest

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        with contextlib.suppress(OSError):
            self._fh.close()
        with contextlib.suppress(FileNotFoundError):
            self._tmp.unlink()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.abort()


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink inside `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def is_temp_name(name: str) -> bool:
    """True for the temp files AtomicWriter leaves behind only if the process dies."""
    return name.startswith(_TEMP_PREFIX)
