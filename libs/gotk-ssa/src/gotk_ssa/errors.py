"""The apply engine's error tree, each class with the Flux condition reason it reports.

- ``ApplyError`` (`ReconciliationFailed`): an object could not be dry-run, taken over,
  recreated or applied, or a staged wait failed; the message names every object that
  failed and, when a later stage fails, those already changed.
- ``PruneError`` (`PruneFailed`): objects that left the inventory could not be deleted.
- ``WaitError``: objects did not become Current in time, or stalled; callers wrap it in
  their own error (``ApplyError`` for the staged wait, a health-check failure otherwise).
- ``InventoryError``: a stored inventory id cannot be parsed (also a ``ValueError``).
- ``InvalidCELExpression`` (`InvalidCELExpression`, stalling): an expression does not
  compile, so only a spec change can help.
- ``CELEvaluationError``: an expression failed at run time.
- ``InvalidIgnoreRule`` (stalling): a drift ignore rule's JSON pointer or target selector
  (regular expression, label or annotation selector) does not parse.

Messages name the object (``Kind/namespace/name``) or the spec field, and the cause as the
API server or the CEL library put it, on one line.
"""

from __future__ import annotations

from gotk_api.conditions import (
    INVALID_CEL_EXPRESSION_REASON,
    PRUNE_FAILED_REASON,
    RECONCILIATION_FAILED_REASON,
)
from gotk_runtime import GenericError, GotkError, Stalling

__all__ = [
    "ApplyError",
    "CELEvaluationError",
    "InvalidCELExpression",
    "InvalidIgnoreRule",
    "InventoryError",
    "PruneError",
    "WaitError",
]


class ApplyError(GenericError):
    """An object could not be applied; the message names it and the API server's reason."""

    reason = RECONCILIATION_FAILED_REASON


class PruneError(GenericError):
    """Garbage collection could not delete every stale object."""

    reason = PRUNE_FAILED_REASON


class WaitError(GotkError):
    """Some objects did not become Current; the message lists them with their status."""


class InventoryError(GotkError, ValueError):
    """A stored inventory id cannot be parsed."""


class InvalidCELExpression(Stalling):
    """An expression does not compile: only a spec change can fix it."""

    reason = INVALID_CEL_EXPRESSION_REASON

    def __init__(self, field: str, cause: str) -> None:
        super().__init__(f"{field}: invalid CEL expression: {cause}")
        self.field = field


class CELEvaluationError(GotkError):
    """An expression failed at run time (a missing field, a type mismatch, not a bool)."""

    def __init__(self, field: str, cause: str) -> None:
        super().__init__(f"{field}: failed to evaluate CEL expression: {cause}")
        self.field = field


class InvalidIgnoreRule(Stalling):
    """A JSON pointer or a target selector of a drift ignore rule does not parse."""
