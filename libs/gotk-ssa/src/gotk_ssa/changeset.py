"""The change set: what apply and prune did to each object (fluxcd/pkg ssa `ChangeSet`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gotk_ssa.inventory import ObjectRef


class Action(StrEnum):
    """What happened to one object; the value is the word Flux puts in events and logs."""

    CREATED = "created"
    CONFIGURED = "configured"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"
    DELETED = "deleted"

    @property
    def changed(self) -> bool:
        """Created or configured: the object is different after the apply."""
        return self in (Action.CREATED, Action.CONFIGURED)


@dataclass(frozen=True, slots=True)
class ChangeSetEntry:
    ref: ObjectRef
    action: Action

    def __str__(self) -> str:
        return f"{self.ref} {self.action}"
