"""Flags, metrics exposition, structured logs and the pinned public API of gotk_runtime."""

from __future__ import annotations

import argparse
import io
import logging

import gotk_runtime
import orjson
import pytest
from gotk_runtime import RuntimeOptions, bind_object, runtime_flags
from gotk_runtime.flags import feature_gates
from gotk_runtime.logging import JsonFormatter, _ContextFilter
from gotk_runtime.metrics import ControllerMetrics

PUBLIC_API = {
    "AlreadyExists",
    "Conditions",
    "Conflict",
    "Controller",
    "EventRecorder",
    "Forbidden",
    "GenericError",
    "Gone",
    "GotkError",
    "Informer",
    "Invalid",
    "KubeClient",
    "KubeError",
    "KubeUnavailable",
    "LeaderElector",
    "LeadershipLost",
    "Manager",
    "NoKindMatch",
    "NotFound",
    "ReadySummary",
    "ReconcileError",
    "Reconciler",
    "Resource",
    "Result",
    "RuntimeOptions",
    "ServerError",
    "Stalling",
    "TooManyRequests",
    "Unauthorized",
    "Waiting",
    "WorkQueue",
    "bind_object",
    "configure_logging",
    "load_config",
    "note_attempt",
    "object_key",
    "parse_runtime_options",
    "patch_progress",
    "runtime_flags",
    "trim_object",
}


def test_public_api_is_pinned() -> None:
    assert set(gotk_runtime.__all__) == PUBLIC_API
    assert all(hasattr(gotk_runtime, name) for name in PUBLIC_API)


def test_every_error_is_a_gotk_error() -> None:
    for name in gotk_runtime.__all__:
        value = getattr(gotk_runtime, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, gotk_runtime.GotkError), name


def test_flags_have_flux_names_and_defaults() -> None:
    args = runtime_flags(concurrent=2).parse_args([])
    options = RuntimeOptions.from_args(args, "source-controller")
    assert options == RuntimeOptions(controller_name="source-controller", concurrent=2)
    assert (options.min_retry_delay, options.max_retry_delay) == (0.75, 900.0)
    assert (options.metrics_addr, options.health_addr) == (":8080", ":9440")
    assert options.leader_election_lease_duration == 35.0
    assert options.watch_all_namespaces is True
    assert options.interval_jitter_percentage == 5.0
    assert (options.log_level, options.log_encoding) == ("info", "json")


def test_flags_parse_go_durations_and_go_booleans() -> None:
    args = runtime_flags().parse_args(
        [
            "--concurrent=8",
            "--min-retry-delay=250ms",
            "--max-retry-delay=1m30s",
            "--enable-leader-election",
            "--watch-all-namespaces=false",
            "--watch-label-selector=sharding.fluxcd.io/key in (shard1)",
            "--leader-election-lease-duration=15s",
        ]
    )
    options = RuntimeOptions.from_args(args, "kustomize-controller")
    assert options.concurrent == 8
    assert (options.min_retry_delay, options.max_retry_delay) == (0.25, 90.0)
    assert options.enable_leader_election is True
    assert options.watch_all_namespaces is False
    assert options.watch_label_selector == "sharding.fluxcd.io/key in (shard1)"
    assert options.leader_election_lease_duration == 15.0


def test_feature_gates_parse_as_flux_writes_them() -> None:
    assert feature_gates("") == {}
    assert feature_gates("ExternalArtifact=true, OOMWatch=false,DetectDrift") == {
        "ExternalArtifact": True,
        "OOMWatch": False,
        "DetectDrift": True,
    }
    with pytest.raises(argparse.ArgumentTypeError):
        feature_gates("ExternalArtifact=maybe")


@pytest.mark.parametrize("argv", [["--min-retry-delay=5"], ["--enable-leader-election=maybe"]])
def test_bad_flag_values_are_rejected(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        runtime_flags().parse_args(argv)


def test_metrics_exposition_has_histogram_condition_and_queue_depth() -> None:
    metrics = ControllerMetrics()
    metrics.reconcile_duration.observe(0.2, "GitRepository", "podinfo", "flux-system")
    metrics.record_condition("GitRepository", "flux-system", "podinfo", "Ready", "True")
    metrics.queue_depth.set_function(lambda: 3.0, "gitrepository")
    text = metrics.registry.exposition()
    assert "# TYPE gotk_reconcile_duration_seconds histogram" in text
    assert (
        'gotk_reconcile_duration_seconds_bucket{kind="GitRepository",name="podinfo",'
        'namespace="flux-system",le="0.5"} 1'
    ) in text
    assert 'gotk_reconcile_duration_seconds_count{kind="GitRepository"' in text
    assert (
        'gotk_reconcile_condition{kind="GitRepository",name="podinfo",namespace="flux-system",'
        'type="Ready",status="True"} 1'
    ) in text
    assert 'status="False"} 0' in text
    assert 'workqueue_depth{name="gitrepository"} 3' in text
    metrics.forget_object("GitRepository", "flux-system", "podinfo")
    assert "gotk_reconcile_condition{" not in metrics.registry.exposition()


def test_json_logs_carry_the_bound_object() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(_ContextFilter())
    logger = logging.getLogger("gotk.test.json")
    logger.setLevel(logging.INFO)  # independent of the level a running service configured
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with bind_object(kind="GitRepository", namespace="flux-system", name="podinfo"):
            logger.warning("fetch failed: %s", "timeout")
        logger.warning("outside")
    finally:
        logger.removeHandler(handler)
    inside, outside = (orjson.loads(line) for line in stream.getvalue().splitlines())
    assert inside["msg"] == "fetch failed: timeout"
    assert (inside["kind"], inside["namespace"], inside["name"]) == (
        "GitRepository",
        "flux-system",
        "podinfo",
    )
    assert inside["level"] == "warning"
    assert "kind" not in outside
