"""helm-controller's flags: Flux's names and defaults."""

from __future__ import annotations

from helm_controller.options import HelmOptions, parse_options


def test_defaults_are_fluxs() -> None:
    runtime, helm = parse_options([])
    assert runtime.controller_name == "helm-controller"
    assert runtime.concurrent == 4
    assert (runtime.metrics_addr, runtime.health_addr) == (":8080", ":9440")
    assert (runtime.kube_api_qps, runtime.kube_api_burst) == (50.0, 300)
    assert not runtime.enable_leader_election
    assert helm == HelmOptions()
    assert helm.requeue_dependency == 30.0
    assert runtime.graceful_shutdown_timeout == 600.0
    assert helm.watch_configs_label_selector == "reconcile.fluxcd.io/watch=Enabled"
    assert not helm.allow_external_artifact
    assert not helm.disable_chart_digest_tracking


def test_flags_parse_like_go_flags() -> None:
    runtime, helm = parse_options(
        [
            "--kubeconfig=/k",
            "--concurrent=10",
            "--requeue-dependency=5s",
            "--no-cross-namespace-refs",
            "--default-service-account=deployer",
            "--enable-leader-election",
            "--watch-label-selector=sharding.fluxcd.io/key in (shard1)",
            "--events-addr=http://nc/",
            "--kube-api-qps=20",
            "--kube-api-burst=40",
            "--watch-configs-label-selector=",
            "--feature-gates=ExternalArtifact=true,DisableChartDigestTracking",
        ]
    )
    assert runtime.concurrent == 10
    assert runtime.enable_leader_election
    assert runtime.watch_label_selector == "sharding.fluxcd.io/key in (shard1)"
    assert runtime.events_addr == "http://nc/"
    assert (runtime.kube_api_qps, runtime.kube_api_burst) == (20.0, 40)
    assert helm.kubeconfig == "/k"
    assert helm.requeue_dependency == 5.0
    assert helm.no_cross_namespace_refs
    assert helm.default_service_account == "deployer"
    assert helm.watch_configs_label_selector == ""
    assert helm.allow_external_artifact
    assert helm.disable_chart_digest_tracking
