"""The `gotk` group itself."""

from __future__ import annotations

from gotk_cli.cli import group

__all__ = ["root"]


@group(
    None,
    "gotk",
    "Command line utility for the gotk GitOps toolkit (Flux's commands, in Python).",
    examples="""
  # List GitRepository sources and their status
  gotk get sources git

  # Trigger a git sync of a Kustomization's source and apply changes
  gotk reconcile kustomization apps --with-source

  # Export every Kustomization of a namespace
  gotk export kustomization --all > kustomizations.yaml
""",
    context_settings={"help_option_names": ["-h", "--help"]},
)
def root() -> None:
    """Command line utility for the gotk GitOps toolkit (Flux's commands, in Python)."""
