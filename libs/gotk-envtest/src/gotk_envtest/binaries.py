"""Where the control-plane binaries built by tools/controlplane/build.sh live."""

from __future__ import annotations

import os
from pathlib import Path

KUBE_VERSION = "v1.34.3"


class BinariesMissing(RuntimeError):
    """The control plane has not been built on this machine yet."""


def bin_dir() -> Path:
    """`$GOTK_CONTROLPLANE_BIN`, else `~/.cache/gotk/controlplane/<version>/bin`."""
    override = os.environ.get("GOTK_CONTROLPLANE_BIN")
    if override:
        return Path(override)
    cache = Path(os.environ.get("GOTK_CACHE", Path.home() / ".cache" / "gotk"))
    return cache / "controlplane" / KUBE_VERSION / "bin"


def binary(name: str) -> Path:
    path = bin_dir() / name
    if not os.access(path, os.X_OK):
        raise BinariesMissing(
            f"{path} is missing: build the control plane with `make controlplane` "
            "(tools/controlplane/build.sh)"
        )
    return path
