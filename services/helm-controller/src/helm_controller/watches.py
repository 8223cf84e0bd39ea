"""What else reconciles a HelmRelease: a new chart artifact (or a changed Ready condition)
of its HelmChart or OCIRepository, and a change to a ConfigMap or Secret it takes values
from when that object is labelled `reconcile.fluxcd.io/watch: Enabled` (Flux's config
watchers)."""

from __future__ import annotations

from collections.abc import Callable

from gotk_api.objects import Obj
from gotk_artifacts.revision import new_artifact_revision

__all__ = ["chart_source_handler", "values_source_handler"]

Handler = Callable[[str, Obj, Obj | None], None]


def _key(obj: Obj) -> str:
    meta = obj["metadata"]
    return f"{meta.get('namespace')}/{meta['name']}"


def _ready(obj: Obj | None) -> tuple[object, object]:
    for condition in ((obj or {}).get("status") or {}).get("conditions") or ():
        if condition.get("type") == "Ready":
            return condition.get("status"), condition.get("message")
    return None, None


def chart_source_keys(hr: Obj) -> set[tuple[str, str]]:
    """(kind, namespace/name) of the objects whose artifact `hr` releases."""
    keys: set[tuple[str, str]] = set()
    status = hr.get("status") or {}
    if status.get("helmChart"):
        keys.add(("HelmChart", str(status["helmChart"])))
    ref = (hr.get("spec") or {}).get("chartRef") or {}
    if ref.get("kind") and ref.get("name"):
        namespace = ref.get("namespace") or hr["metadata"].get("namespace")
        keys.add((str(ref["kind"]), f"{namespace}/{ref['name']}"))
    return keys


def chart_source_handler(
    kind: str, releases: Callable[[], list[Obj]], enqueue: Callable[[str], None]
) -> Handler:
    def handle(event: str, obj: Obj, old: Obj | None) -> None:
        # Besides a new artifact (Flux's predicate), a change of the source's Ready condition
        # (a chart version that cannot be found) reaches the release's status at once.
        if new_artifact_revision(event, obj, old) is None and _ready(obj) == _ready(old):
            return
        key = (kind, _key(obj))
        for hr in releases():
            if key in chart_source_keys(hr):
                enqueue(_key(hr))

    return handle


def values_source_handler(
    kind: str, releases: Callable[[], list[Obj]], enqueue: Callable[[str], None]
) -> Handler:
    def handle(event: str, obj: Obj, old: Obj | None) -> None:
        if event == "MODIFIED" and old is not None and old.get("data") == obj.get("data"):
            return
        namespace, name = obj["metadata"].get("namespace"), obj["metadata"]["name"]
        for hr in releases():
            if hr["metadata"].get("namespace") != namespace:
                continue
            refs = (hr.get("spec") or {}).get("valuesFrom") or ()
            if any(r.get("kind") == kind and r.get("name") == name for r in refs):
                enqueue(_key(hr))

    return handle
