"""`gotk get sources|kustomizations|helmreleases|all`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from gotk_cli.cli import CommandResult, Settings, command, group, settings
from gotk_cli.commands.root import root

__all__ = ["get_group"]

_OUTPUTS = click.Choice(["table", "wide", "json", "yaml"])


@group(
    root,
    "get",
    "Get the resources and their status.",
    examples="""
  # List every Flux object of the flux-system namespace
  gotk get all

  # List failing Kustomizations in every namespace
  gotk get ks -A --status-selector ready=false
""",
)
def get_group() -> None:
    """The get sub-commands print the statuses of Flux resources."""


@group(
    get_group,
    "sources",
    "Get source statuses.",
    aliases=["source"],
    examples="""
  # List all sources and their status
  gotk get sources all

  # List Git repositories in every namespace
  gotk get sources git -A
""",
)
def sources_group() -> None:
    """The get sources sub-commands print the statuses of the sources."""


def _get_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option(
                "-A",
                "--all-namespaces",
                is_flag=True,
                help="list the requested object(s) across all namespaces",
            ),
            click.option(
                "--status-selector",
                help="filter by a condition's status, e.g. ready=false or ready!=true",
            ),
            click.option("-l", "--label-selector", help="filter objects by label selector"),
            click.option("-w", "--watch", is_flag=True, help="after listing, print every change"),
            click.option(
                "-o",
                "--output",
                type=_OUTPUTS,
                default="table",
                show_default=True,
                help="table, wide (source and URL columns, whole messages), json or yaml",
            ),
            click.option("--no-header", is_flag=True, help="skip the header of the table"),
        ]
    ):
        f = option(f)
    return f


def _run(
    words: tuple[str, ...],
    name: str | None,
    *,
    every_kind: bool = False,
    show_source: bool = False,
    **flags: Any,
) -> CommandResult:
    return _get(settings(), words, name, every_kind=every_kind, show_source=show_source, **flags)


async def _get(
    current: Settings,
    words: tuple[str, ...],
    name: str | None,
    *,
    every_kind: bool,
    show_source: bool,
    all_namespaces: bool,
    status_selector: str | None,
    label_selector: str | None,
    watch: bool,
    output: str,
    no_header: bool,
) -> None:
    from gotk_cli import kinds
    from gotk_cli.cluster import connect
    from gotk_cli.errors import CliError
    from gotk_cli.get import GetOptions, get
    from gotk_cli.get import watch as watch_kind

    if words == ("all",):
        selected = kinds.ALL_KINDS
    elif words == ("sources", "all"):
        selected = kinds.ALL_SOURCES
    elif words[0] == "sources":
        selected = (kinds.SOURCES[words[1]],)
    else:
        selected = (kinds.KUSTOMIZATION if words[0] == "kustomizations" else kinds.HELMRELEASE,)
    options = GetOptions(
        namespace=None if all_namespaces else current.namespace,
        name=name,
        every_kind=every_kind,
        label_selector=label_selector,
        status_selector=status_selector,
        output=output,
        no_header=no_header,
        show_source=show_source,
        no_color=current.no_color,
    )
    async with connect(current) as cluster:
        if watch:
            if every_kind:
                raise CliError(f"expected a single resource type, but found {words[-1]}")
            await watch_kind(cluster, selected[0], options, sys.stdout, timeout=current.timeout)
        else:
            await get(cluster, selected, options, sys.stdout)


_SOURCE_HELP = {
    "git": "GitRepository",
    "oci": "OCIRepository",
    "helm": "HelmRepository",
    "chart": "HelmChart",
    "bucket": "Bucket",
    "external": "ExternalArtifact",
}


def _source_command(word: str, kind: str) -> None:
    @command(
        sources_group,
        word,
        f"Get {kind} source statuses.",
        examples=f"""
  # List every {kind} of the namespace and its status
  gotk get sources {word}

  # List the {kind} sources of every namespace that are not ready
  gotk get sources {word} -A --status-selector ready=false
""",
    )
    @click.argument("name", required=False)
    @_get_options
    def get_source(name: str | None, **flags: Any) -> CommandResult:
        return _run(("sources", word), name, **flags)


for _word, _kind in _SOURCE_HELP.items():
    _source_command(_word, _kind)


@command(
    sources_group,
    "all",
    "Get all source statuses.",
    examples="""
  # List all sources in a namespace
  gotk get sources all --namespace=flux-system

  # List all sources in all namespaces
  gotk get sources all --all-namespaces
""",
)
@_get_options
def get_sources_all(**flags: Any) -> CommandResult:
    return _run(("sources", "all"), None, every_kind=True, **flags)


@command(
    get_group,
    "kustomizations",
    "Get Kustomization statuses.",
    aliases=["ks", "kustomization"],
    examples="""
  # List all kustomizations and their status
  gotk get kustomizations

  # List all kustomizations with source information
  gotk get kustomizations --show-source
""",
)
@click.argument("name", required=False)
@click.option("--show-source", is_flag=True, help="show the source reference of each one")
@_get_options
def get_kustomizations(name: str | None, **flags: Any) -> CommandResult:
    return _run(("kustomizations",), name, **flags)


@command(
    get_group,
    "helmreleases",
    "Get HelmRelease statuses.",
    aliases=["hr", "helmrelease"],
    examples="""
  # List all Helm releases and their status
  gotk get helmreleases

  # Watch a release's status change
  gotk get hr podinfo --watch
""",
)
@click.argument("name", required=False)
@click.option("--show-source", is_flag=True, help="show the source reference of each one")
@_get_options
def get_helmreleases(name: str | None, **flags: Any) -> CommandResult:
    return _run(("helmreleases",), name, **flags)


@command(
    get_group,
    "all",
    "Get all resources and statuses.",
    examples="""
  # List all resources in a namespace
  gotk get all --namespace=flux-system

  # List all resources in all namespaces
  gotk get all --all-namespaces
""",
)
@_get_options
def get_all(**flags: Any) -> CommandResult:
    return _run(("all",), None, every_kind=True, **flags)
