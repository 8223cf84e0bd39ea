"""`gotk reconcile|suspend|resume` for sources, Kustomizations and HelmReleases."""

from __future__ import annotations

from typing import Any

import click

from gotk_cli.cli import CommandResult, GotkGroup, Settings, command, group, settings
from gotk_cli.commands.root import root

__all__ = ["reconcile_group", "resume_group", "suspend_group"]

_SOURCE_KINDS = {
    "git": "GitRepository",
    "oci": "OCIRepository",
    "helm": "HelmRepository",
    "chart": "HelmChart",
    "bucket": "Bucket",
}


def _kind(word: str) -> Any:
    from gotk_cli import kinds

    if word == "kustomization":
        return kinds.KUSTOMIZATION
    if word == "helmrelease":
        return kinds.HELMRELEASE
    return kinds.SOURCES[word]


async def _reconcile(current: Settings, word: str, name: str, **flags: bool) -> None:
    from gotk_cli.cluster import connect
    from gotk_cli.log import Log
    from gotk_cli.reconcile import ReconcileRequest, reconcile

    async with connect(current) as cluster:
        await reconcile(
            cluster,
            _kind(word),
            name,
            current.namespace,
            timeout=current.timeout,
            log=Log(),
            request=ReconcileRequest(**flags),
        )


async def _suspend(current: Settings, word: str, names: tuple[str, ...], every: bool) -> None:
    from gotk_cli.cluster import connect
    from gotk_cli.log import Log
    from gotk_cli.reconcile import suspend

    async with connect(current) as cluster:
        await suspend(cluster, _kind(word), names, current.namespace, log=Log(), every=every)


async def _resume(
    current: Settings, word: str, names: tuple[str, ...], every: bool, wait: bool | None
) -> None:
    from gotk_cli.cluster import connect
    from gotk_cli.log import Log
    from gotk_cli.reconcile import resume

    async with connect(current) as cluster:
        await resume(
            cluster,
            _kind(word),
            names,
            current.namespace,
            timeout=current.timeout,
            log=Log(),
            every=every,
            wait=wait,
        )


@group(
    root,
    "reconcile",
    "Reconcile sources and resources.",
    examples="""
  # Fetch a Git repository now and wait for the new revision
  gotk reconcile source git flux-system

  # Fetch a Kustomization's source, then apply it
  gotk reconcile ks apps --with-source
""",
)
def reconcile_group() -> None:
    """The reconcile sub-commands trigger a reconciliation and wait for it to finish."""


@group(
    root,
    "suspend",
    "Suspend resources.",
    examples="""
  # Stop reconciling a Kustomization
  gotk suspend kustomization apps

  # Suspend every HelmRelease of a namespace
  gotk suspend hr --all -n apps
""",
)
def suspend_group() -> None:
    """The suspend sub-commands suspend the reconciliation of a resource."""


@group(
    root,
    "resume",
    "Resume suspended resources.",
    examples="""
  # Resume a Kustomization and wait for it to be applied
  gotk resume kustomization apps

  # Resume every Git source of a namespace without waiting
  gotk resume source git --all
""",
)
def resume_group() -> None:
    """The resume sub-commands resume a suspended resource and wait for its reconciliation."""


def _source_group(parent: GotkGroup, verb: str) -> GotkGroup:
    @group(
        parent,
        "source",
        f"{verb.capitalize()} sources.",
        examples=f"""
  gotk {verb} source git flux-system
""",
    )
    def sources() -> None:
        pass

    return sources


def _reconcile_command(parent: GotkGroup, word: str, kind: str, aliases: list[str]) -> None:
    noun = f"source {word}" if parent.name == "source" else word
    options: list[Any] = []
    if kind in ("Kustomization", "HelmRelease"):
        options.append(
            click.option("--with-source", is_flag=True, help=f"reconcile the {kind}'s source first")
        )
    if kind == "HelmRelease":
        options.append(
            click.option("--force", is_flag=True, help="force a one-off install or upgrade")
        )
        options.append(click.option("--reset", is_flag=True, help="reset the failure counts"))

    def callback(name: str, **flags: bool) -> CommandResult:
        return _reconcile(settings(), word, name, **flags)

    for option in options:
        callback = option(callback)
    command(
        parent,
        word,
        f"Reconcile a {kind}.",
        aliases=aliases,
        examples=f"""
  # Trigger a {kind} reconciliation and wait for its result
  gotk reconcile {noun} podinfo
""",
    )(click.argument("name")(callback))


def _suspend_command(parent: GotkGroup, word: str, kind: str, aliases: list[str]) -> None:
    noun = f"source {word}" if parent.name == "source" else word

    @click.argument("names", nargs=-1)
    @click.option("--all", "every", is_flag=True, help="suspend all resources in that namespace")
    def callback(names: tuple[str, ...], every: bool) -> CommandResult:
        return _suspend(settings(), word, names, every)

    command(
        parent,
        word,
        f"Suspend the reconciliation of a {kind}.",
        aliases=aliases,
        examples=f"""
  # Suspend a {kind}
  gotk suspend {noun} podinfo

  # Suspend every {kind} of the namespace
  gotk suspend {noun} --all
""",
    )(callback)


def _resume_command(parent: GotkGroup, word: str, kind: str, aliases: list[str]) -> None:
    noun = f"source {word}" if parent.name == "source" else word

    @click.argument("names", nargs=-1)
    @click.option("--all", "every", is_flag=True, help="resume all resources in that namespace")
    @click.option(
        "--wait/--no-wait",
        default=None,
        help="wait for each resource's reconciliation [default: only for a single name]",
    )
    def callback(names: tuple[str, ...], every: bool, wait: bool | None) -> CommandResult:
        return _resume(settings(), word, names, every, wait)

    command(
        parent,
        word,
        f"Resume a suspended {kind}.",
        aliases=aliases,
        examples=f"""
  # Resume a {kind} and wait for its reconciliation
  gotk resume {noun} podinfo
""",
    )(callback)


for _verb, _parent, _make in (
    ("reconcile", reconcile_group, _reconcile_command),
    ("suspend", suspend_group, _suspend_command),
    ("resume", resume_group, _resume_command),
):
    _sources = _source_group(_parent, _verb)
    for _word, _source_kind in _SOURCE_KINDS.items():
        _make(_sources, _word, _source_kind, [])
    _make(_parent, "kustomization", "Kustomization", ["ks"])
    _make(_parent, "helmrelease", "HelmRelease", ["hr"])
