"""Where the external binaries (`kustomize`, `sops`, `gpg`) are found."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

TOOLS_BIN_ENV = "GOTK_TOOLS_BIN"
DEFAULT_TOOLS_BIN = Path.home() / ".cache" / "gotk" / "tools" / "bin"


class ToolNotFoundError(FileNotFoundError):
    """A required binary is in none of the places gotk looks."""


def find_tool(name: str) -> Path:
    """Resolve `name`: `$GOTK_TOOLS_BIN`, then ~/.cache/gotk/tools/bin, then `PATH`."""
    candidates: list[Path] = []
    if env_dir := os.environ.get(TOOLS_BIN_ENV):
        candidates.append(Path(env_dir) / name)
    candidates.append(DEFAULT_TOOLS_BIN / name)
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    if found := shutil.which(name):
        return Path(found)
    raise ToolNotFoundError(
        f"{name} binary not found in ${TOOLS_BIN_ENV}, {DEFAULT_TOOLS_BIN} or PATH "
        "(build it with tools/controlplane/build.sh tools)"
    )
