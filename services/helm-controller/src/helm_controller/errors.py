"""helm-controller's own errors, each with the Flux reason it reports.

- `RetriesExceeded` (stalling): the active remediation has no retries left; Ready keeps
  the reason and message of the failed action (as in Flux), Stalled says RetriesExceeded.
- `MissingRollbackTarget` (stalling): upgrade remediation has nothing to roll back to.
- `ReleaseNotReady`: the release loop ended with Ready False (a failed action that will be
  retried, a remediation that needs a new attempt); Ready carries the summarised condition.
- `InvalidReleaseSpec` (stalling): a spec gotk cannot honour (e.g. a storage namespace
  other than the target namespace, which the Helm CLI cannot separate).
"""

from __future__ import annotations

from gotk_api.conditions import MISSING_ROLLBACK_TARGET_REASON, RETRIES_EXCEEDED_REASON
from gotk_api.errors import GotkError

__all__ = ["InvalidReleaseSpec", "MissingRollbackTarget", "ReleaseNotReady", "RetriesExceeded"]


class RetriesExceeded(GotkError):
    reason = RETRIES_EXCEEDED_REASON
    stalling = True

    def __init__(self, message: str, *, ready: tuple[str, str] | None = None) -> None:
        super().__init__(message)
        self.ready_condition = ready
        """(reason, message) Ready keeps instead of the Stalled ones."""


class MissingRollbackTarget(GotkError):
    reason = MISSING_ROLLBACK_TARGET_REASON
    stalling = True

    def __init__(self, message: str, *, ready: tuple[str, str] | None = None) -> None:
        super().__init__(message)
        self.ready_condition = ready


class ReleaseNotReady(GotkError):
    """Retried (backoff, or the RetryOnFailure interval) with Ready as summarised."""


class InvalidReleaseSpec(GotkError):
    stalling = True
