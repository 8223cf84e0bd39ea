"""How healthy a Flux object is, from its conditions alone: one of five states.

The rules are Flux's and kstatus's, in priority order: ``Stalled=True`` wins (the object
needs a spec change), then ``Ready=False`` is failing (Flux leaves observedGeneration behind
while it retries a failure, so the generation must not hide it), then an unobserved
generation means the controller has not caught up yet, then ``Ready`` decides (Unknown:
reconciling, True: ready). An object without a ``Ready`` condition has not been reconciled
yet. ``spec.suspend`` is reported
alongside, not as a state: a suspended object keeps the health it had when suspended.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gotk_api.conditions import READY, RECONCILING, STALLED
from gotk_api.objects import Obj

__all__ = ["Health", "State", "health"]

State = Literal["ready", "failing", "stalled", "reconciling", "unknown"]


@dataclass(frozen=True, slots=True)
class Health:
    """The state of one object and the condition that decided it."""

    state: State
    reason: str
    """The deciding condition's reason (Ready's, or Stalled's when stalled)."""
    message: str
    since: str | None
    """The deciding condition's lastTransitionTime (RFC 3339), when it has one."""
    suspended: bool = False

    @property
    def ready(self) -> bool:
        return self.state == "ready"


def _condition(conditions: list[Obj], type_: str) -> Obj | None:
    return next((c for c in conditions if c.get("type") == type_), None)


def _health(state: State, condition: Obj, suspended: bool) -> Health:
    return Health(
        state,
        str(condition.get("reason") or ""),
        str(condition.get("message") or ""),
        condition.get("lastTransitionTime"),
        suspended,
    )


def health(obj: Obj) -> Health:
    """The health of ``obj`` (a raw Flux object as read from the API server)."""
    suspended = bool((obj.get("spec") or {}).get("suspend"))
    status = obj.get("status") or {}
    conditions = [c for c in status.get("conditions") or () if isinstance(c, dict)]
    stalled = _condition(conditions, STALLED)
    if stalled is not None and stalled.get("status") == "True":
        return _health("stalled", stalled, suspended)
    ready = _condition(conditions, READY)
    if ready is None:
        return Health("unknown", "", "not reconciled yet", None, suspended)
    if ready.get("status") == "False":
        return _health("failing", ready, suspended)
    generation = (obj.get("metadata") or {}).get("generation")
    observed = status.get("observedGeneration")
    if (
        not suspended
        and isinstance(generation, int)
        and isinstance(observed, int)
        and observed < generation
    ):
        reconciling = _condition(conditions, RECONCILING) or ready
        return Health(
            "reconciling",
            str(reconciling.get("reason") or "Progressing"),
            f"generation {generation} not yet reconciled (last observed {observed})",
            reconciling.get("lastTransitionTime"),
            suspended,
        )
    if ready.get("status") == "True":
        return _health("ready", ready, suspended)
    return _health("reconciling", ready, suspended)
