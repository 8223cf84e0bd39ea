"""`spec.wait` / `spec.healthChecks`: wait for the applied objects (or the listed ones) to
become Current, and keep the `Healthy` condition."""

from __future__ import annotations

import time
from collections.abc import Sequence

from gotk_api.conditions import (
    HEALTH_CHECK_FAILED_REASON,
    HEALTHY,
    PROGRESSING_REASON,
    READY,
    SUCCEEDED_REASON,
)
from gotk_api.kustomize import Kustomization
from gotk_api.meta import format_duration
from gotk_api.objects import Obj
from gotk_runtime import Conditions, EventRecorder, GenericError, KubeClient, patch_progress
from gotk_ssa import (
    Action,
    ChangeSetEntry,
    ObjectRef,
    WaitError,
    compile_health_checks,
    wait_for_set,
)

from kustomize_controller.source import SourceArtifact


class HealthCheckFailed(GenericError):
    reason = HEALTH_CHECK_FAILED_REASON


def health_check_refs(ks: Kustomization, changes: Sequence[ChangeSetEntry]) -> list[ObjectRef]:
    """What to wait for: every applied object with `wait`, else `healthChecks`; never the
    Kustomization itself (it would wait on its own readiness forever)."""
    if ks.spec.wait:
        refs = [e.ref for e in changes if e.action != Action.SKIPPED]
    else:
        refs = []
        for check in ks.spec.health_checks or ():
            group, _, version = (check.api_version or "").rpartition("/")
            refs.append(
                ObjectRef(check.namespace or ks.namespace, check.name, group, check.kind, version)
            )
    return [
        r
        for r in refs
        if not (r.kind == Kustomization.KIND and r.name == ks.name and r.namespace == ks.namespace)
    ]


async def run_health_checks(
    client: KubeClient,
    obj: Obj,
    ks: Kustomization,
    changes: Sequence[ChangeSetEntry],
    artifact: SourceArtifact,
    events: EventRecorder,
    *,
    is_new_revision: bool,
    drifted: bool,
    interval: float = 5.0,
) -> None:
    conditions = Conditions(obj)
    custom = compile_health_checks(ks.spec.health_check_exprs)
    refs = health_check_refs(ks, changes) if (ks.spec.wait or ks.spec.health_checks) else []
    if not refs:
        conditions.delete(HEALTHY)
        return
    was_healthy = conditions.is_true(HEALTHY)
    timeout = ks.get_timeout()
    message = (
        f"Running health checks for revision {artifact.revision} "
        f"with a timeout of {format_duration(timeout)}"
    )
    conditions.mark_reconciling(message)
    conditions.mark_unknown(HEALTHY, PROGRESSING_REASON, message)
    await patch_progress(obj)
    started = time.monotonic()
    try:
        await wait_for_set(
            client, refs, timeout=timeout, interval=interval, status_of=custom.status
        )
    except WaitError as err:
        conditions.mark_false(HEALTHY, HEALTH_CHECK_FAILED_REASON, str(err))
        elapsed = format_duration(round(time.monotonic() - started, 1))
        raise HealthCheckFailed(f"health check failed after {elapsed}: {err}") from None
    passed = f"Health check passed in {format_duration(round(time.monotonic() - started, 1))}"
    if not was_healthy or (is_new_revision and drifted):
        ready = conditions.get(READY) or {}
        await events.record(
            obj,
            "Normal",
            str(ready.get("reason") or PROGRESSING_REASON),
            passed,
            revision=artifact.revision,
        )
    conditions.mark_true(HEALTHY, SUCCEEDED_REASON, passed)
    await patch_progress(obj)
