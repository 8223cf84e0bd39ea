"""The command tree, declared with click only; each command imports its work when it runs."""

from gotk_cli.commands import (
    artifact,
    build,
    create,
    get,
    inspection,
    manage,
    reconcile,
    utility,
)
from gotk_cli.commands.root import root

__all__ = [
    "artifact",
    "build",
    "create",
    "get",
    "inspection",
    "manage",
    "reconcile",
    "root",
    "utility",
]
