"""A scratch directory for one piece of work, created and removed off the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

__all__ = ["scratch_dir"]


@contextlib.asynccontextmanager
async def scratch_dir(prefix: str, *, parent: Path | None = None) -> AsyncIterator[Path]:
    """A new private (0700) directory named `<prefix>…` in `parent` (default: the system
    temp dir), removed with everything in it when the block exits, however it exits."""
    path = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix=prefix, dir=parent))
    try:
        yield path
    finally:
        await asyncio.to_thread(shutil.rmtree, path, True)
