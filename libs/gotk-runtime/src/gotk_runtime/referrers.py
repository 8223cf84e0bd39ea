"""Reconcile the objects that reference another one when it changes.

A Kustomization references its source, a HelmChart its repository, a HelmRelease its chart
and values: when the referenced object changes in a way that matters (a new artifact), the
referrers are enqueued. ``ReferrerIndex`` keeps, from the referring kind's informer, an
index from each reference ``(kind, namespace, name)`` to the keys of the objects holding it,
so an event costs a dictionary lookup instead of a scan of every cached object.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from gotk_api.objects import Obj

from gotk_runtime.informer import EventHandler, EventType
from gotk_runtime.kube.resource import object_key

__all__ = ["Reference", "ReferrerIndex"]

Reference = tuple[str, str, str]
"""(kind, namespace, name) of a referenced object."""

Trigger = Callable[[EventType, Obj, Obj | None], bool]
"""Whether an event of the referenced object concerns its referrers."""

Wants = Callable[[Obj, Obj], bool]
"""Given (referrer, referenced object), whether this referrer needs a reconcile."""

log = logging.getLogger(__name__)


class ReferrerIndex:
    """Which objects of one kind reference which objects, kept current from an informer.

    ``references`` returns what a referring object points at (empty if nothing). The
    manager feeds ``track`` with the referring kind's events and binds ``enqueue``; handlers
    made by ``on_change`` go on the referenced kinds' informers.
    """

    def __init__(self, kind: str, references: Callable[[Obj], Iterable[Reference]]) -> None:
        self.kind = kind
        self._references = references
        self._by_reference: dict[Reference, set[str]] = {}
        self._held: dict[str, frozenset[Reference]] = {}
        self._objects: dict[str, Obj] = {}
        self._enqueue: Callable[[str], None] | None = None

    def bind(self, enqueue: Callable[[str], None]) -> None:
        self._enqueue = enqueue

    def track(self, event: EventType, obj: Obj, old: Obj | None) -> None:
        """Informer handler for the referring kind."""
        key = object_key(obj)
        refs = frozenset() if event == "DELETED" else frozenset(self._references(obj))
        before = self._held.get(key, frozenset())
        for ref in before - refs:
            holders = self._by_reference.get(ref)
            if holders is not None:
                holders.discard(key)
                if not holders:
                    del self._by_reference[ref]
        for ref in refs - before:
            self._by_reference.setdefault(ref, set()).add(key)
        if refs:
            self._held[key] = refs
            self._objects[key] = obj
        else:
            self._held.pop(key, None)
            self._objects.pop(key, None)

    def referrers(self, reference: Reference) -> list[Obj]:
        """The cached objects that hold ``reference``."""
        keys = self._by_reference.get(reference, ())
        return [self._objects[k] for k in sorted(keys) if k in self._objects]

    def on_change(self, kind: str, trigger: Trigger, wants: Wants | None = None) -> EventHandler:
        """An informer handler for referenced ``kind``: enqueue the referrers (those ``wants``
        accepts) of an object whose event passes ``trigger``."""

        def handle(event: EventType, obj: Obj, old: Obj | None) -> None:
            if self._enqueue is None or not trigger(event, obj, old):
                return
            meta = obj["metadata"]
            reference = (kind, str(meta.get("namespace") or ""), str(meta["name"]))
            for referrer in self.referrers(reference):
                if wants is None or wants(referrer, obj):
                    self._enqueue(object_key(referrer))

        return handle
