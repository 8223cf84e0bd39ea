"""`gotk build kustomization` and `gotk diff kustomization|helmrelease`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gotk_cli.cli import CommandResult, Settings, command, group, settings
from gotk_cli.commands.root import root

if TYPE_CHECKING:
    from gotk_cli.build import BuildRequest

__all__ = ["build_group", "diff_group"]


def _build_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option(
                "--path",
                required=True,
                type=click.Path(path_type=Path),
                help="path to the manifests location (the Kustomization's spec.path)",
            ),
            click.option(
                "--kustomization-file",
                type=click.Path(path_type=Path, dir_okay=False),
                help="path to the Flux Kustomization YAML file (instead of the cluster's)",
            ),
            click.option(
                "--ignore-paths",
                multiple=True,
                help="paths to ignore, in .gitignore format (comma-separated, repeatable)",
            ),
            click.option(
                "--strict-substitute",
                is_flag=True,
                help="fail when a variable without a default is not set",
            ),
        ]
    ):
        f = option(f)
    return f


def _request(current: Settings, name: str, flags: dict[str, Any]) -> BuildRequest:
    from gotk_cli.build import BuildRequest

    patterns = tuple(p for value in flags["ignore_paths"] for p in value.split(",") if p)
    return BuildRequest(
        name=name,
        namespace=current.namespace,
        path=flags["path"],
        kustomization_file=flags["kustomization_file"],
        dry_run=flags.get("dry_run", False),
        strict_substitute=flags["strict_substitute"],
        ignore_paths=patterns,
        timeout=current.timeout,
    )


async def _build_kustomization(current: Settings, name: str, flags: dict[str, Any]) -> None:
    from gotk_cli.build import build, check_request
    from gotk_cli.cluster import connect
    from gotk_cli.log import Log
    from gotk_cli.masking import mask_secret
    from gotk_cli.output import yaml_documents

    request = _request(current, name, flags)
    await check_request(request)
    if request.dry_run:
        built = await build(None, request, Log())
    else:
        async with connect(current) as cluster:
            built = await build(cluster, request, Log())
    sys.stdout.write(yaml_documents(mask_secret(obj) for obj in built.objects))


@group(
    root,
    "build",
    "Build a flux object locally.",
    examples="""
  # Build the local manifests as the cluster's Kustomization would build them
  gotk build kustomization apps --path ./clusters/production/apps
""",
)
def build_group() -> None:
    """The build sub-commands build a Flux object locally, as its controller would."""


@command(
    build_group,
    "kustomization",
    "Build a Kustomization from local manifests, as kustomize-controller would.",
    aliases=["ks"],
    examples="""
  # Build the local manifests as they would be built on the cluster
  gotk build kustomization apps --path ./path/to/local/manifests

  # With a local Kustomization file (and its live status, if it exists)
  gotk build ks apps --path ./apps --kustomization-file ./clusters/apps.yaml

  # Without a cluster: substituteFrom is skipped, SOPS content stays encrypted
  gotk build ks apps --path ./apps --kustomization-file ./clusters/apps.yaml --dry-run
""",
)
@click.argument("name")
@_build_options
@click.option(
    "--dry-run", is_flag=True, help="build without a cluster (needs a kustomization file)"
)
def build_kustomization_command(name: str, **flags: Any) -> CommandResult:
    return _build_kustomization(settings(), name, flags)


async def _diff_kustomization(current: Settings, name: str, flags: dict[str, Any]) -> None:
    from gotk_cli.build import check_request
    from gotk_cli.cluster import connect
    from gotk_cli.diff import diff_kustomization, print_diffs, raise_for_report
    from gotk_cli.log import Log
    from gotk_cli.style import Style

    request = _request(current, name, flags)
    await check_request(request)
    async with connect(current) as cluster:
        report = await diff_kustomization(cluster, request, Log())
    print_diffs(report, sys.stdout, Style.for_stream(sys.stdout, no_color=current.no_color))
    raise_for_report(report)


@group(
    root,
    "diff",
    "Diff a flux resource.",
    examples="""
  # What applying the local manifests would change in the cluster
  gotk diff kustomization apps --path ./clusters/production/apps
""",
)
def diff_group() -> None:
    """The diff sub-commands show what applying a local change would do to the cluster."""


@command(
    diff_group,
    "kustomization",
    "Diff a Kustomization's local manifests against the cluster (server-side dry-run).",
    aliases=["ks"],
    examples="""
  # Preview the changes of a local edit (exit code 1 when there is one)
  gotk diff kustomization apps --path ./path/to/local/manifests

  # With a local Kustomization file, e.g. in a pull request check
  gotk diff ks apps --path ./apps --kustomization-file ./clusters/apps.yaml
""",
)
@click.argument("name")
@_build_options
def diff_kustomization_command(name: str, **flags: Any) -> CommandResult:
    return _diff_kustomization(settings(), name, flags)


async def _diff_helmrelease(current: Settings, name: str) -> None:
    from gotk_cli.cluster import connect
    from gotk_cli.diff import print_diffs, raise_for_report
    from gotk_cli.helm_diff import diff_helmrelease
    from gotk_cli.style import Style

    async with connect(current) as cluster:
        report = await diff_helmrelease(
            cluster, name, current.namespace, timeout=min(current.timeout, 300.0)
        )
    print_diffs(report, sys.stdout, Style.for_stream(sys.stdout, no_color=current.no_color))
    raise_for_report(report)


@command(
    diff_group,
    "helmrelease",
    "Diff what the next upgrade of a HelmRelease would change (server-side dry-run).",
    aliases=["hr"],
    examples="""
  # After editing values (or a valuesFrom ConfigMap) of a suspended HelmRelease
  gotk diff helmrelease podinfo -n apps

  # Outside the cluster, reach source-controller's artifacts through a port-forward
  kubectl -n flux-system port-forward svc/source-controller 8080:80 &
  SOURCE_CONTROLLER_LOCALHOST=localhost:8080 gotk diff hr podinfo -n apps
""",
)
@click.argument("name")
def diff_helmrelease_command(name: str) -> CommandResult:
    return _diff_helmrelease(settings(), name)
