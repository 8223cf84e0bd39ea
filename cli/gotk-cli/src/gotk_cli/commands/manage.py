"""`gotk export` and `gotk delete` for sources, Kustomizations and HelmReleases."""

from __future__ import annotations

import sys
from typing import Any

import click

from gotk_cli.cli import CommandResult, GotkGroup, Settings, command, group, settings
from gotk_cli.commands.root import root

__all__ = ["delete_group", "export_group"]

_SOURCES = {
    "git": "GitRepository",
    "oci": "OCIRepository",
    "helm": "HelmRepository",
    "chart": "HelmChart",
    "bucket": "Bucket",
}


def _kind(word: str) -> Any:
    from gotk_cli import kinds

    return {"kustomization": kinds.KUSTOMIZATION, "helmrelease": kinds.HELMRELEASE}.get(
        word
    ) or kinds.SOURCES[word]


async def _export(current: Settings, word: str, name: str | None, every: bool) -> None:
    from gotk_cli.cluster import connect
    from gotk_cli.errors import CliError
    from gotk_cli.output import export_object, yaml_documents

    if not every and not name:
        raise CliError("name is required (or --all)")
    kind = _kind(word)
    async with connect(current) as cluster:
        if every:
            objects = sorted(
                await cluster.list(kind, current.namespace), key=lambda o: o["metadata"]["name"]
            )
            if not objects:
                raise CliError(f'no objects found in "{current.namespace}" namespace')
        else:
            assert name is not None
            objects = [await cluster.get(kind, name, current.namespace)]
    sys.stdout.write(yaml_documents(export_object(obj) for obj in objects))


async def _delete(current: Settings, word: str, name: str, silent: bool) -> None:
    from gotk_cli.cluster import connect
    from gotk_cli.errors import CliError
    from gotk_cli.log import Log

    kind = _kind(word)
    log = Log()
    async with connect(current) as cluster:
        await cluster.get(kind, name, current.namespace)
        if not silent and not click.confirm(
            f"Are you sure you want to delete this {kind.noun}", default=False, err=True
        ):
            raise CliError("aborting")
        log.action(f"deleting {kind.noun} {name} in {current.namespace} namespace")
        await cluster.delete(kind, name, current.namespace)
        log.success(f"{kind.noun} deleted")


@group(
    root,
    "export",
    "Export resources in YAML format.",
    examples="""
  # Export every source and Kustomization of a namespace, to apply elsewhere
  gotk export source git --all > sources.yaml
  gotk export kustomization --all > kustomizations.yaml
""",
)
def export_group() -> None:
    """The export sub-commands print resources as YAML, without status or server fields."""


@group(
    root,
    "delete",
    "Delete sources and resources.",
    examples="""
  # Delete a Kustomization, without the confirmation prompt
  gotk delete kustomization apps --silent
""",
)
def delete_group() -> None:
    """The delete sub-commands delete sources and resources."""


def _leaves(parent: GotkGroup, verb: str) -> None:
    sources = group(
        parent,
        "source",
        f"{verb.capitalize()} sources.",
        examples=f"""
  gotk {verb} source git podinfo
""",
    )(lambda: None)
    targets: list[tuple[GotkGroup, str, str, list[str]]] = [
        (sources, word, kind, []) for word, kind in _SOURCES.items()
    ]
    targets += [
        (parent, "kustomization", "Kustomization", ["ks"]),
        (parent, "helmrelease", "HelmRelease", ["hr"]),
    ]
    for where, word, kind, aliases in targets:
        noun = f"source {word}" if where is sources else word
        if verb == "export":
            _export_command(where, word, kind, noun, aliases)
        else:
            _delete_command(where, word, kind, noun, aliases)


def _export_command(where: GotkGroup, word: str, kind: str, noun: str, aliases: list[str]) -> None:
    @click.argument("name", required=False)
    @click.option("--all", "every", is_flag=True, help="select all resources")
    def callback(name: str | None, every: bool) -> CommandResult:
        return _export(settings(), word, name, every)

    command(
        where,
        word,
        f"Export {kind} resources in YAML format.",
        aliases=aliases,
        examples=f"""
  # Export every {kind} of the namespace
  gotk export {noun} --all > {word}.yaml

  # Export one
  gotk export {noun} podinfo > podinfo.yaml
""",
    )(callback)


def _delete_command(where: GotkGroup, word: str, kind: str, noun: str, aliases: list[str]) -> None:
    @click.argument("name")
    @click.option("-s", "--silent", is_flag=True, help="delete without asking for confirmation")
    def callback(name: str, silent: bool) -> CommandResult:
        return _delete(settings(), word, name, silent)

    command(
        where,
        word,
        f"Delete a {kind}.",
        aliases=aliases,
        examples=f"""
  # Delete a {kind} (asks for confirmation)
  gotk delete {noun} podinfo
""",
    )(callback)


_leaves(export_group, "export")
_leaves(delete_group, "delete")
