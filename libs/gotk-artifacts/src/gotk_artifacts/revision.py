"""Noticing a source's new artifact from its watch events."""

from __future__ import annotations

from gotk_api.objects import Obj


def new_artifact_revision(event: str, obj: Obj, old: Obj | None) -> str | None:
    """The revision of `obj`'s artifact if this watch event brings one the consumer has not
    seen (an added source with an artifact, or a changed revision); otherwise None."""
    if event == "DELETED":
        return None
    revision: str | None = ((obj.get("status") or {}).get("artifact") or {}).get("revision")
    if not revision:
        return None
    old_artifact = ((old or {}).get("status") or {}).get("artifact") or {}
    if event == "MODIFIED" and old_artifact.get("revision") == revision:
        return None
    return revision


def brings_new_artifact(event: str, obj: Obj, old: Obj | None) -> bool:
    """Whether this watch event of a source brings an artifact revision not seen before."""
    return new_artifact_revision(event, obj, old) is not None
