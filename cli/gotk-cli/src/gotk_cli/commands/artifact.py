"""`gotk push artifact`, `gotk pull artifact`, `gotk tag artifact`, `gotk list artifacts`."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gotk_cli.cli import CommandResult, Settings, command, group, settings
from gotk_cli.commands.root import root

if TYPE_CHECKING:
    from gotk_cli.artifacts import Connection

__all__ = ["list_group", "pull_group", "push_group", "tag_group"]


def _registry_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--insecure-registry",
        is_flag=True,
        help="speak plain HTTP to the registry (automatic for localhost and private addresses)",
    )(f)
    return click.option(
        "--creds",
        help="credentials for the OCI registry: <username>[:<password>] "
        "[default: from the Docker config]",
    )(f)


async def _connection(
    current: Settings, url_host: str, creds: str | None, insecure: bool
) -> Connection:
    from gotk_cli.artifacts import Connection

    return await Connection.for_host(
        url_host, creds, insecure=insecure, timeout=min(current.timeout, 120.0)
    )


@group(
    root,
    "push",
    "Push to a remote repository.",
    examples="""
  gotk push artifact oci://ghcr.io/org/config/app:v1 --path=./deploy --source=URL --revision=REV
""",
)
def push_group() -> None:
    """The push sub-commands upload to a remote repository."""


@group(
    root,
    "pull",
    "Pull from a remote repository.",
    examples="""
  gotk pull artifact oci://ghcr.io/org/config/app:v1 --output ./deploy
""",
)
def pull_group() -> None:
    """The pull sub-commands download from a remote repository."""


@group(
    root,
    "tag",
    "Tag an artifact in a remote repository.",
    examples="""
  gotk tag artifact oci://ghcr.io/org/config/app:v1 --tag latest
""",
)
def tag_group() -> None:
    """The tag sub-commands add tags to what a remote repository holds."""


@group(
    root,
    "list",
    "List what a remote repository holds.",
    examples="""
  gotk list artifacts oci://ghcr.io/org/config/app
""",
)
def list_group() -> None:
    """The list sub-commands list the contents of a remote repository."""


async def _push(current: Settings, url: str, flags: dict[str, Any]) -> None:
    from gotk_cli.artifacts import DEFAULT_IGNORE, parse_artifact_url, push_artifact
    from gotk_cli.errors import CliError
    from gotk_cli.log import Log
    from gotk_cli.output import to_json, to_yaml

    for required in ("source", "revision"):
        if not flags[required]:
            raise CliError(f"--{required} is required")
    annotations = {}
    for pair in flags["annotations"]:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"invalid annotation {pair!r}: expected key=value")
        annotations[key] = value
    ref = parse_artifact_url(url)
    connection = await _connection(
        current, ref.repository.host, flags["creds"], flags["insecure_registry"]
    )
    output = flags["output"]
    log = Log()
    if not output:
        log.action(f"pushing artifact to {ref.name}")
    path: Path = flags["path"]
    ignore = tuple(p for value in flags["ignore_paths"] for p in value.split(",") if p)
    pushed = await push_artifact(
        ref,
        path,
        connection,
        source=flags["source"],
        revision=flags["revision"],
        annotations=annotations,
        ignore_paths=ignore or DEFAULT_IGNORE,
        reproducible=flags["reproducible"],
        stdin=await asyncio.to_thread(sys.stdin.buffer.read) if str(path) == "-" else None,
    )
    if output == "json":
        sys.stdout.write(to_json(pushed.document()) + "\n")
    elif output == "yaml":
        sys.stdout.write(to_yaml(pushed.document()))
    else:
        log.success(f"artifact successfully pushed to {ref.repository}@{pushed.digest}")


@command(
    push_group,
    "artifact",
    "Push a directory or file to an OCI repository as a Flux artifact.",
    examples="""
  # Push manifests with the Git commit as revision; an OCIRepository can then consume it
  gotk push artifact oci://ghcr.io/org/config/app:$(git rev-parse --short HEAD) \\
    --path="./path/to/local/manifests" \\
    --source="$(git config --get remote.origin.url)" \\
    --revision="$(git branch --show-current)@sha1:$(git rev-parse HEAD)"

  # Push what kustomize builds, read from stdin, with explicit credentials
  kustomize build . | gotk push artifact oci://registry.example.com/app:v1 -p - \\
    --source=https://github.com/org/app --revision=v1 --creds flux:$TOKEN

  # The digest as JSON (e.g. to sign it)
  gotk push artifact oci://ghcr.io/org/app:v1 --path=. --source=URL --revision=REV -o json
