"""kustomize-controller's flags: the shared runtime flags plus Flux's kustomize-controller flags."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

from gotk_runtime import RuntimeOptions, runtime_flags
from gotk_runtime.flags import applier_flags, feature_gates, go_bool

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
    applier_flags(parser, gates_help="only StrictPostBuildSubstitutions is honoured")
    add = parser.add_argument
    add(
        "--no-remote-bases",
        type=go_bool,
        nargs="?",
        const=True,
        default=False,
        metavar="BOOL",
        help="refuse remote kustomize bases (gotk refuses them whatever this says)",
    )
    add(
        "--override-manager",
        action="append",
        default=[],
        metavar="NAME",
        help="field manager whose changes to applied objects are undone (repeatable)",
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
