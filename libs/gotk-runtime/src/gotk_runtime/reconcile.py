"""The reconciler contract, and the one function that turns an outcome into status.

A reconciler implements ``async def reconcile(obj) -> Result`` for one kind. It reads the
object (a dict; parse it into a gotk_api model at its edge), does its work, writes its own
conditions and status fields into ``obj["status"]``, and either returns a ``Result`` or
raises: a ``GotkError`` with ``stalling`` set (``Stalling`` or any error class that says so),
``Waiting``, or any other exception (retried with backoff, as ``GenericError``). The error's
``reason`` becomes the condition reason; no reconciler translates errors itself.
The controller then calls ``apply_outcome`` and patches the status once.

A reconciler that emits its own events for what it did (helm-controller, one per Helm
action, as Flux's) says so with ``Result(announced=True)`` or an error whose ``announced``
attribute is true, and the runtime emits none for that outcome.
"""

from __future__ import annotations

import abc
import contextvars
import random
from dataclasses import dataclass
from typing import ClassVar, Literal

from gotk_api.conditions import (
    FAILED_REASON,
    PROGRESSING_WITH_RETRY_REASON,
    READY,
    RECONCILIATION_FAILED_REASON,
    SUCCEEDED_REASON,
)
from gotk_api.objects import Obj

from gotk_runtime.conditions import Conditions, ReadySummary
from gotk_runtime.errors import GotkError, Waiting

__all__ = [
    "Attempt",
    "Decision",
    "Reconciler",
    "Result",
    "apply_outcome",
    "current_attempt",
    "jittered",
    "note_attempt",
]

MAX_MESSAGE_LENGTH = 20000
"""Condition and event messages are cut to this many characters (Flux's limit)."""

EventSpec = tuple[Literal["Normal", "Warning"], str, str]


@dataclass(frozen=True, slots=True)
class Result:
    """A successful reconcile.

    The object is reconciled again after ``requeue_after`` seconds, by default its
    ``spec.interval`` with jitter, or never if ``done``. ``message`` (with ``reason``) becomes
    Ready's message unless the reconciler's declared conditions say otherwise; ``revision``
    is attached to the events this reconcile emits. ``announced``: the reconciler emitted
    the events about this outcome itself, the runtime adds no success event.
    """

    requeue_after: float | None = None
    done: bool = False
    reason: str = SUCCEEDED_REASON
    message: str = ""
    revision: str | None = None
    announced: bool = False


class Reconciler(abc.ABC):
    """The per-kind logic a controller drives."""

    api_version: ClassVar[str]
    kind: ClassVar[str]
    ready_summary: ClassVar[ReadySummary] = ReadySummary()
    """Conditions Ready is derived from on success; empty: Ready follows the Result."""

    @abc.abstractmethod
    async def reconcile(self, obj: Obj) -> Result:
        """Bring the world in line with ``obj``'s spec; record what happened in its status."""

    async def finalize(self, obj: Obj) -> None:  # noqa: B027 - optional hook, no-op default
        """Clean up before the object goes away (its finalizer is removed afterwards)."""

    def retry_interval(self, obj: Obj) -> float | None:
        """After a failure, requeue after this many seconds; None: exponential backoff.

        Flux's appliers (Kustomization, HelmRelease) retry at ``spec.retryInterval``; its
        sources back off.
        """
        return None


@dataclass(slots=True)
class Attempt:
    """What the running reconcile works on: the runtime puts it on the events it emits."""

    revision: str | None = None
    metadata: dict[str, str] | None = None


_attempt: contextvars.ContextVar[Attempt | None] = contextvars.ContextVar(
    "gotk_attempt", default=None
)


def current_attempt() -> contextvars.Token[Attempt | None]:
    """Start recording a new attempt for the calling task (the controller does this)."""
    return _attempt.set(Attempt())


def note_attempt(revision: str | None, metadata: dict[str, str] | None = None) -> None:
    """Record the revision this reconcile is applying (events about its outcome carry it)."""
    attempt = _attempt.get()
    if attempt is not None:
        attempt.revision = revision
        attempt.metadata = metadata


def attempt_of(token: contextvars.Token[Attempt | None]) -> Attempt:
    attempt = _attempt.get()
    _attempt.reset(token)
    return attempt or Attempt()


