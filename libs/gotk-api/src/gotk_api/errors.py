"""The root of gotk's error tree, at the bottom of the stack so every library can raise it.

Every error gotk raises on purpose carries the Flux condition reason a reconciler reports
for it, whether only a spec change can help (``stalling``), and a message that names the
object and the cause. The runtime turns any of them into conditions, events and a requeue.
"""

from __future__ import annotations

from gotk_api.conditions import FAILED_REASON

__all__ = ["GotkError"]


class GotkError(Exception):
    """Root of every error gotk raises on purpose.

    ``reason`` is a Flux condition reason and ``stalling`` says whether retrying is futile
    until the spec changes; subclasses override either as a plain class attribute, and an
    instance may carry its own.
    """

    reason: str = FAILED_REASON
    stalling: bool = False

    def __init__(
        self, message: str, *, reason: str | None = None, stalling: bool | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason
        if stalling is not None:
            self.stalling = stalling
