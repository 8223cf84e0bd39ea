"""kustomize-controller's flags: the shared runtime flags plus Flux's kustomize-controller flags."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

from gotk_runtime import RuntimeOptions, runtime_flags
from gotk_runtime.flags import feature_gates, go_bool, go_duration

CONTROLLER_NAME = "kustomize-controller"


@dataclass(frozen=True, slots=True)
class KustomizeOptions:
    requeue_dependency: float = 30.0
    no_cross_namespace_refs: bool = False
    no_remote_bases: bool = False
    default_service_account: str = ""
    http_retry: int = 9
    strict_substitutions: bool = False
    override_managers: tuple[str, ...] = ()
    insecure_kubeconfig_exec: bool = False
    insecure_kubeconfig_tls: bool = False


def parse_options(argv: Sequence[str] | None = None) -> tuple[RuntimeOptions, KustomizeOptions]:
    parser = runtime_flags(concurrent=4)
    parser.prog = "python -m kustomize_controller"
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
        "refuse sourceRefs to another namespace (multi-tenancy lock-down)",
    )
    flag_bool(
        "--no-remote-bases",
        "refuse remote kustomize bases (gotk refuses them whatever this says)",
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
        help="service account impersonated when a Kustomization sets no serviceAccountName",
    )
    add("--http-retry", type=int, default=9, help="retries of a failed artifact download")
    add(
        "--override-manager",
        action="append",
        default=[],
        metavar="NAME",
        help="field manager whose changes to applied objects are undone (repeatable)",
    )
    add(
        "--feature-gates",
        default="",
        help="comma-separated Name=bool pairs; only StrictPostBuildSubstitutions is honoured",
    )
    args = parser.parse_args(argv)
    try:
        gates = feature_gates(args.feature_gates)
    except argparse.ArgumentTypeError as err:
        parser.error(f"--feature-gates: {err}")
    options = KustomizeOptions(
        requeue_dependency=args.requeue_dependency,
        no_cross_namespace_refs=args.no_cross_namespace_refs,
        no_remote_bases=args.no_remote_bases,
        default_service_account=args.default_service_account,
        http_retry=args.http_retry,
        strict_substitutions=gates.get("StrictPostBuildSubstitutions", False),
        override_managers=tuple(args.override_manager),
        insecure_kubeconfig_exec=args.insecure_kubeconfig_exec,
        insecure_kubeconfig_tls=args.insecure_kubeconfig_tls,
    )
    return RuntimeOptions.from_args(args, CONTROLLER_NAME), options
