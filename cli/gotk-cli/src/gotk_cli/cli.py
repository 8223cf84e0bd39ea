"""The command tree's building blocks on click: global flags, aliases, examples in --help.

This module and ``gotk_cli.commands`` import nothing but click and the standard library, so
``gotk --help`` and shell completion start fast; a command imports its implementation (and
with it the kube client and the API models) only when it runs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

__all__ = [
    "DURATION",
    "CommandResult",
    "GotkCommand",
    "GotkGroup",
    "Settings",
    "command",
    "global_options",
    "group",
    "settings",
]

DEFAULT_NAMESPACE = "flux-system"
DEFAULT_TIMEOUT = 300.0
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")

F = TypeVar("F", bound=Callable[..., Any])
CommandResult = Coroutine[Any, Any, None]
"""What a command's callback returns: the work, awaited by ``gotk_cli.app.run``."""


def _default_namespace() -> str:
    # Flux reads FLUX_SYSTEM_NAMESPACE for its default namespace.
    return os.environ.get("FLUX_SYSTEM_NAMESPACE") or DEFAULT_NAMESPACE


@dataclass
class Settings:
    """The global flags, wherever on the command line they were given."""

    namespace: str = field(default_factory=_default_namespace)
    kubeconfig: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    no_color: bool = False


def settings() -> Settings:
    """The current command line's global settings."""
    return click.get_current_context().find_root().ensure_object(Settings)


def _store(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value is None or value is False:
            return
        setattr(ctx.find_root().ensure_object(Settings), name, value)

    return callback


def _namespace(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None and not _DNS_LABEL.match(value):
        raise click.BadParameter(f"namespace must be a valid DNS label: {value!r}", ctx, param)
    _store("namespace")(ctx, param, value)


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is None:
        return
    try:
        seconds = parse_go_duration(value)
    except ValueError:
        raise click.BadParameter(f"invalid duration {value!r} (e.g. 90s, 5m, 1h30m)") from None
    _store("timeout")(ctx, param, seconds)


_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


def parse_go_duration(text: str) -> float:
    """Go's time.ParseDuration (``1m30s``, ``500ms``) in seconds; a bare ``0`` is zero."""
    if text == "0":
        return 0.0
    parts = _GO_DURATION.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise ValueError(f"invalid duration {text!r}")
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def global_options() -> list[click.Option]:
    """Flux's persistent flags, accepted on every command and group, before or after it."""
    return [
        click.Option(
            ["-n", "--namespace"],
            callback=_namespace,
            expose_value=False,
            help="the namespace scope for this operation [default: flux-system]",
        ),
        click.Option(
            ["--kubeconfig"],
            callback=_store("kubeconfig"),
            expose_value=False,
            help="path to the kubeconfig file [default: $KUBECONFIG, ~/.kube/config]",
        ),
        click.Option(
            ["--timeout"],
            callback=_duration,
            expose_value=False,
            help="timeout for this operation [default: 5m0s]",
        ),
        click.Option(
            ["--no-color"],
            is_flag=True,
            callback=_store("no_color"),
            expose_value=False,
            help="no colours in the output (also NO_COLOR=1)",
        ),
    ]


class GotkCommand(click.Command):
    """A command whose --help ends with its examples, printed as written."""

    def __init__(self, *args: Any, examples: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.examples = examples

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        _write_examples(self.examples, formatter)
        super().format_epilog(ctx, formatter)


class GotkGroup(click.Group):
    """A group with Flux's aliases (`ks`, `hr`, `source`) and examples in its --help."""

    command_class = GotkCommand

    def __init__(self, *args: Any, examples: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.examples = examples
        self.aliases: dict[str, str] = {}

    def add_command(
        self, cmd: click.Command, name: str | None = None, aliases: Sequence[str] = ()
    ) -> None:
        super().add_command(cmd, name)
        for alias in aliases:
            self.aliases[alias] = name or str(cmd.name)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, self.aliases.get(cmd_name, cmd_name))

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        _, cmd, rest = super().resolve_command(ctx, args)
        # The canonical name, so error messages and contexts read `kustomizations`, not `ks`.
        return (cmd.name if cmd else None), cmd, rest

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is None or cmd.hidden:
                continue
            aliases = sorted(alias for alias, target in self.aliases.items() if target == name)
            label = f"{name} ({', '.join(aliases)})" if aliases else name
            rows.append((label, cmd.get_short_help_str(limit=80)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        _write_examples(self.examples, formatter)
        super().format_epilog(ctx, formatter)


def _write_examples(examples: str, formatter: click.HelpFormatter) -> None:
    if not examples:
        return
    formatter.write_paragraph()
    formatter.write_text("Examples:")
    for line in examples.strip("\n").splitlines():
        formatter.write(f"{line}\n" if line.strip() else "\n")


def group(
    parent: GotkGroup | None,
    name: str,
    help: str,
    examples: str = "",
    aliases: Sequence[str] = (),
    **kwargs: Any,
) -> Callable[[F], GotkGroup]:
    """A command group with the global flags, added to ``parent`` (the root has none)."""

    def make(f: F) -> GotkGroup:
        built = click.group(
            name, cls=GotkGroup, help=help, short_help=help, examples=examples, **kwargs
        )(f)
        assert isinstance(built, GotkGroup)
        built.params.extend(global_options())
        if parent is not None:
            parent.add_command(built, name, aliases)
        return built

    return make


def command(
    parent: GotkGroup,
    name: str,
    help: str,
    examples: str,
    aliases: Sequence[str] = (),
    **kwargs: Any,
) -> Callable[[F], GotkCommand]:
    """A leaf command of ``parent`` with the global flags; ``examples`` is required."""

    def make(f: F) -> GotkCommand:
        built = click.command(
            name, cls=GotkCommand, help=help, short_help=help, examples=examples, **kwargs
        )(f)
        assert isinstance(built, GotkCommand)
        built.params.extend(global_options())
        parent.add_command(built, name, aliases)
        return built

    return make


class GoDuration(click.ParamType):  # type: ignore[type-arg]
    """A flag value in Go's duration syntax (``1m30s``), as seconds."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        try:
            return parse_go_duration(str(value))
        except ValueError:
            self.fail(f"invalid duration {value!r} (e.g. 90s, 5m, 1h30m)", param, ctx)


DURATION = GoDuration()
