"""A de-duplicating, rate-limited work queue with client-go's semantics.

- A key waiting in the queue is queued once, however often it is added.
- A key being processed is never handed to a second worker; adding it meanwhile marks it
  dirty, and it is queued again when the worker calls ``done``.
- ``add_rate_limited`` delays a key exponentially per failure (Flux: 750 ms doubling up to
  15 min); ``forget`` resets its failure count after a success.
- ``add_after`` schedules a requeue; an earlier schedule for the same key wins.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

__all__ = ["QueueShutDown", "WorkQueue"]

K = TypeVar("K", bound=Hashable)


class QueueShutDown(Exception):
    """``get`` was called on (or woken by) a queue that is shutting down."""


class WorkQueue(Generic[K]):
    def __init__(self, *, min_retry_delay: float = 0.75, max_retry_delay: float = 900.0) -> None:
        self.min_retry_delay = min_retry_delay
        self.max_retry_delay = max_retry_delay
        self._queue: deque[K] = deque()
        self._dirty: set[K] = set()
        self._processing: set[K] = set()
        self._failures: dict[K, int] = {}
        self._timers: dict[K, tuple[float, asyncio.TimerHandle]] = {}
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._shutting_down = False

    def __len__(self) -> int:
        """Keys waiting to be processed (the depth metric); excludes delayed keys."""
        return len(self._queue)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    @property
    def processing(self) -> int:
        return len(self._processing)

    def add(self, key: K) -> None:
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._queue.append(key)
            self._wake()

    def add_after(self, key: K, delay: float) -> None:
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        due = loop.time() + delay
        pending = self._timers.get(key)
        if pending is not None:
            if pending[0] <= due:
                return
            pending[1].cancel()
        self._timers[key] = (due, loop.call_at(due, self._fire, key))

    def add_rate_limited(self, key: K) -> float:
        """Requeue ``key`` after its next backoff delay; return that delay."""
        delay = self.next_delay(key)
        self._failures[key] = self._failures.get(key, 0) + 1
        self.add_after(key, delay)
        return delay

    def next_delay(self, key: K) -> float:
        failures = self._failures.get(key, 0)
        if failures > 64:
            return self.max_retry_delay
        return float(min(self.min_retry_delay * 2**failures, self.max_retry_delay))

    def failures(self, key: K) -> int:
        return self._failures.get(key, 0)

    def forget(self, key: K) -> None:
        self._failures.pop(key, None)

    async def get(self) -> K:
        """Wait for a key and mark it processing; raises ``QueueShutDown`` when stopping."""
        while not self._queue or self._shutting_down:
            if self._shutting_down:
                raise QueueShutDown
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # pass the wake-up we consumed on to another worker
                raise
        key = self._queue.popleft()
        self._processing.add(key)
        self._dirty.discard(key)
        return key

    def done(self, key: K) -> None:
        self._processing.discard(key)
        if key in self._dirty and not self._shutting_down:
            self._queue.append(key)
            self._wake()

    def shut_down(self) -> None:
        """Stop handing out keys; workers finish the key they hold. Pending timers are dropped."""
        self._shutting_down = True
        for _, timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    def _fire(self, key: K) -> None:
        self._timers.pop(key, None)
        self.add(key)

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
