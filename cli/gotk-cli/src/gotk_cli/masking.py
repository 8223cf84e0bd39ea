"""Secret values kept off the terminal: what `build` and `diff` print instead of them.

`build` masks every value of a Secret's `data` and `stringData` (Flux masks only SOPS
ciphertext; gotk never prints a Secret value). `diff` masks as fluxcd/pkg ssa's
`SanitizeUnstructuredData` does, so a changed value still shows as changed: `***` where
both sides agree, `*** (before)` / `*** (after)` where they differ.
"""

from __future__ import annotations

from gotk_api.objects import Obj

__all__ = ["MASK", "mask_secret", "mask_secret_pair", "strip_sops_metadata"]

MASK = "***"
MASK_BEFORE = "*** (before)"
MASK_AFTER = "*** (after)"
_VALUE_FIELDS = ("data", "stringData")


def _is_secret(obj: Obj | None) -> bool:
    return obj is not None and obj.get("kind") == "Secret" and obj.get("apiVersion") == "v1"


def strip_sops_metadata(obj: Obj) -> Obj:
    """Without the top-level `sops` block an encrypted file carries (keys, MAC)."""
    return {k: v for k, v in obj.items() if k != "sops"} if "sops" in obj else obj


def mask_secret(obj: Obj) -> Obj:
    """``obj`` with every Secret value replaced by `***`; other kinds as they are."""
    if not _is_secret(obj):
        return obj
    masked = dict(obj)
    for field in _VALUE_FIELDS:
        values = obj.get(field)
        if isinstance(values, dict):
            masked[field] = dict.fromkeys(values, MASK)
    return masked


def mask_secret_pair(live: Obj | None, merged: Obj | None) -> tuple[Obj | None, Obj | None]:
    """``live`` and ``merged`` with their `data` masked so the diff shows which keys were
    added, removed or changed, never a value."""
    if not (_is_secret(live) or _is_secret(merged)):
        return live, merged
    old = dict((live or {}).get("data") or {})
    new = dict((merged or {}).get("data") or {})
    old_masked = {k: MASK_BEFORE if k in new and new[k] != v else MASK for k, v in old.items()}
    new_masked = {k: MASK_AFTER if k in old and old[k] != v else MASK for k, v in new.items()}

    def with_data(obj: Obj | None, data: dict[str, str]) -> Obj | None:
        if obj is None:
            return None
        masked = {**obj, "data": data} if data or "data" in obj else dict(obj)
        if "stringData" in masked:
            masked["stringData"] = dict.fromkeys(masked["stringData"] or {}, MASK)
        return masked

    return with_data(live, old_masked), with_data(merged, new_masked)
