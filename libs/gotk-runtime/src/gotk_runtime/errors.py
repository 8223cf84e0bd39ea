"""gotk's error tree: one root, a branch for Kubernetes API failures, one for reconcile outcomes.

Every error carries the Flux condition reason a reconciler reports for it and a message that
names the object and the cause. Third-party exceptions (aiohttp, kubernetes_asyncio) are
translated into this tree where they are caught and never escape the kube layer.
"""

from __future__ import annotations

from typing import Any

from gotk_api.conditions import RECONCILIATION_FAILED_REASON
from gotk_api.errors import GotkError

__all__ = [
    "AlreadyExists",
    "Conflict",
    "Forbidden",
    "GenericError",
    "Gone",
    "GotkError",
    "Invalid",
    "KubeError",
    "KubeUnavailable",
    "NoKindMatch",
    "NotFound",
    "ReconcileError",
    "ServerError",
    "Stalling",
    "TooManyRequests",
    "Unauthorized",
    "Waiting",
]


# --- Kubernetes API access


class KubeError(GotkError):
    """A request to the Kubernetes API failed; ``status`` is the HTTP code (0: no response)."""

    status: int = 0

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        path: str = "",
        status: int | None = None,
        api_reason: str = "",
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        if status is not None:
            self.status = status
        self.api_reason = api_reason
        self.details = details or {}

    def __str__(self) -> str:
        where = f"{self.method} {self.path}: " if self.method else ""
        return f"{where}{self.message}"


class KubeUnavailable(KubeError):
    """No answer from the API server: connection refused or reset, timeout, TLS failure."""


class Unauthorized(KubeError):
    status = 401


class Forbidden(KubeError):
    status = 403


class NotFound(KubeError):
    status = 404


class NoKindMatch(NotFound):
    """Discovery knows no resource for this apiVersion and kind (CRD not installed?)."""


class Conflict(KubeError):
    """409 for an update: the object changed since it was read (stale resourceVersion)."""

    status = 409


class AlreadyExists(Conflict):
    """409 for a create: an object with that name exists."""


class Gone(KubeError):
    """410: the requested resourceVersion was compacted away; the caller must relist."""

    status = 410


class Invalid(KubeError):
    """422: the server rejected the object; ``message`` is the server's own explanation."""

    status = 422


class TooManyRequests(KubeError):
    status = 429


class ServerError(KubeError):
    """5xx, or any other status the tree has no better class for."""

    status = 500


# --- Reconcile outcomes raised by reconcilers


class ReconcileError(GotkError):
    """Base of the three ways a reconcile can fail; each maps to conditions and a requeue."""

    reason = RECONCILIATION_FAILED_REASON


class Stalling(ReconcileError):
    """Retrying cannot help until the spec changes: Stalled=True, Ready=False, no requeue.

    Any ``GotkError`` with ``stalling`` set is treated the same way; raise this class when no
    more specific error fits.
    """

    stalling = True


class Waiting(ReconcileError):
    """Not a failure of ours (a dependency is not ready): Ready=False, requeue after a delay.

    ``announce``, if given, is the message of a Normal event the runtime emits about the wait.
    """

    def __init__(
        self,
        message: str,
        *,
        requeue_after: float,
        reason: str | None = None,
        announce: str | None = None,
    ) -> None:
        super().__init__(message, reason=reason)
        self.requeue_after = requeue_after
        self.announce = announce


class GenericError(ReconcileError):
    """A failure worth retrying with exponential backoff: Ready=False, a Warning event."""