""",
)
@click.argument("url")
@click.option(
    "-p",
    "--path",
    required=True,
    type=click.Path(path_type=Path),
    help="directory or file to push ('-' for stdin)",
)
@click.option("--source", help="the source address, e.g. the Git URL")
@click.option("--revision", help="the source revision, e.g. '<branch>@sha1:<commit-sha>'")
@click.option("-a", "--annotations", multiple=True, help="extra manifest annotation key=value")
@click.option(
    "--ignore-paths",
    multiple=True,
    help="paths to ignore in .gitignore format [default: VCS files, images, archives]",
)
@click.option(
    "--reproducible",
    is_flag=True,
    help="a fixed creation time (1970-01-01T00:00:00Z), for reproducible digests",
)
@click.option(
    "-o",
    "--output",
    type=click.Choice(["json", "yaml"]),
    help="print the artifact's URL and digest in this format",
)
@_registry_options
def push_artifact_command(url: str, **flags: Any) -> CommandResult:
    return _push(settings(), url, flags)


async def _pull(
    current: Settings, url: str, output: Path, creds: str | None, insecure: bool
) -> None:
    from gotk_cli.artifacts import parse_artifact_url, pull_artifact
    from gotk_cli.log import Log

    ref = parse_artifact_url(url)
    connection = await _connection(current, ref.repository.host, creds, insecure)
    log = Log()
    log.action(f"pulling artifact from {ref.name}")
    pulled = await pull_artifact(ref, output, connection)
    log.success(f"source {pulled.source}")
    log.success(f"revision {pulled.revision}")
    log.success(f"digest {pulled.digest}")
    log.success(f"artifact content extracted to {output}")


@command(
    pull_group,
    "artifact",
    "Pull a Flux artifact from an OCI repository and extract it.",
    examples="""
  # Pull and extract into an existing directory
  gotk pull artifact oci://ghcr.io/org/config/app:v1 --output ./manifests
""",
)
@click.argument("url")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="the directory to extract the artifact's content into",
)
@_registry_options
def pull_artifact_command(
    url: str, output: Path, creds: str | None, insecure_registry: bool
) -> CommandResult:
    return _pull(settings(), url, output, creds, insecure_registry)


async def _tag(
    current: Settings, url: str, tags: tuple[str, ...], creds: str | None, insecure: bool
) -> None:
    from gotk_cli.artifacts import parse_artifact_url, tag_artifact
    from gotk_cli.errors import CliError
    from gotk_cli.log import Log

    names = [t for value in tags for t in value.split(",") if t]
    if not names:
        raise CliError("--tag is required")
    ref = parse_artifact_url(url)
    connection = await _connection(current, ref.repository.host, creds, insecure)
    log = Log()
    log.action("tagging artifact")
    for tagged in await tag_artifact(ref, names, connection):
        log.success(f"artifact tagged as {tagged}")


@command(
    tag_group,
    "artifact",
    "Add tags to an artifact in an OCI repository.",
    examples="""
  # Promote a version: point 'latest' and 'production' at v1.0.0
  gotk tag artifact oci://ghcr.io/org/config/app:v1.0.0 --tag latest --tag production
""",
)
@click.argument("url")
@click.option("--tag", "tags", multiple=True, help="tag name (repeatable, or comma-separated)")
@_registry_options
def tag_artifact_command(
    url: str, tags: tuple[str, ...], creds: str | None, insecure_registry: bool
) -> CommandResult:
    return _tag(settings(), url, tags, creds, insecure_registry)


async def _list(current: Settings, url: str, flags: dict[str, Any]) -> None:
    from gotk_cli.artifacts import list_artifacts, parse_artifact_url
    from gotk_cli.output import to_json, to_yaml
    from gotk_cli.table import format_table

    ref = parse_artifact_url(url, default_tag=None)
    connection = await _connection(
        current, ref.repository.host, flags["creds"], flags["insecure_registry"]
    )
    listed = await list_artifacts(
        ref.repository, connection, regex=flags["filter_regex"], semver=flags["filter_semver"]
    )
    if flags["output"] == "json":
        sys.stdout.write(to_json([a.document() for a in listed]) + "\n")
    elif flags["output"] == "yaml":
        sys.stdout.write(to_yaml([a.document() for a in listed]))
    else:
        rows = [artifact.row() for artifact in listed]
        sys.stdout.write(format_table(["ARTIFACT", "DIGEST", "SOURCE", "REVISION"], rows) + "\n")


@command(
    list_group,
    "artifacts",
    "List the artifacts of an OCI repository with their source and revision.",
    examples="""
  # Every tag, newest name first
  gotk list artifacts oci://ghcr.io/org/config/app

  # Only versions in a range
  gotk list artifacts oci://ghcr.io/org/config/app --filter-semver '>=1.0.0'
""",
)
@click.argument("url")
@click.option("--filter-regex", help="only tags matching this regular expression")
@click.option("--filter-semver", help="only tags that are versions in this semver range")
@click.option(
    "-o",
    "--output",
    type=click.Choice(["table", "json", "yaml"]),
    default="table",
    show_default=True,
    help="the output format",
)
@_registry_options
def list_artifacts_command(url: str, **flags: Any) -> CommandResult:
    return _list(settings(), url, flags)
