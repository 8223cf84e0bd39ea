"""The command line, parsed in one place: Flux's verbs, nouns and flag names."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

from gotk_runtime.flags import go_duration

from gotk_cli.kinds import KUSTOMIZATION, SOURCES, CliKind

__all__ = ["Command", "parse_args"]

DEFAULT_NAMESPACE = "flux-system"
DEFAULT_TIMEOUT = 300.0
_KUSTOMIZATION_WORDS = ("kustomizations", "kustomization", "ks")


@dataclass(frozen=True)
class Command:
    verb: str  # get, reconcile, suspend, resume
    kinds: tuple[CliKind, ...]
    name: str
    namespace: str
    all_namespaces: bool
    every_kind: bool
    kubeconfig: str | None
    timeout: float
    with_source: bool


def _common(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS lets these flags appear before or after the subcommand without the
    # subcommand's defaults overwriting a value given earlier.
    parser.add_argument("-n", "--namespace", default=argparse.SUPPRESS)
    parser.add_argument("--kubeconfig", default=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=go_duration, default=argparse.SUPPRESS)


def _build() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="gotk", description="Command line for gotk (Flux-like).")
    _common(root)
    root.add_argument("-A", "--all-namespaces", action="store_true", default=argparse.SUPPRESS)
    verbs = root.add_subparsers(dest="verb", required=True, metavar="COMMAND")

    get = verbs.add_parser("get", help="list objects and their status")
    _common(get)
    get.add_argument("-A", "--all-namespaces", action="store_true", default=argparse.SUPPRESS)
    get_kinds = get.add_subparsers(dest="noun", required=True, metavar="KIND")
    sources = get_kinds.add_parser("sources", aliases=["source"], help="sources")
    _common(sources)
    sources.add_argument("source", choices=[*SOURCES, "all"])
    sources.add_argument("-A", "--all-namespaces", action="store_true", default=argparse.SUPPRESS)
    for noun, aliases in (("kustomizations", ["kustomization", "ks"]), ("all", [])):
        leaf = get_kinds.add_parser(noun, aliases=aliases)
        _common(leaf)
        leaf.add_argument("-A", "--all-namespaces", action="store_true", default=argparse.SUPPRESS)

    for verb, help_ in (
        ("reconcile", "request a reconcile and wait for its result"),
        ("suspend", "stop reconciling an object"),
        ("resume", "reconcile a suspended object again and wait for its result"),
    ):
        parser = verbs.add_parser(verb, help=help_)
        _common(parser)
        nouns = parser.add_subparsers(dest="noun", required=True, metavar="KIND")
        source = nouns.add_parser("source")
        _common(source)
        source.add_argument("source", choices=list(SOURCES) if verb == "reconcile" else ["git"])
        source.add_argument("name")
        ks = nouns.add_parser("kustomization", aliases=["ks"])
        _common(ks)
        ks.add_argument("name")
        if verb == "reconcile":
            ks.add_argument("--with-source", action="store_true", default=False)
    return root


def _kinds(verb: str, noun: str, source: str | None) -> tuple[tuple[CliKind, ...], bool]:
    """The kinds a command covers and whether it lists every kind of a group."""
    if noun in _KUSTOMIZATION_WORDS:
        return (KUSTOMIZATION,), False
    if noun == "all":
        return (*SOURCES.values(), KUSTOMIZATION), True
    if source == "all":
        return tuple(SOURCES.values()), True
    assert source is not None
    return (SOURCES[source],), False


def parse_args(argv: Sequence[str]) -> Command:
    args = _build().parse_args(argv)
    kinds, every_kind = _kinds(args.verb, args.noun, getattr(args, "source", None))
    return Command(
        verb=args.verb,
        kinds=kinds,
        name=getattr(args, "name", ""),
        namespace=getattr(args, "namespace", DEFAULT_NAMESPACE),
        all_namespaces=getattr(args, "all_namespaces", False),
        every_kind=every_kind,
        kubeconfig=getattr(args, "kubeconfig", None),
        timeout=getattr(args, "timeout", DEFAULT_TIMEOUT),
        with_source=getattr(args, "with_source", False),
    )
