"""Which files in one object's artifact directory are garbage.

Rule: the current artifact is never garbage and counts as one of the `retention_records`
kept; of the others, the newest (by mtime) fill the remaining records, and the older ones
go once they are older than `retention_ttl`. Flux instead deletes every non-current file
past the TTL even when that leaves fewer records; keeping the last few regardless of age
lets a consumer that is still reading the previous artifact finish, and the TTL stops a
burst of revisions from being deleted the moment they are replaced. Symlinks
(`latest.tar.gz`) and `.lock` files are never counted; crashed-write temp files are removed
once past the TTL. Like Flux, a scan looks at no more than `GARBAGE_SCAN_LIMIT` files.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from gotk_artifacts.atomic import fsync_dir, is_temp_name

__all__ = ["GARBAGE_SCAN_LIMIT", "StoredFile", "collect_garbage", "select_garbage"]

GARBAGE_SCAN_LIMIT: Final = 1000


@dataclass(frozen=True, slots=True)
class StoredFile:
    name: str
    mtime: float


def select_garbage(
    files: list[StoredFile],
    *,
    current: str | None,
    keep: int,
    ttl: float,
    now: float,
) -> list[str]:
    """Names to delete, oldest first."""
    candidates = sorted(
        (f for f in files if f.name != current and not is_temp_name(f.name)),
        key=lambda f: (f.mtime, f.name),
        reverse=True,
    )
    # `keep` counts the current artifact, as Flux's --artifact-retention-records does.
    has_current = any(f.name == current for f in files)
    keep_others = max(keep - 1, 0) if has_current else keep
    garbage = [f for f in candidates[keep_others:] if now - f.mtime > ttl]
    garbage += [f for f in files if is_temp_name(f.name) and now - f.mtime > ttl]
    garbage.sort(key=lambda f: (f.mtime, f.name))
    return [f.name for f in garbage]


def collect_garbage(
    directory: Path, *, current: str | None, keep: int, ttl: float, deadline: float
) -> list[str]:
    """Delete the garbage in `directory`; return the deleted names. Blocking (thread)."""
    files: list[StoredFile] = []
    try:
        with os.scandir(directory) as it:
            for entry in it:
                if len(files) >= GARBAGE_SCAN_LIMIT or time.monotonic() > deadline:
                    break
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(st.st_mode) and not entry.name.endswith(".lock"):
                    files.append(StoredFile(entry.name, st.st_mtime))
    except FileNotFoundError:
        return []
    deleted: list[str] = []
    for name in select_garbage(files, current=current, keep=keep, ttl=ttl, now=time.time()):
        if time.monotonic() > deadline:
            break
        with contextlib.suppress(FileNotFoundError):
            (directory / name).unlink()
            deleted.append(name)
        with contextlib.suppress(FileNotFoundError):
            (directory / f"{name}.lock").unlink()
    if deleted:
        fsync_dir(directory)
    return deleted
