"""`gotk events`, `gotk logs`, `gotk tree kustomization|helmrelease`, `gotk trace`, `gotk why`."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any

import click

from gotk_cli.cli import DURATION, CommandResult, Settings, command, group, settings
from gotk_cli.commands.root import root

__all__ = ["events_command", "logs_command", "trace_command", "tree_group", "why_command"]


async def _events(current: Settings, all_namespaces: bool, for_: str | None, watch: bool) -> None:
    from gotk_cli.cluster import connect
    from gotk_cli.events import events

    async with connect(current) as cluster:
        await events(
            cluster,
            None if all_namespaces else current.namespace,
            sys.stdout,
            for_=for_,
            watch=watch,
            timeout=current.timeout,
        )


@command(
    root,
    "events",
    "Display Kubernetes events for Flux resources.",
    examples="""
  # Events of the flux-system namespace
  gotk events

  # Events of one Kustomization, then each new one as it happens
  gotk events --for Kustomization/apps --watch
""",
)
@click.option("-A", "--all-namespaces", is_flag=True, help="events of every namespace")
@click.option("--for", "for_", help="only the events of this object: <Kind>/<name>")
@click.option("-w", "--watch", is_flag=True, help="after listing, print each new event")
def events_command(all_namespaces: bool, for_: str | None, watch: bool) -> CommandResult:
    return _events(settings(), all_namespaces, for_, watch)


async def _tree(current: Settings, word: str, name: str, compact: bool) -> None:
    from gotk_cli.cluster import connect
    from gotk_cli.inspect import build_tree
    from gotk_cli.kinds import HELMRELEASE, KUSTOMIZATION

    kind = KUSTOMIZATION if word == "kustomization" else HELMRELEASE
    async with connect(current) as cluster:
        tree = await build_tree(cluster, kind, name, current.namespace, compact=compact)
    sys.stdout.write(tree.render())


@group(
    root,
    "tree",
    "Print the resources reconciled by Flux.",
    examples="""
  gotk tree kustomization flux-system
""",
)
def tree_group() -> None:
    """The tree sub-commands print the inventory of a Kustomization or HelmRelease as a tree."""


_KINDS = {"kustomization": "Kustomization", "helmrelease": "HelmRelease"}

for _word, _alias in (("kustomization", "ks"), ("helmrelease", "hr")):

    def _make(word: str, alias: str) -> None:
        @click.argument("name")
        @click.option("--compact", is_flag=True, help="show only the Flux resources")
        def callback(name: str, compact: bool) -> CommandResult:
            return _tree(settings(), word, name, compact)

        command(
            tree_group,
            word,
            f"Print the resources reconciled by a {_KINDS[word]}.",
            aliases=[alias],
            examples=f"""
  # Everything the {word} applied, nested Kustomizations and HelmReleases expanded
  gotk tree {word} flux-system

  # Only the Flux objects
  gotk tree {alias} flux-system --compact
""",
        )(callback)

    _make(_word, _alias)


async def _trace(current: Settings, target: str, kind: str | None, api_version: str | None) -> None:
    from gotk_cli.cluster import connect
    from gotk_cli.errors import CliError
    from gotk_cli.inspect import find_resource, trace

    if "/" in target:
        kind, _, name = target.partition("/")
    else:
        name = target
    if not kind:
        raise CliError("which kind? give <kind>/<name> or --kind")
    async with connect(current) as cluster:
        resource = await find_resource(cluster, kind, api_version)
        report = await trace(cluster, resource, name, current.namespace)
    sys.stdout.write(report)


@command(
    root,
    "trace",
    "Trace an in-cluster object throughout the GitOps delivery pipeline.",
    examples="""
  # Which Kustomization or HelmRelease applied this Deployment, from which source and revision
  gotk trace deployment/podinfo -n apps

  # The same with the kind and API version as flags
  gotk trace podinfo --kind=Deployment --api-version=apps/v1 -n apps
