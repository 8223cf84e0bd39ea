"""helm-controller's flags: the shared runtime flags plus Flux's helm-controller flags."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

from gotk_runtime import RuntimeOptions, runtime_flags
from gotk_runtime.flags import applier_flags, feature_gates

CONTROLLER_NAME = "helm-controller"
FIELD_MANAGER = "helm-controller"


@dataclass(frozen=True, slots=True)
class HelmOptions:
    requeue_dependency: float = 30.0
    no_cross_namespace_refs: bool = False
    default_service_account: str = ""
    http_retry: int = 9
    kubeconfig: str | None = None
    """The controller's own kubeconfig (`--kubeconfig`); helm runs with a copy of it."""
    insecure_kubeconfig_exec: bool = False
    insecure_kubeconfig_tls: bool = False
    watch_configs_label_selector: str = "reconcile.fluxcd.io/watch=Enabled"
    """ConfigMaps and Secrets matching it reconcile the HelmReleases taking values from
    them; empty: no config watchers (Flux's DisableConfigWatchers)."""
    allow_external_artifact: bool = False
    """Feature gate ExternalArtifact: `spec.chartRef` may name an ExternalArtifact."""
    disable_chart_digest_tracking: bool = False
    """Feature gate DisableChartDigestTracking: OCI charts keep their own version."""


def parse_options(argv: Sequence[str] | None = None) -> tuple[RuntimeOptions, HelmOptions]:
    # Flux gives Helm actions 600s to finish on shutdown; the other services 30s.
    parser = runtime_flags(concurrent=4, graceful_shutdown_timeout=600.0)
    parser.prog = "python -m helm_controller"
    applier_flags(parser, gates_help="ExternalArtifact and DisableChartDigestTracking are honoured")
    add = parser.add_argument
    add(
        "--watch-configs-label-selector",
        default="reconcile.fluxcd.io/watch=Enabled",
        help="ConfigMaps and Secrets whose changes reconcile the HelmReleases using them",
    )
    args = parser.parse_args(argv)
    try:
        gates = feature_gates(args.feature_gates)
    except argparse.ArgumentTypeError as err:
        parser.error(f"--feature-gates: {err}")
    options = HelmOptions(
        requeue_dependency=args.requeue_dependency,
        no_cross_namespace_refs=args.no_cross_namespace_refs,
        default_service_account=args.default_service_account,
        http_retry=args.http_retry,
        kubeconfig=args.kubeconfig,
        insecure_kubeconfig_exec=args.insecure_kubeconfig_exec,
        insecure_kubeconfig_tls=args.insecure_kubeconfig_tls,
        watch_configs_label_selector=args.watch_configs_label_selector,
        allow_external_artifact=gates.get("ExternalArtifact", False),
        disable_chart_digest_tracking=gates.get("DisableChartDigestTracking", False),
    )
    return RuntimeOptions.from_args(args, CONTROLLER_NAME), options
