"""The `flux get` table: NAME REVISION SUSPENDED READY MESSAGE, NAMESPACE first with -A."""

from __future__ import annotations

from collections.abc import Sequence

from gotk_api.objects import Obj

from gotk_cli.kinds import CliKind

__all__ = ["HEADER", "format_table", "ready_status", "row"]

HEADER = ("NAME", "REVISION", "SUSPENDED", "READY", "MESSAGE")
_GAP = "   "


def ready_status(obj: Obj) -> tuple[str, str]:
    """The Ready condition's status and message; Flux's wording for an object never handled."""
    for condition in (obj.get("status") or {}).get("conditions") or ():
        if condition.get("type") == "Ready":
            return str(condition.get("status", "Unknown")), str(condition.get("message", ""))
    return "False", "waiting to be reconciled"


def row(kind: CliKind, obj: Obj, *, prefix_kind: bool, with_namespace: bool) -> list[str]:
    meta = obj.get("metadata") or {}
    name = str(meta.get("name", ""))
    if prefix_kind:
        name = f"{kind.kind.lower()}/{name}"
    suspended = "True" if (obj.get("spec") or {}).get("suspend") else "False"
    status, message = ready_status(obj)
    cells = [name, kind.revision(obj), suspended, status, " ".join(message.split())]
    if with_namespace:
        cells.insert(0, str(meta.get("namespace", "")))
    return cells


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns; the last column (the message) is never padded."""
    widths = [max(len(line[i]) for line in (header, *rows)) for i in range(len(header) - 1)]
    lines = []
    for line in (header, *rows):
        cells = [cell.ljust(width) for cell, width in zip(line, widths, strict=False)]
        lines.append(_GAP.join([*cells, line[-1]]).rstrip())
    return "\n".join(lines)
