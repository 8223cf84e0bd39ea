"""Waiting for objects to become Current against the real API server: success, objects
missing or of an unknown kind until the timeout, stalled objects failing early, and a
status function from CEL health expressions."""

from __future__ import annotations

import asyncio
import time

import pytest
from fixtures.runtime import widget
from gotk_api.kustomize_types import CustomHealthCheck
from gotk_api.objects import Obj
from gotk_runtime import KubeClient, Resource
from gotk_runtime.kube import CONFIG_MAPS
from gotk_ssa import ObjectRef, WaitError, compile_health_checks, wait_for_set


def ref(namespace: str, name: str, kind: str = "ConfigMap", api_version: str = "v1") -> ObjectRef:
    group, _, version = api_version.rpartition("/")
    return ObjectRef(namespace, name, group, kind, version)


async def _widget(kube: KubeClient, resource: Resource, namespace: str, status: Obj) -> None:
    await kube.create(resource, widget(namespace, "w"))
    await kube.apply(
        resource,
        {**widget(namespace, "w"), "status": status},
        field_manager="ssa-tests",
        subresource="status",
    )


STALLED = {
    "conditions": [
        {"type": "Stalled", "status": "True", "reason": "Broken", "message": "it broke"},
    ]
}
BUSY = {
    "conditions": [
        {"type": "Ready", "status": "False", "reason": "Busy", "message": "working"},
    ]
}


async def test_current_objects_end_the_wait(kube: KubeClient, namespace: str) -> None:
    await kube.create(CONFIG_MAPS, {"metadata": {"name": "c", "namespace": namespace}})
    await wait_for_set(kube, [ref(namespace, "c")], timeout=5, interval=0.1)


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        pytest.param(
            ("c", "ConfigMap", "v1"),
            "ConfigMap/{ns}/c status: 'NotFound': Resource not found",
            id="missing",
        ),
        pytest.param(
            ("x", "Nope", "nope.example.com/v1"),
            "can't determine status for Nope/{ns}/x",
            id="unknown-kind",
        ),
    ],
)
async def test_objects_not_current_at_the_timeout_are_listed(
    kube: KubeClient, namespace: str, target: tuple[str, str, str], problem: str
) -> None:
    name, kind, api_version = target
    with pytest.raises(WaitError) as info:
        await wait_for_set(
            kube, [ref(namespace, name, kind, api_version)], timeout=0.5, interval=0.1
        )
    assert str(info.value) == f"timeout waiting for: [{problem.format(ns=namespace)}]"


async def test_a_stalled_object_fails_the_wait_early(
    kube: KubeClient, namespace: str, widget_crd: Resource
) -> None:
    await _widget(kube, widget_crd, namespace, STALLED)
    started = time.monotonic()
    with pytest.raises(WaitError) as info:
        await wait_for_set(
            kube, [ref(namespace, "w", "Widget", "test.gotk.io/v1")], timeout=30, interval=0.1
        )
    assert time.monotonic() - started < 10
    assert str(info.value) == (
        f"failed early due to stalled resources: [Widget/{namespace}/w status: 'Failed': it broke]"
    )


async def test_without_fail_fast_a_stalled_object_waits_for_the_others(
    kube: KubeClient, namespace: str, widget_crd: Resource
) -> None:
    await _widget(kube, widget_crd, namespace, STALLED)
    refs = [ref(namespace, "w", "Widget", "test.gotk.io/v1"), ref(namespace, "c")]
    with pytest.raises(WaitError) as info:
        await wait_for_set(kube, refs, timeout=0.5, interval=0.1, fail_fast=False)
    assert str(info.value) == (
        f"timeout waiting for: [Widget/{namespace}/w status: 'Failed': it broke, "
        f"ConfigMap/{namespace}/c status: 'NotFound': Resource not found]"
    )


@pytest.mark.parametrize(
    ("current", "passes"),
    [("status.conditions.exists(c, c.reason == 'Busy')", True), ("false", False)],
)
async def test_health_expressions_decide_the_status_of_their_kind(
    kube: KubeClient, namespace: str, widget_crd: Resource, current: str, passes: bool
) -> None:
    await _widget(kube, widget_crd, namespace, BUSY)
    checks = compile_health_checks(
        [CustomHealthCheck(api_version="test.gotk.io/v1", kind="Widget", current=current)]
    )
    refs = [ref(namespace, "w", "Widget", "test.gotk.io/v1")]
    if passes:
        await wait_for_set(kube, refs, timeout=5, interval=0.1, status_of=checks.status)
        return
    with pytest.raises(WaitError, match="no health check expression is true yet"):
        await wait_for_set(kube, refs, timeout=0.5, interval=0.1, status_of=checks.status)
    # Without the expressions the Ready=False condition keeps it in progress.
    with pytest.raises(WaitError, match="'InProgress': working"):
        await wait_for_set(kube, refs, timeout=0.5, interval=0.1)


async def test_an_object_that_settles_quickly_ends_the_wait_long_before_the_interval(
    kube: KubeClient, namespace: str, widget_crd: Resource
) -> None:
    """The first polls come quickly: a wait with a 5 s interval notices, within about a
    second, an object that becomes Current half a second after the wait began."""
    await kube.create(widget_crd, widget(namespace, "w"))
    await kube.apply(
        widget_crd,
        {**widget(namespace, "w"), "status": BUSY},
        field_manager="ssa-tests",
        subresource="status",
    )

    async def settle() -> None:
        await asyncio.sleep(0.4)
        await kube.apply(
            widget_crd,
            {**widget(namespace, "w"), "status": {"conditions": []}},
            field_manager="ssa-tests",
            subresource="status",
        )

    started = time.monotonic()
    settling = asyncio.create_task(settle())
    await wait_for_set(kube, [ref(namespace, "w", "Widget", "test.gotk.io/v1")], timeout=20)
    await settling
    assert time.monotonic() - started < 2.5
