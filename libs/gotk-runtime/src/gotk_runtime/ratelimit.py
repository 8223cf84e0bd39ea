"""The client-side token bucket behind ``--kube-api-qps`` / ``--kube-api-burst``.

Like client-go's limiter (golang.org/x/time/rate): a caller reserves a token, which may
leave the bucket in debt, and sleeps for exactly the time that debt takes to refill. No
background task, no queue of waiters: the order of reservations is the order of service.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

__all__ = ["TokenBucket", "kube_api_limiter"]


class TokenBucket:
    """``burst`` requests at once, then ``qps`` per second."""

    def __init__(
        self,
        qps: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if qps <= 0:
            raise ValueError(f"qps must be positive, got {qps}")
        self.qps = qps
        self.burst = max(1, burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(self.burst)
        self._last = clock()

    def reserve(self) -> float:
        """Take one token; return how long the caller must wait before using it."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.qps) - 1
        self._last = now
        return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    async def acquire(self) -> None:
        delay = self.reserve()
        if delay <= 0:
            return
        try:
            await self._sleep(delay)
        except asyncio.CancelledError:
            # A cancelled caller never sends its request: hand the token back.
            self._tokens = min(self.burst, self._tokens + 1)
            raise


def kube_api_limiter(qps: float, burst: int) -> TokenBucket | None:
    """The limiter for the flags; a ``qps`` of zero or less turns client-side limiting off."""
    return TokenBucket(qps, burst) if qps > 0 else None