@dataclass(frozen=True, slots=True)
class Decision:
    """What the controller does after a reconcile, besides patching the status."""

    requeue: Literal["after", "backoff", "never"]
    delay: float | None = None
    event: EventSpec | None = None
    """(type, reason, message) of the event to emit, if any."""
    observed: bool = False
    """Whether ``status.observedGeneration`` now equals ``metadata.generation``."""


def jittered(seconds: float, percentage: float) -> float:
    """``seconds`` ± ``percentage`` % (Flux's ``--interval-jitter-percentage``)."""
    spread = seconds * percentage / 100.0
    return seconds + random.uniform(-spread, spread)


def apply_outcome(
    obj: Obj,
    outcome: Result | BaseException,
    summary: ReadySummary,
    *,
    interval: float | None,
    jitter_percentage: float = 5.0,
    previous_ready: Obj | None = None,
    retry_after: float | None = None,
) -> Decision:
    """Write Ready/Reconciling/Stalled and observedGeneration for ``outcome`` into ``obj``.

    ``previous_ready`` is Ready as it was before this reconcile (default: as in ``obj``); a
    success emits an event only if it differs (a recovery or a new message). A failure is
    retried after ``retry_after`` seconds if given, else with exponential backoff. An
    outcome the reconciler has announced itself gets no event.
    """
    conditions = Conditions(obj)
    was_ready = previous_ready if previous_ready is not None else conditions.get(READY) or {}
    status = obj.setdefault("status", {})
    generation = obj.get("metadata", {}).get("generation")

    if isinstance(outcome, Result):
        conditions.delete("Reconciling")
        conditions.delete("Stalled")
        derived = conditions.summarize(summary)
        if derived is None or (derived["status"] == "True" and outcome.message):
            conditions.mark_true(
                READY, outcome.reason, outcome.message or "reconciliation succeeded"
            )
        if generation is not None:
            status["observedGeneration"] = generation
        ready = conditions.get(READY) or {}
        event: EventSpec | None = None
        if (
            not outcome.announced
            and ready.get("status") == "True"
            and (
                was_ready.get("status") != "True"
                or was_ready.get("message") != ready.get("message")
            )
        ):
            event = ("Normal", str(ready["reason"]), str(ready["message"]))
        if outcome.done or (outcome.requeue_after is None and not interval):
            return Decision("never", event=event, observed=True)
        delay = outcome.requeue_after
        if delay is None:
            assert interval is not None
            delay = jittered(interval, jitter_percentage)
        return Decision("after", delay, event=event, observed=True)

    reason = getattr(outcome, "reason", None) or RECONCILIATION_FAILED_REASON
    if reason == FAILED_REASON:
        reason = RECONCILIATION_FAILED_REASON
    message = _message(outcome)[:MAX_MESSAGE_LENGTH]
    warning: EventSpec | None = None
    if not getattr(outcome, "announced", False):
        warning = ("Warning", reason, message)
    if isinstance(outcome, GotkError) and outcome.stalling:
        conditions.delete("Reconciling")
        conditions.mark_stalled(reason, message)
        # An error may keep Ready on the failure that led here (helm-controller's Ready shows
        # the failed action while Stalled says RetriesExceeded).
        ready_reason, ready_message = getattr(outcome, "ready_condition", None) or (
            reason,
            message,
        )
        conditions.mark_false(READY, ready_reason, ready_message[:MAX_MESSAGE_LENGTH])
        if generation is not None:
            status["observedGeneration"] = generation
        return Decision("never", event=warning, observed=True)
    conditions.delete("Stalled")
    conditions.mark_false(READY, reason, message)
    conditions.mark_reconciling(message, PROGRESSING_WITH_RETRY_REASON)
    if isinstance(outcome, Waiting):
        announce = outcome.announce
        return Decision(
            "after",
            outcome.requeue_after,
            event=("Normal", reason, announce) if announce else None,
        )
    if retry_after is not None:
        return Decision("after", retry_after, event=warning)
    return Decision("backoff", event=warning)


def _message(error: BaseException) -> str:
    if isinstance(error, GotkError):
        return str(error)
    # An unexpected exception: name its type, never a traceback, in the status.
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
