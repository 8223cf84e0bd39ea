"""Read and write ``status.conditions`` of a raw object, the way Flux's helpers do.

- Setting a condition to the status it already has keeps its ``lastTransitionTime``.
- ``Reconciling`` and ``Stalled`` exist only while True (marking them otherwise deletes them).
- ``summarize`` derives ``Ready`` from a declared, ordered list of conditions: any abnormal
  one (False, or True for a negative-polarity type) makes Ready False with the reason and
  message of the first abnormal type in the list; otherwise any Unknown makes it Unknown;
  otherwise Ready is True with the first listed condition's reason and message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from gotk_api.conditions import PROGRESSING_REASON, READY, RECONCILING, STALLED
from gotk_api.objects import Obj

__all__ = ["ConditionStatus", "Conditions", "ReadySummary"]

ConditionStatus = Literal["True", "False", "Unknown"]

_ONLY_WHILE_TRUE = frozenset({RECONCILING, STALLED})


@dataclass(frozen=True, slots=True)
class ReadySummary:
    """Which conditions decide Ready, highest priority first, and which are "abnormal-true"."""

    conditions: Sequence[str] = ()
    negative_polarity: Sequence[str] = ()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Conditions:
    """A view over ``obj["status"]["conditions"]``; writes go straight into ``obj``."""

    def __init__(self, obj: Obj) -> None:
        self._obj = obj

    @property
    def items(self) -> list[Obj]:
        status = self._obj.setdefault("status", {})
        conditions: list[Obj] = status.setdefault("conditions", [])
        return conditions

    def get(self, type_: str) -> Obj | None:
        for condition in self._obj.get("status", {}).get("conditions") or ():
            if condition.get("type") == type_:
                return dict(condition)
        return None

    def status(self, type_: str) -> str | None:
        condition = self.get(type_)
        return None if condition is None else str(condition.get("status"))

    def is_true(self, type_: str) -> bool:
        return self.status(type_) == "True"

    def is_false(self, type_: str) -> bool:
        return self.status(type_) == "False"

    def set(self, type_: str, status: ConditionStatus, reason: str, message: str = "") -> None:
        if type_ in _ONLY_WHILE_TRUE and status != "True":
            self.delete(type_)
            return
        generation = self._obj.get("metadata", {}).get("generation")
        items = self.items
        for index, existing in enumerate(items):
            if existing.get("type") == type_:
                transition = existing.get("lastTransitionTime") or _now()
                if existing.get("status") != status:
                    transition = _now()
                items[index] = _condition(type_, status, reason, message, generation, transition)
                return
        items.append(_condition(type_, status, reason, message, generation, _now()))
        items.sort(key=_order)

    def mark_true(self, type_: str, reason: str, message: str = "") -> None:
        self.set(type_, "True", reason, message)

    def mark_false(self, type_: str, reason: str, message: str = "") -> None:
        self.set(type_, "False", reason, message)

    def mark_unknown(self, type_: str, reason: str, message: str = "") -> None:
        self.set(type_, "Unknown", reason, message)

    def delete(self, type_: str) -> None:
        conditions = self._obj.get("status", {}).get("conditions")
        if conditions:
            conditions[:] = [c for c in conditions if c.get("type") != type_]

    def mark_reconciling(self, message: str, reason: str = PROGRESSING_REASON) -> None:
        self.mark_true(RECONCILING, reason, message)

    def mark_stalled(self, reason: str, message: str) -> None:
        self.mark_true(STALLED, reason, message)

    def summarize(self, summary: ReadySummary) -> Obj | None:
        """Set Ready from ``summary``'s conditions; return it (None if none is present)."""
        present = [c for t in summary.conditions if (c := self.get(t)) is not None]
        if not present:
            return None
        negative = set(summary.negative_polarity)
        abnormal = [c for c in present if _is_abnormal(c, negative)]
        unknown = [c for c in present if c.get("status") == "Unknown"]
        normal = [c for c in present if c not in abnormal and c not in unknown]
        status: ConditionStatus
        for group, status in ((abnormal, "False"), (unknown, "Unknown"), (normal, "True")):
            if group:
                top = group[0]
                self.set(READY, status, str(top.get("reason")), str(top.get("message", "")))
                return self.get(READY)
        return None  # pragma: no cover - the three groups partition `present`


def _is_abnormal(condition: Obj, negative: set[str]) -> bool:
    wanted = "True" if condition.get("type") in negative else "False"
    return bool(condition.get("status") == wanted)


def _condition(
    type_: str,
    status: str,
    reason: str,
    message: str,
    generation: int | None,
    transition: str,
) -> Obj:
    condition: Obj = {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": transition,
    }
    if generation is not None:
        condition["observedGeneration"] = generation
    return condition


def _order(condition: Obj) -> tuple[int, str]:
    # Flux lists Ready first, then the rest alphabetically.
    type_ = str(condition.get("type", ""))
    return (0 if type_ == READY else 1, type_)
