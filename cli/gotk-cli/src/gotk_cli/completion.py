"""Shell completion: click answers the shell's completion requests and writes its scripts."""

from __future__ import annotations

import os
import sys

from click.shell_completion import get_completion_class, shell_complete

__all__ = ["COMPLETE_VAR", "SHELLS", "complete_if_requested", "completion_script"]

COMPLETE_VAR = "_GOTK_COMPLETE"
SHELLS = ("bash", "zsh", "fish")


def completion_script(shell: str) -> str:
    """The script that `source <(gotk completion bash)` loads."""
    from gotk_cli.commands import root

    completion_class = get_completion_class(shell)
    if completion_class is None:
        raise ValueError(f"unsupported shell {shell!r}")
    return completion_class(root, {}, "gotk", COMPLETE_VAR).source()


def complete_if_requested() -> None:
    """Answer a completion request (the shell sets ``_GOTK_COMPLETE``) and exit."""
    instruction = os.environ.get(COMPLETE_VAR)
    if not instruction:
        return
    from gotk_cli.commands import root

    sys.exit(shell_complete(root, {}, "gotk", COMPLETE_VAR, instruction))
