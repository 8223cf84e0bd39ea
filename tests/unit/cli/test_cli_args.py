"""Command-line parsing: Flux's verbs, nouns, aliases and flags map to kinds and options."""

from __future__ import annotations

import pytest
from gotk_cli.args import parse_args
from gotk_cli.reconcile import requested_at


@pytest.mark.parametrize(
    ("argv", "kinds", "every_kind"),
    [
        (["get", "sources", "git"], ["GitRepository"], False),
        (["get", "sources", "chart"], ["HelmChart"], False),
        (["get", "source", "bucket"], ["Bucket"], False),
        (
            ["get", "sources", "all"],
            ["GitRepository", "OCIRepository", "HelmRepository", "HelmChart", "Bucket"],
            True,
        ),
        (["get", "ks"], ["Kustomization"], False),
        (["get", "kustomizations"], ["Kustomization"], False),
        (
            ["get", "all"],
            [
                "GitRepository",
                "OCIRepository",
                "HelmRepository",
                "HelmChart",
                "Bucket",
                "Kustomization",
            ],
            True,
        ),
        (["reconcile", "source", "oci", "app"], ["OCIRepository"], False),
        (["reconcile", "ks", "app"], ["Kustomization"], False),
        (["suspend", "source", "git", "app"], ["GitRepository"], False),
        (["resume", "kustomization", "app"], ["Kustomization"], False),
    ],
)
def test_nouns_select_kinds(argv: list[str], kinds: list[str], every_kind: bool) -> None:
    command = parse_args(argv)
    assert [kind.kind for kind in command.kinds] == kinds
    assert command.every_kind is every_kind


def test_defaults_match_flux() -> None:
    command = parse_args(["reconcile", "source", "git", "app"])
    assert (command.namespace, command.timeout, command.all_namespaces) == (
        "flux-system",
        300.0,
        False,
    )
    assert command.name == "app"
    assert command.kubeconfig is None


@pytest.mark.parametrize(
    "argv",
    [
        ["-n", "apps", "--timeout", "1m30s", "--kubeconfig", "/k", "get", "-A", "ks"],
        ["get", "ks", "--namespace=apps", "--timeout=90s", "--kubeconfig=/k", "--all-namespaces"],
        ["get", "-n", "apps", "ks", "-A", "--timeout", "1m30s", "--kubeconfig", "/k"],
    ],
)
def test_global_flags_are_accepted_before_or_after_the_subcommand(argv: list[str]) -> None:
    command = parse_args(argv)
    assert (command.namespace, command.timeout, command.kubeconfig) == ("apps", 90.0, "/k")
    assert command.all_namespaces


def test_with_source_is_a_kustomization_reconcile_flag() -> None:
    assert parse_args(["reconcile", "ks", "app", "--with-source"]).with_source
    with pytest.raises(SystemExit):
        parse_args(["reconcile", "source", "git", "app", "--with-source"])


@pytest.mark.parametrize(
    "argv",
    [
        ["get", "sources", "svn"],
        ["suspend", "source", "oci", "app"],
        ["reconcile", "source", "git"],
        ["get", "sources", "git", "--timeout", "soon"],
    ],
)
def test_invalid_commands_exit_with_usage(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        parse_args(argv)
    assert raised.value.code == 2


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
