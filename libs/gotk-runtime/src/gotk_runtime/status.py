"""Patch an object's ``status`` with only what changed since the last patch.

The controller patches once at the end of each reconcile; a reconciler may report progress
in between with ``await patch_progress(obj)`` (the controller binds the patcher of the
object being reconciled to the current task).
"""

from __future__ import annotations

import contextvars

import orjson
from gotk_api.objects import Obj

from gotk_runtime.errors import GotkError
from gotk_runtime.kube.client import KubeClient
from gotk_runtime.kube.resource import Resource

__all__ = ["StatusPatcher", "patch_progress", "status_diff"]


_current: contextvars.ContextVar[StatusPatcher | None] = contextvars.ContextVar(
    "gotk_status_patcher", default=None
)


def status_diff(before: Obj, after: Obj) -> Obj:
    """The JSON merge patch (RFC 7386) that turns ``before`` into ``after``.

    Nested objects are diffed key by key (a merge patch merges them, so a key missing from
    the patch would survive); lists and scalars are replaced whole.
    """
    patch: Obj = {}
    for key, value in after.items():
        old = before.get(key)
        if old == value and key in before:
            continue
        if isinstance(old, dict) and isinstance(value, dict):
            patch[key] = status_diff(old, value)
        else:
            patch[key] = value
    patch.update({key: None for key in before if key not in after})
    return patch


class StatusPatcher:
    """Remembers the status last written for one object and merge-patches the difference."""

    def __init__(self, client: KubeClient, resource: Resource, obj: Obj) -> None:
        self._client = client
        self._resource = resource
        self._obj = obj
        self._written = _copy(obj.get("status") or {})

    async def patch(self) -> bool:
        """Patch ``status`` if it changed; return whether a request was made."""
        current = self._obj.get("status") or {}
        diff = status_diff(self._written, current)
        if not diff:
            return False
        metadata = self._obj["metadata"]
        await self._client.patch(
            self._resource,
            metadata["name"],
            {"status": diff},
            namespace=metadata.get("namespace"),
            subresource="status",
        )
        self._written = _copy(current)
        return True

    def bind(self) -> contextvars.Token[StatusPatcher | None]:
        return _current.set(self)

    @staticmethod
    def unbind(token: contextvars.Token[StatusPatcher | None]) -> None:
        _current.reset(token)

    @property
    def obj(self) -> Obj:
        return self._obj


async def patch_progress(obj: Obj) -> None:
    """Write ``obj``'s status now (mid-reconcile), e.g. after marking Reconciling."""
    patcher = _current.get()
    if patcher is None or patcher.obj is not obj:
        raise GotkError("patch_progress called outside the reconcile of this object")
    await patcher.patch()


def _copy(value: Obj) -> Obj:
    copied: Obj = orjson.loads(orjson.dumps(value))
    return copied
