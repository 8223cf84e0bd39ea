"""helm-controller's own errors, each with the Flux reason it reports.

- `RetriesExceeded` (stalling): the active remediation has no retries left; Ready keeps
  the reason and message of the failed action (as in Flux), Stalled says RetriesExceeded.
- `MissingRollbackTarget` (stalling): upgrade remediation has nothing to roll back to.
- `ReleaseNotReady`: the release loop ended with Ready False (a failed action that will be
  retried, a remediation that needs a new attempt); Ready carries the summarised condition,
  whose action has emitted its event already (`announced`: the runtime adds none).
- `InvalidReleaseSpec` (stalling): a spec gotk cannot honour (e.g. a storage namespace
  other than the target namespace, which the Helm CLI cannot separate, or a drift ignore
  rule that does not parse).
- `ReleaseStateError` (`StateError`): the cluster state of the release cannot be compared
  with its manifest (no object could be dry-run).
- `DriftCorrectionFailed`: drift could not be corrected, or was back at once; retried with
  backoff (Flux requeues too) while Ready says why.
"""

from __future__ import annotations

from gotk_api.conditions import (
    DRIFT_CORRECTION_FAILED_EVENT_REASON,
    MISSING_ROLLBACK_TARGET_REASON,
    RETRIES_EXCEEDED_REASON,
    STATE_ERROR_REASON,
)
from gotk_api.errors import GotkError

__all__ = [
    "DriftCorrectionFailed",
    "InvalidReleaseSpec",
    "MissingRollbackTarget",
    "ReleaseNotReady",
    "ReleaseStateError",
    "RetriesExceeded",
]


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

    announced = True


class InvalidReleaseSpec(GotkError):
    stalling = True


class ReleaseStateError(GotkError):
    reason = STATE_ERROR_REASON


class DriftCorrectionFailed(GotkError):
    reason = DRIFT_CORRECTION_FAILED_EVENT_REASON

    def __init__(self, message: str, *, announced: bool = False) -> None:
        super().__init__(message)
        self.announced = announced
        """Whether the DriftCorrectionFailed event already told this."""
