"""Running index_worker: compaction in a child process, under a timeout."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from gotk_runtime.process import ProcessError, run

from source_controller.helm.errors import InvalidIndex
from source_controller.helm.index_compact import CompactStats

__all__ = ["compact_index_in_child"]

_EXIT_INVALID_INDEX = 3


async def compact_index_in_child(raw: Path, out: Path, *, timeout: float) -> CompactStats:
    """Compact the downloaded index `raw` into `out` in a child interpreter.

    Raises InvalidIndex when the index is malformed, or the child fails or times out.
    """
    argv = [
        sys.executable,
        "-I",
        "-X",
        "utf8",
        "-m",
        "source_controller.helm.index_worker",
        str(raw),
        str(out),
    ]
    try:
        result = await run(argv, timeout=timeout, check=False)
    except ProcessError as exc:
        raise InvalidIndex(f"failed to load the Helm repository index: {exc}") from None
    stderr = result.stderr.decode("utf-8", errors="replace").strip()
    if result.returncode == _EXIT_INVALID_INDEX:
        raise InvalidIndex(f"failed to load the Helm repository index: {stderr}")
    if result.returncode != 0:
        tail = stderr.splitlines()[-1] if stderr else f"exit status {result.returncode}"
        raise InvalidIndex(f"failed to load the Helm repository index: {tail}")
    stats = json.loads(result.stdout)
    return CompactStats(
        charts=int(stats["charts"]), versions=int(stats["versions"]), chunked=bool(stats["chunked"])
    )
