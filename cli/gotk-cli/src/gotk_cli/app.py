"""Running one command: connect, dispatch on the verb; failures print one line and exit 1."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from gotk_runtime import GotkError, KubeClient, load_config

from gotk_cli.args import Command, parse_args
from gotk_cli.cluster import Cluster
from gotk_cli.errors import CliError
from gotk_cli.get import get
from gotk_cli.log import Log
from gotk_cli.reconcile import reconcile, resume, suspend

__all__ = ["main", "run"]


async def _execute(command: Command, log: Log) -> None:
    if command.kubeconfig and not await asyncio.to_thread(os.path.exists, command.kubeconfig):
        # The loader would report a missing file as an invalid one.
        raise CliError(f"kubeconfig {command.kubeconfig} not found")
    config = await load_config(command.kubeconfig)
    async with KubeClient(config, user_agent="gotk-cli") as client:
        cluster = Cluster(client)
        if command.verb == "get":
            namespace = None if command.all_namespaces else command.namespace
            await get(
                cluster,
                command.kinds,
                namespace,
                every_kind=command.every_kind,
                out=sys.stdout,
                log=log,
            )
            return
        (kind,) = command.kinds
        if command.verb == "reconcile":
            await reconcile(
                cluster,
                kind,
                command.name,
                command.namespace,
                timeout=command.timeout,
                log=log,
                with_source=command.with_source,
            )
        elif command.verb == "suspend":
            await suspend(cluster, kind, command.name, command.namespace, log=log)
        else:
            await resume(
                cluster, kind, command.name, command.namespace, timeout=command.timeout, log=log
            )


async def run(argv: Sequence[str]) -> int:
    """Run the command in ``argv`` (without the program name) on the running loop."""
    command = parse_args(argv)
    log = Log()
    try:
        await _execute(command, log)
    except GotkError as err:
        log.failure(str(err))
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    # Library warnings (kubeconfig merging, retries) would interleave with the command's output.
    logging.basicConfig(level=logging.ERROR, format="%(message)s")
    return asyncio.run(run(sys.argv[1:] if argv is None else argv))
