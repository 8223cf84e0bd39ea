"""The command line: Flux's verbs, nouns, aliases and global flags, parsed by click."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from gotk_cli.app import parse, run
from gotk_cli.cli import parse_go_duration
from gotk_cli.commands import root
from gotk_cli.reconcile import requested_at


def _discard(result: object) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        close()  # the command's work, never awaited here


@pytest.mark.parametrize(
    "argv",
    [
        ["-n", "apps", "--timeout", "1m30s", "--kubeconfig", "/k", "get", "ks", "-A"],
        ["get", "ks", "--namespace=apps", "--timeout=90s", "--kubeconfig=/k", "--all-namespaces"],
        ["get", "-n", "apps", "kustomizations", "-A", "--timeout", "1m30s", "--kubeconfig", "/k"],
    ],
)
def test_global_flags_are_accepted_before_or_after_the_subcommand(argv: list[str]) -> None:
    settings, result = parse(argv)
    _discard(result)
    assert (settings.namespace, settings.timeout, settings.kubeconfig) == ("apps", 90.0, "/k")


def test_defaults_match_flux(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLUX_SYSTEM_NAMESPACE", raising=False)
    settings, result = parse(["reconcile", "source", "git", "app"])
    _discard(result)
    assert (settings.namespace, settings.timeout, settings.kubeconfig) == (
        "flux-system",
        300.0,
        None,
    )


def test_flux_system_namespace_sets_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUX_SYSTEM_NAMESPACE", "gitops")
    settings, result = parse(["get", "ks"])
    _discard(result)
    assert settings.namespace == "gitops"


@pytest.mark.parametrize(
    "argv",
    [
        ["get", "sources", "svn"],
        ["suspend", "source", "external", "app"],
        ["reconcile", "source", "git"],
        ["get", "sources", "git", "--timeout", "soon"],
        ["reconcile", "source", "git", "app", "--with-source"],
        ["reconcile", "ks", "app", "--force"],
        ["get", "ks", "-n", "Not_A_Label"],
        ["get", "ks", "-o", "xml"],
    ],
)
async def test_invalid_commands_exit_1_with_one_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("✗ "), err
    assert err.count("\n") == 1, err
    assert "--help" in err


async def test_help_exits_0_and_shows_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert await run(["get", "hr", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Examples:\n  # List all Helm releases and their status\n  gotk get helmreleases" in out


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in group.commands.items():
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


@pytest.mark.parametrize("path", sorted(_commands(root)), ids=" ".join)
async def test_every_command_has_help_with_an_example(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run([*path, "--help"]) == 0
    out = capsys.readouterr().out
    assert "\nExamples:\n" in out
    assert "  gotk " in out.split("\nExamples:\n", 1)[1]


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        (["get", "ks"], "kustomizations"),
        (["get", "kustomization"], "kustomizations"),
        (["get", "hr"], "helmreleases"),
        (["get", "source", "git"], "git"),
        (["reconcile", "hr", "x"], "helmrelease"),
        (["suspend", "ks", "x"], "kustomization"),
    ],
)
def test_flux_aliases_reach_the_same_command(alias: list[str], canonical: str) -> None:
    ctx = root.make_context("gotk", [*alias[:-1], "--help"], resilient_parsing=True)
    command: click.Command = root
    for word in alias:
        if not isinstance(command, click.Group):
            break  # the rest is a NAME argument
        found = command.get_command(ctx, word)
        assert found is not None
        command = found
    assert command.name == canonical


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5m", 300.0), ("1m30s", 90.0), ("500ms", 0.5), ("1h", 3600.0), ("0", 0.0), ("2.5s", 2.5)],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "5", "5m-", "m5"])
def test_bad_go_durations(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_go_duration(text)


@pytest.mark.parametrize(
    ("now_ns", "stamp"),
    [
        (1_700_000_000_123_456_789, "2023-11-14T22:13:20.123456789Z"),
        (1_700_000_000_120_000_000, "2023-11-14T22:13:20.12Z"),
        (1_700_000_000_000_000_000, "2023-11-14T22:13:20Z"),
    ],
)
def test_requested_at_is_rfc3339_nano_in_utc(now_ns: int, stamp: str) -> None:
    assert requested_at(now_ns) == stamp
