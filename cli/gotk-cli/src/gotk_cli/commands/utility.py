"""`gotk check`, `gotk version`, `gotk stats`, `gotk completion bash|zsh|fish`."""

from __future__ import annotations

import sys

import click

from gotk_cli.cli import CommandResult, Settings, command, settings
from gotk_cli.commands.root import root

__all__ = ["check_command", "completion_command", "stats_command", "version_command"]


async def _check(current: Settings) -> None:
    from gotk_cli.cluster import connect
    from gotk_cli.health import check
    from gotk_cli.log import Log

    async with connect(current) as cluster:
        await check(cluster, current.namespace, Log())


@command(
    root,
    "check",
    "Check requirements and installation.",
    examples="""
  # Is the API server reachable, are the CRDs installed, are the controllers running?
  gotk check
""",
)
def check_command() -> CommandResult:
    return _check(settings())


async def _version(current: Settings, client_only: bool) -> None:
    from importlib.metadata import version

    # Not through gotk_cli.health: `version --client` needs neither the kube client nor models.
    print(f"gotk: v{version('gotk-cli')}")
    if client_only:
        return
    from gotk_cli.cluster import connect
    from gotk_cli.health import server_version

    async with connect(current) as cluster:
        print(f"kubernetes: {await server_version(cluster)}")


@command(
    root,
    "version",
    "Print the client and server-side versions.",
    examples="""
  # The CLI's version only (no cluster needed)
  gotk version --client
""",
)
@click.option("--client", "client_only", is_flag=True, help="print only the client version")
def version_command(client_only: bool) -> CommandResult:
    return _version(settings(), client_only)


async def _stats(current: Settings, all_namespaces: bool) -> None:
    from gotk_cli.cluster import connect
    from gotk_cli.health import stats

    async with connect(current) as cluster:
        await stats(cluster, None if all_namespaces else current.namespace, sys.stdout)


@command(
    root,
    "stats",
    "Print the statistics of the Flux resources.",
    examples="""
  # How many objects of each kind reconcile, fail or are suspended, in every namespace
  gotk stats -A
""",
)
@click.option("-A", "--all-namespaces", is_flag=True, help="count every namespace")
def stats_command(all_namespaces: bool) -> CommandResult:
    return _stats(settings(), all_namespaces)


async def _completion(shell: str) -> None:
    from gotk_cli.completion import completion_script

    sys.stdout.write(completion_script(shell))


@command(
    root,
    "completion",
    "Generate the completion script for a shell.",
    examples="""
  # Load completion into the current bash session
  source <(gotk completion bash)

  # For every zsh session
  gotk completion zsh > "${fpath[1]}/_gotk"

  # fish
  gotk completion fish > ~/.config/fish/completions/gotk.fish
""",
)
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion_command(shell: str) -> CommandResult:
    return _completion(shell)
