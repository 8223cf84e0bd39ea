"""The health of an inventory object, as the appliers judge it: gotk_ssa's kstatus, in the
shape the pages show (a status word and a one-line message)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gotk_api.objects import Obj
from gotk_ssa import compute_status

__all__ = ["KStatus", "LiveStatus", "live_status"]

KStatus = Literal["Current", "InProgress", "Failed", "Terminating", "NotFound", "Unknown"]


@dataclass(frozen=True, slots=True)
class LiveStatus:
    status: KStatus
    message: str = ""


def live_status(obj: Obj | None) -> LiveStatus:
    """The status of a live object (None: it does not exist)."""
    result = compute_status(obj)
    return LiveStatus(result.status.value, result.message)