""",
)
@click.argument("target")
@click.option("--kind", help="the object's kind, e.g. Deployment")
@click.option("--api-version", help="the object's API version, e.g. apps/v1")
def trace_command(target: str, kind: str | None, api_version: str | None) -> CommandResult:
    return _trace(settings(), target, kind, api_version)


async def _why(current: Settings, kind_word: str, name: str | None, output: str) -> None:
    from gotk_cli.cluster import connect
    from gotk_cli.errors import CliError
    from gotk_cli.kinds import kind_for_word
    from gotk_cli.output import to_json
    from gotk_cli.style import Style
    from gotk_cli.why import explain, render, to_document

    if name is None:
        kind_word, slash, name = kind_word.partition("/")
        if not slash or not name:
            raise CliError("which object? give KIND NAME or KIND/NAME")
    kind = kind_for_word(kind_word)
    async with connect(current) as cluster:
        tree = await explain(cluster, kind, name, current.namespace)
    if output == "json":
        sys.stdout.write(to_json(to_document(tree)) + "\n")
    else:
        sys.stdout.write(render(tree, Style.for_stream(sys.stdout, no_color=current.no_color)))


@command(
    root,
    "why",
    "Explain why a Flux object is not Ready, down to the root cause.",
    examples="""
  # Walk a Kustomization's dependencies and source to what is failing
  gotk why kustomization apps

  # The same for a HelmRelease (through its HelmChart and HelmRepository), as JSON
  gotk why hr podinfo -n apps -o json

  # Any Flux kind, as KIND/NAME
  gotk why GitRepository/flux-system
""",
)
@click.argument("kind")
@click.argument("name", required=False)
@click.option(
    "-o",
    "--output",
    type=click.Choice(["tree", "json"]),
    default="tree",
    show_default=True,
    help="the output format",
)
def why_command(kind: str, name: str | None, output: str) -> CommandResult:
    return _why(settings(), kind, name, output)


async def _logs(current: Settings, flags: dict[str, Any]) -> None:
    import asyncio
    from collections.abc import AsyncIterator
    from contextlib import AsyncExitStack

    from gotk_cli.cluster import connect
    from gotk_cli.logs import LogFilter, file_lines, pod_lines, print_logs
    from gotk_cli.style import Style

    log_filter = LogFilter(
        namespace=None if flags["all_namespaces"] else current.namespace,
        kind=flags["kind"],
        name=flags["name"],
        level=flags["level"],
        since=LogFilter.since_seconds(flags["since"]),
    )
    style = Style.for_stream(sys.stdout, no_color=current.no_color)
    async with AsyncExitStack() as stack:
        lines: AsyncIterator[str]
        source: Path | None = flags["file"]
        if source is not None:
            path = None if str(source) == "-" else source
            lines = file_lines(path, follow=flags["follow"], tail=flags["tail"])
        else:
            cluster = await stack.enter_async_context(connect(current))
            where = (
                flags["flux_namespace"] or os.environ.get("FLUX_SYSTEM_NAMESPACE") or "flux-system"
            )
            lines = pod_lines(
                cluster, where, follow=flags["follow"], tail=flags["tail"], since=flags["since"]
            )
        if not flags["follow"]:
            await print_logs(lines, log_filter, sys.stdout, style)
            return
        # Following ends at --timeout (5m by default), as `flux logs -f` does.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(current.timeout):
                await print_logs(lines, log_filter, sys.stdout, style)


@command(
    root,
    "logs",
    "Display formatted logs of the gotk services.",
    examples="""
  # The reconciliation logs of every object, from the services' pods
  gotk logs --all-namespaces

  # Errors only, as they happen
  gotk logs --follow --level=error --all-namespaces

  # One Kustomization's entries, from a log file (or --file - for stdin)
  gotk logs --file kustomize-controller.log --kind=Kustomization --name=apps -n default

  # When the services run in another namespace than flux-system
  gotk logs --flux-namespace=gotk-system -A
""",
)
@click.option(
    "--file",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    help="read a service's JSON log from this file ('-' for stdin) instead of its pods",
)
@click.option("--kind", help="only entries about this kind, e.g. GitRepository")
@click.option("--name", help="only entries about objects of this name")
@click.option(
    "-A", "--all-namespaces", is_flag=True, help="entries about objects of every namespace"
)
@click.option(
    "--level", type=click.Choice(["debug", "info", "warning", "error"]), help="only this log level"
)
@click.option("-f", "--follow", is_flag=True, help="stream new entries until --timeout")
@click.option("--tail", type=click.IntRange(min=0), help="only this many of the most recent lines")
@click.option("--since", type=DURATION, help="only entries newer than this, e.g. 5s, 2m, 3h")
@click.option("--flux-namespace", help="where the services run [default: flux-system]")
def logs_command(**flags: Any) -> CommandResult:
    return _logs(settings(), flags)
