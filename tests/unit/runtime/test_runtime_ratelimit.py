"""``--kube-api-qps`` / ``--kube-api-burst``: the token bucket on a fake clock (so the
arithmetic is exact), then the KubeClient request path against the real API server."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from gotk_envtest import ControlPlane
from gotk_runtime import KubeClient, Manager, RuntimeOptions, load_config, runtime_flags
from gotk_runtime.kube import CONFIG_MAPS
from gotk_runtime.ratelimit import TokenBucket, kube_api_limiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.slept.append(delay)
        self.now += delay


def test_burst_is_free_then_each_request_waits_one_interval() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, 3, clock=clock)
    delays = [bucket.reserve() for _ in range(6)]
    assert delays == pytest.approx([0, 0, 0, 0.1, 0.2, 0.3])


def test_tokens_refill_at_qps_up_to_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, 3, clock=clock)
    for _ in range(3):
        bucket.reserve()
    clock.now += 0.25  # 2.5 tokens back
    assert [bucket.reserve() for _ in range(3)] == pytest.approx([0, 0, 0.05])
    clock.now += 3600  # an idle hour still only buys a burst
    assert [bucket.reserve() for _ in range(4)] == pytest.approx([0, 0, 0, 0.1])


async def test_acquire_paces_a_steady_stream_at_qps() -> None:
    clock = FakeClock()
    bucket = TokenBucket(5, 2, clock=clock, sleep=clock.sleep)
    start = clock.now
    for _ in range(12):
        await bucket.acquire()
    # 2 from the burst, then 10 at 5 per second.
    assert clock.now - start == pytest.approx(2.0)
    assert clock.slept == pytest.approx([0.2] * 10)


async def test_cancelled_waiter_returns_its_token() -> None:
    bucket = TokenBucket(1, 1)
    await bucket.acquire()
    waiter = asyncio.create_task(bucket.acquire())
    await asyncio.sleep(0.05)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    # Without the refund the next caller would owe two intervals, not one.
    assert bucket.reserve() == pytest.approx(0.95, abs=0.06)


@pytest.mark.parametrize(("qps", "limited"), [(50.0, True), (0.0, False), (-1.0, False)])
def test_non_positive_qps_turns_limiting_off(qps: float, limited: bool) -> None:
    assert (kube_api_limiter(qps, 300) is not None) is limited


def test_flags_default_to_flux_values() -> None:
    options = RuntimeOptions.from_args(runtime_flags().parse_args([]), "source-controller")
    assert (options.kube_api_qps, options.kube_api_burst) == (50.0, 300)
    args = runtime_flags().parse_args(["--kube-api-qps=5.5", "--kube-api-burst", "7"])
    assert (args.kube_api_qps, args.kube_api_burst) == (5.5, 7)


async def test_rapid_gets_are_held_to_qps_after_the_burst(
    cluster: ControlPlane, kube: KubeClient, namespace: str
) -> None:
    await kube.create(CONFIG_MAPS, _configmap(namespace, "target"))
    config = await load_config(cluster.kubeconfig)
    async with KubeClient(config, rate_limiter=TokenBucket(5, 2)) as limited:
        started = time.monotonic()
        await asyncio.gather(*(limited.get(CONFIG_MAPS, "target", namespace) for _ in range(7)))
        elapsed = time.monotonic() - started
    # Two at once, then five more at 0.2 s each.
    assert elapsed >= 0.95


async def test_watch_is_not_rate_limited(
    cluster: ControlPlane, kube: KubeClient, namespace: str
) -> None:
    config = await load_config(cluster.kubeconfig)
    bucket = TokenBucket(0.01, 1)  # one request, then one per 100 s
    async with KubeClient(config, rate_limiter=bucket) as limited:
        listed = await limited.list(CONFIG_MAPS, namespace)
        assert bucket.reserve() > 50  # the bucket is empty

        async def first_event() -> str:
            stream = limited.watch(
                CONFIG_MAPS, namespace, resource_version=listed["metadata"]["resourceVersion"]
            )
            try:
                async for event in stream:
                    name: str = event.object["metadata"]["name"]
                    return name
            finally:
                await stream.aclose()  # type: ignore[attr-defined]
            return ""

        watching = asyncio.create_task(first_event())
        await asyncio.sleep(0.2)
        await kube.create(CONFIG_MAPS, _configmap(namespace, "seen"))
        assert await asyncio.wait_for(watching, 10) == "seen"


async def test_connected_manager_limits_its_client(cluster: ControlPlane) -> None:
    options = RuntimeOptions(
        controller_name="gotk-test-controller",
        kubeconfig=str(cluster.kubeconfig),
        kube_api_qps=20,
        kube_api_burst=40,
    )
    manager = await Manager.connect(options)
    try:
        limiter = manager.client.rate_limiter
        assert limiter is not None
        assert (limiter.qps, limiter.burst) == (20, 40)
    finally:
        await manager.client.close()


def _configmap(namespace: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
    }
