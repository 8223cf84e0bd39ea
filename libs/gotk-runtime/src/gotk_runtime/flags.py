"""The command-line flags every gotk controller shares, with Flux's names and defaults.

A service builds its parser with ``runtime_flags(...)``, adds its own flags, and turns the
parsed namespace into ``RuntimeOptions`` with ``RuntimeOptions.from_args``. Durations are
Go durations (``750ms``, ``15m``); booleans accept Go's ``--flag``, ``--flag=false``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

from gotk_api.meta import parse_duration

__all__ = [
    "RuntimeOptions",
    "applier_flags",
    "feature_gates",
    "go_bool",
    "go_duration",
    "parse_runtime_options",
    "runtime_flags",
]


def go_duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def go_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "t", "true"):
        return True
    if lowered in ("0", "f", "false"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean value {text!r}")


def feature_gates(text: str) -> dict[str, bool]:
    """Flux's `--feature-gates=Name=bool,...`; a name alone means true."""
    gates: dict[str, bool] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, value = item.partition("=")
        gates[name.strip()] = go_bool(value.strip() or "true")
    return gates


@dataclass(frozen=True, slots=True)
class RuntimeOptions:
    controller_name: str
    concurrent: int = 4
    min_retry_delay: float = 0.75
    max_retry_delay: float = 900.0
    interval_jitter_percentage: float = 5.0
    enable_leader_election: bool = False
    leader_election_lease_duration: float = 35.0
    leader_election_renew_deadline: float = 30.0
    leader_election_retry_period: float = 5.0
    leader_election_release_on_cancel: bool = True
    watch_all_namespaces: bool = True
    watch_label_selector: str = ""
    runtime_namespace: str = ""
    metrics_addr: str = ":8080"
    health_addr: str = ":9440"
    log_level: str = "info"
    log_encoding: str = "json"
    kubeconfig: str | None = None
    events_addr: str = ""
    kube_api_qps: float = 50.0
    kube_api_burst: int = 300
    graceful_shutdown_timeout: float = 30.0

    @classmethod
    def from_args(cls, args: argparse.Namespace, controller_name: str) -> RuntimeOptions:
        return cls(
            controller_name=controller_name,
            **{name: getattr(args, name) for name in _FIELDS if hasattr(args, name)},
        )


_FIELDS = [f for f in RuntimeOptions.__dataclass_fields__ if f != "controller_name"]


def runtime_flags(
    parser: argparse.ArgumentParser | None = None,
    *,
    concurrent: int = 4,
    runtime_namespace: str = "",
    graceful_shutdown_timeout: float = 30.0,
) -> argparse.ArgumentParser:
    """Add the shared flags to ``parser`` (a new one if None); ``concurrent`` and
    ``graceful_shutdown_timeout`` (Flux: 600s for helm-controller) are per service."""
    parser = parser or argparse.ArgumentParser()
    add = parser.add_argument

    def flag_bool(name: str, default: bool, help_: str) -> None:
        add(name, type=go_bool, nargs="?", const=True, default=default, metavar="BOOL", help=help_)

    add("--concurrent", type=int, default=concurrent, help="number of concurrent reconciles")
    add(
        "--min-retry-delay",
        type=go_duration,
        default=0.75,
        metavar="DURATION",
        help="the minimum delay before retrying a failed reconcile",
    )
    add(
        "--max-retry-delay",
        type=go_duration,
        default=900.0,
        metavar="DURATION",
        help="the maximum delay before retrying a failed reconcile",
    )
    add(
        "--interval-jitter-percentage",
        type=float,
        default=5.0,
        help="percentage of jitter applied to spec.interval on successful requeues",
    )
    flag_bool("--enable-leader-election", False, "run only while holding the leader lease")
    add("--leader-election-lease-duration", type=go_duration, default=35.0, metavar="DURATION")
    add("--leader-election-renew-deadline", type=go_duration, default=30.0, metavar="DURATION")
    add("--leader-election-retry-period", type=go_duration, default=5.0, metavar="DURATION")
    flag_bool("--leader-election-release-on-cancel", True, "release the lease on shutdown")
    flag_bool(
        "--watch-all-namespaces", True, "watch every namespace; false: only the runtime namespace"
    )
    add(
        "--watch-label-selector",
        default="",
        help="only reconcile objects matching this label selector (sharding)",
    )
    add(
        "--runtime-namespace",
        default=runtime_namespace,
        help="namespace of the controller (leader lease, single-namespace mode)",
    )
    add("--metrics-addr", default=":8080", help="address of the /metrics endpoint")
    add("--health-addr", default=":9440", help="address of the /healthz and /readyz endpoints")
    add("--log-level", default="info", choices=["debug", "info", "error"])
    add("--log-encoding", default="json", choices=["json", "console"])
    add(
        "--kubeconfig",
        default=None,
        help="path to a kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)",
    )
    add(
        "--events-addr",
        default="",
        help="also POST every event to this notification-controller address",
    )
    add(
        "--kube-api-qps",
        type=float,
        default=50.0,
        help="client-side limit of Kubernetes API requests per second (0: no limit)",
    )
    add(
        "--kube-api-burst",
        type=int,
        default=300,
        help="Kubernetes API requests sent at once before --kube-api-qps applies",
    )
    add(
        "--graceful-shutdown-timeout",
        type=go_duration,
        default=graceful_shutdown_timeout,
        metavar="DURATION",
        help="how long in-flight reconciles may run after SIGTERM before they are cancelled",
    )
    return parser


def applier_flags(parser: argparse.ArgumentParser, *, gates_help: str) -> None:
    """Add the flags Flux's two appliers (kustomize- and helm-controller) share, with Flux's
    names and defaults; ``gates_help`` says which ``--feature-gates`` the service honours."""
    add = parser.add_argument

    def flag_bool(name: str, help_: str) -> None:
        add(name, type=go_bool, nargs="?", const=True, default=False, metavar="BOOL", help=help_)

    add(
        "--requeue-dependency",
        type=go_duration,
        default=30.0,
        metavar="DURATION",
        help="how long to wait before retrying when a source or dependency is not ready",
    )
    flag_bool(
        "--no-cross-namespace-refs",
        "refuse references to sources in another namespace (multi-tenancy lock-down)",
    )
    flag_bool(
        "--insecure-kubeconfig-exec",
        "allow exec credential plugins in spec.kubeConfig kubeconfigs",
    )
    flag_bool(
        "--insecure-kubeconfig-tls",
        "allow insecure-skip-tls-verify in spec.kubeConfig kubeconfigs",
    )
    add(
        "--default-service-account",
        default="",
        help="service account impersonated when an object sets no serviceAccountName",
    )
    add("--http-retry", type=int, default=9, help="retries of a failed artifact download")
    add("--feature-gates", default="", help=f"comma-separated Name=bool pairs; {gates_help}")


def parse_runtime_options(
    controller_name: str, argv: Sequence[str] | None = None, *, concurrent: int = 4
) -> RuntimeOptions:
    """Parse only the shared flags (for services without flags of their own)."""
    args = runtime_flags(concurrent=concurrent).parse_args(argv)
    return RuntimeOptions.from_args(args, controller_name)
