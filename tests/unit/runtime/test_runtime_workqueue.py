"""WorkQueue: de-duplication, one holder per key, per-key backoff, delayed adds, shutdown."""

from __future__ import annotations

import asyncio

import pytest
from gotk_runtime import WorkQueue
from gotk_runtime.workqueue import QueueShutDown


async def test_a_key_added_twice_is_handed_out_once() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("ns/a")
    queue.add("ns/b")
    queue.add("ns/a")
    assert len(queue) == 2
    assert [await queue.get(), await queue.get()] == ["ns/a", "ns/b"]
    assert len(queue) == 0


async def test_a_key_added_while_processing_is_requeued_after_done_not_before() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("k")
    key = await queue.get()
    queue.add("k")
    queue.add("k")
    assert len(queue) == 0  # never handed to a second worker while held
    queue.done(key)
    assert len(queue) == 1
    assert await queue.get() == "k"


async def test_waiting_workers_wake_when_a_key_arrives() -> None:
    queue: WorkQueue[str] = WorkQueue()
    getters = [asyncio.create_task(queue.get()) for _ in range(3)]
    await asyncio.sleep(0)
    queue.add("x")
    queue.add("y")
    done, pending = await asyncio.wait(getters, timeout=1)
    assert sorted(t.result() for t in done) == ["x", "y"]
    assert len(pending) == 1
    queue.shut_down()
    with pytest.raises(QueueShutDown):
        await pending.pop()


@pytest.mark.parametrize(
    ("failures", "expected"),
    [(0, 0.75), (1, 1.5), (2, 3.0), (5, 24.0), (10, 768.0), (11, 900.0), (200, 900.0)],
)
def test_backoff_doubles_from_min_to_max_retry_delay(failures: int, expected: float) -> None:
    queue: WorkQueue[str] = WorkQueue(min_retry_delay=0.75, max_retry_delay=900.0)
    for _ in range(failures):
        queue._failures["k"] = queue.failures("k") + 1
    assert queue.next_delay("k") == pytest.approx(expected)


async def test_rate_limited_add_delays_the_key_and_forget_resets_backoff() -> None:
    queue: WorkQueue[str] = WorkQueue(min_retry_delay=0.05, max_retry_delay=1.0)
    assert queue.add_rate_limited("k") == pytest.approx(0.05)
    assert queue.add_rate_limited("k") == pytest.approx(0.1)  # earlier timer still wins
    assert len(queue) == 0
    assert await asyncio.wait_for(queue.get(), 1) == "k"
    queue.done("k")
    assert queue.failures("k") == 2
    queue.forget("k")
    assert queue.next_delay("k") == pytest.approx(0.05)
    queue.shut_down()


async def test_add_after_keeps_the_earliest_schedule() -> None:
    queue: WorkQueue[str] = WorkQueue()
    loop = asyncio.get_running_loop()
    started = loop.time()
    queue.add_after("k", 5.0)
    queue.add_after("k", 0.05)
    queue.add_after("k", 3.0)
    assert await asyncio.wait_for(queue.get(), 1) == "k"
    assert loop.time() - started < 1.0
    queue.done("k")
    await asyncio.sleep(0.1)
    assert len(queue) == 0  # the later schedules were superseded, not kept
    queue.shut_down()


async def test_shutdown_lets_holders_finish_and_drops_pending_timers() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("held")
    held = await queue.get()
    queue.add_after("later", 0.05)
    queue.shut_down()
    queue.add("new")
    assert len(queue) == 0
    queue.done(held)
    await asyncio.sleep(0.1)
    with pytest.raises(QueueShutDown):
        await queue.get()
