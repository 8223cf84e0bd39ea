"""gotk_cli: the `gotk` command, Flux's CLI for gotk (get, reconcile, create, export, ...)."""

from gotk_cli.app import main, run

__all__ = ["main", "run"]
