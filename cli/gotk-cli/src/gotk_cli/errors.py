"""The CLI's own failures; every one ends the command with a one-line message and exit 1."""

from __future__ import annotations

from gotk_runtime.errors import GotkError

__all__ = ["CliError", "CrdNotInstalled"]


class CliError(GotkError):
    """A command cannot complete: object missing, CRD not installed, reconcile failed."""


class CrdNotInstalled(CliError):
    """The API server serves no resource for the kind."""
