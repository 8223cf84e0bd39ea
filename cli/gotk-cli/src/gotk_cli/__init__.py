"""gotk_cli: the `gotk` command, a small Flux-like CLI (get, reconcile, suspend, resume)."""

from gotk_cli.app import main, run

__all__ = ["main", "run"]
