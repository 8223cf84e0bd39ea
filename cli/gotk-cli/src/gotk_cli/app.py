"""Running one command line: parse it with click, await the command's work, map failures.

Exit codes are Flux's: 0 on success, 1 on any failure — a usage error included (cobra
reports those as errors too) — with the failure on one line of stderr.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
from collections.abc import Sequence
from typing import Any

import click

from gotk_cli.cli import Settings
from gotk_cli.log import Log

__all__ = ["main", "parse", "run"]


def parse(argv: Sequence[str]) -> tuple[Settings, Any]:
    """The global settings and what the command returned: its work (a coroutine) or an exit
    code (`--help`); click's usage errors propagate."""
    from gotk_cli.commands import root

    current = Settings()
    result = root.main(list(argv), prog_name="gotk", standalone_mode=False, obj=current)
    return current, result


async def run(argv: Sequence[str]) -> int:
    """Run the command in ``argv`` (without the program name) on the running loop."""
    log = Log()
    try:
        _, result = parse(argv)
        if isinstance(result, int):  # --help, and click's other early exits
            return result
        if inspect.iscoroutine(result):
            await result
    except click.exceptions.NoArgsIsHelpError as err:
        click.echo(err.ctx.get_help() if err.ctx else str(err))
        return 0
    except click.UsageError as err:
        hint = f" (see '{err.ctx.command_path} --help')" if err.ctx else ""
        log.failure(f"{err.format_message()}{hint}")
        return 1
    except click.ClickException as err:
        log.failure(err.format_message())
        return 1
    except click.Abort:
        log.failure("aborted")
        return 1
    except Exception as err:
        from gotk_runtime import GotkError

        if isinstance(err, GotkError):
            log.failure(" ".join(str(err).split()))
            return 1
        raise
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    from gotk_cli.completion import complete_if_requested

    complete_if_requested()
    # Library warnings (kubeconfig merging, retries) would interleave with the command's output.
    logging.basicConfig(level=logging.ERROR, format="%(message)s")
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        return 130
