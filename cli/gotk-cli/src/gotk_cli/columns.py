"""What `gotk get` shows of an object: Flux's columns, and the status selector's test."""

from __future__ import annotations

from dataclasses import dataclass

from gotk_api.objects import Obj

from gotk_cli.errors import CliError
from gotk_cli.kinds import CliKind, truncate_hex

__all__ = ["Columns", "StatusSelector", "ready_status"]


def ready_status(obj: Obj) -> tuple[str, str]:
    """The Ready condition's status and message; Flux's wording for an object never handled."""
    for condition in (obj.get("status") or {}).get("conditions") or ():
        if condition.get("type") == "Ready":
            return str(condition.get("status", "Unknown")), str(condition.get("message", ""))
    return "False", "waiting to be reconciled"


@dataclass(frozen=True)
class Columns:
    """Which columns a table has: NAMESPACE with -A, SOURCE with --show-source, URL wide."""

    with_namespace: bool = False
    prefix_kind: bool = False
    show_source: bool = False
    wide: bool = False

    def header(self, kind: CliKind) -> list[str]:
        cells = ["NAME"]
        if self._source(kind):
            cells.append("SOURCE")
        if self.wide and kind.is_source:
            cells.append("URL")
        cells += ["REVISION", "SUSPENDED", "READY", "MESSAGE"]
        return ["NAMESPACE", *cells] if self.with_namespace else cells

    def status_column(self, kind: CliKind) -> int:
        return self.header(kind).index("READY")

    def row(self, kind: CliKind, obj: Obj) -> list[str]:
        meta = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        name = str(meta.get("name", ""))
        if self.prefix_kind:
            name = f"{kind.kind.lower()}/{name}"
        cells = [name]
        if self._source(kind):
            cells.append(kind.source_ref(obj))
        if self.wide and kind.is_source:
            cells.append(str(spec.get("url") or spec.get("endpoint") or ""))
        status, message = ready_status(obj)
        cells += [
            truncate_hex(kind.revision(obj)),
            "True" if spec.get("suspend") else "False",
            status,
            truncate_hex(" ".join(message.split())),
        ]
        return [str(meta.get("namespace", "")), *cells] if self.with_namespace else cells

    def _source(self, kind: CliKind) -> bool:
        return (self.show_source or self.wide) and not kind.is_source


@dataclass(frozen=True)
class StatusSelector:
    """`--status-selector ready=false` / `ready!=true`: a condition type and status."""

    condition: str
    status: str
    negate: bool

    @classmethod
    def parse(cls, text: str) -> StatusSelector:
        negate = "!=" in text
        condition, sep, status = text.partition("!=" if negate else "=")
        if not sep or not condition or not status:
            raise CliError(
                f"expected status selector in type=status or type!=status format, but found: {text}"
            )
        return cls(condition, status, negate)

    def matches(self, obj: Obj) -> bool:
        found = None
        for condition in (obj.get("status") or {}).get("conditions") or ():
            if str(condition.get("type", "")).lower() == self.condition.lower():
                found = condition
        hit = found is not None and str(found.get("status", "")).lower() == self.status.lower()
        return hit != self.negate
