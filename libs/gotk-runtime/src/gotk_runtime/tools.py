"""Where gotk finds the external binaries it runs (helm, kustomize, sops, gpg).

One resolution order for every service: `$GOTK_TOOLS_BIN`, then ~/.cache/gotk/tools/bin
(where `tools/controlplane/build.sh tools` installs them), then `PATH`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Final

from gotk_runtime.errors import GotkError

__all__ = ["DEFAULT_TOOLS_BIN", "TOOLS_BIN_ENV", "ToolNotFound", "find_tool"]

TOOLS_BIN_ENV: Final = "GOTK_TOOLS_BIN"
DEFAULT_TOOLS_BIN: Final = Path.home() / ".cache" / "gotk" / "tools" / "bin"


class ToolNotFound(GotkError, FileNotFoundError):
    """A required binary is in none of the places gotk looks."""


def find_tool(name: str) -> Path:
    """The executable `name`, from `$GOTK_TOOLS_BIN`, ~/.cache/gotk/tools/bin or `PATH`."""
    candidates: list[Path] = []
    if env_dir := os.environ.get(TOOLS_BIN_ENV):
        candidates.append(Path(env_dir) / name)
    candidates.append(DEFAULT_TOOLS_BIN / name)
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    if found := shutil.which(name):
        return Path(found)
    raise ToolNotFound(
        f"{name} binary not found in ${TOOLS_BIN_ENV}, {DEFAULT_TOOLS_BIN} or PATH "
        "(install it with tools/controlplane/build.sh tools)"
    )
